"""Results files: JSON with every figure, a markdown table with ratios and targets, a PNG chart."""

from __future__ import annotations

import json
import statistics
from datetime import datetime
from pathlib import Path
from typing import Any

from workloads import NOT_AVAILABLE, TIMED

RESULTS_DIR = Path(__file__).resolve().parent / "results"
LV, LS = "LabelVault", "Label Studio"
SPEEDUP_TARGET = 10.0
FLOOR_TARGET = 2.0  # LabelVault within 2x of the same work done without a server
SAVE_TARGET = 3.0
IDLE_RSS_TARGET_MB = 150.0
LOAD_P99_TARGET_MS = 100.0


def median_figures(repetitions: list[dict[str, Any]]) -> dict[str, Any]:
    """Median of each figure over repetitions; a figure unavailable in any repetition stays so."""
    keys = [k for k in repetitions[0] if k != "notes"] if repetitions else []
    medians: dict[str, Any] = {}
    for key in keys:
        values = [rep.get(key) for rep in repetitions]
        numbers = [v for v in values if isinstance(v, int | float)]
        if len(numbers) == len(values):
            medians[key] = statistics.median(numbers)
        else:
            medians[key] = next(v for v in values if not isinstance(v, int | float))
    return medians


def write_json(results: dict[str, Any], name: str) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y-%m-%dT%H%M")
    path = RESULTS_DIR / f"{stamp}-{name}.json"
    path.write_text(json.dumps(results, indent=2, default=str) + "\n")
    return path


def _fmt(value: Any, unit: str) -> str:
    if not isinstance(value, int | float):
        return str(value) if value is not None else "—"
    if unit == "s":
        return f"{value * 1000:.1f} ms" if value < 1 else f"{value:.2f} s"
    return f"{value:.1f} {unit}"


def _ratio(ours: Any, theirs: Any) -> float | None:
    if isinstance(ours, int | float) and isinstance(theirs, int | float) and ours > 0:
        return theirs / ours
    return None


