"""Errors raised by the storage layer, each with a message that says what to fix."""

from __future__ import annotations


class StorageError(Exception):
    """A storage operation failed; the message never contains credentials."""


class StorageConfigError(StorageError, ValueError):
    """The storage URL or options are invalid, or the backend's package is missing."""


class StoragePathError(StorageError, ValueError):
    """A path would leave the storage root or is otherwise not acceptable."""


class StorageNotFoundError(StorageError):
    """The file, folder or bucket does not exist."""


class StorageAuthError(StorageError):
    """The server refused the credentials or the account may not do this."""


class StorageUnreachableError(StorageError):
    """The server could not be reached (refused, timed out, name not resolved)."""


class StorageIntegrityError(StorageError):
    """What was stored differs from what was sent (size or sha256)."""
