#!/usr/bin/python3
"""Tables and plots from a bench/run.sh results directory (python3 from
Debian; matplotlib only for the plots).

    report.py table DIR        markdown tables on stdout (what run.sh prints)
    report.py docs DIR [--doc docs/PERFORMANCE.md] [--plots docs/perf] [--label TEXT]
                               PNG plots into --plots, and the results section of
                               --doc (between <!-- results:begin --> and
                               <!-- results:end -->) replaced by the tables

DIR holds results.tsv (one line per run, header first), memory.tsv and
env.txt, as run.sh writes them. Cells with several runs show the median.
Ratios are tern ÷ peer: above 1 is better for rates, below 1 for CPU,
latency and memory.
"""
import csv
import os
import statistics
import sys

PEERS = ["postfix", "opensmtpd", "chasquid"]
ORDER = ["sink", "tern", "tern (fsync off)", "postfix", "opensmtpd", "chasquid"]
NUM = ["n", "ok", "failed", "accept_s", "accept_msgs_s", "drain_s", "drain_msgs_s", "cpu_s",
       "cpu_s_per_1000", "p50_ms", "p90_ms", "p99_ms", "max_ms", "conns_per_s", "tls_per_s",
       "delivered"]


def fnum(x):
    try:
        return float(x)
    except (TypeError, ValueError):
        return None


def label(row):
    if row["server"] == "tern" and row["variant"] == "nofsync":
        return "tern (fsync off)"
    return row["server"]


def load(d):
    rows = []
    path = os.path.join(d, "results.tsv")
    if os.path.exists(path):
        with open(path, newline="") as f:
            for r in csv.DictReader(f, delimiter="\t"):
                if r.get("scenario"):
                    rows.append(r)
    mem = []
    path = os.path.join(d, "memory.tsv")
    if os.path.exists(path):
        with open(path, newline="") as f:
            for r in csv.DictReader(f, delimiter="\t"):
                try:
                    mem.append({"server": r["server"], "sessions": int(r["sessions"]),
                                "banners": int(r["banners"]), "procs": int(r["procs"]),
                                "rss": int(r["rss_kib"]), "pss": int(r["pss_kib"])})
                except (KeyError, ValueError, TypeError):
                    pass
    return rows, mem


class Cell:
    """The runs of one configuration: medians of the numeric fields."""

    def __init__(self, runs):
        self.runs = runs
        self.first = runs[0]
        self.m = {}
        for k in NUM:
            vals = [v for v in (fnum(r.get(k)) for r in runs) if v is not None]
            self.m[k] = statistics.median(vals) if vals else None
        self.bad = [r["status"] for r in runs
                    if not r["status"].startswith("rc=0") or "errors=-" not in r["status"]
                    and "errors=" in r["status"]]

    def __getitem__(self, k):
        return self.m.get(k)

    def note(self):
        out = []
        n, ok = self["n"], self["ok"]
        if n is not None and ok is not None and ok < n:
            out.append(f"{int(ok)}/{int(n)} accepted")
        for s in self.bad[:1]:
            errs = [p for p in s.split(",") if p.startswith("errors=") and p != "errors=-"]
            if errs:
                out.append(errs[0].replace("errors=", "errors "))
            elif not s.startswith("rc=0"):
                out.append(s.split(",")[0])
        if len(self.runs) > 1:
            rates = [fnum(r["accept_msgs_s"]) or 0 for r in self.runs]
            med = statistics.median(rates)
            if med:
                out.append(f"spread {100 * (max(rates) - min(rates)) / med:.0f}%")
        return "; ".join(out)


def cells(rows, **want):
    groups = {}
    for r in rows:
        if any(r.get(k) != v for k, v in want.items()):
            continue
        key = (label(r), r["generator"], r["size"], r["conc"], r["pattern"], r["tls"])
        groups.setdefault(key, []).append(r)
    return {k: Cell(v) for k, v in groups.items()}


def size_text(s):
    s = int(s)
    return f"{s // 1024} KiB" if s % 1024 == 0 else f"{s} B"


def fmt(x, digits=0):
    if x is None:
        return "–"
    return f"{x:,.{digits}f}"


def ratio(a, b, digits=2):
    if a is None or b is None or b == 0:
        return "–"
    return f"{a / b:.{digits}f}"


def server_sort(name):
    return ORDER.index(name) if name in ORDER else len(ORDER)


def configs(cs):
    """The (size, conc, pattern, tls) combinations present, in order."""
    return sorted({(k[2], k[3], k[4], k[5]) for k in cs},
                  key=lambda c: (c[2] != "session", int(c[0]), int(c[1]), c[3]))


