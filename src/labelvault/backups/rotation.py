"""Rotation per target and kind, then the storage quota, never touching the newest good one."""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from labelvault.backups import catalog, schedule
from labelvault.backups import status as status_rows
from labelvault.backups.config import BackupConfig
from labelvault.backups.context import BackupContext
from labelvault.backups.models import BackupRecord
from labelvault.storage import StorageError

log = logging.getLogger("labelvault.backups")

Key = tuple[str, str, str]  # (target_type, target uid, kind)


@dataclass(frozen=True)
class Item:
    id: int
    key: Key
    created: datetime
    size: int
    good: bool = True


@dataclass
class Plan:
    """What to delete and why, and the warnings to show when the quota cannot be met."""

    rotate: list[int] = field(default_factory=list)
    quota: list[int] = field(default_factory=list)
    total_after: int = 0
    warning: str = ""

    @property
    def delete(self) -> list[int]:
        return self.rotate + self.quota


def _newest_good(items: list[Item]) -> Item | None:
    good = [i for i in items if i.good]
    return max(good, key=lambda i: (i.created, i.id)) if good else None


def keep_of_group(items: list[Item], kind: str, config: BackupConfig) -> set[int]:
    """Ids to keep of one target's backups of one kind."""
    ordered = sorted(items, key=lambda i: (i.created, i.id), reverse=True)
    keep: set[int] = set()
    if kind == "full":
        # Grandfather-father-son: the newest of each of the last N days, and of M weeks.
        days: dict[object, int] = {}
        weeks: dict[object, int] = {}
        for item in ordered:
            if not item.good:
                continue
            day = item.created.date()
            week = item.created.isocalendar()[:2]
            if day not in days and len(days) < config.keep_full_daily:
                days[day] = item.id
            if week not in weeks and len(weeks) < config.keep_full_weekly:
                weeks[week] = item.id
        keep = set(days.values()) | set(weeks.values())
    else:
        keep = {i.id for i in [i for i in ordered if i.good][: config.keep_annotations]}
    newest = _newest_good(items)
    if newest is not None:
        keep.add(newest.id)
    return keep


def plan(items: list[Item], config: BackupConfig) -> Plan:
    """Rotation per (target, kind), then the oldest go until the total fits the quota."""
    result = Plan()
    groups: dict[Key, list[Item]] = defaultdict(list)
    for item in items:
        groups[item.key].append(item)
    remaining: list[Item] = []
    protected: set[int] = set()
    for key, group in groups.items():
        keep = keep_of_group(group, key[2], config)
        newest = _newest_good(group)
        if newest is not None:
            protected.add(newest.id)
        for item in group:
            if item.id in keep:
                remaining.append(item)
            else:
                result.rotate.append(item.id)
    total = sum(i.size for i in remaining)
    if config.quota is not None and total > config.quota:
        for item in sorted(remaining, key=lambda i: (i.created, i.id)):
            if total <= config.quota:
                break
            if item.id in protected:
                continue
            result.quota.append(item.id)
            total -= item.size
        if total > config.quota:
            result.warning = (
                f"backups use {total} bytes, over the quota of {config.quota} bytes, although "
                "only the newest good backup of each project and kind is left; raise "
                "LABELVAULT_BACKUP_QUOTA or free space (the last good backups are kept)"
            )
    result.total_after = total
    return result


def rotate(ctx: BackupContext) -> Plan:
    """Apply the plan to this instance's files and catalog; a file that cannot go stays listed."""
    # The storage's listing, not the catalog, says what is there: a record another run
    # wrote elsewhere (the CLI against another storage) is no good copy here, so it can
    # neither protect nor replace a file of this storage, and it is left alone.
    files = catalog.listed(ctx)
    with ctx.db.session() as session:
        records = [r for r in session.scalars(select(BackupRecord)) if r.path in files]
        items = [
            Item(
                r.id,
                # By uid: a later target given the same id never rotates this one's away.
                (r.target_type, r.target_uid or f"id-{r.target_id}", r.kind),
                schedule.aware(r.created_date),
                r.size,
                r.status == "good" and files[r.path] == r.size,
            )
            for r in records
        ]
        result = plan(items, ctx.config)
        by_id = {r.id: r for r in records}
        removed = []
        for record_id in result.delete:
            record = by_id[record_id]
            try:
                catalog.delete_files(ctx, record.path)
            except StorageError as exc:
                log.warning("could not delete backup %s: %s", record.path, exc)
                continue
            session.delete(record)
            removed.append(record.path)
        status_rows.set_warning(session, result.warning)
        if result.warning:
            log.warning("%s", result.warning)
    for path in removed:  # once the catalog no longer lists them
        log.info("rotation removed backup %s", path)
    return result
