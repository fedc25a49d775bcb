"""Scale curves from bench/memory.py's JSON: time and peak RSS per workload against the data.

Usage: .venv/bin/python bench/plot_memory.py bench/results/memory-sqlite.json
       [bench/results/memory-postgresql.json ...] [--out docs/memory-scale.png]

Left: seconds per workload at each scale (linear in the data is the goal); right: the
server's peak RSS (flat, under the 300 MB line, is the goal). SQLite solid, PostgreSQL
dashed. Needs matplotlib (the test extra).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

SKIP = ("fresh idle", "idle after the workloads")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("results", type=Path, nargs="+")
    parser.add_argument("--out", type=Path, default=Path("docs/memory-scale.png"))
    args = parser.parse_args()

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_time, ax_rss) = plt.subplots(1, 2, figsize=(12, 5))
    colours: dict[str, str] = {}
    palette = [plt.get_cmap("tab10")(i) for i in range(10)]
    for path in args.results:
        data = json.loads(path.read_text())
        style = "-" if data["database"] == "sqlite" else "--"
        scales = sorted(data["figures"], key=int)
        objects = [int(s) * data["frames"] * data["per_frame"] for s in scales]
        for name in data["figures"][scales[0]]:
            if name in SKIP:
                continue
            colour = colours.setdefault(name, palette[len(colours) % len(palette)])
            seconds = [data["figures"][s].get(name, [None, None])[0] for s in scales]
            peaks = [data["figures"][s].get(name, [None, None])[1] for s in scales]
            # One legend entry per workload; the line style tells the database.
            label = name if data["database"] == "sqlite" else None
            ax_time.plot(objects, seconds, style, marker="o", color=colour, label=label)
            ax_rss.plot(objects, peaks, style, marker="o", color=colour, label=label)
    ax_rss.axhline(300, color="red", linewidth=1)
    ax_rss.text(0.01, 302, "target ≤ 300 MB", color="red", transform=ax_rss.get_yaxis_transform())
    ax_time.set(xlabel="objects (frames × 60 boxes)", ylabel="seconds", title="time: linear")
    ax_rss.set(xlabel="objects (frames × 60 boxes)", ylabel="server peak RSS, MB")
    ax_rss.set_title("memory: flat")
    ax_rss.set_ylim(0, 400)
    ax_time.legend(fontsize=7, title="solid SQLite, dashed PostgreSQL", title_fontsize=7)
    fig.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=90)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
