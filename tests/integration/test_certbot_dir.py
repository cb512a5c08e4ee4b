"""tern pointed at certbot's /etc/letsencrypt/live/<name>/, as chasquid is:
certbot's renewals are picked up without a reload.

The layout is certbot's own, in a temp directory: live/NAME/fullchain.pem
and privkey.pem are relative symlinks into archive/NAME/fullchainN.pem and
privkeyN.pem, and a renewal writes the N+1 files and then moves each link
(a new symlink renamed over the old one), the certificate first, with a new
key (certbot's default). The certificates are made with openssl.

What this proves:
  - [tls] certificate/private_key through the live/ symlinks are served;
  - after a renewal the new certificate is served within tls.reload_check
    (1 s here), with no SIGHUP, and an SMTP session opened before completes;
  - between the two link moves (new certificate, old key) the pair does not
    load: a warning is logged and the old pair stays in use.
"""
import os
import shutil
import smtplib
import socket
import ssl
import subprocess
import tempfile
import unittest

from tern_harness import Tern, main

HOST = "mx.example.test"


def make_cert(directory, n):
    """archive/NAME/fullchainN.pem and privkeyN.pem: a self-signed leaf for HOST."""
    cert = os.path.join(directory, f"fullchain{n}.pem")
    key = os.path.join(directory, f"privkey{n}.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj", f"/CN={HOST}",
                    "-addext", f"subjectAltName=DNS:{HOST}", "-set_serial", str(1000 + n),
                    "-keyout", key, "-out", cert], check=True, capture_output=True)
    return cert


def relink(link, target):
    """Moves a symlink atomically, as certbot does."""
    tmp = link + ".new"
    os.symlink(target, tmp)
    os.rename(tmp, link)


def served_serial(port, cafile):
    ctx = ssl.create_default_context(cafile=cafile)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname=HOST) as s:
            return int(s.getpeercert()["serialNumber"], 16)


class CertbotDirTest(unittest.TestCase):
    def test_renewal_is_picked_up(self):
        root = tempfile.mkdtemp(prefix="tern-letsencrypt-")
        self.addCleanup(shutil.rmtree, root, True)
        archive = os.path.join(root, "archive", HOST)
        live = os.path.join(root, "live", HOST)
        os.makedirs(archive)
        os.makedirs(live)
        c1 = make_cert(archive, 1)
        os.symlink(f"../../archive/{HOST}/fullchain1.pem", os.path.join(live, "fullchain.pem"))
        os.symlink(f"../../archive/{HOST}/privkey1.pem", os.path.join(live, "privkey.pem"))
        t = Tern(hostname=HOST, accept_any_local_part=True,
                 tls={"certificate": os.path.join(live, "fullchain.pem"),
                      "private_key": os.path.join(live, "privkey.pem"),
                      "reload_check": "1s"})
        with t:
            self.assertEqual(served_serial(t.port("submissions"), c1), 1001)
            s = smtplib.SMTP("127.0.0.1", t.port("smtp"), timeout=30)
            s._host = HOST  # starttls() checks the name it connected to
            s.starttls(context=ssl.create_default_context(cafile=c1))
            s.ehlo("client.example.test")
            s.mail("sender@example.org")
            # certbot renews: new files, the certificate's link first.
            c2 = make_cert(archive, 2)
            relink(os.path.join(live, "fullchain.pem"), f"../../archive/{HOST}/fullchain2.pem")
            self.assertTrue(t.wait_log("do not load, keeping the old pair"), t.tail_log())
            self.assertEqual(served_serial(t.port("submissions"), c1), 1001)
            relink(os.path.join(live, "privkey.pem"), f"../../archive/{HOST}/privkey2.pem")
            self.assertTrue(t.wait_log("listeners serve the new certificate"), t.tail_log())
            self.assertEqual(served_serial(t.port("submissions"), c2), 1002)
            self.assertEqual(s.rcpt("alice@example.test")[0], 250)
            self.assertEqual(s.data(b"Subject: across a renewal\r\n\r\nhi\r\n")[0], 250)
            s.quit()


if __name__ == "__main__":
    main()
