"""Engine and session factory for SQLite (WAL) or PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    # WAL lets readers (frame and annotation GETs) go on while one writer commits.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.close()


# An error a listener hit after the commit (the commit stands): raised once the session is
# done, since raising inside SQLAlchemy's after_commit would leave the session unusable.
AFTER_COMMIT_ERROR = "labelvault.after_commit_error"


def raise_after_commit_error(session: Session) -> None:
    """Raise what an after-commit listener of this session kept, if anything."""
    error = session.info.pop(AFTER_COMMIT_ERROR, None)
    if error is not None:
        raise error


class Database:
    """One engine and its session factory."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        kwargs: dict = {"future": True}
        if self.is_sqlite:
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 15}
            # More connections than request threads (anyio's 40) and background threads: a
            # thread waiting for SQLite's write lock holds its connection, and with fewer
            # the one that holds the lock could wait for a connection to commit with.
            kwargs.update(pool_size=10, max_overflow=70)
        else:
            kwargs.update(pool_size=10, max_overflow=20, pool_pre_ping=True)
        self.engine: Engine = create_engine(url, **kwargs)
        if self.is_sqlite:
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session committed on success and rolled back on any error."""
        session = self.sessionmaker()
        try:
            yield session
            session.commit()
            raise_after_commit_error(session)
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()
