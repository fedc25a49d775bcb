"""The one exception tree: every error a user can cause is a LabelVaultError with a status."""

from __future__ import annotations

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
