#!/usr/bin/env python3
"""Turn one bench/native/run result directory into one table with ratios.

usage: report.py [--md] RESULT_DIR SERVER...

Per job and server: the rate (MiB/s, or files/s for the small-file jobs), READs per second,
p99 latency of one op (a READ; for small files a whole file: OPEN, READ, CLOSE), and the
server's peak RSS during the job; then the ratio of sluice's rate to Ganesha's. Below it: the
iperf3 loopback ceiling, sluice's warm sequential rate as a share of it, and the hit rate of
sluice's second epoch from the counters sluiced writes to STATE_DIR/stats on SIGUSR1.
"""
import glob
import json
import os
import re
import sys

JOBS = [  # (result name, label, rate key)
    ("seq-cold", "seq 1M cold", "mib_s"),
    ("seq-warm", "seq 1M warm", "mib_s"),
    ("rand-4k", "rand 4K", "mib_s"),
    ("rand-128k", "rand 128K", "mib_s"),
    ("small-cold", "small files cold", "ops_s"),
    ("small-warm", "small files warm", "ops_s"),
    ("epoch-1", "epoch 1", "mib_s"),
    ("epoch-2", "epoch 2", "mib_s"),
]
COUNTERS = ("sluice_cache_hits_total", "sluice_cache_misses_total",
            "sluice_cache_prefetch_used_total")


def loadgen_line(path):
    """The key=value pairs of sluice-loadgen's result line, or None."""
    try:
        with open(path) as f:
            for line in f:
                if line.startswith("loadgen "):
                    return dict(kv.split("=", 1) for kv in line.split()[1:] if "=" in kv)
    except OSError:
        pass
    return None


def read_int(path):
    try:
        with open(path) as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def round_metrics(path, key):
    d = loadgen_line(path + ".txt")
    if not d:
        return None
    secs = float(d["secs"])
    peak = read_int(path + ".rss")
    return {
        "rate": float(d[key]),
        "iops": int(d["reads"]) / secs if secs > 0 else 0.0,
        "p99": float(d["p99_ms"]),
        "errors": int(d["errors"]),
        "rss": peak / 1024 if peak else None,
    }


def rounds(res):
    """The round numbers present in RESULT_DIR (files NAME.rN.txt), sorted."""
    found = set()
    for p in glob.glob(os.path.join(res, "*.r*.txt")):
        m = re.search(r"\.r(\d+)\.txt$", p)
        if m:
            found.add(int(m.group(1)))
    return sorted(found)


