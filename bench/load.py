"""Load test: simulated annotators open jobs, fetch frames and autosave 100-shape patches.

Levels (default 50, 200, 500 annotators) run one after another against (a) the embedded
default (one `serve`, SQLite, its own queue) and (b) the scale-out set of scaleout.py
(2 servers + 2 workers on PostgreSQL, Redis and S3), each started here on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil
from clients import LabelVaultClient
from dataset import HEIGHT, WIDTH, load_or_make
from servers import (
    RssSampler,
    create_postgres_db,
    drop_postgres_db,
    machine_info,
    start_labelvault,
    tree_cpu_seconds,
    tree_rss,
)
from workloads import percentile

# Hard bounds: this sends traffic only to 127.0.0.1 and must stop by itself.
MAX_ANNOTATORS = 500
MAX_DURATION_S = 600.0
FRAMES_PER_JOB = 5


@dataclass
class Stats:
    """Latencies per kind of request, and errors with a few samples to read."""

    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    error_samples: list[str] = field(default_factory=list)

    def record(self, kind: str, seconds: float, error: str | None) -> None:
        self.latencies.setdefault(kind, []).append(seconds * 1000)
        if error is not None:
            self.errors[kind] = self.errors.get(kind, 0) + 1
            if len(self.error_samples) < 10:
                self.error_samples.append(f"{kind}: {error}")


async def _call(
    stats: Stats, kind: str, http: httpx.AsyncClient, method: str, url: str, **kwargs: Any
) -> httpx.Response | None:
    start = time.perf_counter()
    try:
        response = await http.request(method, url, **kwargs)
        # Read the whole body: an annotator's browser does, and latency must include it.
        await response.aread()
    except httpx.HTTPError as exc:
        stats.record(kind, time.perf_counter() - start, f"{type(exc).__name__}: {exc}")
        return None
    error = None if response.status_code < 400 else f"{response.status_code} {response.text[:200]}"
    stats.record(kind, time.perf_counter() - start, error)
    return response if error is None else None


def _patch_shapes(rng: random.Random, frame: int, label_ids: list[int]) -> list[dict[str, Any]]:
    shapes = []
    for _ in range(100):
        w, h = rng.uniform(16, 200), rng.uniform(16, 150)
        x, y = rng.uniform(0, WIDTH - w), rng.uniform(0, HEIGHT - h)
        shapes.append(
            {
                "type": "rectangle",
                "frame": frame,
                "label_id": rng.choice(label_ids),
                "points": [x, y, x + w, y + h],
                "source": "manual",
                "occluded": False,
                "z_order": 0,
                "attributes": [],
            }
        )
    return shapes


async def annotator(
    index: int,
    url: str,
    headers: dict[str, str],
    job_id: int,
    stop_at: float,
    interval: float,
    stats: Stats,
) -> None:
    """Open the job, then every interval: show the next frame and autosave 100 shapes."""
    rng = random.Random(index)
    # People do not start in lockstep: spread the first save over one interval.
    await asyncio.sleep(rng.uniform(0, interval))
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=30.0) as http:
        job = await _call(stats, "open", http, "GET", f"/api/jobs/{job_id}")
        await _call(stats, "open", http, "GET", f"/api/jobs/{job_id}/data/meta")
        labels = await _call(stats, "open", http, "GET", "/api/labels", params={"job_id": job_id})
        await _call(stats, "open", http, "GET", f"/api/jobs/{job_id}/annotations/")
        if job is None or labels is None:
            return
        start_frame, stop_frame = job.json()["start_frame"], job.json()["stop_frame"]
        label_ids = [label["id"] for label in labels.json()["results"]]
        saved: dict[int, list[dict[str, Any]]] = {}
        tick = 0
        next_at = time.monotonic()
        while time.monotonic() < stop_at:
            frame = start_frame + tick % (stop_frame - start_frame + 1)
            await _call(
                stats,
                "frame",
                http,
                "GET",
                f"/api/jobs/{job_id}/data",
                params={"type": "frame", "number": frame, "quality": "compressed"},
            )
            # First visit to a frame creates its 100 shapes; later visits move them all,
            # as the editor's autosave sends created and changed objects.
            if frame in saved:
                shapes = saved[frame]
                for shape in shapes:
                    shape["points"] = [p + rng.uniform(-2, 2) for p in shape["points"]]
                action = "update"
            else:
                shapes = _patch_shapes(rng, frame, label_ids)
                action = "create"
            body = {"version": 0, "tags": [], "shapes": shapes, "tracks": []}
            response = await _call(
                stats,
                "save",
                http,
                "PATCH",
                f"/api/jobs/{job_id}/annotations/",
                params={"action": action},
                json=body,
            )
            if response is not None and action == "create":
                saved[frame] = [s for s in response.json()["shapes"] if s["frame"] == frame]
            tick += 1
            next_at += interval
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))


def prepare(client: LabelVaultClient, annotators: int, seed: int) -> list[int]:
    """A task whose jobs give every annotator one job of FRAMES_PER_JOB frames."""
    dataset = load_or_make(annotators * FRAMES_PER_JOB, 0, seed)
    project_id = client.create_project("load test")
    task = client.http.post(
        "/api/tasks",
        json={"name": "load", "project_id": project_id, "segment_size": FRAMES_PER_JOB},
    )
    task_id = int(client.check(task).json()["id"])
    url = f"/api/tasks/{task_id}/data/"
    client.check(client.http.post(url, headers={"Upload-Start": ""}))
    for start in range(0, dataset.n, 100):
        files = [
            (f"client_files[{i}]", (p.name, p.read_bytes(), "image/jpeg"))
            for i, p in enumerate(dataset.images[start : start + 100])
        ]
        client.check(client.http.post(url, headers={"Upload-Multiple": ""}, files=files))
    finish = client.http.post(url, headers={"Upload-Finish": ""}, json=client.data_params)
    client.wait(client.check(finish).json()["rq_id"])
    jobs = client.http.get("/api/jobs", params={"task_id": task_id, "page_size": 10_000})
    return [job["id"] for job in client.check(jobs).json()["results"]][:annotators]


def prepare_jobs(
    url: str, username: str, password: str, annotators: int, seed: int
) -> tuple[list[int], dict[str, str]]:
    """Jobs for `annotators` people, and the headers that sign a request in."""
    client = LabelVaultClient(url, username, password, None)
    try:
        return prepare(client, annotators, seed), dict(client.http.headers)
    finally:
        client.close()


def run_level(
    urls: list[str],
    headers: dict[str, str],
    job_ids: list[int],
    processes: list[psutil.Process],
    duration: float = 60.0,
    interval: float = 2.0,
) -> dict[str, Any]:
    """One level: an annotator per job, spread over the servers; returns the figures."""
    duration = max(1.0, min(duration, MAX_DURATION_S))
    stats = Stats()
    rss_before = sum(tree_rss(p) for p in processes)
    cpu_before = sum(tree_cpu_seconds(p) for p in processes)
    client_cpu_before = sum(psutil.Process().cpu_times()[:2])
    load_before = os.getloadavg()[0]
    started = time.monotonic()

    async def everyone() -> None:
        stop_at = time.monotonic() + duration
        await asyncio.gather(
            *(
                annotator(i, urls[i % len(urls)], headers, job_id, stop_at, interval, stats)
                for i, job_id in enumerate(job_ids)
            )
        )

    timed_out = False

    async def bounded() -> None:
        nonlocal timed_out
        try:
            await asyncio.wait_for(everyone(), timeout=duration + 60)
        except TimeoutError:
            # A saturated server: what finished is kept, the level is marked, the next runs.
            timed_out = True

    with RssSampler(processes[0]) as sampler:
        # The bound holds even if a request hangs: every request also has a 30 s timeout.
        asyncio.run(bounded())
    wall = time.monotonic() - started
    all_latencies = [v for values in stats.latencies.values() for v in values]
    summary: dict[str, Any] = {}
    for kind, values in [("all", all_latencies), *sorted(stats.latencies.items())]:
        summary[kind] = {
            "count": len(values),
            "p50": percentile(values or [0.0], 50),
            "p95": percentile(values or [0.0], 95),
            "p99": percentile(values or [0.0], 99),
            "max": max(values, default=0.0),
            "errors": sum(stats.errors.values()) if kind == "all" else stats.errors.get(kind, 0),
        }
    return {
        "annotators": len(job_ids),
        "servers": len(urls),
        "duration_s": wall,
        "interval_s": interval,
        "shapes_per_save": 100,
        "requests": len(all_latencies),
        "saves_per_s": summary.get("save", {"count": 0})["count"] / wall,
        "errors": sum(stats.errors.values()) + (1 if timed_out else 0),
        "timed_out": timed_out,
        "error_samples": stats.error_samples,
        "latency_ms": summary,
        "server_cpu_cores": (sum(tree_cpu_seconds(p) for p in processes) - cpu_before) / wall,
        "client_cpu_cores": (sum(psutil.Process().cpu_times()[:2]) - client_cpu_before) / wall,
        # The machine may be shared: its load beside the figures says how much.
        "load_avg_before": load_before,
        "load_avg_after": os.getloadavg()[0],
        "cpu_count": os.cpu_count(),
        "rss_before_mb": rss_before / 2**20,
        "rss_peak_mb": sampler.peak / 2**20,
    }


def run_load(
    url: str,
    username: str,
    password: str,
    server: psutil.Process,
    annotators: int = 50,
    duration: float = 60.0,
    interval: float = 2.0,
    seed: int = 0,
) -> dict[str, Any]:
    """Run the simulated annotators against a running LabelVault; returns the figures."""
    annotators = max(1, min(annotators, MAX_ANNOTATORS))
    job_ids, headers = prepare_jobs(url, username, password, annotators, seed)
    return run_level([url], headers, job_ids, [server], duration, interval)


def run_levels_embedded(
    levels: list[int], duration: float, postgres: bool = False, seed: int = 0
) -> list[dict[str, Any]]:
    """(a) One fresh `serve` with its defaults; the levels one after another."""
    work = Path(tempfile.mkdtemp(prefix="lv-load-"))
    db_name = f"labelvault_load_{psutil.Process().pid}"
    database_url = create_postgres_db(db_name) if postgres else None
    server = start_labelvault(work, database_url)
    try:
        user, password = server.extra["username"], server.extra["password"]
        job_ids, headers = prepare_jobs(server.url, user, password, max(levels), seed)
        results = []
        for level in levels:
            result = run_level([server.url], headers, job_ids[:level], [server.ps], duration)
            result["setup"] = "embedded"
            result["database"] = "postgresql" if postgres else "sqlite"
            if result["errors"]:
                result["server_log"] = str(server.log_path)
            print_summary(result)
            results.append(result)
        return results
    finally:
        server.stop()
        if postgres:
            drop_postgres_db(db_name)
        for path in work.iterdir():
            if path != server.log_path:
                shutil.rmtree(path, ignore_errors=True)


def run_levels_scaled(
    levels: list[int], duration: float, redis_url: str, seed: int = 0
) -> list[dict[str, Any]]:
    """(b) 2 servers + 2 workers on PostgreSQL, Redis and S3; annotators spread over both."""
    from scaleout import PASSWORD, scale_out

    work = Path(tempfile.mkdtemp(prefix="lv-load-scaled-"))
    with scale_out(work, redis_url, f"labelvault_load_scaled_{os.getpid()}") as cluster:
        job_ids, headers = prepare_jobs(cluster.urls[0], "admin", PASSWORD, max(levels), seed)
        results = []
        for level in levels:
            result = run_level(cluster.urls, headers, job_ids[:level], cluster.processes, duration)
            result["setup"] = "scaled (2 servers + 2 workers)"
            result["database"] = "postgresql"
            if result["errors"]:
                result["server_log"] = str(work)
            print_summary(result)
            results.append(result)
        return results


def run_with_own_server(
    postgres: bool, annotators: int, duration: float, seed: int = 0
) -> dict[str, Any]:
    """Start a fresh LabelVault, run one level against it, stop it."""
    return run_levels_embedded([min(annotators, MAX_ANNOTATORS)], duration, postgres, seed)[0]


def print_summary(result: dict[str, Any]) -> None:
    print(
        f"load: {result['annotators']} annotators for {result['duration_s']:.0f} s, "
        f"{result.get('setup', '?')} on {result.get('database', '?')}: "
        f"{result['requests']} requests{' (TIMED OUT)' if result.get('timed_out') else ''}, "
        f"{result['errors']} errors, server CPU {result['server_cpu_cores']:.2f} cores "
        f"(client {result['client_cpu_cores']:.2f}), RSS peak {result['rss_peak_mb']:.0f} MB, "
        f"load average {result.get('load_avg_before', 0):.1f} -> "
        f"{result.get('load_avg_after', 0):.1f} on {result.get('cpu_count')} CPUs"
    )
    for kind, s in result["latency_ms"].items():
        print(
            f"  {kind:<6} n={s['count']:<6} p50 {s['p50']:7.1f} ms  p95 {s['p95']:7.1f} ms  "
            f"p99 {s['p99']:7.1f} ms  max {s['max']:7.1f} ms  errors {s['errors']}"
        )
    for sample in result["error_samples"]:
        print(f"  error: {sample}")
    if result.get("server_log"):
        print(f"  server log: {result['server_log']}")


def main() -> None:
    from report import RESULTS_DIR, write_json

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--levels", default="50,200,500", help=f"annotators per level, each ≤ {MAX_ANNOTATORS}"
    )
    parser.add_argument(
        "--duration", type=float, default=60.0, help=f"seconds per level, ≤ {MAX_DURATION_S:.0f}"
    )
    parser.add_argument(
        "--setup", choices=["embedded", "scaled", "both"], default="both", help="(a), (b) or both"
    )
    parser.add_argument("--postgres", action="store_true", help="(a) on PostgreSQL")
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("LABELVAULT_BENCH_REDIS", "redis://127.0.0.1:6379/15"),
        help="(b)'s queue: a Redis database nobody else uses (it is flushed)",
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    levels = [max(1, min(int(n), MAX_ANNOTATORS)) for n in args.levels.split(",")]
    results: list[dict[str, Any]] = []
    if args.setup in ("embedded", "both"):
        results += run_levels_embedded(levels, args.duration, args.postgres, args.seed)
    if args.setup in ("scaled", "both"):
        results += run_levels_scaled(levels, args.duration, args.redis_url, args.seed)
    path = write_json({"levels": results, "machine": machine_info()}, f"load-{args.setup}")
    print(f"wrote {path.relative_to(RESULTS_DIR.parent.parent)}")
    if any(r["errors"] for r in results):
        sys.exit(1)


if __name__ == "__main__":
    main()
