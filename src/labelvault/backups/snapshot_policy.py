"""When to snapshot besides the schedule: at first start, and soon after non-annotation changes.

Annotation saves are covered within seconds by the journal; everything else (projects,
tasks, jobs, users, labels, cloud storages, tokens) only by snapshots. So a snapshot follows
such a change within a minute, many changes in that minute giving one snapshot; heavy
instances wait longer between snapshots (the size-aware part), as their snapshots cost more.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from labelvault.accounts.models import User
from labelvault.backups import instance, leases, schedule, snapshots
from labelvault.backups.config import parse_tiers
from labelvault.backups.paths import instance_root
from labelvault.db.base import Base
from labelvault.organizations.models import Membership

log = logging.getLogger("labelvault.backups")

# Changes seen within this window after the first one go into the same snapshot.
COALESCE = timedelta(seconds=30)
# The least time between two change snapshots, by the size of the last one.
MIN_GAP = parse_tiers("200MB:0s,2GB:10m,*:1h")
CHECK_EVERY = 5.0
# What an instance is besides its annotations (and besides the bookkeeping of backups,
# requests and sessions, which change on their own and would snapshot forever).
WATCHED = (
    "users",
    "user_groups",
    "user_group_members",
    "access_tokens",
    "cloud_storages",
    "projects",
    "labels",
    "attribute_specs",
    "tasks",
    "frames",
    "jobs",
    "organizations",
    "memberships",
    "invitations",
    "webhooks",
)
_DATES = ("updated_date", "assignee_updated_date", "date_joined")
# An annotation save moves these tables' updated_date (and a job's version), as CVAT's
# clients expect; their other columns are digested instead, so a save alone changes nothing.
_MOVED_BY_SAVES = {"projects", "tasks", "jobs"}
_SAVE_COLUMNS = {"updated_date", "annotation_version"}


def snapshot_due(
    now: datetime,
    last_snapshot_time: datetime | None,
    last_change_time: datetime | None,
    first_start: bool,
    size: int | None,
) -> bool:
    """Whether to snapshot now.

    `last_change_time` is when a change not yet in any snapshot was first noticed (None:
    nothing new); `first_start` says this instance has no snapshot of its own yet; `size` is
    the last snapshot's size in bytes.
    """
    if first_start and last_snapshot_time is None:
        return True
    if last_change_time is None:
        return False
    if last_snapshot_time is not None:
        if last_change_time <= last_snapshot_time:
            return False  # already in that snapshot
        if now - last_snapshot_time < schedule.interval_for(MIN_GAP, size):
            return False
    return now - last_change_time >= COALESCE


def change_fingerprint(session: Session) -> str:
    """A digest that changes with anything but annotations: counts, newest ids and dates."""
    tables = Base.metadata.tables
    parts: list[Any] = []
    for name in WATCHED:
        table = tables.get(name)
        if table is None:
            continue
        columns: list[Any] = [func.count()]
        if "id" in table.c:
            columns.append(func.max(table.c.id))
        if name in _MOVED_BY_SAVES:
            kept = [c for c in table.c if c.name not in _SAVE_COLUMNS]
            rows = session.execute(select(*kept).order_by(table.c.id))
            parts.append(
                hashlib.sha256(orjson.dumps([list(r) for r in rows], default=str)).hexdigest()
            )
        else:
            columns += [func.max(table.c[d]) for d in _DATES if d in table.c]
        parts.append([name, *session.execute(select(*columns).select_from(table)).one()])
    # A password, role or activity change touches no date; their digest does.
    users = session.execute(select(User.id, User.password_hash, User.role, User.is_active))
    parts.append(hashlib.sha256(orjson.dumps([list(r) for r in users])).hexdigest())
    # A member's new role or an accepted invitation touches no count either.
    members = session.execute(select(Membership.id, Membership.role, Membership.is_active))
    parts.append(hashlib.sha256(orjson.dumps([list(r) for r in members])).hexdigest())
    return hashlib.sha256(orjson.dumps(parts, default=str)).hexdigest()


class SnapshotWatcher:
    """A thread that checks every few seconds and snapshots when `snapshot_due` says so."""

    def __init__(self, service: Any, *, every: float = CHECK_EVERY) -> None:
        self.service = service
        self.every = every
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._baseline: str | None = None
        self.first_change: datetime | None = None
        self.last_snapshot: datetime | None = None
        self.last_size: int | None = None
        self.first_start = False
        self._leading = False
        self.me = leases.holder()  # who holds the lease (tests give two watchers two names)
        self.lease_ttl = timedelta(seconds=max(15.0, 3 * every))

    def _now(self) -> datetime:
        return datetime.now(UTC)

    def prime(self) -> None:
        """What the storage already has: this instance's newest snapshot, if any."""
        instance = instance_root(self.service.settings)
        own = [
            s
            for s in snapshots.list_snapshots(self.service.storage, instance)
            if s.status == "ok" and s.folder == snapshots.snapshot_dir(instance)
        ]
        self.first_start = not own
        if own:
            self.last_snapshot, self.last_size = own[0].created, own[0].size
        with self.service.db.session() as session:
            self._baseline = change_fingerprint(session)

    def check_once(self) -> snapshots.SnapshotInfo | None:
        now = self._now()
        # Every server runs a watcher; one of them (the lease's holder) decides, so a
        # change window gives one snapshot however many servers saw the change.
        if not leases.take(self.service, leases.WATCHER, now, self.lease_ttl, self.me):
            self._leading = False
            return None
        if not self._leading:
            # Taking over: the storage's newest snapshot and the last holder's baseline.
            self.prime()
            recorded = leases.baseline(self.service, leases.WATCHER)
            if recorded:
                self._baseline = recorded
            elif self._baseline is not None:
                leases.record_baseline(self.service, leases.WATCHER, self._baseline)
            self._leading = True
        with self.service.db.session() as session:
            fingerprint = change_fingerprint(session)
        if fingerprint != self._baseline and self.first_change is None:
            self.first_change = now
        if not snapshot_due(
            now, self.last_snapshot, self.first_change, self.first_start, self.last_size
        ):
            return None
        reason = "first start" if self.first_start and self.last_snapshot is None else "change"
        info = instance.snapshot(self.service, reason)
        # What the dump holds is at least what this fingerprint saw.
        self._baseline = fingerprint
        leases.record_baseline(self.service, leases.WATCHER, fingerprint)
        self.first_change = None
        self.last_snapshot, self.last_size, self.first_start = now, info.size, False
        return info

    def _run(self) -> None:
        try:
            self.prime()
        except Exception:  # noqa: BLE001 - retried at the next pass
            log.exception("the snapshot watcher could not read the storage")
        while True:
            if self._baseline is None:
                try:
                    self.prime()
                except Exception:  # noqa: BLE001
                    log.exception("the snapshot watcher could not read the storage")
            else:
                try:
                    self.check_once()
                except Exception:  # noqa: BLE001 - the watcher must outlive any one pass
                    log.exception("a change snapshot failed")
            if self._stop.wait(self.every):
                return

    def start(self) -> SnapshotWatcher:
        self._thread = threading.Thread(target=self._run, name="snapshot-watcher", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 60.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        if self._leading:
            try:
                leases.release(self.service, leases.WATCHER, self.me)
            except Exception:  # noqa: BLE001 - the lease then runs out by itself
                log.warning("could not release the snapshot watcher's lease", exc_info=True)
            self._leading = False
