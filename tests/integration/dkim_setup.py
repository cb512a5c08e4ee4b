"""DKIM keys for integration tests, made by tern itself before its server
starts, published in the test DNS server (dns_server.py), and looked up by
dkimpy (python3-dkim) through that server:

    data = os.path.join(tmp, "data")
    config = keygen_config(tmp, data)              # `tern dkim keygen` needs only data_dir
    zone = keygen(config, "a.test", "rsa", "s1")   # the key in <data>/dkim/a.test/s1.key
    dns = DnsServer(zones=["test"], records=[unbound_line(zone)])
    ...  Tern(..., data_dir=data) signs with it
    dkim.verify(data, dnsfunc=lambda n, timeout=5: txt_record(dns.port, n, timeout))

Nothing here keeps running: keygen is a tern subprocess that exits, and
the keys and config live under the caller's temp directory, removed with
it.
"""
import os
import re
import subprocess

from tern_harness import TERN_BIN, root_opt_in

try:
    import dns.resolver  # python3-dnspython, which dkimpy uses
except ImportError:  # the tests that need it skip (or fail under CI) themselves
    dns = None


def unbound_line(zone_line):
    """keygen's `name. IN TXT ( "a" "b" )` as an unbound local-data line."""
    name = zone_line.split()[0]
    strings = " ".join(f'"{s}"' for s in re.findall(r'"([^"]*)"', zone_line))
    return f"{name} 300 IN TXT {strings}"


def keygen_config(tmp, data_dir, name="keygen.toml"):
    """Writes <tmp>/<name>, the smallest config `tern dkim keygen` accepts,
    with `data_dir` (where the keys go); returns its path."""
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        f.write(root_opt_in() + f'data_dir = "{data_dir}"\n'
                '[[listener]]\nkind = "smtp"\naddress = "127.0.0.1:2525"\n')
    return path


def keygen(config, domain, kind, selector):
    """`tern dkim keygen DOMAIN --type KIND --selector SELECTOR`: the key
    file goes under the config's data_dir; returns the zone-file line of
    its DNS record."""
    p = subprocess.run([TERN_BIN, "dkim", "keygen", domain, "--type", kind, "--selector",
                        selector, "--config", config], capture_output=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return p.stdout.decode().strip()


def txt_record(port, name, timeout=5):
    """dkimpy's key lookup (its dnsfunc) through the test DNS server on
    127.0.0.1:`port`: the TXT strings joined, None if there is none."""
    r = dns.resolver.Resolver(configure=False)
    r.nameservers = ["127.0.0.1"]
    r.port = port
    r.lifetime = timeout
    name = name.decode() if isinstance(name, bytes) else name
    try:
        answer = r.resolve(name, "TXT")
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return None
    return b"".join(answer[0].strings)
