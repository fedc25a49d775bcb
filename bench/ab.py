"""Before/after: two LabelVault checkouts side by side, alternating, with the direct floor.

Usage: .venv/bin/python bench/ab.py --before /path/to/old/src [--after src] [-n 1000 -k 100]
       [--repetitions 3] [--postgres]

On a shared machine absolute times drift by several times within minutes, so the two
servers run the same workloads turn about (who goes first alternates), and the report
gives each workload's ratio within the run. Prints a markdown table; never asserts.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
from pathlib import Path
from typing import Any

from clients import LabelVaultClient
from dataset import load_or_make
from floors import run_floors
from report import RESULTS_DIR, median_figures
from servers import create_postgres_db, drop_postgres_db, settled_rss, start_labelvault
from workloads import TIMED, run_repetition


def _fmt(seconds: Any) -> str:
    if not isinstance(seconds, int | float):
        return str(seconds)
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--before", type=Path, required=True, help="the old checkout's src/")
    parser.add_argument("--after", type=Path, default=Path(__file__).parents[1] / "src")
    parser.add_argument("-n", type=int, default=1000)
    parser.add_argument("-k", type=int, default=100)
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--saves", type=int, default=50)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--out", type=Path, default=None, help="also write the table here")
    args = parser.parse_args()
    dataset = load_or_make(args.n, args.k, 0)
    names = ("before", "after")
    work = Path(tempfile.mkdtemp(prefix="lv-ab-"))
    urls = {}
    if args.postgres:
        for name in names:
            urls[name] = create_postgres_db(f"labelvault_ab_{name}_{os.getpid()}")
    servers = {}
    try:
        for name, source in zip(names, (args.before, args.after), strict=True):
            (work / name).mkdir()
            servers[name] = start_labelvault(work / name, urls.get(name), source.resolve())
        share = {n: servers[n].data_dir.parent / "labelvault-storage" / "share" for n in names}
        clients = {
            n: LabelVaultClient(
                servers[n].url,
                servers[n].extra["username"],
                servers[n].extra["password"],
                share[n],
            )
            for n in names
        }
        fresh = {n: settled_rss(servers[n].ps) / 2**20 for n in names}
        warmup = dataset.subset(min(args.n, 10), min(args.k, 5))
        for n in names:
            run_repetition(clients[n], warmup, f"w{n}", servers[n].ps, saves=5)
        reps: dict[str, list[dict[str, Any]]] = {"before": [], "after": [], "floor": []}
        for rep in range(args.repetitions):
            order = ["before", "after", "floor"]
            order = order if rep % 2 == 0 else order[::-1]
            for who in order:
                if who == "floor":
                    reps["floor"].append(run_floors(dataset, urls.get("after")))
                else:
                    reps[who].append(
                        run_repetition(
                            clients[who], dataset, f"r{rep}", servers[who].ps, saves=args.saves
                        )
                    )
            print(f"repetition {rep + 1}/{args.repetitions} done", flush=True)
        idle = {n: settled_rss(servers[n].ps) / 2**20 for n in names}
        for client in clients.values():
            client.close()
    finally:
        for server in servers.values():
            server.stop()
        for url in urls.values():
            drop_postgres_db(url.rsplit("/", 1)[1])
        shutil.rmtree(work, ignore_errors=True)

    med = {k: median_figures(v) for k, v in reps.items()}
    load = os.getloadavg()
    lines = [
        f"Before/after, N={args.n} K={args.k}, {args.repetitions} alternating repetitions "
        f"(median), {'PostgreSQL' if args.postgres else 'SQLite'}; load average at end "
        f"{load[0]:.1f} on {os.cpu_count()} cores.",
        "",
        "| workload | before | after | before / after | direct floor | after / floor |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for key, title in TIMED:
        b, a, f = med["before"].get(key), med["after"].get(key), med["floor"].get(key)
        speed = f"{b / a:.2f}×" if isinstance(a, float) and isinstance(b, float) else "—"
        over = f"{a / f:.1f}×" if isinstance(a, float) and isinstance(f, float) else "—"
        lines.append(f"| {title} | {_fmt(b)} | {_fmt(a)} | {speed} | {_fmt(f)} | {over} |")
    for key, title in (("save_p50_ms", "save one box, p50"), ("save_p95_ms", "save one box, p95")):
        b, a = med["before"].get(key), med["after"].get(key)
        lines.append(f"| {title} | {b:.1f} ms | {a:.1f} ms | {b / a:.2f}× | — | — |")
    for title, figures in (("idle RSS, fresh", fresh), ("idle RSS, after the workloads", idle)):
        b, a = figures["before"], figures["after"]
        lines.append(f"| {title} | {b:.0f} MB | {a:.0f} MB | {b / a:.2f}× | — | — |")
    b, a = med["before"]["rss_peak_mb"], med["after"]["rss_peak_mb"]
    lines.append(f"| peak RSS in the workloads | {b:.0f} MB | {a:.0f} MB | {b / a:.2f}× | — | — |")
    spread = {
        k: statistics.pstdev([r.get("import_boxes", 0.0) for r in v]) for k, v in reps.items()
    }
    lines.append("")
    lines.append(
        "Spread (σ of the box import over repetitions): "
        + ", ".join(f"{k} {v:.2f} s" for k, v in spread.items())
    )
    table = "\n".join(lines) + "\n"
    print(table)
    if args.out:
        args.out.write_text(table)
    else:
        RESULTS_DIR.mkdir(exist_ok=True)


if __name__ == "__main__":
    main()
