"""Backups of a live `labelvault serve`: annotation/full backup, snapshot, restore, peak RSS."""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from annotations import DEFAULT_PG, empty_postgres  # noqa: E402
from clients import Imported, LabelVaultClient  # noqa: E402
from dataset import Dataset, load_or_make  # noqa: E402
from servers import (  # noqa: E402
    LABELVAULT_BIN,
    RssSampler,
    Server,
    free_port,
    settled_rss,
    start_labelvault,
    wait_ready,
)

MB = 1e6
SHARE_FOLDER = "bench-backups"
# Environment the subprocesses must not inherit: the bench chooses database and storage itself.
FOREIGN_ENV = ("LABELVAULT_DATABASE_URL", "LABELVAULT_STORAGE_URL", "LABELVAULT_DATA_DIR")


@dataclass
class Row:
    """One printed line: what, the figure, and the target beside it (if the issue sets one)."""

    name: str
    value: str
    target: str = ""


@dataclass
class Phase:
    """Wall time of one step and the peak RSS of the process tree that ran it."""

    seconds: float = 0.0
    peak_rss: int = 0


@contextlib.contextmanager
def measured(proc: psutil.Process) -> Iterator[Phase]:
    phase = Phase()
    with RssSampler(proc) as sampler:
        start = time.perf_counter()
        yield phase
        phase.seconds = time.perf_counter() - start
    phase.peak_rss = sampler.peak


def project_dataset(images: int, shapes: int) -> Dataset:
    """The cached dataset with enough boxes per image, trimmed to exactly `shapes` boxes."""
    per_image = max(1, math.ceil(shapes / images))
    full = load_or_make(images, per_image)
    boxes, left = [], shapes
    for row in full.boxes:
        take = min(left, len(row))
        boxes.append(row[:take])
        left -= take
    return Dataset(full.root, full.images, boxes, full.seed)


def request_result(client: LabelVaultClient, method: str, url: str, **kwargs: Any) -> dict:
    """Start a background request and poll /api/requests/{rq_id} (every ≤ 0.1 s) to its end."""
    response = client.check(client.http.request(method, url, **kwargs))
    rq_id = response.json()["rq_id"]
    delay = 0.01
    while True:
        request = client.check(client.http.get(f"/api/requests/{rq_id}")).json()
        if request["status"] == "finished":
            return dict(request)
        if request["status"] == "failed":
            raise RuntimeError(f"request {rq_id} failed: {request.get('message')}")
        time.sleep(delay)
        delay = min(delay * 2, 0.1)


def backup_record(client: LabelVaultClient, project_id: int, backup_id: int) -> dict[str, Any]:
    params = {"project_id": project_id, "page_size": 100}
    listed = client.check(client.http.get("/api/backups", params=params)).json()["results"]
    return next(r for r in listed if r["id"] == backup_id)


def project_shapes(client: LabelVaultClient, project_id: int) -> int:
    """Shapes in every task of a project, read back through the API (a sanity check)."""
    params = {"project_id": project_id, "page_size": 1000}
    tasks = client.check(client.http.get("/api/tasks", params=params)).json()["results"]
    total = 0
    for task in tasks:
        response = client.check(client.http.get(f"/api/tasks/{task['id']}/annotations"))
        total += len(response.json()["shapes"])
    return total


def tree_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def fmt_mb(n: float) -> str:
    return f"{n / 1e3:,.1f} kB" if n < MB else f"{n / MB:,.1f} MB"


def fmt_s(seconds: float) -> str:
    return f"{seconds:,.2f} s"


def run_cli(args: list[str], log: Path, env: dict[str, str]) -> Phase:
    """A `labelvault …` command, timed; its peak RSS is the kernel's (wait4's ru_maxrss)."""
    with log.open("ab") as out:
        start = time.perf_counter()
        process = subprocess.Popen(
            [str(LABELVAULT_BIN), *args], stdout=out, stderr=subprocess.STDOUT, env=env
        )
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - start
    process.returncode = code = os.waitstatus_to_exitcode(status)
    if code != 0:
        tail = log.read_text(errors="replace")[-2000:]
        raise RuntimeError(f"labelvault {' '.join(args[:2])} exited with {code}:\n{tail}")
    return Phase(seconds, usage.ru_maxrss * 1024)


