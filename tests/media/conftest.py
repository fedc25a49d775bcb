"""Fixtures for media tests: a share folder, a local HTTP file server, S3 (moto), helpers."""

from __future__ import annotations

import functools
import http.server
import io
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.conftest import LABELS
from tests.helpers.servers import (  # noqa: F401  (s3_server is a fixture used as it is)
    S3_BUCKET,
    S3_REGION,
    S3Server,
    free_port,
    s3_server,
    wait_for_port,
)


def jpeg_bytes(
    width: int = 64, height: int = 48, color: tuple[int, int, int] = (200, 30, 30)
) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


@pytest.fixture
def share(settings) -> Path:  # type: ignore[no-untyped-def]
    """The connected share of the test's instance: <storage root>/share."""
    folder = Path(settings.resolved_storage_url) / "share"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def new_task(client, **fields: Any) -> dict:  # type: ignore[no-untyped-def]
    response = client.post("/api/tasks", json={"name": "data", "labels": LABELS, **fields})
    assert response.status_code == 201, response.text
    return response.json()


def wait(client, rq_id: str, timeout: float = 60) -> dict:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        status = client.get(f"/api/requests/{rq_id}").json()
        if status["status"] in ("finished", "failed") or time.monotonic() > deadline:
            return status
        time.sleep(0.05)


def post_data(client, task_id: int, body: dict, query: str = "") -> dict:  # type: ignore[no-untyped-def]
    """A one-shot JSON data request (share, remote, cloud); returns the finished request."""
    response = client.post(f"/api/tasks/{task_id}/data/{query}", json=body)
    assert response.status_code == 202, response.text
    return wait(client, response.json()["rq_id"])


def meta(client, task_id: int) -> dict:  # type: ignore[no-untyped-def]
    response = client.get(f"/api/tasks/{task_id}/data/meta")
    assert response.status_code == 200, response.text
    return response.json()


def nothing_left(app, task_id: int) -> None:  # type: ignore[no-untyped-def]
    """A failed creation leaves no frames, no jobs, no files and a task without data."""
    settings = app.state.settings
    task_dir = settings.media_dir / "tasks" / str(task_id)
    leftovers = [p for p in task_dir.rglob("*") if p.is_file()] if task_dir.exists() else []
    assert leftovers == []
    assert not (settings.uploads_dir / f"task-{task_id}-data").exists()


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def http_files(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A plain HTTP server on 127.0.0.1 serving a folder: (base URL, folder)."""
    folder = tmp_path / "www"
    folder.mkdir()
    handler = functools.partial(_Quiet, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", folder
    server.shutdown()
    server.server_close()


@pytest.fixture
def allow_local(settings, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """Let remote_files reach 127.0.0.1, as an intranet operator would allow-list it."""
    monkeypatch.setattr(settings, "remote_allowed_hosts", "127.0.0.1")
    # Live servers started by a test read it from the environment.
    monkeypatch.setenv("LABELVAULT_REMOTE_ALLOWED_HOSTS", "127.0.0.1")
