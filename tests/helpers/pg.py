"""PostgreSQL test databases: one per pytest-xdist worker, so workers never share tables."""

from __future__ import annotations

import os

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


def per_worker(url: str) -> str:
    """`url` itself outside xdist; under xdist, `<database>_<worker>`, created when missing.

    Each worker empties and migrates its database as the single-process suite does, so
    two workers on one database would truncate each other's rows mid-test.
    """
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return url
    parsed = make_url(url)
    name = f"{parsed.database}_{worker}"
    try:
        admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            found = conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
            ).scalar()
            if not found:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
    except Exception:  # noqa: BLE001 - an unreachable server is reported by the fixtures
        pass
    return parsed.set(database=name).render_as_string(hide_password=False)
