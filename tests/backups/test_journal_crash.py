"""kill -9, data dir lost: `serve --restore-snapshot latest` brings back every acknowledged save."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.backups.conftest import ScratchDatabases
from tests.conftest import LABELS, png_bytes
from tests.helpers.backups import annotate, labels_by_name
from tests.helpers.servers import free_port, wait_for_port

SRC = Path(__file__).parents[2] / "src"
PASSWORD = "crash-test-pass-1"
BOUND = 120.0  # generous: a condition polled, never a duration asserted


class LiveServer:
    """`labelvault serve` in its own process, on a free port."""

    def __init__(self, data_dir: Path, storage_url: str, database_url: str | None) -> None:
        self.data_dir, self.storage_url, self.database_url = data_dir, storage_url, database_url
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    def start(self, *args: str) -> None:
        env = {
            **os.environ,
            "PYTHONPATH": str(SRC),
            "LABELVAULT_DATA_DIR": str(self.data_dir),
            "LABELVAULT_STORAGE_URL": self.storage_url,
            "LABELVAULT_ADMIN_PASSWORD": PASSWORD,
            "LABELVAULT_PORT": str(self.port),
        }
        if self.database_url:
            env["LABELVAULT_DATABASE_URL"] = self.database_url
        log = (self.data_dir.parent / f"server-{self.port}.log").open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "from labelvault.cli import main; main()", "serve", *args],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + BOUND
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"the server exited: {log.name}")
            try:
                wait_for_port(self.port, timeout=0.5)
                return
            except RuntimeError:
                continue
        raise AssertionError("the server did not start")

    def client(self) -> httpx.Client:
        client = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=60)
        response = client.post("/api/auth/login", json={"username": "admin", "password": PASSWORD})
        assert response.status_code == 200, response.text
        client.headers["X-CSRFToken"] = client.cookies["csrftoken"]
        return client

    def kill9(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def wait_until(condition: Any, what: str) -> Any:
    deadline = time.monotonic() + BOUND
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def finished(client: httpx.Client, rq_id: str) -> bool:
    status = client.get(f"/api/requests/{rq_id}").json()
    assert status["status"] != "failed", status
    return status["status"] == "finished"


def make_task(client: httpx.Client) -> int:
    project = client.post("/api/projects", json={"name": "crash", "labels": LABELS}).json()
    task = client.post("/api/tasks", json={"name": "t", "project_id": project["id"]}).json()
    assert (
        client.post(f"/api/tasks/{task['id']}/data/", headers={"Upload-Start": ""}).status_code
        == 202
    )
    files = [(f"client_files[{i}]", (f"i{i}.png", png_bytes(), "image/png")) for i in range(2)]
    client.post(f"/api/tasks/{task['id']}/data/", headers={"Upload-Multiple": ""}, files=files)
    rq = client.post(
        f"/api/tasks/{task['id']}/data/", headers={"Upload-Finish": ""}, json={"image_quality": 70}
    ).json()["rq_id"]
    wait_until(lambda: finished(client, rq), "the task's data")
    return project["id"]


def journal_shipped(client: httpx.Client, seq: int) -> bool:
    status = client.get("/api/backups/journal").json()
    return status["enabled"] and status["shipped_seq"] >= seq


@pytest.fixture
def storage_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "folder":
        yield str(tmp_path / "storage")
        return
    from tests.helpers.servers import WebdavServer

    (tmp_path / "dav").mkdir()
    server = WebdavServer(tmp_path / "dav")
    server.start()
    try:
        yield server.url()
    finally:
        server.stop()


def _url(scratch_dbs: ScratchDatabases, kind: str) -> str | None:
    if kind == "sqlite":
        return None  # the default: a file in the data dir, lost with it
    return str(scratch_dbs.new(kind).url)


# Each database once and each storage kind once (a live server each time is costly; the
# storage layer's own tests cover every kind, and bench/rpo.py measures all six pairs).
@pytest.mark.parametrize(
    ("storage_url", "db_kind"),
    [("folder", "sqlite"), ("webdav", "postgresql")],
    indirect=["storage_url"],
)
def test_every_acknowledged_save_survives_kill_9_and_data_dir_loss(
    tmp_path: Path, storage_url: str, db_kind: str, scratch_dbs: ScratchDatabases
) -> None:
    data_dir = tmp_path / "node-1"
    server = LiveServer(data_dir, storage_url, _url(scratch_dbs, db_kind))
    server.start()
    try:
        client = server.client()
        project_id = make_task(client)
        labels = labels_by_name(client, project_id)
        job = client.get("/api/jobs").json()["results"][0]
        # The snapshot soon after the first start holds the project and task.
        wait_until(lambda: client.get("/api/snapshots").json()["count"] > 0, "a first snapshot")
        wait_until(
            lambda: any(
                "tasks" in s["tables"] and s["tables"]["tasks"] > 0
                for s in client.get("/api/snapshots").json()["results"]
            ),
            "a snapshot holding the task",
        )
        last = None
        for x in (1.0, 2.0, 3.0, 4.0, 5.0):
            last = annotate(client, job["id"], labels, frame=job["start_frame"], x=x)
        committed = client.get("/api/backups/journal").json()["committed_seq"]
        wait_until(lambda: journal_shipped(client, committed), "the journal to ship the saves")
        server.kill9()
    finally:
        server.stop()
    shutil.rmtree(data_dir)

    restored = LiveServer(tmp_path / "node-2", storage_url, _url(scratch_dbs, db_kind))
    restored.start("--restore-snapshot", "latest")
    try:
        client = restored.client()
        body = client.get(f"/api/jobs/{job['id']}/annotations").json()
        assert last is not None
        stale_version = last.pop("version")
        assert body.pop("version") > stale_version
        assert body == last
        # A save based on the version read before the crash is refused, not applied.
        stale = client.put(
            f"/api/jobs/{job['id']}/annotations",
            json={"shapes": []},
            headers={"If-Match": f'"{stale_version}"'},
        )
        assert stale.status_code == 412
    finally:
        restored.stop()
