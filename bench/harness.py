"""Drives a benchmark run: servers up, warm-up, alternating repetitions, load test, results."""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from clients import Client, LabelStudioClient, LabelVaultClient
from dataset import load_or_make
from floors import run_floors
from load import print_summary, run_with_own_server
from report import LV, RESULTS_DIR, markdown, median_figures, plot, write_json
from servers import (
    Server,
    create_postgres_db,
    drop_postgres_db,
    label_studio_version,
    machine_info,
    settled_rss,
    start_label_studio,
    start_labelvault,
)
from workloads import SAVE_COUNT, run_repetition

WARMUP_N, WARMUP_K = 10, 5

METHOD_NOTES = [
    "Both servers run as their pip install starts them, on SQLite unless noted: "
    "`labelvault serve` (uvicorn, one process) and `label-studio start` (Django's threaded "
    "server). RSS is the server's whole process tree (psutil).",
    "Import by upload: LabelVault as cvat-sdk does it (Upload-Start, Upload-Multiple "
    "client_files, Upload-Finish, poll the request); Label Studio `POST "
    "/api/projects/{id}/import` multipart. Both send 100 files per request, Label Studio's "
    "default cap (DATA_UPLOAD_MAX_NUMBER_FILES).",
    "Import in place: LabelVault's connected share (`server_files`); Label Studio's Local "
    "files storage (LOCAL_FILES_SERVING_ENABLED) created and synced. Copying files into "
    "either folder is not timed.",
    "Boxes: LabelVault one `PUT /api/tasks/{id}/annotations`; Label Studio "
    "`POST /api/projects/{id}/import/predictions` then the data manager action "
    "`predictions_to_annotations` (its bulk path; per-task `POST /api/tasks/{id}/annotations` "
    "with --ls-boxes-path per-task).",
    "Read back: LabelVault `GET /api/tasks/{id}/annotations`; Label Studio's JSON export "
    "(its one call that returns every annotation). Exports: LabelVault `POST "
    "/api/tasks/{id}/dataset/export?format=COCO 1.0|YOLO 1.1&save_images=False`, poll, "
    "download; Label Studio `GET /api/projects/{id}/export?exportType=COCO|YOLO"
    "&download_resources=false`. Every read and export is checked to hold all N×K boxes.",
    "Save: move one box on one image and save as each editor does: LabelVault `PATCH "
    "/api/jobs/{id}/annotations?action=update` with that shape; Label Studio `PATCH "
    "/api/annotations/{id}` with the image's whole result (K boxes).",
    "Id look-ups between steps (labels, jobs, task ids) are untimed on both sides.",
]


def add_common_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-n", type=int, default=1000, help="images (default 1000)")
    parser.add_argument("-k", type=int, default=100, help="boxes per image (default 100)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--saves", type=int, default=SAVE_COUNT, help="saves for latency")
    parser.add_argument("--postgres", action="store_true", help="LabelVault on PostgreSQL")
    parser.add_argument("--no-load", action="store_true", help="skip the load test")
    parser.add_argument("--load-annotators", type=int, default=50)
    parser.add_argument("--load-seconds", type=float, default=60.0)
    parser.add_argument("--name", default=None, help="results file name (after the date)")
    parser.add_argument("--keep", action="store_true", help="keep the servers' data dirs")


def _connect(server: Server, ls_boxes_path: str) -> Client:
    if server.name == LV:
        # The share is the storage root's share/ folder; bench/servers.py puts the storage
        # root beside the data dir.
        share = server.data_dir.parent / "labelvault-storage" / "share"
        return LabelVaultClient(
            server.url, server.extra["username"], server.extra["password"], share
        )
    files_root = Path(server.extra["files_root"])
    return LabelStudioClient(server.url, server.extra["token"], files_root, ls_boxes_path)


