"""What every backup operation works with: settings, database, config, storage and a clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from labelvault.backups import paths
from labelvault.backups.config import BackupConfig
from labelvault.config import Settings
from labelvault.db import Database
from labelvault.storage import Storage

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class BackupContext:
    """Backups of one instance into one storage; `clock` is injectable for tests.

    Only the dependencies: the work is done by the functions of periodic, catalog,
    rotation, restore and instance, which take this context.
    """

    def __init__(
        self,
        settings: Settings,
        db: Database,
        *,
        config: BackupConfig | None = None,
        storage: Storage | None = None,
        clock: Clock = utc_now,
    ) -> None:
        self.settings = settings
        self.db = db
        self.config = config or BackupConfig.from_settings(settings)
        self._storage = storage
        self.clock = clock

    @property
    def storage(self) -> Storage:
        """The storage root, opened on first use (the share and snapshots live under it)."""
        if self._storage is None:
            self._storage = Storage.from_url(self.config.storage_url)
        return self._storage

    @storage.setter
    def storage(self, value: Storage) -> None:
        self._storage = value

    @property
    def periodic_root(self) -> str:
        """Where this instance's periodic backups live in the storage (under its name)."""
        return paths.periodic_root(self.settings)

    @property
    def periodic(self) -> Storage:
        """This instance's periodic backups: `<instance>/backups-periodic/` of the storage."""
        return self.storage.sub(self.periodic_root)
