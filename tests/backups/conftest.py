"""Backup test harness: private databases (SQLite and PostgreSQL), storages and a clock."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from labelvault.backups.config import BackupConfig
from labelvault.backups.context import BackupContext
from labelvault.db import Database
from labelvault.db.migrate import upgrade
from labelvault.storage import Storage
from tests.conftest import POSTGRES_URL, _postgres_available
from tests.helpers.servers import (  # noqa: F401  (fixtures reused as they are)
    S3Server,
    WebdavServer,
    azurite_server,
    free_port,
    gcs_server,
    s3_server,
    wait_for_port,
    webdav_server,
    webdav_server_factory,
)


class ScratchDatabases:
    """Creates empty databases that only this test session uses, and drops them at the end.

    A database of its own per test keeps these tests apart from other suites that share
    the PostgreSQL server, and lets a restore start from a truly empty database.
    """

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.pg_names: list[str] = []
        self.opened: list[Database] = []

    def new(self, kind: str) -> Database:
        if kind == "sqlite":
            db = Database(f"sqlite:///{self.tmp / f'{uuid.uuid4().hex}.db'}")
        else:
            if not _postgres_available():
                if os.environ.get("CI") or os.environ.get("LABELVAULT_REQUIRE_POSTGRES"):
                    pytest.fail(f"PostgreSQL is not reachable at {POSTGRES_URL}")
                pytest.skip("PostgreSQL is not reachable; `make test` starts it")
            name = f"lv_backups_{uuid.uuid4().hex[:12]}"
            admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            admin.dispose()
            self.pg_names.append(name)
            url = make_url(POSTGRES_URL).set(database=name)
            db = Database(url.render_as_string(hide_password=False))
        self.opened.append(db)
        return db

    def close(self) -> None:
        for db in self.opened:
            db.dispose()
        if self.pg_names:
            admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                for name in self.pg_names:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


@pytest.fixture(scope="session")
def scratch_dbs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScratchDatabases]:
    dbs = ScratchDatabases(tmp_path_factory.mktemp("scratch-dbs"))
    yield dbs
    dbs.close()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, scratch_dbs: ScratchDatabases) -> Database:
    """Overrides the shared fixture: a migrated database private to this suite."""
    db = scratch_dbs.new(request.param)
    upgrade(db.engine)
    return db


@pytest.fixture(scope="session")
def sqlite_only(database: Database) -> None:
    if not database.is_sqlite:
        pytest.skip("the behaviour under test does not depend on the database")


class Clock:
    """A clock tests move by hand; the service reads it through `clock()`."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def local_storage(tmp_path: Path) -> Storage:
    return Storage.from_url(str(tmp_path / "storage"))


@pytest.fixture
def make_service(app, clock: Clock, local_storage: Storage) -> Callable[..., BackupContext]:  # type: ignore[no-untyped-def]
    """A BackupContext on the app's database and settings, a storage and the test clock."""

    def make(storage: Storage | None = None, **config: object) -> BackupContext:
        settings = app.state.settings
        storage = storage or local_storage
        cfg = BackupConfig.from_settings(settings, storage_url=str(storage), **config)
        return BackupContext(settings, app.state.db, config=cfg, storage=storage, clock=clock)

    return make


@pytest.fixture
def app(app):  # type: ignore[no-untyped-def]
    """The shared app plus the backups router (app.py registers it once it is wired in)."""
    from labelvault.backups.api import router

    if not any(getattr(r, "path", "") == "/api/backups" for r in app.routes):
        app.include_router(router)
    return app


@pytest.fixture
def storage_env_local(monkeypatch: pytest.MonkeyPatch, local_storage: Storage) -> Storage:
    monkeypatch.setenv("LABELVAULT_STORAGE_URL", local_storage.location.root)
    return local_storage
