"""An instance's life as an operator runs it: serve, stop (snapshot), start from the snapshot."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.helpers.net import free_port

BIN = Path(sys.executable).parent / "labelvault"
PASSWORD = "lifecycle-pass-1"


def _serve(data: Path, storage: Path, port: int, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "LABELVAULT_ADMIN_PASSWORD": PASSWORD, "LABELVAULT_BACKUPS": "true"}
    env.pop("LABELVAULT_DATABASE_URL", None)
    command = [
        str(BIN),
        "serve",
        "--data-dir",
        str(data),
        "--port",
        str(port),
        "--storage-url",
        str(storage),
        *extra,
    ]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stdout.read().decode() if process.stdout else ""
            pytest.fail(f"server exited with {process.returncode}:\n{output}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/server/about", timeout=1).is_success:
                return process
        except httpx.TransportError:
            time.sleep(0.2)
    process.kill()
    pytest.fail("server did not start")


@contextmanager
def _client(port: int) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
        client.post("/api/auth/login", json={"username": "admin", "password": PASSWORD})
        client.headers["X-CSRFToken"] = client.cookies["csrftoken"]
        yield client


def test_stop_writes_a_snapshot_and_a_new_instance_starts_from_it(tmp_path: Path) -> None:
    data, storage = tmp_path / "data", tmp_path / "storage"
    port = free_port()
    server = _serve(data, storage, port)
    try:
        with _client(port) as api:
            labels = [{"name": "car", "attributes": []}]
            created = api.post("/api/projects", json={"name": "kept", "labels": labels})
            assert created.status_code == 201, created.text
            token = api.post("/api/auth/access_tokens", json={"name": "ci"}).json()["value"]
    finally:
        server.send_signal(signal.SIGTERM)  # what `docker stop` or systemd sends
        # uvicorn shuts down gracefully, then re-raises the signal for the process manager.
        assert server.wait(timeout=60) in (0, -signal.SIGTERM)
    # Under the instance's own folder; the first start may have left one of its own too.
    snapshots = sorted(storage.rglob("snapshot-*.tar"))
    assert 1 <= len(snapshots) <= 2, "stopping the server must leave a snapshot in the storage"
    assert all(path.parent.name == "snapshots" for path in snapshots)

    # The machine is gone: only the storage survives.
    shutil.rmtree(data)
    port = free_port()
    server = _serve(data, storage, port, "--restore-snapshot", "latest", "--no-snapshot-on-exit")
    try:
        with _client(port) as api:
            names = [p["name"] for p in api.get("/api/projects").json()["results"]]
            assert names == ["kept"]
            labels = api.get("/api/labels").json()["results"]
            assert [label["name"] for label in labels] == ["car"]
        # Tokens come back with the users (only their hashes were in the snapshot).
        me = httpx.get(
            f"http://127.0.0.1:{port}/api/users/self", headers={"Authorization": f"Bearer {token}"}
        )
        assert me.status_code == 200 and me.json()["username"] == "admin"
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
    # --no-snapshot-on-exit, and nothing changed: the restored server wrote none.
    assert len(list(storage.rglob("snapshot-*.tar"))) == len(snapshots)

    # Restoring over a data dir that already has data is refused without --force.
    refused = subprocess.run(
        [
            str(BIN),
            "serve",
            "--data-dir",
            str(data),
            "--port",
            str(free_port()),
            "--storage-url",
            str(storage),
            "--restore-snapshot",
            "latest",
        ],
        env={**os.environ, "LABELVAULT_ADMIN_PASSWORD": PASSWORD},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode != 0
    assert "empty" in (refused.stdout + refused.stderr).lower()


def _delete(data: Path, storage: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN), "instance", "delete", "--data-dir", str(data), "--storage-url", str(storage)]
        + ["--yes", *extra],
        env={**os.environ, "LABELVAULT_ADMIN_PASSWORD": PASSWORD},
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_instance_delete_refuses_while_a_server_uses_the_data_dir(tmp_path: Path) -> None:
    data, storage = tmp_path / "data", tmp_path / "storage"
    port = free_port()
    server = _serve(data, storage, port)
    try:
        with _client(port) as api:
            labels = [{"name": "car", "attributes": []}]
            assert api.post("/api/projects", json={"name": "p", "labels": labels}).is_success
        refused = _delete(data, storage)
        assert refused.returncode != 0
        assert (
            f"server pid {server.pid} (labelvault serve --data-dir {data} --port {port}"
            in refused.stderr
        ), refused.stderr
        assert "uses this data dir; stop it or pass --force" in refused.stderr
        assert (data / "labelvault.db").is_file() and server.poll() is None
        # Another server on the same data dir is refused the same way.
        second = subprocess.run(
            [str(BIN), "serve", "--data-dir", str(data), "--port", str(free_port())],
            env={**os.environ, "LABELVAULT_ADMIN_PASSWORD": PASSWORD},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert second.returncode != 0 and f"server pid {server.pid}" in second.stderr

        forced = _delete(data, storage, "--force")
        assert forced.returncode == 0, forced.stdout + forced.stderr
        # It stopped the server (which wrote its shutdown snapshot), then snapshotted, deleted.
        assert server.wait(timeout=60) in (0, -signal.SIGTERM)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(timeout=30)
    assert not data.exists()
    # The server's on exit and the delete's own (and perhaps the first start's).
    assert len(list(storage.rglob("snapshot-*.tar"))) >= 2


def _serve_fails(data: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    environ = {**os.environ, "LABELVAULT_ADMIN_PASSWORD": PASSWORD, "LABELVAULT_BACKUPS": "true"}
    environ.pop("LABELVAULT_STORAGE_URL", None)
    command = [str(BIN), "serve", "--data-dir", str(data), "--port", str(free_port()), *args]
    return subprocess.run(
        command, env={**environ, **env}, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(
    ("args", "env", "names"),
    [
        # Nothing listens on that port: unreachable.
        (("--storage-url", "webdav+http://127.0.0.1:{closed}/dav"), {}, "127.0.0.1:{closed}"),
        (("--storage-url", "ftp://example.org/backups"), {}, "ftp"),
        ((), {"LABELVAULT_STORAGE_REQUIRED": "true"}, "LABELVAULT_STORAGE_URL"),
    ],
    ids=["unreachable", "bad-url", "required"],
)
def test_a_storage_problem_at_start_is_one_line_and_exit_3(
    tmp_path: Path, args: tuple[str, ...], env: dict[str, str], names: str
) -> None:
    closed = str(free_port())
    args = tuple(a.replace("{closed}", closed) for a in args)
    done = _serve_fails(tmp_path / "data", *args, **env)
    assert done.returncode == 3, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("Error: ") and names.replace("{closed}", closed) in lines[0]
    assert "Traceback" not in done.stdout + done.stderr