def serve_flags_supported() -> bool:
    """Whether this `labelvault serve` takes --storage-url and --no-snapshot-on-exit."""
    out = subprocess.run(
        [str(LABELVAULT_BIN), "serve", "--help"], capture_output=True, text=True, check=True
    ).stdout
    return "--storage-url" in out and "--no-snapshot-on-exit" in out


def start_server(work: Path, database_url: str | None) -> Server:
    """servers.start_labelvault, or the same server configured by env where serve lacks flags.

    Either way: data in work/labelvault-data, storage root (share/ inside) in
    work/labelvault-storage, no snapshot on exit, no backup scheduler.
    """
    storage = work / "labelvault-storage"
    os.environ["LABELVAULT_STORAGE_URL"] = str(storage)
    os.environ["LABELVAULT_SNAPSHOT_ON_EXIT"] = "false"
    if serve_flags_supported():
        return start_labelvault(work, database_url)
    data_dir = work / "labelvault-data"
    data_dir.mkdir(parents=True, exist_ok=True)
    port, password = free_port(), "bench-password-1"
    cmd = [str(LABELVAULT_BIN), "serve", "--data-dir", str(data_dir), "--port", str(port)]
    cmd += ["--admin-password", password]
    if database_url:
        cmd += ["--database-url", database_url]
    log_path = work / "labelvault.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=work)
    url = f"http://127.0.0.1:{port}"
    wait_ready(f"{url}/api/server/about", process, log_path, timeout=60)
    extra = {"username": "admin", "password": password, "database": database_url or "sqlite"}
    return Server("LabelVault", url, process, data_dir, log_path, extra)


def failed(exc: Exception) -> str:
    """A short form for the table (the whole message is printed as it happens)."""
    reason = str(exc).split(" failed: ", 1)[-1]
    return "FAILED: " + reason.split(":", 1)[0][:60]


def import_share(
    client: LabelVaultClient, project_id: int, dataset: Dataset, copy_data: bool
) -> int:
    """A task from the connected share, as the issue's body has it; returns the task id."""
    response = client.http.post("/api/tasks", json={"name": "share", "project_id": project_id})
    task_id = int(client.check(response).json()["id"])
    body: dict[str, Any] = {
        "server_files": [f"{SHARE_FOLDER}/{p.name}" for p in dataset.images],
        "image_quality": 70,
    }
    if copy_data:
        body["copy_data"] = True
    request_result(client, "POST", f"/api/tasks/{task_id}/data", json=body)
    return task_id


