"""Errors of backups and restores, each a LabelVaultError whose message says what to do."""

from __future__ import annotations

from labelvault.errors import Invalid, NotFound


class BackupError(Invalid):
    """A backup or restore cannot be done; the message says why and what to do."""


class BackupNotFound(BackupError, NotFound):
    """The backup, project or task named does not exist (or is not this instance's)."""

    status = 404


class BackupIntegrityError(BackupError):
    """A stored backup does not match its recorded checksum; it is never restored."""

    # The stored copy conflicts with what the catalog says was written.
    status = 409
