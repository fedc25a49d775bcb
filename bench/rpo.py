"""Recovery point: seconds of annotation work lost when a node dies (kill -9, data dir gone).

An annotator saves a job once a second; the server is killed at a random moment, its data
dir (and database) deleted, and a new node starts with `serve --restore-snapshot latest` from
the storage. Work lost = ack time of the newest acknowledged save minus ack time of the save
the restored job holds. Run from the repository root:

    PYTHONPATH=src:. python bench/rpo.py [--quick] [--trials 5]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.backups.test_journal_crash import LiveServer, make_task, wait_until
from tests.conftest import LABELS  # noqa: F401  (make_task's labels)
from tests.helpers.servers import WebdavServer, free_port, wait_for_port

RESULTS = Path(__file__).parent / "results" / "rpo.md"
PG_ADMIN = os.environ.get(
    "LABELVAULT_BENCH_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


@contextmanager
def storage(kind: str, work: Path) -> Iterator[str]:
    if kind == "folder":
        yield str(work / "storage")
    elif kind == "webdav":
        (work / "dav").mkdir()
        server = WebdavServer(work / "dav")
        server.start()
        try:
            yield server.url()
        finally:
            server.stop()
    else:
        import boto3

        port = free_port()
        proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_for_port(port, timeout=30)
            os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
            os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
            endpoint = f"http://127.0.0.1:{port}"
            boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(
                Bucket="rpo"
            )
            yield f"s3://rpo/lv?endpoint_url={endpoint}&region=us-east-1"
        finally:
            proc.terminate()
            proc.wait(timeout=10)


class Databases:
    """A fresh database per node: the old one dies with the node."""

    def __init__(self, kind: str) -> None:
        self.kind, self.names = kind, []

    def new(self) -> str | None:
        if self.kind == "sqlite":
            return None
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        name = f"lv_rpo_{uuid.uuid4().hex[:10]}"
        admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        self.names.append(name)
        return make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        if not self.names:
            return
        from sqlalchemy import create_engine, text

        admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            for name in self.names:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


class Annotator(threading.Thread):
    """Saves one job once a second; remembers when each save was acknowledged."""

    def __init__(self, client: httpx.Client, job: dict, label_id: int) -> None:
        super().__init__(daemon=True)
        self.client, self.job, self.label_id = client, job, label_id
        self.acked: dict[int, float] = {}
        self.stop = threading.Event()

    def run(self) -> None:
        n = len(self.acked)
        while not self.stop.is_set():
            n += 1
            body = {
                "shapes": [
                    {
                        "type": "rectangle",
                        "frame": self.job["start_frame"],
                        "label_id": self.label_id,
                        "points": [float(n), 1.0, float(n) + 10, 11.0],
                        "attributes": [],
                    }
                ]
            }
            try:
                response = self.client.put(f"/api/jobs/{self.job['id']}/annotations", json=body)
            except httpx.HTTPError:
                return  # the node died mid-request: that save was never acknowledged
            if response.status_code == 200:
                self.acked[n] = time.monotonic()
            self.stop.wait(1.0)


def saved_counter(client: httpx.Client, job_id: int) -> int | None:
    shapes = client.get(f"/api/jobs/{job_id}/annotations").json()["shapes"]
    return int(shapes[0]["points"][0]) if shapes else None


def run_combo(kind: str, db_kind: str, trials: int, work: Path) -> list[float]:
    lost: list[float] = []
    databases = Databases(db_kind)
    try:
        with storage(kind, work) as url:
            node = LiveServer(work / "node-0", url, databases.new())
            node.start()
            client = node.client()
            project_id = make_task(client)
            labels = {
                lbl["name"]: lbl
                for lbl in client.get("/api/labels", params={"project_id": project_id}).json()[
                    "results"
                ]
            }
            job = client.get("/api/jobs").json()["results"][0]
            wait_until(
                lambda: any(
                    s["tables"].get("tasks") for s in client.get("/api/snapshots").json()["results"]
                ),
                "a snapshot holding the task",
            )
            acked: dict[int, float] = {}
            for trial in range(trials):
                annotator = Annotator(client, job, labels["car"]["id"])
                annotator.acked = dict(acked)
                annotator.start()
                time.sleep(random.uniform(3.0, 8.0))
                node.kill9()
                annotator.stop.set()
                annotator.join(timeout=30)
                acked = annotator.acked
                shutil.rmtree(node.data_dir)
                node = LiveServer(work / f"node-{trial + 1}", url, databases.new())
                node.start("--restore-snapshot", "latest")
                client = node.client()
                got = saved_counter(client, job["id"])
                newest = max(acked)
                seconds = 0.0 if got == newest else acked[newest] - acked.get(got or 0, 0.0)
                lost.append(seconds)
                print(f"  {kind}/{db_kind} trial {trial + 1}: lost {seconds:.2f} s", flush=True)
                # The restored node carries on as the instance: the next save is newer.
                acked = {k: v for k, v in acked.items() if k <= (got or 0)}
            node.stop()
    finally:
        databases.drop_all()
    return lost


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="three combinations, not six")
    parser.add_argument("--trials", type=int, default=5)
    args = parser.parse_args()
    combos = (
        [("folder", "sqlite"), ("webdav", "sqlite"), ("s3", "postgresql")]
        if args.quick
        else [(k, d) for d in ("sqlite", "postgresql") for k in ("folder", "webdav", "s3")]
    )
    rows = []
    for kind, db_kind in combos:
        with tempfile.TemporaryDirectory(prefix="lv-rpo-") as tmp:
            lost = run_combo(kind, db_kind, args.trials, Path(tmp))
        rows.append((kind, db_kind, len(lost), statistics.median(lost), max(lost)))
    lines = [
        "# Recovery point after kill -9 and data-dir loss",
        "",
        "An annotator saves a job once a second; the server is killed (SIGKILL) 3-8 s into",
        "each trial, its data dir and database are deleted, and a new node starts with",
        "`serve --restore-snapshot latest`. Seconds lost: ack time of the newest acknowledged",
        "save minus that of the save the restored job holds. Target: at most 5 s.",
        "",
        "| storage | database | trials | lost p50 (s) | lost max (s) |",
        "|---|---|---|---|---|",
    ]
    lines += [f"| {k} | {d} | {n} | {p50:.2f} | {mx:.2f} |" for k, d, n, p50, mx in rows]
    lines += ["", f"Command: `python bench/rpo.py{' --quick' if args.quick else ''}`", ""]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
