"""Backup and snapshot age and size as Prometheus gauges."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import datetime

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from labelvault.backups import snapshots
from labelvault.backups.lifecycle import BackupRuntime
from labelvault.backups.models import BackupRecord
from labelvault.backups.paths import instance_root
from labelvault.observability.metrics import age_seconds

# A storage listing per scrape would be too much for a remote storage.
SNAPSHOT_CACHE_SECONDS = 60.0


def backup_metrics(session: Session, now: datetime) -> Iterator[Metric]:
    age = GaugeMetricFamily(
        "labelvault_backup_newest_age_seconds",
        "Age of the newest good periodic backup, by kind (annotations, full).",
        labels=["kind"],
    )
    size = GaugeMetricFamily(
        "labelvault_backup_bytes",
        "Total size of the good periodic backups, by kind.",
        labels=["kind"],
    )
    count = GaugeMetricFamily(
        "labelvault_backups", "Good periodic backups kept, by kind.", labels=["kind"]
    )
    query = (
        select(
            BackupRecord.kind,
            func.max(BackupRecord.created_date),
            func.sum(BackupRecord.size),
            func.count(),
        )
        .where(BackupRecord.status == "good")
        .group_by(BackupRecord.kind)
    )
    for kind, newest, total, n in session.execute(query):
        age.add_metric([kind], age_seconds(newest, now))
        size.add_metric([kind], float(total or 0))
        count.add_metric([kind], n)
    yield from (age, size, count)


class SnapshotMetrics:
    """The newest snapshot's age and size, from the storage listing, cached a minute."""

    def __init__(self, runtime: BackupRuntime) -> None:
        self.runtime = runtime
        self._lock = threading.Lock()
        self._read_at = -SNAPSHOT_CACHE_SECONDS
        self._newest: tuple[datetime, int] | None = None

    def _refresh(self) -> None:
        found = snapshots.list_snapshots(
            self.runtime.context.storage, instance_root(self.runtime.settings)
        )
        done = [s for s in found if s.status == "ok" and s.created is not None]
        newest = max(done, key=lambda s: s.created, default=None)  # type: ignore[arg-type,return-value]
        self._newest = (newest.created, newest.size) if newest and newest.created else None

    def __call__(self, session: Session, now: datetime) -> Iterator[Metric]:
        if not self.runtime.settings.backups:
            return
        with self._lock:
            if time.monotonic() - self._read_at > SNAPSHOT_CACHE_SECONDS:
                self._read_at = time.monotonic()
                # A storage outage shows in readiness and storage errors, not as a scrape error.
                try:
                    self._refresh()
                except Exception:  # noqa: BLE001
                    self._newest = None
        if self._newest is None:
            return
        yield GaugeMetricFamily(
            "labelvault_snapshot_newest_age_seconds",
            "Age of this instance's newest complete snapshot.",
            value=age_seconds(self._newest[0], now),
        )
        yield GaugeMetricFamily(
            "labelvault_snapshot_newest_bytes",
            "Size of this instance's newest complete snapshot.",
            value=self._newest[1],
        )