def bench(args: argparse.Namespace, work: Path, say: Callable[[str], None]) -> list[Row]:
    rows: list[Row] = []
    t0 = time.perf_counter()
    dataset = project_dataset(args.images, args.shapes)
    image_bytes = sum(p.stat().st_size for p in dataset.images)
    say(
        f"dataset: {dataset.n} images ({fmt_mb(image_bytes)}), {dataset.total_boxes} shapes "
        f"({time.perf_counter() - t0:.1f} s)"
    )

    server = start_server(work, args.postgres)
    storage = work / "labelvault-storage"
    snap_name: str | None = None
    try:
        proc = server.ps
        client = LabelVaultClient(
            server.url, server.extra["username"], server.extra["password"], storage / "share"
        )
        # --- set-up (not in the table): project, share task, the shapes ---------------------
        project_id = client.create_project("backups-bench")
        client.stage_share(dataset, SHARE_FOLDER)
        t = time.perf_counter()
        task_id = import_share(client, project_id, dataset, args.copy_data)
        say(f"task {task_id} from the share in {time.perf_counter() - t:.1f} s")
        imported = Imported(project_id, task_id)
        client.resolve(imported, dataset)
        t = time.perf_counter()
        client.import_boxes(imported, dataset)
        say(f"PUT {dataset.total_boxes} shapes in {time.perf_counter() - t:.1f} s")
        rows.append(Row("server RSS at rest (project loaded)", fmt_mb(settled_rss(proc, 2.0))))

        # --- annotation-only backup ---------------------------------------------------------
        body = {"project_id": project_id, "kind": "annotations"}
        try:
            with measured(proc) as ann:
                done = request_result(client, "POST", "/api/backups", json=body)
            record = backup_record(client, project_id, int(done["result_id"]))
            say(f"annotation backup {record['id']}: {fmt_s(ann.seconds)}")
            # Once more: the first backup of a process also pays for imports and cold caches.
            with measured(proc) as again:
                request_result(client, "POST", "/api/backups", json=body)
            say(f"annotation backup again: {fmt_s(again.seconds)}")
            rows += [
                Row("annotation-only backup: time", fmt_s(ann.seconds)),
                Row("  the same, made a second time", fmt_s(again.seconds)),
                Row("annotation-only backup: size", fmt_mb(record["size"])),
                Row("annotation-only backup: server peak RSS", fmt_mb(ann.peak_rss), "≤ 300 MB"),
                Row("  the same, second time", fmt_mb(again.peak_rss), "≤ 300 MB"),
            ]
        except RuntimeError as exc:
            say(f"annotation-only backup: {exc}")
            rows.append(Row("annotation-only backup", failed(exc)))

        # --- full backup vs a plain copy of the same image files ---------------------------
        copy_target = work / "plain-copy"
        t = time.perf_counter()
        shutil.copytree(storage / "share" / SHARE_FOLDER, copy_target)
        copy_seconds = time.perf_counter() - t
        shutil.rmtree(copy_target)
        plain = f"{image_bytes / MB / copy_seconds:,.1f} MB/s ({fmt_s(copy_seconds)})"
        body = {"project_id": project_id, "kind": "full"}
        full_id: int | None = None
        try:
            with measured(proc) as full:
                done = request_result(client, "POST", "/api/backups", json=body)
            record = backup_record(client, project_id, int(done["result_id"]))
            full_id = int(record["id"])
            say(f"full backup {full_id}: {fmt_s(full.seconds)}")
            rate = f"{image_bytes / MB / full.seconds:,.1f} MB/s"
            rows += [
                Row("full backup: time", fmt_s(full.seconds)),
                Row("full backup: size", fmt_mb(record["size"])),
                Row("full backup: throughput (image MB / s)", rate),
                Row("  plain copy (shutil.copytree) of the images", plain),
                Row("  full backup time / plain copy time", f"{full.seconds / copy_seconds:,.1f}×"),
                Row("full backup: server peak RSS", fmt_mb(full.peak_rss), "≤ 300 MB"),
            ]
        except RuntimeError as exc:
            say(f"full backup: {exc}")
            rows += [
                Row("full backup", failed(exc)),
                Row("  plain copy (shutil.copytree) of the images", plain),
            ]

        # --- instance snapshot (POST /api/snapshots, the server's own code path) -----------
        try:
            with measured(proc) as snap:
                done = request_result(client, "POST", "/api/snapshots")
            snap_name = str(done["message"])
            info = client.check(client.http.get(f"/api/snapshots/{snap_name}")).json()
            say(f"snapshot {snap_name}: {fmt_s(snap.seconds)}")
            rows += [
                Row("instance snapshot: time", fmt_s(snap.seconds)),
                Row("instance snapshot: size", fmt_mb(info["size"])),
                Row("instance snapshot: server peak RSS", fmt_mb(snap.peak_rss), "≤ 300 MB"),
            ]
        except RuntimeError as exc:
            say(f"instance snapshot: {exc}")
            rows.append(Row("instance snapshot", failed(exc)))

        # --- restore the project from its full backup, as a new project --------------------
        name = f"restore full backup ({dataset.total_boxes:,} shapes)"
        if full_id is None:
            rows.append(Row(name, "not measured: no full backup", "≤ 60 s"))
        else:
            url = f"/api/backups/{full_id}/restore"
            try:
                with measured(proc) as restore:
                    done = request_result(client, "POST", url, json={"mode": "new"})
                new_project = int(done["result_id"])
                say(f"full backup restored as project {new_project}: {fmt_s(restore.seconds)}")
                restored = project_shapes(client, new_project)
                rows += [
                    Row(f"{name}: time", fmt_s(restore.seconds), "≤ 60 s"),
                    Row(
                        "restore full backup: server peak RSS", fmt_mb(restore.peak_rss), "≤ 300 MB"
                    ),
                    Row("  shapes in the restored project (read back)", f"{restored:,}"),
                ]
            except RuntimeError as exc:
                say(f"restore: {exc}")
                rows.append(Row(name, failed(exc), "≤ 60 s"))
        client.close()
    finally:
        server.stop()

    # --- snapshot restore into a fresh, empty data dir and a fresh SQLite -------------------
    if snap_name is None:
        rows.append(Row("snapshot restore", "not measured: no snapshot"))
        return rows
    env = {k: v for k, v in os.environ.items() if k not in FOREIGN_ENV}
    env.pop("LABELVAULT_SNAPSHOT_ON_EXIT", None)
    fresh = work / "fresh-data"
    cli = ["snapshot", "restore", "--data-dir", str(fresh), "--storage-url", str(storage)]
    try:
        snap_restore = run_cli([*cli, snap_name], work / "snapshot-restore.log", env)
    except RuntimeError as exc:
        say(f"snapshot restore: {exc}")
        rows.append(Row("snapshot restore (CLI, fresh SQLite)", failed(exc)))
        return rows
    say(f"snapshot restored into {fresh}: {fmt_s(snap_restore.seconds)}")
    rows += [
        Row("snapshot restore (CLI, fresh SQLite): time", fmt_s(snap_restore.seconds)),
        Row("snapshot restore: CLI peak RSS", fmt_mb(snap_restore.peak_rss), "≤ 300 MB"),
        Row("  restored data dir size", fmt_mb(tree_bytes(fresh))),
    ]
    return rows


