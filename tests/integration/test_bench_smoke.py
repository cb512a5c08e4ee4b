"""The benchmark harness (bench/run.sh, docs/PERFORMANCE.md) in a tiny
configuration, so that it never rots: tern only (plus smtp-sink, the ceiling,
and Postfix's smtp-source, the reference generator), 40 messages per run, no
network namespace, free loopback ports, in a few seconds. The numbers are not
checked beyond sanity; they come from full runs.

What this proves:
  - `tern bench` sends every message to smtp-sink and to tern (fsync on and
    off), and tern delivers every one to its Maildir (the drain column);
  - smtp-source's runs are recorded beside them;
  - results.tsv has one line per run with positive rates and counts equal to
    what was sent, and bench/report.py turns it into the table (table.md);
  - nothing the harness started is left running.
Needs postfix's smtp-sink and smtp-source (scripts/deps.sh test).
"""
import csv
import os
import shutil
import subprocess
import tempfile
import unittest

from tern_harness import TERN_BIN, main

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
N = 40


def running_with(text):
    """PIDs whose command line mentions `text`."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/cmdline", "rb") as f:
                if text.encode() in f.read():
                    out.append(int(d))
        except OSError:
            pass
    return out


class BenchSmoke(unittest.TestCase):
    def setUp(self):
        for tool in ("smtp-sink", "smtp-source"):
            if not shutil.which(tool):
                self.fail(f"{tool} missing: install postfix (scripts/deps.sh test)")
        self.tmp = tempfile.mkdtemp(prefix="tern-bench-smoke-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def test_tiny_run(self):
        out = os.path.join(self.tmp, "out")
        work = os.path.join(self.tmp, "work")
        env = dict(os.environ, BENCH_NETNS="0", BENCH_INSTALL="0", BENCH_BUILD="0",
                   RUN_AS="", TERN_BIN=os.path.abspath(TERN_BIN), SERVERS="tern",
                   SCENARIOS="1", N=str(N), SIZES="1024", CONCS="2", PATTERNS="session",
                   RUNS="1", SMTP_SOURCE_SERVERS="sink tern", SETTLE="0", OUT=out, WORK=work,
                   RUN_TIMEOUT="60", DRAIN_TIMEOUT="30", STALL="10")
        p = subprocess.run(["bash", os.path.join(ROOT, "bench", "run.sh"), "run"], env=env,
                           capture_output=True, text=True, timeout=240)
        log = f"stdout:\n{p.stdout}\nstderr:\n{p.stderr}"
        self.assertEqual(p.returncode, 0, log)

        with open(os.path.join(out, "results.tsv"), newline="") as f:
            rows = list(csv.DictReader(f, delimiter="\t"))
        runs = {(r["server"], r["variant"], r["generator"]): r for r in rows}
        self.assertEqual(set(runs), {
            ("sink", "default", "tern-bench"), ("tern", "default", "tern-bench"),
            ("tern", "nofsync", "tern-bench"), ("sink", "default", "smtp-source"),
            ("tern", "default", "smtp-source")}, log)
        for key, r in runs.items():
            with self.subTest(run=key):
                self.assertEqual(r["scenario"], "accept")
                self.assertEqual(int(r["n"]), N)
                self.assertEqual(int(r["ok"]), N, r)
                self.assertEqual(int(r["failed"]), 0, r)
                self.assertTrue(r["status"].startswith("rc=0"), r)
                self.assertGreater(float(r["accept_msgs_s"]), 0)
                self.assertGreater(float(r["accept_s"]), 0)
                if key[0] == "tern":
                    # Every accepted message reached the Maildir.
                    self.assertEqual(int(r["delivered"]), N, r)
                    self.assertGreater(float(r["drain_msgs_s"]), 0)
                    self.assertGreaterEqual(float(r["drain_s"]), float(r["accept_s"]) * 0.5)
                    self.assertGreater(float(r["cpu_s"]), 0)
                if key[2] == "tern-bench":
                    p50, p99, mx = (float(r[k]) for k in ("p50_ms", "p99_ms", "max_ms"))
                    self.assertTrue(0 < p50 <= p99 <= mx, r)

        with open(os.path.join(out, "table.md")) as f:
            table = f.read()
        self.assertIn("Durable acceptance", table)
        self.assertIn("| 1 KiB | 2 | session | tern |", table)
        self.assertIn("| 1 KiB | 2 | session | tern (fsync off) |", table)
        self.assertIn("smtp-source", table)
        self.assertEqual(table.strip(), p.stdout.strip())
        with open(os.path.join(out, "env.txt")) as f:
            self.assertIn("cpus:", f.read())

        # Everything it started has been stopped.
        self.assertEqual(running_with(work), [], log)


if __name__ == "__main__":
    main()
