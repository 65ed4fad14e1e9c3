#!/usr/bin/env python3
"""Turns ringdrop benchmark output into tables and plots.

Usage:
  tools/bench_report.py PINGPONG.jsonl [--micro MICRO.json] [--out DIR] [--label TEXT]

Inputs:
  PINGPONG.jsonl  the JSON lines of `ringdrop-pingpong --json FILE`, one
                  object per row. Fields beyond the ones used here are kept
                  (they go to the CSV, and cpu_ns_per_msg / memory_bytes get
                  a column when a row has them); missing ones count as null.
  MICRO.json      optional: the Google Benchmark JSON of ringdrop-micro
                  (--benchmark_out=FILE --benchmark_out_format=json, or
                  --benchmark_format=json on stdout).

Writes into DIR (default results/latest):
  results.csv     one row per JSON line, every field seen in any line;
  results.md      the machine and date, then Markdown tables: round-trip
                  latency with its ratio to the floors of the same run,
                  throughput with its ratio to the best alternative,
                  request/response (the rpc-* rows) over the raw MPMC ring
                  of the same run, the micro-benchmarks next to memcpy (and
                  the typed ones next to their raw baseline);
  latency.png     p50 round trip against message size (log-log);
  throughput.png  MB/s against message size (log-log).
Without matplotlib the plots are skipped with a note; the rest is written.

Standard library only, plus matplotlib for the plots.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import platform
import sys
from pathlib import Path

# Mechanisms of ringdrop itself, and the physical floors; any other
# mechanism in the JSON (socket, and whatever alternative transports the
# benchmark grows) is an "alternative".
RINGDROP = {"spsc", "mpmc", "broadcast", "drop", "drop-sync", "rpc-call", "rpc-8", "rpc-64"}
FLOORS = {"call", "atomic", "futex"}
NOT_SHARED_MEMORY = {"call", "drop", "drop-sync"}  # a ratio to a floor would mean nothing
SPINNING_MODES = {"spin", "inproc"}

THROUGHPUT_NOTE = ("Messages sent one way as fast as they go; MB/s is msgs/s times the message "
                   "size. \"msgs/s / spsc\" is over the SPSC row of the same mode and size.")

# Optional per-row fields: (JSON key, column title, formatter name).
OPTIONAL_COLUMNS = [("cpu_ns_per_msg", "CPU ns/msg", "ns"), ("memory_bytes", "memory", "bytes")]


# ---------------------------------------------------------------- formatting

def fmt_size(n) -> str:
    if n is None:
        return "-"
    n = int(n)
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale and n % scale == 0:
            return f"{n // scale} {unit}"
    return f"{n} B"


def fmt_bytes(n) -> str:
    if n is None:
        return "-"
    n = float(n)
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n:.0f} B"


def fmt_ns(ns) -> str:
    """A duration in ns with a readable unit: 654 ns, 2.08 µs, 31.3 ms."""
    if ns is None:
        return "-"
    ns = float(ns)
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.3g} {unit}"
    return f"{ns:.3g} ns"


def fmt_rate(x) -> str:
    """A count per second: 20.7 M, 1.09 M, 67.4 k."""
    if x is None:
        return "-"
    x = float(x)
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if x >= scale:
            return f"{x / scale:.3g} {unit}"
    return f"{x:.3g}"


def fmt_num(x, digits=1) -> str:
    return "-" if x is None else f"{float(x):,.{digits}f}".replace(",", " ")


def fmt_ratio(x) -> str:
    return "-" if x is None else f"{x:.2f}×"


FORMATTERS = {"ns": fmt_ns, "bytes": fmt_bytes}


def ratio(value, reference):
    if value is None or not reference:
        return None
    return float(value) / float(reference)


def md_table(header: list[str], rows: list[list[str]], right: set[int]) -> str:
    """A Markdown table; columns in `right` are right-aligned."""
    align = ["---:" if i in right else "---" for i in range(len(header))]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


# ---------------------------------------------------------------- inputs

def read_jsonl(path: Path) -> list[dict]:
    rows = []
    with path.open(encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                print(f"bench_report: {path}:{number}: skipped, not JSON ({e})", file=sys.stderr)
                continue
            if isinstance(row, dict):
                rows.append(row)
    return rows


def read_micro(path: Path) -> tuple[dict, list[dict]]:
    """The context and the benchmark runs of a Google Benchmark JSON file:
    the median of repetitions when there are any, else the plain runs."""
    data = json.loads(path.read_text(encoding="utf-8"))
    runs = [b for b in data.get("benchmarks", []) if isinstance(b, dict)]
    medians = [b for b in runs if b.get("run_type") == "aggregate" and b.get("aggregate_name") == "median"]
    if medians:
        runs = medians
    else:
        runs = [b for b in runs if b.get("run_type", "iteration") == "iteration"]
    return data.get("context", {}), runs


def machine() -> str:
    model = None
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{model or platform.processor() or 'unknown CPU'}, {os.cpu_count()} CPUs (nproc), " \
           f"kernel {platform.release()}"


# ---------------------------------------------------------------- rows

def key(r: dict) -> str:
    """mechanism, mode and (when not 1->1) topology: one line of a plot."""
    name = f"{r.get('mechanism', '?')} {r.get('mode', '?')}"
    topo = r.get("topology")
    return name if topo in (None, "1->1") else f"{name} {topo}"


def find(rows, metric, mechanism, mode, size=None):
    for r in rows:
        if (r.get("metric") == metric and r.get("mechanism") == mechanism and r.get("mode") == mode
                and (size is None or r.get("size") == size)):
            return r
    return None


def optional_columns(rows):
    return [c for c in OPTIONAL_COLUMNS if any(r.get(c[0]) is not None for r in rows)]


def latency_table(rows: list[dict]) -> str:
    rtt = [r for r in rows if r.get("metric") == "rtt"]
    if not rtt:
        return "_No round-trip rows._"
    atomic = find(rows, "rtt", "atomic", "spin")
    futex = find(rows, "rtt", "futex", "sleep")
    atomic_p50 = atomic and atomic.get("p50_ns")
    futex_p50 = futex and futex.get("p50_ns")
    extra = optional_columns(rtt)
    out = []
    for r in rtt:
        mech, mode, p50 = r.get("mechanism"), r.get("mode"), r.get("p50_ns")
        shared = mech not in NOT_SHARED_MEMORY
        # Spinning and blocking (spin first, then sleep) rows against the
        # cache-line floor; the rows that may sleep (every mode but spin)
        # against the futex floor.
        to_atomic = ratio(p50, atomic_p50) if shared and mech != "futex" and mode != "sleep" else None
        to_futex = ratio(p50, futex_p50) if shared and mode not in SPINNING_MODES else None
        to_spsc = None
        spsc = find(rows, "rtt", "spsc", mode, r.get("size"))
        if spsc and mech not in FLOORS and mech != "spsc":
            to_spsc = ratio(p50, spsc.get("p50_ns"))
        out.append([mech or "-", mode or "-", r.get("topology") or "-", fmt_size(r.get("size")),
                    fmt_num(r.get("iters"), 0), fmt_ns(p50), fmt_ns(r.get("p99_ns")),
                    fmt_ns(r.get("p999_ns")), fmt_ratio(to_atomic), fmt_ratio(to_futex),
                    fmt_ratio(to_spsc)]
                   + [FORMATTERS[f](r.get(k)) for k, _, f in extra])
    header = ["mechanism", "mode", "topology", "size", "iters", "p50", "p99", "p99.9",
              "p50 / atomic floor", "p50 / futex floor", "p50 / spsc"] + [t for _, t, _ in extra]
    notes = []
    if atomic_p50:
        notes.append(f"atomic floor (a cache line between two cores, spinning): p50 {fmt_ns(atomic_p50)}")
    if futex_p50:
        notes.append(f"futex floor (sleep and wake): p50 {fmt_ns(futex_p50)}")
    text = md_table(header, out, set(range(3, len(header))))
    return text + ("\n\nFloors of this run: " + "; ".join(notes) + "." if notes else "")


def rpc_in_flight(mechanism) -> int | None:
    """Calls in flight of a request/response row: rpc-call 1, rpc-N N; None otherwise."""
    if mechanism == "rpc-call":
        return 1
    if isinstance(mechanism, str) and mechanism.startswith("rpc-") and mechanism[4:].isdigit():
        return int(mechanism[4:])
    return None


def rpc_table(rows: list[dict]) -> str | None:
    """The request/response rows (rtt and the calls/s of the same calls),
    over the raw MPMC ring of the same mode and size; None without any."""
    rpc = [r for r in rows if r.get("metric") == "rtt" and rpc_in_flight(r.get("mechanism"))]
    if not rpc:
        return None

    def find_topology(metric, mechanism, mode, size, topology):
        return next((r for r in rows if r.get("metric") == metric and r.get("mechanism") == mechanism
                     and r.get("mode") == mode and r.get("size") == size
                     and r.get("topology") == topology), None)

    out = []
    for r in rpc:
        mech, mode, size = r.get("mechanism"), r.get("mode"), r.get("size")
        rate_row = find(rows, "throughput", mech, mode, size)
        rate = rate_row and rate_row.get("msgs_per_s")
        blocking = find(rows, "throughput", "rpc-call", mode, size)
        raw = find(rows, "rtt", "mpmc", mode, size)
        raw_one_way = find_topology("throughput", "mpmc", mode, size, "1->1")
        out.append([mech, mode or "-", str(rpc_in_flight(mech)), fmt_size(size),
                    fmt_num(r.get("iters"), 0), fmt_ns(r.get("p50_ns")), fmt_ns(r.get("p99_ns")),
                    fmt_ns(r.get("p999_ns")), fmt_rate(rate),
                    fmt_ratio(ratio(r.get("p50_ns"), raw and raw.get("p50_ns"))),
                    fmt_ratio(ratio(rate, blocking and blocking.get("msgs_per_s")))
                    if mech != "rpc-call" else "-",
                    fmt_ratio(ratio(rate, raw_one_way and raw_one_way.get("msgs_per_s"))),
                    fmt_ns(r.get("cpu_ns_per_msg"))])
    header = ["mechanism", "mode", "in flight", "size", "calls", "p50", "p99", "p99.9", "calls/s",
              "p50 / raw rtt", "calls/s / rpc-call", "calls/s / raw one-way", "CPU ns/msg"]
    return md_table(header, out, set(range(2, len(header))))


def throughput_table(rows: list[dict]) -> str:
    tp = [r for r in rows if r.get("metric") == "throughput"]
    if not tp:
        return "_No throughput rows._"
    # The benchmark marks the mechanisms a user would pick instead of ringdrop
    # ("alternative": true); older files without the field fall back to names.
    def is_alternative(r):
        if "alternative" in r:
            return bool(r["alternative"])
        return r.get("mechanism") not in RINGDROP | FLOORS
    alternatives = [r for r in tp if is_alternative(r)]
    extra = optional_columns(tp)
    out = []
    for r in tp:
        rate, size = r.get("msgs_per_s"), r.get("size")
        mbps = r.get("mb_per_s")
        if mbps is None and rate is not None and size is not None:
            mbps = rate * size / 1e6
        # The best alternative at this size (any mode or topology), not the row itself.
        rivals = [a for a in alternatives if a.get("size") == size and a is not r
                  and a.get("msgs_per_s")]
        best = max(rivals, key=lambda a: a["msgs_per_s"], default=None)
        vs_best = f"{fmt_ratio(ratio(rate, best['msgs_per_s']))} {key(best)}" if best else "-"
        spsc = find(rows, "throughput", "spsc", r.get("mode"), size)
        to_spsc = ratio(rate, spsc.get("msgs_per_s")) if spsc and spsc is not r else None
        out.append([r.get("mechanism") or "-", r.get("mode") or "-", r.get("topology") or "-",
                    fmt_size(size), fmt_num(r.get("iters"), 0), fmt_rate(rate), fmt_num(mbps),
                    vs_best, fmt_ratio(to_spsc)]
                   + [FORMATTERS[f](r.get(k)) for k, _, f in extra])
    header = ["mechanism", "mode", "topology", "size", "iters", "msgs/s", "MB/s",
              "vs best alternative", "msgs/s / spsc"] + [t for _, t, _ in extra]
    text = md_table(header, out, set(range(3, len(header))))
    if alternatives:
        names = sorted({f"{a.get('mechanism')} {a.get('mode')}" for a in alternatives})
        text += ("\n\n\"vs best alternative\": msgs/s over the fastest non-ringdrop mechanism "
                 f"of the same size ({', '.join(names)}), named after the ratio.")
    else:
        text += "\n\nNo alternative (non-ringdrop) mechanism in this run: no comparison."
    return text


def micro_table(runs: list[dict]) -> str:
    if not runs:
        return "_No micro-benchmark runs._"
    scale = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}

    def ns(run, field):
        value = run.get(field)
        return None if value is None else float(value) * scale.get(run.get("time_unit", "ns"), 1.0)

    def split(name):  # "spsc/reserve_commit/64" -> ("spsc/reserve_commit", 64)
        head, _, tail = name.rpartition("/")
        return (head, int(tail)) if tail.isdigit() else (name, None)

    memcpy = {split(r["run_name"] if "run_name" in r else r.get("name", ""))[1]: ns(r, "cpu_time")
              for r in runs if r.get("name", "").startswith("memcpy/")}
    # Benchmarks named group/variant/size (typed_publish/in_place/64) are
    # also shown over the group's "raw" variant of the same size, when there
    # is one: the baseline measured next to them.
    raw = {}
    for r in runs:
        op, size = split(r.get("run_name") or r.get("name", "?"))
        if op.endswith("/raw") and not r.get("error_occurred"):
            raw[(op[: -len("/raw")], size)] = ns(r, "cpu_time")
    with_raw = bool(raw)
    out = []
    for r in runs:
        op, size = split(r.get("run_name") or r.get("name", "?"))
        if r.get("error_occurred"):
            out.append([op, fmt_size(size), "-", "-", "-", "-", "error: " + str(r.get("error_message"))]
                       + (["-"] if with_raw else []))
            continue
        cpu = ns(r, "cpu_time")
        bps = r.get("bytes_per_second")
        over = None if op == "memcpy" else ratio(cpu, memcpy.get(size))
        group = op.rpartition("/")[0]
        over_raw = None if op.endswith("/raw") else ratio(cpu, raw.get((group, size)))
        out.append([op, fmt_size(size), fmt_num(r.get("iterations"), 0), fmt_ns(cpu),
                    fmt_ns(ns(r, "real_time")), "-" if bps is None else f"{bps / 1e9:.2f}",
                    fmt_ratio(over)] + ([fmt_ratio(over_raw)] if with_raw else []))
    header = ["benchmark", "size", "iterations", "CPU time / op", "real time / op", "GB/s",
              "CPU time / memcpy"] + (["CPU time / raw"] if with_raw else [])
    return md_table(header, out, set(range(1, len(header))))


# ---------------------------------------------------------------- outputs

def write_csv(rows: list[dict], path: Path) -> None:
    fields: list[str] = []
    for r in rows:
        fields += [k for k in r if k not in fields]
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=fields, restval="")
        w.writeheader()
        for r in rows:
            w.writerow({k: "" if v is None else v for k, v in r.items()})


def write_markdown(rows, micro_ctx, micro_runs, args, path: Path) -> None:
    def span(metric):
        iters = [int(r["iters"]) for r in rows if r.get("metric") == metric and r.get("iters")]
        if not iters:
            return "none"
        lo, hi = fmt_num(min(iters), 0), fmt_num(max(iters), 0)
        return f"{len(iters)} rows, {lo}–{hi} each" if lo != hi else f"{len(iters)} rows, {lo} each"

    measured = dt.datetime.fromtimestamp(args.pingpong.stat().st_mtime).astimezone()
    lines = [
        "# ringdrop benchmark results",
        "",
        f"- Machine: {machine()}",
        f"- Date: {measured:%Y-%m-%d %H:%M %Z} (when {args.pingpong.name} was written)",
    ]
    if args.label:
        lines.append(f"- Run: {args.label}")
    lines.append(f"- Iterations (the `iters` column of each row): round trips per latency row: "
                 f"{span('rtt')}; messages per throughput row: {span('throughput')}")
    if micro_runs:
        load = micro_ctx.get("load_avg")
        load_text = f", load average {', '.join(f'{x:.2f}' for x in load)} at its start" if load else ""
        lines.append(f"- Micro-benchmarks: {len(micro_runs)} runs of ringdrop-micro{load_text}")
    lines += [
        "",
        "## Round-trip latency",
        "",
        "A message to another process and back (ringdrop-pingpong; its `bench/main.cpp` describes "
        "every row). Ratios are p50 over the floors measured in the same run: spinning rows over "
        "the atomic floor (one cache line between two cores, the best a spinning round trip can "
        "do), sleeping rows over the futex floor (one sleep and wake each way), and blocking rows "
        "(spin 50 µs, then sleep) over both. File-drop rows have neither: that is file-system "
        "work.",
        "",
        latency_table(rows),
        "",
        "## One-way throughput",
        "",
        THROUGHPUT_NOTE,
        "",
        throughput_table(rows),
        "",
    ]
    rpc = rpc_table(rows)
    if rpc:
        lines += [
            "## Request/response",
            "",
            "A ringdrop Client calling a Server in another process (`rpc-*` rows above, gathered "
            "here): a 64 B Data field echoed, both sides waiting with the default spin_block "
            "(mode block). rpc-call is a blocking call(), one in flight; rpc-N keeps N calls in "
            "flight with call_async() + poll(), each call timed from call_async() to its callback "
            "(queueing behind the others included). \"p50 / raw rtt\" is over the raw MPMC ring "
            "round trip of the same mode and size (the rings requests and replies travel "
            "through); \"calls/s / raw one-way\" over the raw MPMC ring's one-way 1->1 rate "
            "(messages, where a call is two), both of the same run.",
            "",
            rpc,
            "",
        ]
    lines += [
        "## Micro-benchmarks",
        "",
    ]
    if micro_runs:
        lines += [
            "ringdrop-micro: each ring operation with producer and consumer in one thread, so no "
            "cache line crosses cores (the cost of the calls, not a latency). Payload copied in or "
            "out in every ring operation; GB/s is payload bytes over CPU time. \"CPU time / memcpy\" "
            "compares with a plain memcpy of the same size; \"CPU time / raw\" compares a typed "
            "(Cap'n Proto) benchmark with the raw bytes of the same size through the same ring "
            "(its group's raw row).",
            "",
            micro_table(micro_runs),
        ]
    else:
        lines.append("_Not run (no --micro file)._")
    lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")


def plot(rows: list[dict], out: Path) -> list[Path]:
    """latency.png and throughput.png; [] (and a note) without matplotlib."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator
    except ImportError:
        print("bench_report: matplotlib is not installed (Debian: python3-matplotlib): "
              "no plots, only results.csv and results.md", file=sys.stderr)
        return []

    def series(metric, value):
        lines: dict[str, list[tuple[int, float]]] = {}
        for r in rows:
            if r.get("metric") == metric and r.get("size") and r.get(value):
                lines.setdefault(key(r), []).append((int(r["size"]), float(r[value])))
        return {k: sorted(v) for k, v in lines.items()}

    def size_axis(ax, sizes):
        ax.set_xscale("log", base=2)
        ax.xaxis.set_major_locator(FixedLocator(sorted(sizes)))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: fmt_size(round(x))))
        ax.set_xlabel("message size")
        ax.grid(True, which="major", alpha=0.4)
        ax.grid(True, which="minor", axis="y", alpha=0.15)

    def draw(lines, references, ylabel, title, yformat, filename):
        fig, ax = plt.subplots(figsize=(11, 6.5))
        markers = "osD^v<>phX*"
        colors = plt.get_cmap("tab10").colors  # distinct; dashed lines after the tenth
        sizes = {s for pts in lines.values() for s, _ in pts}
        for i, (name, pts) in enumerate(lines.items()):
            xs, ys = zip(*pts)
            style = ("-" if i < len(colors) else "--") if len(pts) > 1 else "none"
            ax.plot(xs, ys, marker=markers[i % len(markers)], color=colors[i % len(colors)],
                    linestyle=style, label=name, markersize=7, alpha=0.9)
        for j, (name, y) in enumerate(references):
            ax.axhline(y, color="black", linestyle=["--", ":", "-."][j % 3], linewidth=1,
                       label=name)
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _: yformat(y)))
        size_axis(ax, sizes)
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=9, frameon=False)
        fig.tight_layout()
        path = out / filename
        fig.savefig(path, dpi=110)
        plt.close(fig)
        return path

    written = []
    rtt = series("rtt", "p50_ns")
    references = []
    for mech, mode, label in (("atomic", "spin", "atomic floor"), ("futex", "sleep", "futex floor"),
                              ("call", "inproc", "function call (harness cost)")):
        r = find(rows, "rtt", mech, mode)
        if r and r.get("p50_ns"):
            rtt.pop(key(r), None)
            references.append((f"{label}: {fmt_ns(r['p50_ns'])}", float(r["p50_ns"])))
    if rtt:
        written.append(draw(rtt, references, "p50 round trip", "Round-trip latency (p50)",
                            lambda y: fmt_ns(y), "latency.png"))
    tp = series("throughput", "mb_per_s")
    if not tp:  # older files: MB/s from msgs/s
        tp = {k: [(s, v * s / 1e6) for s, v in pts]
              for k, pts in series("throughput", "msgs_per_s").items()}
    if tp:
        written.append(draw(tp, [], "MB/s (payload)", "One-way throughput",
                            lambda y: f"{y:g}", "throughput.png"))
    return written


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("pingpong", type=Path, help="JSON lines of ringdrop-pingpong --json")
    parser.add_argument("--micro", type=Path, help="Google Benchmark JSON of ringdrop-micro")
    parser.add_argument("--out", type=Path, default=Path("results/latest"), help="output folder")
    parser.add_argument("--label", help="a line for the header, e.g. how the run was made")
    args = parser.parse_args()

    rows = read_jsonl(args.pingpong)
    if not rows:
        print(f"bench_report: no rows in {args.pingpong}", file=sys.stderr)
        return 1
    micro_ctx, micro_runs = {}, []
    if args.micro:
        try:
            micro_ctx, micro_runs = read_micro(args.micro)
        except (OSError, ValueError) as e:
            print(f"bench_report: {args.micro}: skipped ({e})", file=sys.stderr)

    args.out.mkdir(parents=True, exist_ok=True)
    write_csv(rows, args.out / "results.csv")
    write_markdown(rows, micro_ctx, micro_runs, args, args.out / "results.md")
    written = [args.out / "results.csv", args.out / "results.md"] + plot(rows, args.out)
    for path in written:
        print(f"bench_report: wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
