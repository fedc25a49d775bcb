"""The one exception tree: every error a user can cause is a LabelVaultError with a status."""

from __future__ import annotations

import errno
from typing import Any


class LabelVaultError(Exception):
    """An error the user can act on: `message` says what to fix, `status` is the HTTP answer.

    `message` may be a string or a DRF-style dict of field errors; either is sent as
    `{"detail": message}`, which the SDK's error print and our UI both read.
    """

    status: int = 400

    def __init__(self, message: Any = "", status: int | None = None, **extra: Any) -> None:
        # `{"detail": msg}` would reach the client as {"detail": {"detail": msg}}.
        if isinstance(message, dict) and set(message) == {"detail"}:
            message = message["detail"]
        super().__init__(message if isinstance(message, str) else str(message))
        self.message = message
        # Reply headers, e.g. Retry-After on a 429.
        self.headers: dict[str, str] = {}
        if status is not None:
            self.status = status
        self.extra = extra

    def body(self) -> dict[str, Any]:
        """The JSON reply: CVAT's `detail` shape, plus any structured extras."""
        return {"detail": self.message, **self.extra}


class Invalid(LabelVaultError, ValueError):
    """Bad input (400); also a ValueError so pure helpers can raise it without knowing HTTP."""

    status = 400


class Forbidden(LabelVaultError):
    status = 403

    def __init__(
        self, message: Any = "You do not have permission to perform this action.", **extra: Any
    ) -> None:
        super().__init__(message, **extra)


class NotFound(LabelVaultError):
    """A missing thing, or one the user may not see (never 403: lists and errors leak nothing)."""

    status = 404

    @classmethod
    def of(cls, what: str) -> NotFound:
        return cls(f"{what} not found")


class Conflict(LabelVaultError):
    status = 409


class PreconditionFailed(LabelVaultError):
    """A write based on a version the server no longer has (If-Match)."""

    status = 412


class TooManyRequests(LabelVaultError):
    """Too many attempts (429); Retry-After says in how many seconds to try again."""

    status = 429

    def __init__(self, message: Any, retry_after: int) -> None:
        super().__init__(message, retry_after=retry_after)
        self.headers = {"Retry-After": str(retry_after)}


class Unavailable(LabelVaultError):
    """A dependency (the storage, a cloud bucket) failed; retrying later may work."""

    status = 502


class DiskFull(LabelVaultError):
    """The data dir's disk (or the database's) has no space left: nothing was saved."""

    status = 507

    def __init__(self, where: str = "") -> None:
        super().__init__(
            "the disk is full"
            + (f" ({where})" if where else "")
            + ": nothing of this request was saved; free space on the server's data disk "
            "(or raise its quota), then try again"
        )


def disk_full_of(exc: BaseException) -> DiskFull | None:
    """A DiskFull when `exc` (or what it wraps) is the disk being full, else None.

    Knows the shapes it takes: OSError ENOSPC/EDQUOT, SQLite's "database or disk is full",
    PostgreSQL's SQLSTATE 53100 (disk_full), each possibly wrapped by SQLAlchemy (`.orig`).
    """
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, DiskFull):
            return current
        if isinstance(current, OSError) and current.errno in (errno.ENOSPC, errno.EDQUOT):
            return DiskFull(getattr(current, "filename", None) or "")
        text = str(current).lower()
        if "database or disk is full" in text or getattr(current, "sqlstate", None) == "53100":
            return DiskFull("the database")
        todo += [getattr(current, "orig", None), current.__cause__, current.__context__]
    return None


class Busy(LabelVaultError):
    """The database stayed locked (or its pool full) past the wait: nothing was changed."""

    status = 503

    def __init__(self) -> None:
        super().__init__(
            "the database is busy with a long write (a restore or a large import): nothing "
            "of this request was changed; try again in a few seconds"
        )
        self.headers["Retry-After"] = "5"


def busy_of(exc: BaseException) -> Busy | None:
    """A Busy when `exc` is SQLite's lock wait running out or SQLAlchemy's pool wait (its
    TimeoutError, told by class name: this floor imports no SQLAlchemy), else None."""
    text = str(getattr(exc, "orig", None) or exc).lower()
    if "database is locked" in text or "database table is locked" in text:
        return Busy()
    if type(exc).__name__ == "TimeoutError" and type(exc).__module__.startswith("sqlalchemy"):
        return Busy()
    return None


def out_of_range_of(exc: BaseException) -> Invalid | None:
    """A 400 when a number of the request did not fit its column (SQLite's OverflowError,
    PostgreSQL's SQLSTATE 22003), else None."""
    orig = getattr(exc, "orig", None)
    if isinstance(exc, OverflowError) or getattr(orig, "sqlstate", None) == "22003":
        return Invalid(
            "a number in the request is out of range: ids, sizes and counts are whole "
            "numbers of at most 2147483647"
        )
    return None