def in_order(cs):
    """(key, cell) by configuration, then server: the rows of a results table."""
    for config in configs(cs):
        for key in sorted((k for k in cs if k[2:] == config), key=lambda k: server_sort(k[0])):
            yield key, cs[key]


def table_accept(rows):
    cs = cells(rows, scenario="accept", generator="tern-bench")
    if not cs:
        return []
    out = ["### 1–2. Durable acceptance and end to end (load: tern bench)", "",
           "accept = until the final 250 of the last message; drain = until the last one is in "
           "its Maildir; CPU = all of the server's processes (cgroup), start to drained.", "",
           "| size | sessions | conn | server | accept msg/s | drain msg/s | CPU s / 1000 msgs "
           "| p50 ms | p99 ms | notes |", "|---|---|---|---|---|---|---|---|---|---|"]
    for key, c in in_order(cs):
        size, conc, pattern, _ = key[2:]
        sink = key[0] == "sink"
        out.append(f"| {size_text(size)} | {conc} | {pattern} | {key[0]} | "
                   f"{fmt(c['accept_msgs_s'])} | {'–' if sink else fmt(c['drain_msgs_s'])} | "
                   f"{fmt(c['cpu_s_per_1000'], 2)} | {fmt(c['p50_ms'], 2)} | "
                   f"{fmt(c['p99_ms'], 2)} | {c.note()} |")
    return out + [""]


def find(cs, server, size, conc, pattern, tls=None):
    """The cell of `server` for this load; tls None: whatever TLS it used
    (relay runs differ in TLS between servers)."""
    for k, c in cs.items():
        if k[0] == server and k[1] == "tern-bench" and k[2:5] == (size, conc, pattern) \
                and (tls is None or k[5] == tls):
            return c
    return None


def ratio_rows(cs, scen_title, metrics, same_tls=True):
    out = []
    for size, conc, pattern, tls in configs(cs):
        t = find(cs, "tern", size, conc, pattern, tls)
        if not t:
            continue
        for title, key in metrics:
            vals = []
            for p in PEERS:
                pc = find(cs, p, size, conc, pattern, tls if same_tls else None)
                vals.append(ratio(t[key], pc[key]) if pc else "–")
            if all(v == "–" for v in vals):
                continue
            out.append(f"| {scen_title} | {size_text(size)} | {conc} | {pattern} | {title} | "
                       + " | ".join(vals) + " |")
    return out


def table_ratios(rows):
    acc = cells(rows, scenario="accept", generator="tern-bench")
    tls = cells(rows, scenario="tls", generator="tern-bench")
    rel = cells(rows, scenario="relay", generator="tern-bench")
    body = []
    body += ratio_rows(acc, "1 accept", [("msg/s", "accept_msgs_s"), ("CPU/msg", "cpu_s_per_1000"),
                                         ("p99", "p99_ms")])
    body += ratio_rows(acc, "2 end to end", [("msg/s", "drain_msgs_s")])
    body += ratio_rows(rel, "3 relay", [("relayed msg/s", "drain_msgs_s"),
                                        ("CPU/msg", "cpu_s_per_1000")], same_tls=False)
    body += ratio_rows(tls, "5 TLS", [("msg/s", "accept_msgs_s"),
                                      ("CPU/msg", "cpu_s_per_1000")])
    if not body:
        return []
    out = ["### Ratios, tern ÷ peer (rates: higher is better; CPU and p99: lower is better)", "",
           "| scenario | size | sessions | conn | metric | ÷ Postfix | ÷ OpenSMTPD | ÷ chasquid |",
           "|---|---|---|---|---|---|---|---|"] + body
    # fsync off against the smtp-sink ceiling.
    extra = []
    for size, conc, pattern, t in configs(acc):
        nf = acc.get(("tern (fsync off)", "tern-bench", size, conc, pattern, t))
        sk = acc.get(("sink", "tern-bench", size, conc, pattern, t))
        if nf and sk:
            extra.append(f"| {size_text(size)} | {conc} | {pattern} | "
                         f"{ratio(nf['accept_msgs_s'], sk['accept_msgs_s'])} |")
    if extra:
        out += ["", "tern with `[queue] fsync = false` ÷ the smtp-sink ceiling (accept msg/s):", "",
                "| size | sessions | conn | ratio |", "|---|---|---|---|"] + extra
    return out + [""]


