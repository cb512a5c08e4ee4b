"""A throwaway certificate authority for tests (openssl CLI): a CA
certificate, and leaf certificates it signs for given DNS names, so that a
test can run TLS servers whose certificates verify (WebPKI-style) once the
client trusts ca.pem, and others that do not (a wrong name).

    ca = TestCa(directory)
    cert, key = ca.issue("mx.example.test", "other.example.test")
"""
import os
import subprocess


def _openssl(*args):
    subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=30)


class TestCa:
    def __init__(self, directory, name="tern test CA"):
        self.dir = directory
        self.cert = os.path.join(directory, "ca.pem")
        self.key = os.path.join(directory, "ca.key")
        self.count = 0
        _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                 "-keyout", self.key, "-out", self.cert, "-days", "2", "-subj", f"/CN={name}",
                 "-addext", "basicConstraints=critical,CA:TRUE",
                 "-addext", "keyUsage=critical,keyCertSign,cRLSign")

    def issue(self, *names):
        """A certificate for `names` (subjectAltName DNS entries, the first
        also the CN) signed by the CA; returns (cert path, key path)."""
        self.count += 1
        base = os.path.join(self.dir, f"leaf{self.count}")
        key, csr, cert, ext = base + ".key", base + ".csr", base + ".pem", base + ".ext"
        with open(ext, "w") as f:
            f.write("subjectAltName=" + ",".join(f"DNS:{n}" for n in names) + "\n"
                    "basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n")
        _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                 "-keyout", key, "-out", csr, "-subj", f"/CN={names[0]}")
        _openssl("x509", "-req", "-in", csr, "-CA", self.cert, "-CAkey", self.key,
                 "-CAcreateserial", "-out", cert, "-days", "2", "-extfile", ext)
        return cert, key
