"""Errors raised by the storage layer, each with a message that says what to fix."""

from __future__ import annotations

from labelvault.errors import Invalid, Unavailable


class StorageError(Unavailable):
    """A storage operation failed (502); the message never contains credentials."""


class StorageConfigError(StorageError, Invalid):
    """The storage URL or options are invalid, or the backend's package is missing."""

    status = 400


class StoragePathError(StorageError, Invalid):
    """A path would leave the storage root or is otherwise not acceptable."""

    status = 400


class StorageNotFoundError(StorageError):
    """The file, folder or bucket does not exist."""

    status = 404


class StorageAuthError(StorageError):
    """The server refused the credentials or the account may not do this."""


class StorageUnreachableError(StorageError):
    """The server could not be reached (refused, timed out, name not resolved)."""


class StorageIntegrityError(StorageError):
    """What was stored differs from what was sent (size or sha256)."""
