"""Restored tasks and jobs moved back onto the ids they had, where no other row holds them."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Connection, Table, delete, insert, select, update

from labelvault.config import Settings
from labelvault.db.base import Base, new_uid
from labelvault.tasks import service as task_service


@dataclass
class Moves:
    """Media folders moved for renumbered tasks, so a failed commit can put them back."""

    dirs: list[tuple[Path, Path]] = field(default_factory=list)  # (from, to), in order
    replaced: list[Path] = field(default_factory=list)  # old tasks' folders, gone on commit

    def undo(self) -> None:
        for source, target in reversed(self.dirs):
            if target.exists():
                os.replace(target, source)


def _referencing(table: Table) -> list[Column]:
    """Every column with a foreign key to `table.id` (known to the metadata at run time)."""
    return [
        fk.parent
        for other in Base.metadata.sorted_tables
        for fk in other.foreign_keys
        if fk.column.table is table and fk.column.name == "id"
    ]


def _free(conn: Connection, table: Table, row_id: int) -> bool:
    return conn.execute(select(table.c.id).where(table.c.id == row_id)).first() is None


def _move(conn: Connection, table: Table, old_id: int, new_id: int) -> None:
    """Give a row another primary key: a copy under the new id takes over the children."""
    row = dict(conn.execute(select(table).where(table.c.id == old_id)).mappings().one())
    if "uid" in table.c:
        # The copy keeps the row's identity; the old row, about to go, lets go of it.
        conn.execute(update(table).where(table.c.id == old_id).values(uid=new_uid()))
    conn.execute(insert(table).values({**row, "id": new_id}))
    for column in _referencing(table):
        conn.execute(update(column.table).where(column == old_id).values({column.name: new_id}))
    conn.execute(delete(table).where(table.c.id == old_id))


def keep_ids(
    conn: Connection,
    settings: Settings,
    restored: list[int],
    entries: list[dict[str, Any]],
) -> tuple[list[int], Moves]:
    """Move each restored task (and its jobs) onto the id its backup recorded, if free.

    `restored` are the new task ids in restore order, `entries` the backup's labelvault.json
    tasks in the same order. Returns the final task ids and the media moves made; runs in
    the caller's transaction, which must commit or call `Moves.undo`.
    """
    tasks = Base.metadata.tables["tasks"]
    jobs = Base.metadata.tables["jobs"]
    moves = Moves()
    final = []
    for task_id, entry in zip(restored, entries, strict=False):
        wanted = int(entry.get("id") or 0)
        if wanted and wanted != task_id and _free(conn, tasks, wanted):
            _move(conn, tasks, task_id, wanted)
            _move_media(settings, task_id, wanted, moves)
            task_id = wanted
        final.append(task_id)
        by_range = {
            (int(j["start_frame"]), int(j["stop_frame"])): int(j["id"]) for j in entry["jobs"]
        }
        rows = conn.execute(
            select(jobs.c.id, jobs.c.start_frame, jobs.c.stop_frame)
            .where(jobs.c.task_id == task_id)
            .order_by(jobs.c.id)
        )
        for job_id, start, stop in list(rows):
            wanted_job = by_range.get((start, stop))
            if wanted_job and wanted_job != job_id and _free(conn, jobs, wanted_job):
                _move(conn, jobs, job_id, wanted_job)
    final += restored[len(final) :]
    return final, moves


def _move_media(settings: Settings, old_id: int, new_id: int, moves: Moves) -> None:
    source = task_service.task_media_dir(settings, old_id)
    target = task_service.task_media_dir(settings, new_id)
    if target.exists():
        # The replaced task's folder; removed only once the new state is committed.
        aside = target.with_name(f".replaced-{new_id}-{uuid.uuid4().hex[:8]}")
        os.replace(target, aside)
        moves.dirs.append((target, aside))
        moves.replaced.append(aside)
    if source.exists():
        os.replace(source, target)
        moves.dirs.append((source, target))
