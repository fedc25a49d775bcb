"""Database engine, sessions, declarative base and migrations."""

from labelvault.db.base import Base, utcnow
from labelvault.db.engine import Database

__all__ = ["Base", "Database", "utcnow"]
