"""Fault tests: a real `labelvault serve` killed or cut off, on SQLite and PostgreSQL."""

from __future__ import annotations

from tests.backups.conftest import scratch_dbs  # noqa: F401  (private PostgreSQL databases)