def run_suite(args: argparse.Namespace, with_peer: bool) -> dict[str, Any]:
    """The whole run; writes results and returns them."""
    began = time.monotonic()
    dataset = load_or_make(args.n, args.k, args.seed)
    warmup = dataset.subset(min(args.n, WARMUP_N), min(args.k, WARMUP_K))
    work = Path(tempfile.mkdtemp(prefix="lv-bench-"))
    db_name = f"labelvault_bench_{os.getpid()}"
    database_url = create_postgres_db(db_name) if args.postgres else None
    machine = machine_info()
    servers: list[Server] = []
    per_server: dict[str, dict[str, Any]] = {}
    try:
        servers.append(start_labelvault(work, database_url))
        if with_peer:
            servers.append(start_label_studio(work))
        boxes_path = getattr(args, "ls_boxes_path", "bulk")
        clients = {s.name: _connect(s, boxes_path) for s in servers}
        for server in servers:
            per_server[server.name] = {
                "url": server.url,
                "version": server.extra.get("version") or machine["packages"]["labelvault"],
                "database": server.extra.get("database", "sqlite"),
                "rss_idle_start_mb": settled_rss(server.ps) / 2**20,
                "warmup": None,
                "repetitions": [],
            }
        for server in servers:
            print(f"warm-up on {server.name} (N={warmup.n}, K={warmup.k})", flush=True)
            per_server[server.name]["warmup"] = run_repetition(
                clients[server.name], warmup, f"warmup-{server.name[:5]}", server.ps, saves=20
            )
        floor_reps: list[dict[str, Any]] = []
        run_floors(warmup, database_url)
        for rep in range(args.repetitions):
            # Alternate who goes first so neither always runs on a cooler machine; the
            # floor runs first or last in turn too.
            order = servers if rep % 2 == 0 else servers[::-1]
            if rep % 2 == 1:
                floor_reps.append(run_floors(dataset, database_url))
            for server in order:
                start = time.monotonic()
                figures = run_repetition(
                    clients[server.name], dataset, f"r{rep}", server.ps, saves=args.saves
                )
                per_server[server.name]["repetitions"].append(figures)
                print(
                    f"repetition {rep + 1}/{args.repetitions} on {server.name}: "
                    f"{time.monotonic() - start:.1f} s",
                    flush=True,
                )
            if rep % 2 == 0:
                floor_reps.append(run_floors(dataset, database_url))
        for server in servers:
            per_server[server.name]["rss_idle_after_mb"] = settled_rss(server.ps) / 2**20
            per_server[server.name]["median"] = median_figures(
                per_server[server.name]["repetitions"]
            )
        for client in clients.values():
            client.close()
    finally:
        for server in servers[::-1]:
            server.stop()
        if args.postgres:
            drop_postgres_db(db_name)
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    load = None
    if not args.no_load:
        print(
            f"load test: {args.load_annotators} annotators, {args.load_seconds:.0f} s", flush=True
        )
        load = run_with_own_server(args.postgres, args.load_annotators, args.load_seconds)
        print_summary(load)

    database = "PostgreSQL" if args.postgres else "SQLite"
    notes = list(METHOD_NOTES)
    load_avg = machine["load_average_at_start"]
    if load_avg[0] > 0.5 * (machine["cores_logical"] or 1):
        notes.insert(
            0,
            f"**Noisy:** the machine was busy when this ran (1-min load average {load_avg[0]} "
            f"on {machine['cores_logical']} cores); treat the figures as rough.",
        )
    results: dict[str, Any] = {
        "date": datetime.now().isoformat(timespec="seconds"),
        "config": {
            "n": args.n,
            "k": args.k,
            "seed": args.seed,
            "repetitions": args.repetitions,
            "warmup": f"N={warmup.n}, K={warmup.k}",
            "saves": args.saves,
            "database": database,
            "label_studio_boxes_path": getattr(args, "ls_boxes_path", "bulk"),
        },
        "machine": machine,
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "servers": per_server,
        "floor": {"repetitions": floor_reps, "median": median_figures(floor_reps)},
        "load": load,
        "method_notes": notes,
        "duration_s": time.monotonic() - began,
    }
    if with_peer:
        results["machine"]["packages"]["label-studio"] = label_studio_version()
    name = args.name or (
        f"{'peers' if with_peer else 'labelvault'}-{database.lower()}-n{args.n}-k{args.k}"
    )
    path = write_json(results, name)
    table = markdown(results)
    print()
    print(table)
    if with_peer:
        (RESULTS_DIR / "latest.md").write_text(table)
        plot(results, RESULTS_DIR / "latest.png")
        print(f"wrote {path.name}, latest.md and latest.png in {RESULTS_DIR}")
    else:
        (RESULTS_DIR / f"latest-labelvault-{database.lower()}.md").write_text(table)
        print(f"wrote {path.name} and latest-labelvault-{database.lower()}.md in {RESULTS_DIR}")
    print(f"total {results['duration_s']:.0f} s")
    return results
