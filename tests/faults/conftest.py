"""Fault tests: a real `labelvault serve` killed or cut off, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.backups.conftest import ScratchDatabases, scratch_dbs  # noqa: F401
from tests.faults.harness import Node, database_intact, db_url


@pytest.fixture(params=["sqlite", "postgresql"])
def node(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    scratch_dbs: ScratchDatabases,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Node]:
    """A started server on a data dir of its own, its WebDAV storage and database."""
    # Only the snapshots a test asks for: one on exit or after a change would race the kill.
    monkeypatch.setenv("LABELVAULT_SNAPSHOT_ON_EXIT", "false")
    monkeypatch.setenv("LABELVAULT_SNAPSHOT_INTERVAL", "1000d")
    made = Node(tmp_path, db_url(scratch_dbs, getattr(request, "param", "sqlite")))
    made.server.start()
    try:
        yield made
    finally:
        made.close()
    database_intact(made.server)