def table_generators(rows):
    cs = cells(rows, scenario="accept")
    out = []
    for key, c in sorted(cs.items(), key=lambda kv: (server_sort(kv[0][0]), int(kv[0][2]),
                                                     int(kv[0][3]))):
        if key[1] != "smtp-source":
            continue
        ours = cs.get((key[0], "tern-bench") + key[2:])
        out.append(f"| {key[0]} | {size_text(key[2])} | {key[3]} | {key[4]} | "
                   f"{fmt(ours['accept_msgs_s']) if ours else '–'} | {fmt(c['accept_msgs_s'])} | "
                   f"{c.note()} |")
    if not out:
        return []
    return ["### Load generators: tern bench beside smtp-source", "",
            "smtp-source does not pipeline (about six round trips a message); tern bench "
            "pipelines when the server offers it. Sizes are close, not equal (smtp-source: "
            "its own ~130-octet header and -l octets of body).", "",
            "| server | size | sessions | conn | tern bench msg/s | smtp-source msg/s | notes |",
            "|---|---|---|---|---|---|---|"] + out + [""]


def table_relay(rows):
    cs = cells(rows, scenario="relay")
    if not cs:
        return []
    out = ["### 3. Relay through an MX lookup to smtp-sink", "",
           "accept = into the server; relayed = until smtp-sink counted every message. "
           "tern and chasquid take the mail on their submission port with STARTTLS and AUTH "
           "(they relay only for authenticated users); Postfix and OpenSMTPD relay for "
           "127.0.0.0/8 in plaintext. sink sessions = connections the sink saw end by then "
           "(connection reuse).", "",
           "| size | sessions | server | accept msg/s | relayed msg/s | CPU s / 1000 msgs | "
           "sink sessions | notes |", "|---|---|---|---|---|---|---|---|"]
    for size, conc, pattern, tls in sorted({(k[2], k[3], k[4], "") for k in cs},
                                           key=lambda c: (int(c[0]), int(c[1]))):
        for key in sorted((k for k in cs if k[2:5] == (size, conc, pattern)),
                          key=lambda k: server_sort(k[0])):
            c = cs[key]
            sess = [p.split("=")[1] for p in c.first["status"].split(",")
                    if p.startswith("sink_sessions=")]
            out.append(f"| {size_text(size)} | {conc} | {key[0]} | {fmt(c['accept_msgs_s'])} | "
                       f"{fmt(c['drain_msgs_s'])} | {fmt(c['cpu_s_per_1000'], 2)} | "
                       f"{sess[0] if sess else '–'} | {c.note()} |")
    return out + [""]


def table_tls(rows):
    cs = cells(rows, scenario="tls")
    if not cs:
        return []
    out = ["### 5. TLS (STARTTLS on the smtp port; one certificate for all, `CERT_KEY`)", "",
           "conn = a new connection and handshake per message (STARTTLS sessions/s); "
           "session = one TLS session carries many messages (STARTTLS/s is then only the "
           "sessions opened over the run).", "",
           "| conn | size | sessions | server | STARTTLS/s | msg/s | CPU s / 1000 msgs | p99 ms "
           "| notes |", "|---|---|---|---|---|---|---|---|---|"]
    for key, c in in_order(cs):
        size, conc, pattern, _ = key[2:]
        out.append(f"| {pattern} | {size_text(size)} | {conc} | {key[0]} | "
                   f"{fmt(c['tls_per_s'])} | {fmt(c['accept_msgs_s'])} | "
                   f"{fmt(c['cpu_s_per_1000'], 2)} | {fmt(c['p99_ms'], 2)} | {c.note()} |")
    return out + [""]


def idle_summary(mem):
    """server -> (rows sorted by sessions, PSS KiB per session)."""
    by = {}
    for m in mem:
        by.setdefault(m["server"], []).append(m)
    out = {}
    for s, ms in by.items():
        ms.sort(key=lambda m: m["sessions"])
        per = None
        if len(ms) >= 2 and ms[-1]["sessions"] > ms[0]["sessions"]:
            per = (ms[-1]["pss"] - ms[0]["pss"]) / (ms[-1]["sessions"] - ms[0]["sessions"])
        out[s] = (ms, per)
    return out


def table_idle(mem):
    if not mem:
        return []
    out = ["### 4. Idle sessions: memory of the whole server", "",
           "Each session has its banner and said EHLO; RSS and PSS are summed over every process "
           "of the server. Per session = (PSS at the most − PSS at the fewest) ÷ the difference "
           "in sessions.", "",
           "| server | sessions | banners | processes | RSS MiB | PSS MiB | PSS / session KiB "
           "| tern ÷ server |", "|---|---|---|---|---|---|---|---|"]
    summ = idle_summary(mem)
    tern_per = summ.get("tern", (None, None))[1]
    for s in sorted(summ, key=server_sort):
        ms, per = summ[s]
        for i, m in enumerate(ms):
            last = i == len(ms) - 1
            out.append(f"| {s} | {m['sessions']} | {m['banners']} | {m['procs']} | "
                       f"{m['rss'] / 1024:.1f} | {m['pss'] / 1024:.1f} | "
                       f"{fmt(per, 1) if last else ''} | "
                       f"{ratio(tern_per, per, 3) if last and s != 'tern' else ''} |")
    return out + [""]


