"""A private Postfix for the relay tests: Debian's postfix package (its
system instance need not and should not run), started with its own
config_directory, queue_directory and data_directory in a temp dir
(`postfix -c DIR start`), listening on one loopback address, delivering
through virtual(8) into one Maildir for the addresses it is given, and
refusing every other recipient (550 5.1.1 "User unknown in virtual
mailbox table"). STARTTLS is offered with a self-signed certificate.
Needs root (Postfix starts as root and drops to its mail_owner).

    with PostfixPeer("127.0.0.14", port, "pf.relay.test", ["ok@pf.relay.test"]) as pf:
        ...
        pf.wait_messages(1)   # the files in the Maildir's new/

The approach is that of ../shared/bench (peers.sh: pf_config).
"""
import os
import pwd
import shutil
import subprocess
import tempfile
import time

from smtp_peer import self_signed
from tern_harness import wait_port

POSTFIX = shutil.which("postfix") or "/usr/sbin/postfix"

MASTER_CF = """\
{address} inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
virtual   unix  -       n       n       -       -       virtual
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


def available():
    """Why a private Postfix cannot run here, or None if it can."""
    if os.geteuid() != 0:
        return "needs root"
    if not os.path.exists(POSTFIX):
        return "postfix is not installed (apt-get install postfix)"
    try:
        pwd.getpwnam("postfix")
    except KeyError:
        return "no postfix user"
    return None


class PostfixPeer:
    def __init__(self, host, port, domain, mailboxes, hostname=None):
        self.host, self.port, self.domain = host, port, domain
        self.tmp = tempfile.mkdtemp(prefix="tern-postfix-")
        os.chmod(self.tmp, 0o755)
        self.etc = os.path.join(self.tmp, "etc")
        self.spool = os.path.join(self.tmp, "spool")
        self.data = os.path.join(self.tmp, "data")
        self.mail = os.path.join(self.tmp, "mail")
        self.maildir = os.path.join(self.mail, "Maildir")
        self.log_path = os.path.join(self.tmp, "maillog")
        for d in (self.etc, self.spool, self.data, self.mail):
            os.makedirs(d)
        nobody = pwd.getpwnam("nobody")
        postfix = pwd.getpwnam("postfix")
        os.chown(self.data, postfix.pw_uid, postfix.pw_gid)
        os.chown(self.mail, nobody.pw_uid, nobody.pw_gid)
        if os.path.exists("/etc/postfix/dynamicmaps.cf"):
            shutil.copy("/etc/postfix/dynamicmaps.cf", self.etc)
        cert, key = self_signed(self.etc, hostname or f"mx.{domain}")
        table = ", ".join(f"{m}=Maildir/" for m in mailboxes)
        main_cf = f"""\
compatibility_level = 3.6
queue_directory = {self.spool}
data_directory = {self.data}
mail_owner = postfix
setgid_group = postdrop
myhostname = {hostname or 'mx.' + domain}
mydomain = {domain}
myorigin = $myhostname
inet_interfaces = loopback-only
inet_protocols = ipv4
mydestination =
mynetworks = 127.0.0.0/8
relayhost =
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
local_recipient_maps =
alias_maps =
alias_database =
biff = no
smtpd_banner = $myhostname ESMTP Postfix
maillog_file = {self.log_path}
maillog_file_prefixes = {self.tmp}
smtpd_tls_cert_file = {cert}
smtpd_tls_key_file = {key}
smtpd_tls_security_level = may
smtpd_tls_received_header = yes
virtual_mailbox_domains = {domain}
virtual_mailbox_base = {self.mail}
virtual_mailbox_maps = inline:{{ {table} }}
virtual_uid_maps = static:{nobody.pw_uid}
virtual_gid_maps = static:{nobody.pw_gid}
virtual_minimum_uid = 100
disable_dns_lookups = yes
smtp_dns_support_level = disabled
smtpd_peername_lookup = no
"""
        with open(os.path.join(self.etc, "main.cf"), "w") as f:
            f.write(main_cf)
        with open(os.path.join(self.etc, "master.cf"), "w") as f:
            f.write(MASTER_CF.format(address=f"{host}:{port}"))

    def postfix(self, *args, check=True):
        return subprocess.run([POSTFIX, "-c", self.etc, *args], capture_output=True, text=True,
                              check=check, timeout=60)

    def start(self, timeout=30):
        r = self.postfix("start", check=False)
        if r.returncode != 0:
            raise RuntimeError(f"postfix start failed ({r.returncode}):\n{r.stdout}{r.stderr}\n"
                               f"{self.read_log()}")
        try:
            wait_port(self.host, self.port, timeout)
        except TimeoutError:
            self.stop()
            raise RuntimeError("postfix did not listen:\n" + self.read_log())
        return self

    def stop(self):
        self.postfix("stop", check=False)
        # `postfix stop` returns before master has exited: wait for its pid file to go.
        pid_file = os.path.join(self.spool, "pid", "master.pid")
        deadline = time.time() + 10
        while time.time() < deadline and os.path.exists(pid_file):
            try:
                with open(pid_file) as f:
                    os.kill(int(f.read().strip()), 0)
            except (OSError, ValueError):
                break
            time.sleep(0.05)

    def cleanup(self):
        try:
            self.stop()
        finally:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self):
        try:
            return self.start()
        except BaseException:
            self.cleanup()
            raise

    def __exit__(self, *exc):
        self.cleanup()

    def read_log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def messages(self):
        """The messages delivered so far (bytes), from the Maildir's new/."""
        new = os.path.join(self.maildir, "new")
        if not os.path.isdir(new):
            return []
        out = []
        for name in sorted(os.listdir(new)):
            with open(os.path.join(new, name), "rb") as f:
                out.append(f.read())
        return out

    def wait_messages(self, count, timeout=15.0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            msgs = self.messages()
            if len(msgs) >= count:
                return msgs
            time.sleep(0.05)
        return self.messages()
