"""What the fault tests share: a WebDAV link that can be slowed, and the checks after a fault."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, inspect, text

from labelvault.storage.base import TEMP_PREFIX
from tests.backups.conftest import ScratchDatabases
from tests.backups.test_journal_crash import BOUND, LiveServer
from tests.helpers.servers import WebdavServer


class SlowPuts:
    """WSGI middleware: uploads of temporaries trickle in, and the test hears when one starts.

    A slow link makes "during the upload" a moment the test can wait for instead of a race.
    """

    def __init__(self, app: Any, delay: float = 0.05, block: int = 16 * 1024) -> None:
        self.app, self.delay, self.block = app, delay, block
        self.match = ""  # only uploads whose path holds this are slowed and heard
        self.started = threading.Event()
        self.paths: list[str] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "")
        slowed = self.delay and self.match and self.match in path
        if environ["REQUEST_METHOD"] == "PUT" and TEMP_PREFIX in path and slowed:
            self.paths.append(path)
            environ["wsgi.input"] = _Trickle(environ["wsgi.input"], self)
        return self.app(environ, start_response)


class _Trickle:
    def __init__(self, inner: Any, link: SlowPuts) -> None:
        self.inner, self.link = inner, link

    def read(self, size: int = -1) -> bytes:
        self.link.started.set()
        time.sleep(self.link.delay)
        block = self.link.block if size is None or size < 0 else min(size, self.link.block)
        return self.inner.read(block)

    def readline(self, size: int = -1) -> bytes:
        self.link.started.set()
        return self.inner.readline(size)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def db_url(scratch_dbs: ScratchDatabases, kind: str) -> str | None:
    """None for SQLite (the default file in the data dir), else a fresh PostgreSQL database."""
    return None if kind == "sqlite" else str(scratch_dbs.new(kind).url)


def database_intact(server: LiveServer) -> None:
    """SQLite: PRAGMA integrity_check is ok. PostgreSQL: every table answers a count."""
    if server.database_url is None:
        for name in ("labelvault.db", "queue.db"):
            path = server.data_dir / name
            if path.exists():
                with sqlite3.connect(path) as db:
                    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",), name
        return
    engine = create_engine(server.database_url)
    try:
        with engine.connect() as conn:
            for table in inspect(conn).get_table_names():
                conn.execute(text(f'SELECT count(*) FROM "{table}"')).scalar_one()
    finally:
        engine.dispose()


def temporaries(*folders: Path) -> list[str]:
    """Half-written objects: storage temporaries and the server's local scratch files."""
    found: list[str] = []
    for folder in folders:
        if folder.exists():
            found += [str(p) for p in folder.rglob(f"{TEMP_PREFIX}*") if p.is_file()]
    return found


def wait_request(client: httpx.Client, rq_id: str, states: Iterable[str]) -> dict[str, Any]:
    """Poll a background request until it reaches one of `states`; its last status."""
    deadline = time.monotonic() + BOUND
    wanted = set(states)
    while time.monotonic() < deadline:
        status = client.get(f"/api/requests/{rq_id}").json()
        if status["status"] in wanted:
            return status
        time.sleep(0.05)
    raise AssertionError(f"request {rq_id} never reached {wanted}")


def _written(pid: int) -> int:
    for line in Path(f"/proc/{pid}/io").read_text().splitlines():
        if line.startswith("wchar:"):
            return int(line.split()[1])
    raise AssertionError("no wchar in /proc/<pid>/io")


def writing(pid: int, more_than: int = 1024 * 1024) -> threading.Event:
    """Set once process `pid` has written `more_than` bytes from now (to its database file
    or its database's socket): a moment inside a big transaction, not before or after it."""
    moment = threading.Event()
    start = _written(pid)

    def watch() -> None:
        deadline = time.monotonic() + BOUND
        while time.monotonic() < deadline:
            try:
                if _written(pid) - start > more_than:
                    moment.set()
                    return
            except (OSError, AssertionError):
                return
            time.sleep(0.005)

    threading.Thread(target=watch, daemon=True).start()
    return moment


def copying(database_url: str, table: str) -> threading.Event:
    """Set while a PostgreSQL session is inside `COPY "<table>"`: its transaction is open."""
    moment = threading.Event()
    engine = create_engine(database_url)
    probe = text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND state = 'active' AND query LIKE :copy"
    )

    def watch() -> None:
        deadline = time.monotonic() + BOUND
        try:
            with engine.connect() as conn:
                while time.monotonic() < deadline and not moment.is_set():
                    if conn.execute(probe, {"copy": f'COPY "{table}"%'}).scalar_one():
                        moment.set()
                    conn.rollback()
                    time.sleep(0.002)
        finally:
            engine.dispose()

    threading.Thread(target=watch, daemon=True).start()
    return moment


class Node:
    """A server on a data dir, its WebDAV storage (a slowable link) and its database."""

    def __init__(self, tmp: Path, database_url: str | None) -> None:
        self.dav_dir = tmp / "dav"
        self.dav_dir.mkdir()
        self.link: SlowPuts | None = None
        self.dav = WebdavServer(self.dav_dir, wrap=self._wrap)
        self.dav.start()
        self.server = LiveServer(tmp / "data", self.dav.url(), database_url)

    def _wrap(self, app: Any) -> Any:
        self.link = SlowPuts(app, delay=0)
        return self.link

    def slow_uploads_of(self, folder: str) -> SlowPuts:
        """From now on, uploads of temporaries under `folder` trickle in (16 KiB / 50 ms)."""
        assert self.link is not None
        self.link.match = folder
        self.link.delay = 0.05
        self.link.started.clear()
        return self.link

    def restart(self) -> httpx.Client:
        """After a kill: start again on the same data dir, database and storage."""
        assert self.link is not None
        self.link.delay = 0
        database_intact(self.server)
        self.server.start()
        return self.server.client()

    def leftovers(self) -> list[str]:
        scratch = self.server.data_dir / ".backup-tmp"
        local = [str(p) for p in scratch.rglob("*") if p.is_file()] if scratch.exists() else []
        return temporaries(self.dav_dir, self.server.data_dir) + local

    def restart_dav(self) -> None:
        """The WebDAV server comes back on the same port with the files it had written."""
        port = self.dav.port
        self.dav.stop()
        self.dav = WebdavServer(self.dav_dir, port=port, wrap=self._wrap)
        self.dav.start()

    def close(self) -> None:
        self.server.stop()
        self.dav.stop()