def rows(results: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per compared figure: both values, the ratio (peer / ours), target and verdict."""
    servers = results["servers"]
    ours = servers[LV]["median"]
    theirs = servers.get(LS, {}).get("median", {})
    out = []
    floor = results.get("floor", {}).get("median", {})
    for key, title in TIMED:
        row = _row(title, ours.get(key), theirs.get(key), "s", SPEEDUP_TARGET)
        row.update(_floor(ours.get(key), floor.get(key)))
        out.append(row)
    out.append(
        _row(
            "save one box, p50",
            ours.get("save_p50_ms"),
            theirs.get("save_p50_ms"),
            "ms",
            SAVE_TARGET,
        )
    )
    out.append(
        _row(
            "save one box, p95",
            ours.get("save_p95_ms"),
            theirs.get("save_p95_ms"),
            "ms",
            SAVE_TARGET,
        )
    )
    for key, title in (
        ("rss_idle_start_mb", "idle RSS, fresh start"),
        ("rss_idle_after_mb", "idle RSS, at rest after the workloads"),
    ):
        a, b = servers[LV].get(key), servers.get(LS, {}).get(key)
        verdict = "met" if isinstance(a, int | float) and a <= IDLE_RSS_TARGET_MB else "missed"
        out.append(
            {
                "title": title,
                "ours": _fmt(a, "MB"),
                "theirs": _fmt(b, "MB"),
                "ratio": _ratio(a, b),
                "target": f"≤ {IDLE_RSS_TARGET_MB:.0f} MB",
                "verdict": verdict,
            }
        )
    a, b = ours.get("rss_peak_mb"), theirs.get("rss_peak_mb")
    out.append(
        {
            "title": "peak RSS during the workloads",
            "ours": _fmt(a, "MB"),
            "theirs": _fmt(b, "MB"),
            "ratio": _ratio(a, b),
            "target": "—",
            "verdict": "—",
        }
    )
    load = results.get("load")
    if load:
        p99 = load["latency_ms"]["all"]["p99"]
        errors = load["errors"]
        met = p99 <= LOAD_P99_TARGET_MS and errors == 0
        out.append(
            {
                "title": f"load: {load['annotators']} annotators, p99 (errors)",
                "ours": f"{p99:.1f} ms ({errors})",
                "theirs": "—",
                "ratio": None,
                "target": f"≤ {LOAD_P99_TARGET_MS:.0f} ms, 0 errors",
                "verdict": "met" if met else "missed",
            }
        )
    else:
        out.append(
            {
                "title": "load: 50 annotators, p99 (errors)",
                "ours": "not run",
                "theirs": "—",
                "ratio": None,
                "target": "≤ 100 ms, 0 errors",
                "verdict": "not run",
            }
        )
    return out


def _floor(ours: Any, floor: Any) -> dict[str, Any]:
    """LabelVault's time over the direct floor's (1× = no overhead at all), and the verdict."""
    over = _ratio(floor, ours)  # ours / floor
    verdict = "—" if over is None else ("met" if over <= FLOOR_TARGET else "missed")
    return {"floor": _fmt(floor, "s"), "over_floor": over, "floor_verdict": verdict}


def _row(title: str, ours: Any, theirs: Any, unit: str, target: float) -> dict[str, Any]:
    ratio = _ratio(ours, theirs)
    if ours == NOT_AVAILABLE:
        verdict = NOT_AVAILABLE
    elif ratio is None:
        verdict = "error" if ours == "error" or theirs == "error" else "—"
    else:
        verdict = "met" if ratio >= target else "missed"
    return {
        "title": title,
        "ours": _fmt(ours, unit),
        "theirs": _fmt(theirs, unit),
        "ratio": ratio,
        "target": f"≥ {target:.0f}× faster",
        "verdict": verdict,
    }


def markdown(results: dict[str, Any]) -> str:
    config = results["config"]
    machine = results["machine"]
    has_peer = LS in results["servers"]
    title = "LabelVault vs Label Studio" if has_peer else "LabelVault"
    lines = [
        f"# {title} — {results['date']}",
        "",
        f"N={config['n']} images (1024×768 JPEG), K={config['k']} boxes per image, "
        f"seed {config['seed']}; {config['repetitions']} repetitions (median shown) after "
        f"one warm-up on {config['warmup']}, alternating the servers' order per repetition; "
        f"{config['saves']} saves for latency. LabelVault on {config['database']}"
        + (f"; Label Studio {results['servers'][LS]['version']} (SQLite)." if has_peer else "."),
        f"Machine: {machine['cores_logical']} cores, {machine['ram_gb']} GB RAM, "
        f"{machine['cpu_model']}, Python {machine['python']}; load average at start "
        f"{machine['load_average_at_start']}, at end {results.get('load_average_at_end')}.",
        "",
    ]
    floor_head = " direct floor | LV / floor | ≤ 2× floor |"
    if has_peer:
        lines += [
            "| workload | LabelVault | Label Studio | ratio (LS / LV) | target | verdict |"
            + floor_head,
            "|---|---:|---:|---:|---|---|---:|---:|---|",
        ]
    else:
        # Without the peer only absolute targets can be judged; ratios need bench-peers.
        lines += [
            "| workload | LabelVault | target | verdict |" + floor_head,
            "|---|---:|---|---|---:|---:|---|",
        ]
    for row in rows(results):
        ratio = f"{row['ratio']:.1f}×" if row["ratio"] is not None else "—"
        over = row.get("over_floor")
        floor_cells = (
            f" {row.get('floor', '—')} | {f'{over:.2f}×' if over is not None else '—'} | "
            f"{row.get('floor_verdict', '—')} |"
        )
        if has_peer:
            lines.append(
                f"| {row['title']} | {row['ours']} | {row['theirs']} | {ratio} | "
                f"{row['target']} | {row['verdict']} |" + floor_cells
            )
        else:
            verdict = row["verdict"] if row["verdict"] != "—" else "needs `make bench-peers`"
            lines.append(
                f"| {row['title']} | {row['ours']} | {row['target']} | {verdict} |" + floor_cells
            )
    lines.append("")
    lines.append(
        "LV / floor = LabelVault's time over the same work done without a server in the same "
        "run (bench/floors.py: file copy for an upload, one bulk insert for boxes, select and "
        "serialise for a read or an export); ≤ 2× is the target."
    )
    if has_peer:
        lines.append(
            "Ratio = Label Studio's figure / LabelVault's "
            "(above 1: LabelVault is faster or smaller)."
        )
    for note in results.get("method_notes", []):
        lines.append(f"- {note}")
    load = results.get("load")
    if load:
        lines += [
            "",
            "Load test (LabelVault only):",
            "",
            "| requests | count | p50 | p95 | p99 | errors |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for kind, stats in load["latency_ms"].items():
            lines.append(
                f"| {kind} | {stats['count']} | {stats['p50']:.1f} ms | {stats['p95']:.1f} ms | "
                f"{stats['p99']:.1f} ms | {stats['errors']} |"
            )
        lines.append(
            f"\nServer CPU {load['server_cpu_cores']:.2f} cores on average, RSS peak "
            f"{load['rss_peak_mb']:.0f} MB; {load['duration_s']:.0f} s."
        )
    return "\n".join(lines) + "\n"


def plot(results: dict[str, Any], path: Path) -> None:
    """Horizontal bars of LS / LV per figure on a log scale, target lines drawn, misses red."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # Every compared figure gets a line; one without a ratio says why instead of a bar.
    data = [r for r in rows(results) if not r["title"].startswith("load")][::-1]
    fig, ax = plt.subplots(figsize=(9.5, 0.42 * max(len(data), 4) + 1.6))
    ratios = [r["ratio"] for r in data if r["ratio"] is not None]
    low = min(0.5, min(ratios, default=1.0) / 1.5)
    high = max(20.0, max(ratios, default=1.0) * 2.5)
    colors = {"met": "#2e7d32", "missed": "#c62828"}
    for y, row in enumerate(data):
        if row["ratio"] is None:
            ax.text(low * 1.1, y, f"  {row['verdict']}", va="center", fontsize=8, color="#555")
            continue
        ax.barh(y, row["ratio"], color=colors.get(row["verdict"], "#607d8b"))
        ax.text(row["ratio"], y, f" {row['ratio']:.1f}×", va="center", fontsize=8)
    ax.set_yticks(range(len(data)), [r["title"] for r in data])
    ax.set_xscale("log")
    for target, style in ((SPEEDUP_TARGET, "--"), (SAVE_TARGET, ":"), (1.0, "-")):
        ax.axvline(target, color="black", linestyle=style, linewidth=0.8)
    ax.set_xlim(low, high)
    config = results["config"]
    ax.set_xlabel("Label Studio / LabelVault (log scale; above 1 = LabelVault faster or smaller)")
    ax.set_title(
        f"LabelVault vs Label Studio {results['servers'].get(LS, {}).get('version', '')}: "
        f"N={config['n']} images, K={config['k']} boxes, {results['date'][:16]}\n"
        "green = target met, red = missed, grey = no target; lines at 1×, 3× (save), 10×",
        fontsize=9,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    """Rewrite latest.md and latest.png from a results file (e.g. to show another run)."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("results", type=Path, help="a bench/results/*.json of bench-peers")
    args = parser.parse_args()
    results = json.loads(args.results.read_text())
    table = markdown(results)
    (RESULTS_DIR / "latest.md").write_text(table)
    plot(results, RESULTS_DIR / "latest.png")
    print(table)


if __name__ == "__main__":
    main()
