"""Three servers and two workers on PostgreSQL and Redis: periodic work is done once.

One backup per due project and period, one rotation of each old backup, one snapshot per
change window, however many processes run the scheduler and the snapshot watcher.
"""

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
KEEP = 2


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
    """(server ports, root): the storage is root/storage, process logs root/p*.log."""
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
        # The third period's backup rotates the first away.
        "LABELVAULT_BACKUP_KEEP_ANNOTATIONS": str(KEEP),
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
        yield ports, root
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


def _logs(root: Path) -> str:
    return "\n".join(p.read_text(errors="replace") for p in sorted(root.glob("p*.log")))


def test_each_due_period_gives_one_backup_and_one_rotation(
    cluster: tuple[list[int], Path],
) -> None:
    ports, root = cluster
    storage = root / "storage"
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

        made: list[str] = []
        for period in (1, 2, 3):
            # Due now (a new project, then a changed one): one of the workers makes it.
            def new_one(seen: list[str] = made) -> bool:
                return any(p.name not in seen for p in stored())

            assert _wait_for(new_one, PERIOD + 20), f"no backup in period {period}"
            # Every worker ticked several times since; none made a second one.
            time.sleep(PERIOD / 2)
            fresh = [p.name for p in stored() if p.name not in made]
            assert len(fresh) == 1, fresh
            made += fresh
            # Rotation keeps the newest KEEP: the older ones are gone from the storage.
            assert [p.name for p in stored()] == sorted(made[-KEEP:])
            for api in apis:  # any server answers with the same catalog
                assert len(listed(api)) == min(period, KEEP)
            changed = apis[period % 3].patch(
                f"/api/projects/{project}", json={"name": f"due {period}"}
            )
            assert changed.status_code == 200, changed.text
        status = apis[2].get("/api/backups/status").json()["results"]
        mine = [s for s in status if s["project_id"] == project]
        assert [(s["kind"], s["failures"]) for s in mine] == [("annotations", 0)]
    finally:
        for api in apis:
            api.close()
    logs = _logs(root)
    # The first backup was removed once, by the one process holding the maintenance lease.
    removed = [line for line in logs.splitlines() if "rotation removed backup" in line]
    assert len(removed) == 1 and made[0] in removed[0], removed
    assert "pass failed" not in logs and "Traceback" not in logs, logs[-3000:]


def test_a_change_window_gives_one_snapshot(cluster: tuple[list[int], Path]) -> None:
    """Every server's watcher sees the project made above; only one snapshots it."""
    from labelvault.backups.snapshot_policy import COALESCE
    from labelvault.backups.snapshots import list_snapshots
    from labelvault.storage import Storage

    _, root = cluster
    storage = Storage.from_url(str(root / "storage"))

    def reasons() -> list[str]:
        return sorted(s.reason or "" for s in list_snapshots(storage))

    window = COALESCE.total_seconds()
    assert _wait_for(lambda: "change" in reasons(), window + 40), reasons()
    # Three watchers saw the changes of the window; the others had time to follow.
    time.sleep(8)
    found = reasons()
    assert found.count("change") == 1, found
    assert found.count("first start") == 1, found
    assert found.count("scheduled") <= 1, found  # the workers' scheduled one, claimed
