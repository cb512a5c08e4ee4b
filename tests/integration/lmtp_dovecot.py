"""A private Dovecot with LMTP (on a unix socket and on a TCP loopback port),
the Sieve plugin for LMTP, IMAP, and the auth-client socket, over a
passwd-file user database: the mailbox server that tern hands mail to
(test_lmtp.py) and checks passwords with (test_dovecot_auth.py).

Mail lives in a temporary directory of its own (maildir:~/Maildir under
<mail>/<domain>/<user>), owned by the mail user (dovecot_helper.mail_owner).
"""
import os
import shutil
import tempfile

from dovecot_helper import Dovecot, mail_owner
from tern_harness import free_port


class MailboxServer:
    def __init__(self, users):
        """`users`: {address: password}."""
        self.owner = mail_owner() or (os.getuid(), os.getgid())
        self.mail = tempfile.mkdtemp(prefix="tern-lmtp-mail-")
        os.chmod(self.mail, 0o755)
        os.chown(self.mail, *self.owner)
        self.lmtp_port = free_port()
        self.users = dict(users)
        # The user database, readable by Dovecot's auth process (user dovecot).
        self.passwd = os.path.join(self.mail, "passwd")
        with open(self.passwd, "w") as f:
            for address, password in self.users.items():
                f.write(f"{address}:{{PLAIN}}{password}::::\n")
        os.chmod(self.passwd, 0o644)
        for address in self.users:
            self.home(address)  # provisioned, as a real site's homes are
        self.dovecot = Dovecot(self._body(), protocols="imap lmtp")

    def _body(self):
        uid, gid = self.owner
        # auth_username_format: user names are looked up in lower case, so
        # "Alice@Example.Test" is alice@example.test (and Dovecot says so).
        return f"""mail_location = maildir:~/Maildir
auth_username_format = %Lu
# No 2 s wait after a failed login: the tests fail logins on purpose.
auth_failure_delay = 0
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {self.passwd}
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {self.passwd}
  default_fields = uid={uid} gid={gid} home={self.mail}/%d/%n
}}
protocol lmtp {{
  mail_plugins = $mail_plugins sieve
}}
plugin {{
  sieve = file:~/sieve;active=~/.dovecot.sieve
}}
service lmtp {{
  unix_listener lmtp {{
    mode = 0666
  }}
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {self.lmtp_port}
  }}
}}
service auth {{
  unix_listener auth-client {{
    mode = 0666
  }}
}}
"""

    @property
    def lmtp_socket(self):
        return os.path.join(self.dovecot.run_dir, "lmtp")

    @property
    def auth_socket(self):
        return os.path.join(self.dovecot.run_dir, "auth-client")

    def home(self, address):
        local, domain = address.split("@")
        path = os.path.join(self.mail, domain, local)
        for d in (os.path.join(self.mail, domain), path):
            os.makedirs(d, exist_ok=True)
            os.chown(d, *self.owner)
        return path

    def write_sieve(self, address, script):
        path = os.path.join(self.home(address), ".dovecot.sieve")
        with open(path, "w") as f:
            f.write(script)
        os.chown(path, *self.owner)

    def start(self):
        self.dovecot.start()

    def stop_process(self):
        """Stops Dovecot, keeping its config and the mail for a restart."""
        self.dovecot.stop_process()

    def stop(self):
        self.dovecot.stop()
        shutil.rmtree(self.mail, ignore_errors=True)
