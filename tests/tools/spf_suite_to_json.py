#!/usr/bin/env python3
"""Converts an openspf/pyspf SPF test suite (YAML) into the JSON that
tests/unit/spf_suite_test.cc runs, applying the DNS rules of pyspf's own
driver (testspf.py) so that the C++ fake resolver stays simple:

- names are lower-cased, without the trailing dot;
- a name with SPF (type 99) records and no TXT entry serves them as TXT too
  (RFC 7208 implementations query only TXT); "TXT: NONE" only stops that;
- TXT/SPF values are always lists of character-strings (UTF-8 on the wire);
- records are [type, value] pairs in zone order: "A", "AAAA", "MX"
  ([pref, host]), "PTR", "CNAME", "TXT" ([strings]); the value "TIMEOUT"
  means queries of that type time out; a bare TIMEOUT item becomes
  ["TIMEOUT", null]: queries of types the name has no records of time out;
- result is always a list (the first is the suite's preferred result).

The fake resolver then adds the remaining driver rules: a name missing from
the zone is NXDOMAIN, except names starting with "error." (timeout), and a
CNAME is followed.

Usage: spf_suite_to_json.py IN.yml[.gz] OUT.json
The committed data (tests/data/spf/) came from Debian 12's python3-spf
2.0.14-3: /usr/share/doc/python3-spf/rfc7208-tests.yml.gz (see README.md there).
"""
import gzip
import json
import sys

import yaml


def records(items):
    out = []
    spf = []
    has_txt = False
    for item in items:
        if item == "TIMEOUT":
            out.append(["TIMEOUT", None])
            continue
        for t, v in item.items():
            if t in ("TXT", "SPF"):
                if isinstance(v, str):
                    v = [v]
                if t == "TXT":
                    has_txt = True
                    if v != ["NONE"]:
                        out.append(["TXT", v])
                else:
                    spf.append(v)
                continue
            if t == "MX" and v != "TIMEOUT":
                v = [int(v[0]), str(v[1]).rstrip(".").lower()]
            elif t in ("PTR", "CNAME") and v != "TIMEOUT":
                v = str(v).rstrip(".").lower()
            elif v != "TIMEOUT":
                v = str(v)
            out.append([t, v])
    if not has_txt:
        out += [["TXT", v] for v in spf]
    return out


def main():
    src, dst = sys.argv[1], sys.argv[2]
    opener = gzip.open if src.endswith(".gz") else open
    with opener(src, "rb") as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    scenarios = []
    for d in docs:
        tests = {}
        for name, t in d["tests"].items():
            r = t["result"]
            test = {"host": str(t["host"]), "mailfrom": str(t.get("mailfrom", "")),
                    "helo": str(t.get("helo", "")), "result": r if isinstance(r, list) else [r],
                    "spec": t.get("spec", "")}
            if "explanation" in t:
                test["explanation"] = t["explanation"]
            tests[name] = test
        zone = {}
        for name, items in (d.get("zonedata") or {}).items():
            zone.setdefault(name.rstrip(".").lower(), []).extend(records(items or []))
        scenarios.append({"description": d.get("description") or d.get("comment", "").strip(),
                          "tests": tests, "zonedata": zone})
    with open(dst, "w", encoding="utf-8") as f:
        json.dump(scenarios, f, indent=1, ensure_ascii=False, sort_keys=True)
        f.write("\n")
    print(f"{dst}: {len(scenarios)} scenarios, "
          f"{sum(len(s['tests']) for s in scenarios)} tests", file=sys.stderr)


if __name__ == "__main__":
    main()