def table_clients(rows):
    cs = [r for r in rows if r["scenario"] == "client"]
    if not cs:
        return []
    ours = next((fnum(r["accept_msgs_s"]) for r in cs if r["generator"] == "tern-send"), None)
    out = ["### 6. Sending from code to smtp-sink (1 KiB messages)", "",
           "tern bench = the client engine, one session; tern send --batch = the client library, "
           "one connection (RSET between messages); Python smtplib = one connection; msmtp and "
           "swaks = one process and connection per message, as they are used.", "",
           "| client | messages | seconds | msg/s | tern send ÷ client | notes |",
           "|---|---|---|---|---|---|"]
    for r in cs:
        rate = fnum(r["accept_msgs_s"])
        note = "" if r["status"] == "rc=0" and r["ok"] == r["n"] else \
            f"{r['ok']}/{r['n']} delivered, {r['status']}"
        out.append(f"| {r['generator']} | {r['n']} | {fnum(r['accept_s']):.2f} | {fmt(rate)} | "
                   f"{ratio(ours, rate) if r['generator'] != 'tern-send' else ''} | {note} |")
    return out + [""]


def targets(rows, mem):
    """The issue's targets, as far as this run measured them."""
    acc = cells(rows, scenario="accept", generator="tern-bench")
    out = []

    def get(server, conc="100", size="1024", pattern="session"):
        return acc.get((server, "tern-bench", size, conc, pattern, "none"))

    def line(ok, text):
        out.append(f"- {'met' if ok else 'missed'}: {text}")

    t, pf = get("tern"), get("postfix")
    if t and pf and pf["accept_msgs_s"]:
        r = t["accept_msgs_s"] / pf["accept_msgs_s"]
        line(r >= 3, f"durable acceptance, 100 sessions, 1 KiB: {r:.2f} × Postfix (target ≥ 3)")
        if pf["cpu_s_per_1000"] and t["cpu_s_per_1000"] is not None:
            c = t["cpu_s_per_1000"] / pf["cpu_s_per_1000"]
            line(c <= 1 / 3, f"server CPU per message: {c:.2f} × Postfix's (target ≤ 0.33)")
        if pf["p99_ms"] and t["p99_ms"] is not None:
            line(t["p99_ms"] < pf["p99_ms"],
                 f"p99 latency at 100 sessions: {t['p99_ms']:.1f} ms vs Postfix {pf['p99_ms']:.1f} ms")
    for p in ("opensmtpd", "chasquid"):
        pc = get(p)
        if t and pc and pc["accept_msgs_s"]:
            r = t["accept_msgs_s"] / pc["accept_msgs_s"]
            line(r > 1, f"ahead of {p} at 100 sessions, 1 KiB: {r:.2f} ×")
    nf, sk = get("tern (fsync off)"), get("sink")
    if nf and sk and sk["accept_msgs_s"]:
        r = nf["accept_msgs_s"] / sk["accept_msgs_s"]
        line(r >= 0.5, f"fsync off, 100 sessions, 1 KiB: {r:.2f} × the smtp-sink ceiling (target ≥ 0.5)")
    summ = idle_summary(mem)
    tp, pp = summ.get("tern", (None, None))[1], summ.get("postfix", (None, None))[1]
    if tp is not None and pp:
        line(tp <= pp / 20, f"memory per idle session: {tp:.1f} KiB vs Postfix {pp:.0f} KiB "
                            f"({tp / pp:.3f} ×; target ≤ 0.05)")
    tm = summ.get("tern", ([], None))[0]
    if tm:
        big = tm[-1]
        if big["sessions"] >= 10000:
            line(big["banners"] == big["sessions"],
                 f"{big['banners']} of {big['sessions']} idle sessions got their banner "
                 f"(target: 10,000 of 10,000)")
        else:
            out.append(f"- not measured: 10,000 idle sessions (this run went to {big['sessions']}; "
                       f"{big['banners']} banners)")
    if not out:
        return []
    return ["### Targets (issue 7)", ""] + out + [""]


