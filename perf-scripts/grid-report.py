#!/usr/bin/env python3
"""grid-report.py - the markdown tables and the gnuplot chart of a perf-grid.sh TSV.

Usage: perf-scripts/grid-report.py GRID.tsv OUT.md OUT.png
Medians over the ok runs of each grid point (a point with failed runs says so). The chart (PNG, gnuplot) shows the
drain rate (msg/s, last message at the sink) of every target per grid point, log scale. Standard library + gnuplot.
"""
import csv
import statistics
import subprocess
import sys

NAMES = {"limit": "limit", "postfix": "Postfix", "commit": "FastMta Commit", "relaxed": "FastMta Relaxed"}


def num(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def main():
    if len(sys.argv) != 4:
        sys.stderr.write(__doc__.split("\n\n", 1)[1])
        return 2
    tsv, md, png = sys.argv[1:]
    with open(tsv) as f:
        lines = f.read().splitlines()
    facts = [l[2:] for l in lines if l.startswith("# ")]
    rows = list(csv.DictReader((l for l in lines if not l.startswith("#")), delimiter="\t"))
    points, targets, runs = [], [], {}
    for r in rows:
        key = (int(r["size"]), int(r["conc"]), r["mode"])
        if key not in points:
            points.append(key)
        if r["target"] not in targets:
            targets.append(r["target"])
        runs.setdefault((key, r["target"]), []).append(r)

    def med(key, target, col):
        ok = [num(r[col]) for r in runs.get((key, target), []) if r["status"] == "ok" and num(r[col]) is not None]
        return statistics.median(ok) if ok else None

    def failed(key, target):
        rs = runs.get((key, target), [])
        bad = sum(r["status"] != "ok" for r in rs)
        return f" ({bad}/{len(rs)} failed)" if bad else ""

    def f0(v):
        return "–" if v is None else f"{v:.0f}"

    def label(key):
        size, conc, mode = key
        return f"{size // 1024} KiB" if size % 1024 == 0 else f"{size} B", conc, mode

    out = ["Machine and run: " + "; ".join(facts), ""]
    reps = max((len(v) for v in runs.values()), default=0)
    out.append(f"Throughput, msg/s, accept / drain (median of {reps} run(s) per cell; drain = last message at the sink):")
    out.append("")
    head = "| size | sessions | mode | " + " | ".join(NAMES.get(t, t) for t in targets)
    ratio = "commit" in targets and "postfix" in targets
    head += " | Commit/Postfix drain | Commit/limit drain |" if ratio else " |"
    out += [head, "|" + "---|" * (3 + len(targets) + (2 if ratio else 0))]
    for key in points:
        cells = []
        for t in targets:
            a, d = med(key, t, "accept_rate"), med(key, t, "drain_rate")
            cells.append((f0(d) if t == "limit" else f"{f0(a)} / {f0(d)}") + failed(key, t))
        line = "| %s | %s | %s | " % label(key) + " | ".join(cells)
        if ratio:
            c, p, l = med(key, "commit", "drain_rate"), med(key, "postfix", "drain_rate"), med(key, "limit", "drain_rate")
            line += " | " + (f"{c / p:.1f}" if c and p else "–") + " | " + (f"{c / l:.2f}" if c and l else "–")
        out.append(line + " |")
    out += ["", "Time to 250 (ms, p50 / p99, latency phase on its own), FastMta CPU seconds per 1,000 messages and peak RSS (MiB):", ""]
    lat_targets = [t for t in targets]
    fm = [t for t in ("commit", "relaxed") if t in targets]
    out.append("| size | sessions | mode | " + " | ".join(f"{NAMES.get(t, t)} p50 / p99" for t in lat_targets)
               + "".join(f" | {NAMES[t]} CPU s/1k | {NAMES[t]} RSS" for t in fm) + " |")
    out.append("|" + "---|" * (3 + len(lat_targets) + 2 * len(fm)))
    for key in points:
        cells = []
        for t in lat_targets:
            p50, p99 = med(key, t, "lat_p50_ms"), med(key, t, "lat_p99_ms")
            cells.append("–" if p50 is None else f"{p50:.1f} / {p99:.1f}")
        for t in fm:
            cpu, rss = med(key, t, "cpu_s_per_1k"), med(key, t, "peak_rss_mib")
            cells += ["–" if cpu is None else f"{cpu:.2f}", f0(rss)]
        out.append("| %s | %s | %s | " % label(key) + " | ".join(cells) + " |")
    loads = [num(r["load1"]) for r in rows if num(r["load1"]) is not None]
    if loads:
        out += ["", f"1-minute load average at the end of each run: {min(loads):.1f} to {max(loads):.1f} (median {statistics.median(loads):.1f})."]
    with open(md, "w") as f:
        f.write("\n".join(out) + "\n")

    dat = png[:-4] + ".dat" if png.endswith(".png") else png + ".dat"
    with open(dat, "w") as f:
        f.write("point\t" + "\t".join(NAMES.get(t, t).replace(" ", "_") for t in targets) + "\n")
        for key in points:
            s, c, m = label(key)
            f.write(f'"{s.replace(" ", "")} c{c} {m}"\t' + "\t".join(f0(med(key, t, "drain_rate")).replace("–", "?") for t in targets) + "\n")
    title = "smtp-source -> MTA -> smtp-sink on 127.0.0.1: drain rate (msg/s)"
    plot = ", ".join(f"'{dat}' using {i + 2}:xtic(1) title '{NAMES.get(t, t)}'" for i, t in enumerate(targets))
    script = f"""set terminal pngcairo size 1280,640 noenhanced font 'sans,10'
set output '{png}'
set title "{title}\\n{(facts[1] if len(facts) > 1 else '').replace('"', "'")}"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set logscale y
set yrange [10:*]
set ylabel 'messages per second (log scale)'
set grid ytics
set key top right
set datafile missing '?'
set xtics rotate by -30
plot {plot}
"""
    subprocess.run(["gnuplot"], input=script, text=True, check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
