"""Compat suite harness: one live `labelvault serve` per database, driven by cvat-cli/cvat-sdk."""

from __future__ import annotations

import os
import struct
import subprocess
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.helpers.compat import (
    PASSWORD,
    POSTGRES_URL,
    VENV_BIN,
    Live,
    labels_json,
    png_bytes,
    sample_annotations,
    write_images,
)
from tests.helpers.net import free_port


def _postgres_ready() -> bool:
    try:
        engine = create_engine(POSTGRES_URL)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
        return True
    except Exception:  # noqa: BLE001
        return False


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def live(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Live]:
    """A live server per database, shared by the whole session."""
    backend: str = request.param
    root = tmp_path_factory.mktemp(f"compat-{backend}")
    env = {
        **os.environ,
        "LABELVAULT_BACKUPS": "false",
        "LABELVAULT_SNAPSHOT_ON_EXIT": "false",
        "LABELVAULT_STORAGE_URL": str(root / "storage"),
        "LABELVAULT_REMOTE_ALLOWED_HOSTS": "127.0.0.1",
        "LABELVAULT_CLOUD_ALLOWED_HOSTS": "127.0.0.1",
    }
    env.pop("LABELVAULT_DATABASE_URL", None)
    if backend == "postgresql":
        if not _postgres_ready():
            if os.environ.get("CI") or os.environ.get("LABELVAULT_REQUIRE_POSTGRES"):
                pytest.fail(f"PostgreSQL is not reachable at {POSTGRES_URL}")
            pytest.skip("PostgreSQL is not reachable")
        env["LABELVAULT_DATABASE_URL"] = POSTGRES_URL
    share_dir = root / "storage" / "share"
    share_dir.mkdir(parents=True)
    home = root / "home"
    home.mkdir()
    port = free_port()
    log_path = root / "server.log"
    log = log_path.open("wb")
    process = subprocess.Popen(
        [
            str(VENV_BIN / "labelvault"),
            "serve",
            "--data-dir",
            str(root / "data"),
            "--port",
            str(port),
            "--admin-password",
            PASSWORD,
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    server = Live(backend, port, root / "data", share_dir, home, log_path)
    try:
        deadline = time.monotonic() + 90
        while True:
            if process.poll() is not None:
                pytest.fail("server exited:\n" + log_path.read_text())
            try:
                if httpx.get(server.base + "/api/server/about", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("server did not start:\n" + log_path.read_text())
            time.sleep(0.2)
        yield server
    finally:
        if server._api is not None:
            server._api.close()
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _chunk(kind: bytes, payload: bytes) -> bytes:
    return (
        struct.pack(">I", len(payload))
        + kind
        + payload
        + struct.pack(">I", zlib.crc32(kind + payload))
    )


@pytest.fixture(scope="session")
def big_png(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A valid 64x48 PNG over 100 MiB: a private ancillary chunk pads it (decoders skip it)."""
    path = tmp_path_factory.mktemp("big") / "big.png"
    small = png_bytes(64, 48, (1, 2, 3))
    iend = small.rindex(b"IEND") - 4
    pad = b"\0" * (101 * 1024 * 1024)
    path.write_bytes(small[:iend] + _chunk(b"lvPd", pad) + small[iend:])
    return path


@pytest.fixture(scope="session")
def annotated_task(live: Live, tmp_path_factory: pytest.TempPathFactory) -> int:
    """A task made with `cvat-cli task create` (3 frames, 2 jobs) plus known annotations.

    Read-only for tests: exports, frames, backups and datasets read it.
    """
    folder = tmp_path_factory.mktemp(f"annotated-{live.backend}")
    paths = write_images(folder)
    out = live.cli_ok(
        "task",
        "create",
        "annotated",
        "local",
        *map(str, paths),
        "--labels",
        labels_json(),
        "--segment_size",
        "2",
        "--completion_verification_period",
        "0.1",
    )
    task_id = int(out.split()[-1])
    response = live.api().put(
        f"/api/tasks/{task_id}/annotations/", json=sample_annotations(live, task_id)
    )
    assert response.status_code == 200, response.text
    return task_id
