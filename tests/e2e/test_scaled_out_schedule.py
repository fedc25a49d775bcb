"""Three servers and two workers on PostgreSQL and Redis: each due backup is made once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.helpers.net import free_port

BIN = Path(sys.executable).parent / "labelvault"
PASSWORD = "scaled-out-pass-1"
REDIS_URL = os.environ.get("LABELVAULT_TEST_REDIS", "redis://127.0.0.1:6379/7")
# A project's annotations backup is due again this long after the last one.
PERIOD = 4.0


def _fresh_database() -> str:
    """A database of its own (the processes migrate it), dropped and made anew."""
    from tests.conftest import POSTGRES_URL  # the suite's (this worker's) database server

    url = make_url(POSTGRES_URL)
    name = f"{url.database}_scaled"
    try:
        admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"PostgreSQL is not reachable: {exc}")
    return url.set(database=name).render_as_string(hide_password=False)


def _empty_redis() -> None:
    redis = pytest.importorskip("redis")
    try:
        redis.Redis.from_url(REDIS_URL).flushdb()  # this test's own db number
    except redis.RedisError as exc:
        pytest.skip(f"Redis is not reachable: {exc}")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[list[int], Path]]:
    """Three `serve` and two `worker` processes sharing database, queue and storage."""
    database = _fresh_database()
    _empty_redis()
    root = tmp_path_factory.mktemp("scaled")
    storage = root / "storage"
    env = {
        **os.environ,
        "LABELVAULT_DATABASE_URL": database,
        "LABELVAULT_STORAGE_URL": str(storage),
        "LABELVAULT_INSTANCE_NAME": "team-scaled",
        "LABELVAULT_ADMIN_PASSWORD": PASSWORD,
        "LABELVAULT_BACKUPS": "true",
        "LABELVAULT_BACKUP_TICK": "0.5s",
        "LABELVAULT_BACKUP_KINDS": "annotations",
        "LABELVAULT_BACKUP_TIERS_ANNOTATIONS": f"*:{PERIOD}s",
        "LABELVAULT_SNAPSHOT_INTERVAL": "1d",
    }
    processes: list[subprocess.Popen] = []

    def start(*args: str) -> subprocess.Popen:
        name = f"p{len(processes)}"
        log = (root / f"{name}.log").open("wb")
        command = [str(BIN), *args, "--data-dir", str(root / name), "--queue-url", REDIS_URL]
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        processes.append(process)
        return process

    ports = [free_port() for _ in range(3)]
    try:
        # The first one migrates the database and makes the admin; then the rest at once.
        _wait_up(start("serve", "--port", str(ports[0]), "--no-snapshot-on-exit"), ports[0], root)
        for port in ports[1:]:
            start("serve", "--port", str(port), "--no-snapshot-on-exit")
        start("worker", "--workers", "1")
        start("worker", "--workers", "1")
        for process, port in zip(processes[1:3], ports[1:], strict=True):
            _wait_up(process, port, root)
        yield ports, storage
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        _drop_database(database)


def _drop_database(database: str) -> None:
    url = make_url(database)
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
    admin.dispose()


def _wait_up(process: subprocess.Popen, port: int, root: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            logs = "\n".join(p.read_text() for p in root.glob("*.log"))
            pytest.fail(f"a process exited with {process.returncode}:\n{logs}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/server/about", timeout=1).is_success:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    pytest.fail("server did not start")


def _client(port: int) -> httpx.Client:
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10)
    client.post("/api/auth/login", json={"username": "admin", "password": PASSWORD})
    client.headers["X-CSRFToken"] = client.cookies["csrftoken"]
    return client


def _wait_for(check: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return False


def test_each_due_period_gives_one_backup(cluster: tuple[list[int], Path]) -> None:
    ports, storage = cluster
    apis = [_client(port) for port in ports]
    try:
        labels = [{"name": "car", "attributes": []}]
        created = apis[0].post("/api/projects", json={"name": "due", "labels": labels})
        assert created.status_code == 201, created.text
        project = created.json()["id"]

        def stored() -> list[Path]:
            return sorted(storage.rglob(f"project_{project}_annotations_*.zip"))

        def listed(api: httpx.Client) -> list[dict]:
            answer = api.get("/api/backups", params={"project_id": project})
            assert answer.status_code == 200, answer.text
            return answer.json()["results"]

        for period in (1, 2):
            # Due now (a new project, then a changed one): one of the workers makes it.
            assert _wait_for(lambda n=period: len(stored()) >= n, PERIOD + 20), (
                f"no backup in period {period}"
            )
            # Every worker ticked several times since; none made a second one.
            time.sleep(PERIOD / 2)
            assert len(stored()) == period, [p.name for p in stored()]
            for api in apis:  # any server answers with the same catalog
                assert len(listed(api)) == period
            changed = apis[period].patch(f"/api/projects/{project}", json={"name": f"due {period}"})
            assert changed.status_code == 200, changed.text
        status = apis[2].get("/api/backups/status").json()["results"]
        mine = [s for s in status if s["project_id"] == project]
        assert [(s["kind"], s["failures"]) for s in mine] == [("annotations", 0)]
    finally:
        for api in apis:
            api.close()