def metrics(res, server, job, key, rnds):
    """The job's median round by rate (the lower middle one of an even count), with the
    errors of all rounds, the highest RSS of them and every round's rate."""
    per = [m for m in (round_metrics(os.path.join(res, f"{server}-{job}.r{r}"), key)
                       for r in rnds) if m]
    if not per:
        return None
    by_rate = sorted(per, key=lambda m: m["rate"])
    med = dict(by_rate[(len(by_rate) - 1) // 2])
    med["errors"] = sum(m["errors"] for m in per)
    rss = [m["rss"] for m in per if m["rss"]]
    med["rss"] = max(rss) if rss else None
    med["all"] = [m["rate"] for m in per]
    return med


def fmt(v, nd=1):
    if v is None:
        return "-"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.{nd}f}"


def stats(path):
    try:
        with open(path) as f:
            out = {}
            for line in f:
                parts = line.split()
                if len(parts) == 2:
                    try:
                        out[parts[0]] = float(parts[1])
                    except ValueError:
                        pass
            return out
    except OSError:
        return None


def hit_rate(before, after):
    if before is None or after is None or any(c not in after for c in COUNTERS):
        return None
    d = {c: after[c] - before.get(c, 0.0) for c in COUNTERS}
    total = sum(d.values())
    if total <= 0:
        return None
    return d, d[COUNTERS[0]] / total


def iperf(res, streams):
    try:
        with open(os.path.join(res, f"iperf3-{streams}.json")) as f:
            doc = json.load(f)
        return doc["end"]["sum_received"]["bits_per_second"] / 8 / 2**20
    except (OSError, ValueError, KeyError):
        return None


def main():
    args = sys.argv[1:]
    md = False
    if args and args[0] == "--md":
        md, args = True, args[1:]
    if len(args) < 2:
        sys.exit(__doc__)
    res, servers = args[0], args[1:]
    ratio = "sluice" in servers and "ganesha" in servers

    header = ["job"]
    for s in servers:
        header += [f"{s} rate", f"{s} IOPS", f"{s} p99 ms", f"{s} RSS MiB"]
    if ratio:
        header.append("sluice/ganesha")
    rnds = rounds(res)
    rows, errors, spread = [], [], []
    per_job = {}
    for job, label, key in JOBS:
        per = {s: metrics(res, s, job, key, rnds) for s in servers}
        per_job[job] = per
        if not any(per.values()):
            continue
        unit = "files/s" if key == "ops_s" else "MiB/s"
        row = [f"{label} ({unit})"]
        for s in servers:
            m = per[s]
            if m and m["errors"]:
                errors.append(f"{s} {job}: {m['errors']} error(s)")
            mark = "!" if m and m["errors"] else ""
            row += [fmt(m["rate"]) + mark if m else "-", fmt(m["iops"], 0) if m else "-",
                    fmt(m["p99"], 2) if m else "-", fmt(m["rss"], 0) if m else "-"]
        if ratio:
            a, b = per["sluice"], per["ganesha"]
            row.append(f"{a['rate'] / b['rate']:.2f}" if a and b and b["rate"] else "-")
        rows.append(row)
        spread.append(f"{label}: " + "; ".join(
            f"{s} " + ", ".join(fmt(v) for v in per[s]["all"]) for s in servers if per[s]))

    table = [header] + rows
    if md:
        print("| " + " | ".join(header) + " |")
        print("|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|")
        for r in rows:
            print("| " + " | ".join(r) + " |")
    else:
        widths = [max(len(r[i]) for r in table) for i in range(len(header))]
        for r in table:
            print("  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))))
    print()
    print("rate: MiB/s, small files in files/s; IOPS: READs per second; p99: one READ, or one "
          "whole small file (OPEN, READ, CLOSE); RSS: the server's peak VmRSS during the job; "
          "ratio: sluice's rate over Ganesha's (higher is better for sluice).")
    if len(rnds) > 1:
        print(f"each figure is the job's median of {len(rnds)} rounds (RSS: the highest); "
              "the rates of every round:")
        for line in spread:
            print("  " + line)

    one, many = iperf(res, 1), None
    for name in sorted(os.listdir(res)):
        if name.startswith("iperf3-") and name.endswith(".json") and name != "iperf3-1.json":
            many = (name[len("iperf3-"):-len(".json")], iperf(res, name[len("iperf3-"):-len(".json")]))
    line = "loopback ceiling (iperf3): "
    line += f"1 stream {fmt(one)} MiB/s" if one else "1 stream -"
    if many and many[1]:
        line += f", {many[0]} streams {fmt(many[1])} MiB/s"
    ceiling = max(v for v in (one, many[1] if many else None, 0) if v is not None)
    warm = per_job.get("seq-warm", {}).get("sluice")
    if warm and ceiling:
        line += f"; sluice seq 1M warm = {100 * warm['rate'] / ceiling:.0f} % of it"
    print(line)

    if "sluice" in servers:
        na, hits = None, []
        for r in rnds:
            for e in ("epoch0", "epoch1", "epoch2"):
                p = os.path.join(res, f"sluice-{e}.r{r}.stats.na")
                if os.path.exists(p) and na is None:
                    with open(p) as f:
                        na = f.read().strip()
            h = hit_rate(stats(os.path.join(res, f"sluice-epoch1.r{r}.stats")),
                         stats(os.path.join(res, f"sluice-epoch2.r{r}.stats")))
            if h:
                hits.append(h)
        if hits:
            d, rate = sorted(hits, key=lambda h: h[1])[(len(hits) - 1) // 2]
            line = (f"sluice epoch 2 hit rate: {100 * rate:.1f} % (hits {d[COUNTERS[0]]:,.0f}, "
                    f"misses {d[COUNTERS[1]]:,.0f}, prefetch used {d[COUNTERS[2]]:,.0f})")
            if len(hits) > 1:
                line += "; rounds: " + ", ".join(f"{100 * h[1]:.1f} %" for h in hits)
            print(line)
        else:
            print("sluice epoch 2 hit rate: n/a" + (f" ({na})" if na else ""))
    params = os.path.join(res, "params.txt")
    if os.path.exists(params):
        with open(params) as f:
            for line in f:
                if line.startswith(("sets:", "sluice cache_size:", "loadgen:", "host:")):
                    print(line.rstrip())
    if errors:
        print("ERRORS (rates marked !): " + "; ".join(errors))


if __name__ == "__main__":
    main()