def tables(d):
    rows, mem = load(d)
    out = []
    for part in (targets(rows, mem), table_ratios(rows), table_accept(rows), table_relay(rows),
                 table_idle(mem), table_tls(rows), table_clients(rows), table_generators(rows)):
        out += part
    return "\n".join(out) if out else "no results in " + d


def plots(d, plot_dir):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("report.py: matplotlib missing (apt-get install python3-matplotlib); no plots",
              file=sys.stderr)
        return []
    rows, mem = load(d)
    os.makedirs(plot_dir, exist_ok=True)
    made = []
    acc = cells(rows, scenario="accept", generator="tern-bench")
    combos = [c for c in configs(acc) if c[2] == "session"] or configs(acc)
    servers = sorted({k[0] for k in acc}, key=server_sort)
    if combos and servers:
        fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
        for ax, metric, title in ((axes[0], "accept_msgs_s", "accepted msg/s (final 250)"),
                                  (axes[1], "cpu_s_per_1000", "server CPU s per 1000 msgs")):
            width = 0.8 / len(servers)
            for i, s in enumerate(servers):
                vals = []
                for c in combos:
                    cell = acc.get((s, "tern-bench") + c)
                    vals.append(cell[metric] if cell else 0)
                ax.bar([x + i * width for x in range(len(combos))], [v or 0 for v in vals],
                       width, label=s)
            ax.set_xticks([x + 0.4 - width / 2 for x in range(len(combos))])
            ax.set_xticklabels([f"{size_text(c[0])}\n{c[1]} sess\n{c[2]}" for c in combos],
                               fontsize=8)
            ax.set_title(title)
            ax.set_yscale("log")
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="lower center", ncol=len(servers), fontsize=8)
        fig.tight_layout(rect=(0, 0.07, 1, 1))
        p = os.path.join(plot_dir, "accept.png")
        fig.savefig(p, dpi=90)
        plt.close(fig)
        made.append(p)
    if mem:
        fig, ax = plt.subplots(figsize=(6, 4.5))
        for s, (ms, _) in sorted(idle_summary(mem).items(), key=lambda kv: server_sort(kv[0])):
            ax.plot([m["sessions"] for m in ms], [m["pss"] / 1024 for m in ms], marker="o", label=s)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("idle sessions")
        ax.set_ylabel("PSS of the server, MiB")
        ax.legend(fontsize=8)
        fig.tight_layout()
        p = os.path.join(plot_dir, "idle.png")
        fig.savefig(p, dpi=90)
        plt.close(fig)
        made.append(p)
    cl = [r for r in rows if r["scenario"] == "client"]
    if cl:
        fig, ax = plt.subplots(figsize=(6, 3.5))
        ax.barh([r["generator"] for r in cl], [fnum(r["accept_msgs_s"]) or 0 for r in cl])
        ax.set_xscale("log")
        ax.set_xlabel("messages/s to smtp-sink")
        fig.tight_layout()
        p = os.path.join(plot_dir, "clients.png")
        fig.savefig(p, dpi=90)
        plt.close(fig)
        made.append(p)
    return made


BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"


def docs(d, doc, plot_dir, text_label):
    made = plots(d, plot_dir)
    env = ""
    if os.path.exists(os.path.join(d, "env.txt")):
        with open(os.path.join(d, "env.txt")) as f:
            env = f.read().strip()
    rel = os.path.relpath(plot_dir, os.path.dirname(os.path.abspath(doc)))
    parts = [BEGIN, "", text_label, "", "```", env, "```", "", tables(d), ""]
    for p in made:
        parts.append(f"![{os.path.basename(p)}]({rel}/{os.path.basename(p)})")
    parts += ["", END]
    with open(doc) as f:
        text = f.read()
    if BEGIN in text and END in text:
        text = text[:text.index(BEGIN)] + "\n".join(parts) + text[text.index(END) + len(END):]
    else:
        text = text.rstrip("\n") + "\n\n" + "\n".join(parts) + "\n"
    with open(doc, "w") as f:
        f.write(text)


def main(argv):
    if len(argv) < 3 or argv[1] not in ("table", "docs"):
        sys.exit(__doc__)
    d = argv[2]
    if argv[1] == "table":
        print(tables(d))
        return 0
    opts = {"--doc": "docs/PERFORMANCE.md", "--plots": "docs/perf",
            "--label": f"Results from `{d}`."}
    rest = argv[3:]
    while rest:
        if rest[0] not in opts or len(rest) < 2:
            sys.exit(__doc__)
        opts[rest[0]] = rest[1]
        rest = rest[2:]
    docs(d, opts["--doc"], opts["--plots"], opts["--label"])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
