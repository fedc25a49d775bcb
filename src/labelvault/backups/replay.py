"""Replay of the annotation journal after a snapshot: to the newest entry or up to a time."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select, update

from labelvault.annotations import service as annotations
from labelvault.backups import dbdump
from labelvault.backups import journal_format as fmt
from labelvault.backups.journal import remote_dir, remote_segments
from labelvault.db import Database
from labelvault.projects.models import Label
from labelvault.storage import Storage, StorageError
from labelvault.tasks.models import Job

log = logging.getLogger("labelvault.backups.replay")


@dataclass
class ReplayReport:
    """What a replay did, for the operator: how far it got and what it had to leave out."""

    after_seq: int
    last_seq: int = 0
    last_time: datetime | None = None
    applied: int = 0
    skipped: int = 0  # entries whose jobs no longer exist in the restored database
    damaged: list[str] = field(default_factory=list)
    gap_after: int | None = None  # the chain stops here: a segment is missing or damaged

    def summary(self) -> str:
        text = (
            f"replayed {self.applied} journal entries (seq {self.after_seq + 1}..{self.last_seq})"
        )
        if self.last_time:
            text += f", up to {self.last_time.isoformat()}"
        if self.skipped:
            text += f"; {self.skipped} entries for jobs that no longer exist were skipped"
        if self.damaged:
            text += f"; damaged segments ignored: {', '.join(self.damaged)}"
        if self.gap_after is not None:
            text += (
                f"; the journal has a gap after seq {self.gap_after}: "
                "later entries are not replayed"
            )
        return text


def entries_after(
    storage: Storage,
    instance: str,
    after_seq: int,
    until: datetime | None = None,
    report: ReplayReport | None = None,
) -> Iterator[fmt.Entry]:
    """The journal's entries after `after_seq`, in order, as one unbroken chain.

    A damaged segment is reported and never replayed; the chain ends where an entry is
    missing, so nothing is applied on top of a hole. With `until`, entries committed after
    it are left out.
    """
    report = report or ReplayReport(after_seq)
    expected = after_seq + 1
    segments = remote_segments(storage, instance)
    for seg in segments:
        if seg.last_seq < expected:
            continue
        if seg.first_seq > expected:
            break
        try:
            data = storage.read_bytes(f"{remote_dir(instance)}/{seg.name}")
            entries = fmt.decode_segment(data, seg.name)
        except (fmt.SegmentDamaged, StorageError) as exc:
            log.warning("journal segment %s is not replayed: %s", seg.name, exc)
            report.damaged.append(seg.name)
            continue
        for entry in entries:
            if entry.seq < expected:
                continue
            if until is not None and entry.time > until:
                return
            yield entry
            expected = entry.seq + 1
    if any(s.last_seq >= expected for s in segments):
        report.gap_after = expected - 1


def replay(
    db: Database,
    storage: Storage,
    instance: str,
    after_seq: int,
    until: datetime | None = None,
    progress: Callable[[str], None] | None = None,
) -> ReplayReport:
    """Apply the journal after a restored snapshot, in one transaction, idempotently."""
    report = ReplayReport(after_seq, last_seq=after_seq)
    versions: dict[int, int] = {}
    with db.session() as session:
        jobs = set(session.scalars(select(Job.id)))
        labels = set(session.scalars(select(Label.id)))
        for entry in entries_after(storage, instance, after_seq, until, report):
            job_ids = [j for j in entry.job_ids if j in jobs]
            report.last_seq, report.last_time = entry.seq, entry.time
            if not job_ids:
                report.skipped += 1
                continue
            objects = {
                key: [o for o in entry.objects.get(key) or [] if _label_ok(o, labels, entry)]
                for key in ("tags", "shapes", "tracks")
            }
            annotations.restore_objects(session, job_ids, objects, entry.action)
            report.applied += 1
            for job_id in job_ids:
                versions[job_id] = max(versions.get(job_id, 0), entry.versions.get(job_id, 0))
        for job_id, version in versions.items():
            # Past every version a client may hold, so a save based on a pre-crash read is
            # refused (If-Match) instead of overwriting what the replay brought back.
            current = session.scalar(select(Job.annotation_version).where(Job.id == job_id)) or 0
            session.execute(
                update(Job)
                .where(Job.id == job_id)
                .values(annotation_version=max(current, version) + 1)
            )
        if db.engine.dialect.name == "postgresql" and report.applied:
            from labelvault.annotations.models import (
                LabeledImage,
                LabeledShape,
                LabeledTrack,
                TrackedShape,
            )

            tables = [m.__table__ for m in (LabeledImage, LabeledShape, LabeledTrack, TrackedShape)]
            dbdump.reset_sequences(session.connection(), tables)  # type: ignore[arg-type]
    if progress:
        progress(report.summary())
    log.info("%s", report.summary())
    return report


def _label_ok(obj: dict, labels: set[int], entry: fmt.Entry) -> bool:
    # Delete entries carry only ids; others need their label (it may have been deleted since).
    if entry.action == "delete" or "label_id" not in obj:
        return True
    return obj["label_id"] in labels
