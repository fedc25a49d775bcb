"""One repetition of every workload against one server, timed and checked for the same result."""

from __future__ import annotations

import statistics
import time
import traceback
from collections.abc import Callable
from typing import Any, TypeVar

import psutil
from clients import Client, Imported, NotAvailable
from dataset import Dataset
from servers import RssSampler

T = TypeVar("T")

# Workloads in report order; each is timed in seconds (lower is better).
TIMED = [
    ("create_project", "create a project with 5 box labels"),
    ("import_upload", "import N images by upload"),
    ("import_share", "import N images read in place (share / local files)"),
    ("import_boxes", "import K boxes per image"),
    ("read_annotations", "read all annotations back"),
    ("export_coco", "export COCO (no images)"),
    ("export_yolo", "export YOLO (no images)"),
]
SAVE_COUNT = 200
NOT_AVAILABLE = "not available yet"


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile: q in 0..100 of the sorted values."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def _timed(
    figures: dict[str, Any], key: str, fn: Callable[[], T], required: bool = False
) -> T | None:
    start = time.perf_counter()
    try:
        value = fn()
    except NotAvailable as exc:
        figures[key] = NOT_AVAILABLE
        figures.setdefault("notes", []).append(f"{key}: {exc}")
        return None
    except Exception:
        # Steps others are still building may fail; the report shows it and goes on.
        if required:
            raise
        figures[key] = "error"
        figures.setdefault("notes", []).append(f"{key}: {traceback.format_exc(limit=4)}")
        return None
    figures[key] = time.perf_counter() - start
    return value


def run_repetition(
    client: Client, dataset: Dataset, tag: str, server: psutil.Process, saves: int = SAVE_COUNT
) -> dict[str, Any]:
    """Every workload once, on fresh projects; checks each server returned every box."""
    figures: dict[str, Any] = {}
    expected = dataset.total_boxes
    with RssSampler(server) as sampler:
        project_id = _timed(
            figures, "create_project", lambda: client.create_project(f"bench {tag}"), True
        )
        assert project_id is not None
        imported = _timed(
            figures, "import_upload", lambda: client.import_upload(project_id, dataset), True
        )
        assert imported is not None

        # The in-place source goes into a project of its own, so the next steps see
        # exactly N images on both servers. Placing files is untimed, like a mount.
        share_project = client.create_project(f"bench {tag} share")
        try:
            client.stage_share(dataset, f"bench-{tag}")
            _timed(
                figures,
                "import_share",
                lambda: client.import_share(share_project, dataset, f"bench-{tag}"),
            )
        except NotAvailable as exc:
            figures["import_share"] = NOT_AVAILABLE
            figures.setdefault("notes", []).append(f"import_share: {exc}")
        except Exception:
            figures["import_share"] = "error"
            figures.setdefault("notes", []).append(traceback.format_exc(limit=3))
        client.delete_project(share_project)

        client.resolve(imported, dataset)
        _timed(figures, "import_boxes", lambda: client.import_boxes(imported, dataset), True)
        count = _timed(figures, "read_annotations", lambda: client.read_annotations(imported), True)
        _check(client, "read_annotations", count, expected)
        for fmt in ("COCO", "YOLO"):
            key = f"export_{fmt.lower()}"
            count = _timed(figures, key, lambda fmt=fmt: client.export(imported, fmt))
            if count is not None:
                _check(client, key, count, expected)
        figures.update(_save_latency(client, imported, saves))
        client.delete_project(project_id)
    figures["rss_peak_mb"] = sampler.peak / 2**20
    return figures


def _check(client: Client, step: str, count: int | None, expected: int) -> None:
    # A fast wrong answer is no benchmark: both servers must return every box.
    if count is not None and count != expected:
        raise RuntimeError(f"{client.name} {step}: got {count} boxes, expected {expected}")


def _save_latency(client: Client, imported: Imported, saves: int) -> dict[str, float]:
    latencies = []
    for i in range(saves):
        start = time.perf_counter()
        client.save_one(imported, i)
        latencies.append((time.perf_counter() - start) * 1000)
    return {
        "save_p50_ms": percentile(latencies, 50),
        "save_p95_ms": percentile(latencies, 95),
        "save_mean_ms": statistics.fmean(latencies),
    }
