"""Database engine, sessions, declarative base and migrations."""

from labelvault.db.base import Base, utcnow
from labelvault.db.engine import Database, raise_after_commit_error

__all__ = ["Base", "Database", "raise_after_commit_error", "utcnow"]