def print_table(rows: list[Row], args: argparse.Namespace) -> None:
    database = "PostgreSQL" if args.postgres else "SQLite"
    print()
    print(
        f"LabelVault backups: {args.images:,} images (1024×768 JPEG), {args.shapes:,} shapes, "
        f"{database}, local-folder storage, share images "
        f"{'copied (copy_data)' if args.copy_data else 'read in place'}; "
        f"{psutil.cpu_count()} CPUs"
    )
    width = max(len(r.name) for r in rows)
    vwidth = max(len(r.value) for r in rows)
    print(f"{'measure':<{width}}  {'figure':>{vwidth}}  target")
    print(f"{'-' * width}  {'-' * vwidth}  ------")
    for r in rows:
        print(f"{r.name:<{width}}  {r.value:>{vwidth}}  {r.target}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--images", type=int, default=1000, help="images (default 1000)")
    parser.add_argument("--shapes", type=int, default=100_000, help="shapes (default 100000)")
    parser.add_argument(
        "--postgres",
        nargs="?",
        const=DEFAULT_PG,
        default=None,
        metavar="URL",
        help=f"serve from PostgreSQL (emptied first; default URL {DEFAULT_PG})",
    )
    parser.add_argument(
        "--copy-data",
        action="store_true",
        help="copy the share images into the task (copy_data); default: read them in place",
    )
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()

    for name in FOREIGN_ENV:
        os.environ.pop(name, None)
    # No scheduler in the server: its passes would add backups of their own to the timings.
    os.environ["LABELVAULT_BACKUPS"] = "false"
    if args.postgres:
        empty_postgres(args.postgres)

    def say(message: str) -> None:
        print(f"  {message}", flush=True)

    work = Path(tempfile.mkdtemp(prefix="lv-bench-backups-"))
    try:
        rows = bench(args, work, say)
    finally:
        if args.keep:
            print(f"work directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print_table(rows, args)


if __name__ == "__main__":
    main()
