"""The Storage of each attached cloud storage, built once per row and kept by the app."""

from __future__ import annotations

import threading
from contextlib import AbstractContextManager
from typing import Protocol

from sqlalchemy.orm import Session

from labelvault.accounts.models import User
from labelvault.cloudstorages import service
from labelvault.cloudstorages.models import CloudStorage
from labelvault.config import Settings
from labelvault.media.sources import SourceError
from labelvault.storage import Storage


class SessionSource(Protocol):
    """A Database, or anything else that hands out sessions (a backup's one transaction)."""

    def session(self) -> AbstractContextManager[Session]: ...


class CloudStorages:
    """One Storage per cloud storage row (a connection pool each), for frame reads and listings.

    app.py keeps one as `app.state.cloud_storages`; a worker makes one per request. It is the
    `CloudResolver` media reads bucket frames through.
    """

    def __init__(self, db: SessionSource, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self._cache: dict[int, Storage] = {}
        self._lock = threading.Lock()

    def storage_of(self, row: CloudStorage) -> Storage:
        """The Storage behind a row the caller has loaded (and checked the user may see)."""
        with self._lock:
            storage = self._cache.get(row.id)
        if storage is None:
            storage = service.build_storage(row, self.settings)
            with self._lock:
                storage = self._cache.setdefault(row.id, storage)
        return storage

    def storage(self, cloud_id: int) -> Storage:
        """The Storage of a cloud storage by id; frame reads have an id and no session."""
        with self._lock:
            storage = self._cache.get(cloud_id)
        if storage is not None:
            return storage
        with self.db.session() as session:
            row = session.get(CloudStorage, cloud_id)
            if row is None:
                raise SourceError(f"cloud storage #{cloud_id} does not exist any more")
            return self.storage_of(row)

    def forget(self, cloud_id: int) -> None:
        """Drop the Storage of a changed or deleted row; the next read builds it anew."""
        with self._lock:
            self._cache.pop(cloud_id, None)

    def may_use(self, session: Session, user: User, cloud_id: int) -> bool:
        """Whether the user may create task data from this cloud storage (one they can see)."""
        return service.visible_row(session, user, cloud_id) is not None
