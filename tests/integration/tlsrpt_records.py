"""Reading the TLS-RPT results a tern server recorded (test helper)."""
import os
import re
import time


def tls_rpt_results(data_dir):
    """The TLS-RPT results tern recorded today (src/tlsrpt/log.h: one
    "tlsrpt1 k=v ..." line each, values xtext with "," escaped), as dicts."""
    day = time.strftime("%Y-%m-%d", time.gmtime())
    out = []
    try:
        with open(os.path.join(data_dir, "tls-rpt", day)) as f:
            lines = f.read().splitlines()
    except FileNotFoundError:
        return out
    for line in lines:
        fields = line.split(" ")
        if fields[0] != "tlsrpt1":
            continue
        r = {}
        for kv in fields[1:]:
            k, _, v = kv.partition("=")
            r[k] = re.sub(r"\+([0-9A-F]{2})", lambda m: chr(int(m.group(1), 16)), v)
        out.append(r)
    return out


def wait_result(data_dir, domain, res, timeout=15):
    """The first recorded result for `domain` with result `res`, waiting for
    it (they are written right after the delivery's log line); None if none
    came."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        for r in tls_rpt_results(data_dir):
            if r.get("pd") == domain and r.get("res") == res:
                return r
        time.sleep(0.05)
    return None
