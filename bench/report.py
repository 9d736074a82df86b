#!/usr/bin/env python3
"""Turn one bench/run result directory into a table with ratios between servers.

usage: report.py [--md] RESULT_DIR SERVER...

Per job and server: MiB/s, IOPS, files/s (small-file jobs), p99 completion latency; then the
ratio of the first server named to each of the others (higher: the first is faster). Peak RSS
of the user-space servers through the run. Ceilings: iperf3 on the guest's loopback and fio on
the guest's local disk, from the same boot.
"""
import json
import os
import sys

JOBS = [  # (result name, fio job file, label)
    ("seqread", "seqread", "seq read 1M"),
    ("randread", "randread", "rand read 128k"),
    ("smallfiles", "smallfiles", "small files cold"),
    ("smallfiles-warm", "smallfiles", "small files warm"),
    ("ckptwrite", "ckptwrite", "ckpt write 1M+fsync"),
]
SMALL_FILE_BYTES = 110 * 1024


def load(path):
    try:
        with open(path) as f:
            text = f.read()
    except OSError:
        return None
    # fio may print notes before the JSON document.
    start = text.find("{")
    if start < 0:
        return None
    try:
        return json.loads(text[start:])
    except json.JSONDecodeError:
        return None


def fio_metrics(doc, job_file):
    """Sum bandwidth and IOPS over the jobs of a fio JSON result; worst p99 of them."""
    if not doc:
        return None
    mib_s = iops = 0.0
    p99_ms = 0.0
    io_bytes = 0
    runtime_ms = 0
    for job in doc.get("jobs", []):
        for d in ("read", "write"):
            side = job[d]
            if side.get("io_bytes", 0) == 0:
                continue
            mib_s += side["bw_bytes"] / 2**20
            iops += side["iops"]
            io_bytes += side["io_bytes"]
            runtime_ms = max(runtime_ms, side["runtime"])
            pct = side.get("clat_ns", {}).get("percentile", {})
            p99 = pct.get("99.000000")
            if p99 is not None:
                p99_ms = max(p99_ms, p99 / 1e6)
    if io_bytes == 0:
        return None
    files_s = None
    if job_file == "smallfiles" and runtime_ms:
        files_s = io_bytes / SMALL_FILE_BYTES / (runtime_ms / 1000)
    return {"MiB/s": mib_s, "IOPS": iops, "files/s": files_s, "p99 ms": p99_ms}


def fmt(v, nd=1):
    if v is None:
        return "-"
    if v >= 1000:
        return f"{v:,.0f}"
    return f"{v:.{nd}f}"


def main():
    args = sys.argv[1:]
    md = False
    if args and args[0] == "--md":
        md, args = True, args[1:]
    if len(args) < 2:
        sys.exit(__doc__)
    res, servers = args[0], args[1:]
    base = servers[0]

    rows = []
    for name, job_file, label in JOBS:
        per = {s: fio_metrics(load(os.path.join(res, f"{s}-{name}.json")), job_file) for s in servers}
        if not any(per.values()) and not any(
                os.path.exists(os.path.join(res, f"{s}-{name}.json")) for s in servers):
            continue  # job not run
        key = "files/s" if job_file == "smallfiles" else "MiB/s"
        row = [label]
        for s in servers:
            m = per[s]
            row += [fmt(m[key]) if m else "-", fmt(m["IOPS"], 0) if m else "-",
                    fmt(m["p99 ms"], 2) if m else "-"]
        for s in servers[1:]:
            a, b = per[base], per[s]
            row.append(f"{a[key] / b[key]:.2f}" if a and b and b[key] else "-")
        rows.append((key, row))

    lsl = {}
    for s in servers:
        try:
            with open(os.path.join(res, f"{s}-lsl.txt")) as f:
                secs, n = f.read().split()
                lsl[s] = (float(secs), int(n) - 1)  # ls -l prints a "total" line
        except (OSError, ValueError):
            lsl[s] = None
    if any(lsl.values()):
        n = next(v[1] for v in lsl.values() if v)
        row = [f"ls -l {n:,} entries"]
        for s in servers:
            v = lsl[s]
            row += [fmt(v[1] / v[0]) if v else "-", "-", "-"]
        for s in servers[1:]:
            a, b = lsl[base], lsl[s]
            row.append(f"{b[0] / a[0]:.2f}" if a and b else "-")
        rows.append(("entries/s", row))

    header = ["job"]
    for s in servers:
        header += [f"{s} rate", f"{s} IOPS", f"{s} p99 ms"]
    header += [f"{base}/{s}" for s in servers[1:]]

    table = [header] + [r for _, r in rows]
    if md:
        print("| " + " | ".join(header) + " |")
        print("|" + "|".join(["---"] * len(header)) + "|")
        for r in table[1:]:
            print("| " + " | ".join(r) + " |")
    else:
        widths = [max(len(r[i]) for r in table) for i in range(len(header))]
        for r in table:
            print("  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))))
    print()
    print("rate: MiB/s, except small files (files/s) and ls -l (entries/s); ratios: higher is better for "
          + f"{base} against " + ", ".join(servers[1:]) + ".")
    rss = []
    for s in servers:
        try:
            with open(os.path.join(res, f"{s}-rss.txt")) as f:
                kib = max(int(line.split()[1]) for line in f if line.strip())
            rss.append(f"{s} {kib / 1024:,.0f} MiB")
        except (OSError, ValueError, IndexError):
            pass
    if rss:
        print("peak RSS through the run (VmHWM): " + "; ".join(rss))
    for s in servers:
        hit = os.path.join(res, f"{s}-stats.txt")
        if os.path.exists(hit):
            with open(hit) as f:
                c = dict(l.split()[:2] for l in f if l.startswith("sluice_cache") and len(l.split()) >= 2)
            try:
                h, m, p = (int(c[k]) for k in ("sluice_cache_hits_total", "sluice_cache_misses_total",
                                               "sluice_cache_prefetch_used_total"))
                print(f"{s} cache at the end: hits {h:,}, misses {m:,}, read-ahead used {p:,} "
                      f"(hit rate {h / max(1, h + m + p):.0%}), budget "
                      f"{int(c.get('sluice_cache_budget_bytes', 0)) >> 20} MiB")
            except (KeyError, ValueError):
                pass

    ceil = []
    ip = load(os.path.join(res, "ceiling-iperf3.json"))
    if ip and "end" in ip:
        gbit = ip["end"]["sum_received"]["bits_per_second"] / 1e9
        ceil.append(f"iperf3 loopback {gbit:.2f} Gbit/s ({gbit * 1e9 / 8 / 2**20:,.0f} MiB/s)")
    for name, label in (("seqread", "seq read 1M"), ("randread", "rand read 128k")):
        m = fio_metrics(load(os.path.join(res, f"local-{name}.json")), name)
        if m:
            ceil.append(f"local disk {label} {fmt(m['MiB/s'])} MiB/s")
    if ceil:
        print("ceilings (same boot): " + "; ".join(ceil))


if __name__ == "__main__":
    main()
