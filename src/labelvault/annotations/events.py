"""Listeners told of every annotation change once its transaction commits (the journal is one).

The service stages each write on its session; the change is rendered before the commit (the
connection is still open) and handed to listeners right after it, so a listener hears only
what is durable in the database and hears it before the client gets its reply. Commits that
carry changes are serialised with their publication, so listeners hear changes in the order
the database committed them (two saves of one job never reach the journal swapped).
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, SessionTransaction

from labelvault.db.engine import AFTER_COMMIT_ERROR

_STAGED = "labelvault.annotation_changes"
_HOLDS = "labelvault.annotation_commit_lock"
_SPOOL = "labelvault.annotation_spool"
COPY_CHUNK = 1 << 20
# Held from just before the COMMIT of a session with changes until its listeners have run.
# Re-entrant: a listener's own session may commit in the same thread.
_commit_order = threading.RLock()


class Spooled:
    """Bytes a session rendered into its spool file, read back (or copied) after the commit."""

    def __init__(self, file: IO[bytes], offset: int, length: int) -> None:
        self.file, self.offset, self.length = file, offset, length

    def read(self) -> bytes:
        self.file.seek(self.offset)
        return self.file.read(self.length)

    def copy_to(self, out: IO[bytes]) -> None:
        self.file.seek(self.offset)
        left = self.length
        while left > 0:
            chunk = self.file.read(min(left, COPY_CHUNK))
            if not chunk:
                raise OSError("the spooled annotation change was cut short")
            out.write(chunk)
            left -= len(chunk)


@dataclass(frozen=True)
class AnnotationChange:
    """One committed write to the annotations of some jobs.

    `action` is "replace" (the jobs now hold exactly `objects`), "create", "update" (the
    objects, with their ids, now exist as given) or "delete" (the objects with these ids are
    gone). `objects` is the JSON `{"tags": [...], "shapes": [...], "tracks": [...]}` with
    every object's id, as the API replies. A big change (an import, a restore) lies in a
    temporary file until its listeners have run: `write_objects` copies it without loading it.
    """

    job_ids: tuple[int, ...]
    action: str
    source: bytes | Spooled

    @property
    def objects(self) -> bytes:
        return self.source if isinstance(self.source, bytes) else self.source.read()

    def write_objects(self, out: IO[bytes]) -> None:
        if isinstance(self.source, bytes):
            out.write(self.source)
        else:
            self.source.copy_to(out)


Listener = Callable[[Engine, list[AnnotationChange]], None]
_listeners: list[Listener] = []
# Those who only need to know which jobs a transaction changes (no rendering for them).
_watchers: list[object] = []


def subscribe(listener: Listener) -> Callable[[], None]:
    """Register a listener; returns the function that removes it again."""
    _listeners.append(listener)
    return lambda: _listeners.remove(listener) if listener in _listeners else None


def watch() -> Callable[[], None]:
    """Ask saves to note the jobs they change (see `staged_job_ids`); returns the undo."""
    token = object()
    _watchers.append(token)
    return lambda: _watchers.remove(token) if token in _watchers else None


def stage(session: Session, job_ids: list[int], action: str, render: Callable[[], bytes]) -> None:
    """Queue a change; `render` runs before the commit, listeners hear it after."""
    if not _listeners and not _watchers:
        return
    session.info.setdefault(_STAGED, []).append((tuple(job_ids), action, render))


def staged_job_ids(session: Session) -> list[int]:
    """Jobs whose annotations this session's transaction changes (known before its commit)."""
    staged = session.info.get(_STAGED) or []
    ids = {
        job_id
        for item in staged
        for job_id in (item.job_ids if isinstance(item, AnnotationChange) else item[0])
    }
    return sorted(ids)


def stage_written(
    session: Session, job_ids: list[int], action: str, write: Callable[[IO[bytes]], None]
) -> None:
    """Queue a change too big to hold: `write` streams its JSON into the session's spool
    file before the commit (a restore announcing every object of a project)."""
    if not _listeners and not _watchers:
        return
    session.info.setdefault(_STAGED, []).append((tuple(job_ids), action, _Writes(write)))


class _Writes:
    def __init__(self, write: Callable[[IO[bytes]], None]) -> None:
        self.write = write


def _spool(session: Session) -> IO[bytes]:
    file = session.info.get(_SPOOL)
    if file is None:
        # Closed by _close_spool once the commit is published or rolled back.
        file = session.info[_SPOOL] = tempfile.TemporaryFile(prefix="labelvault-changes-")  # noqa: SIM115
    return file


def _spooled(session: Session, render: Any) -> Spooled:
    file = _spool(session)
    offset = file.seek(0, 2)
    if isinstance(render, _Writes):
        render.write(file)
    else:
        file.write(render())
    return Spooled(file, offset, file.tell() - offset)


def render_staged(session: Session) -> None:
    """Render the changes staged so far now, into the session's spool file until the commit.

    A long import stages one change per batch; each would hold its written rows (Python
    objects, about ten times the size of their JSON) until the commit, so 300,000 objects
    cost hundreds of MB. Rendered to disk as they come, memory holds one batch. Only for
    changes whose content is fixed when staged (created objects, a clear), not for renders
    that read the database at the commit.
    """
    staged = session.info.get(_STAGED)
    if staged and _listeners:
        session.info[_STAGED] = [
            (job_ids, action, render if isinstance(render, Spooled) else _spooled(session, render))
            for job_ids, action, render in staged
        ]


def _final(session: Session, render: Any) -> bytes | Spooled:
    if isinstance(render, Spooled):
        return render
    if isinstance(render, _Writes):
        return _spooled(session, render)
    return render()  # a save's own reply: small, and kept off the disk


@event.listens_for(Session, "before_commit")
def _render(session: Session) -> None:
    staged = session.info.get(_STAGED)
    if staged:
        # Flush first: the row locks this transaction needs are then taken before the lock,
        # so a commit holding it never waits on a session that waits for it.
        session.flush()
        _commit_order.acquire()
        session.info[_HOLDS] = True
        session.info[_STAGED] = [
            # Rendered only for listeners: watchers read the job ids alone.
            AnnotationChange(job_ids, action, _final(session, render) if _listeners else b"")
            for job_ids, action, render in staged
        ]


@event.listens_for(Session, "after_commit")
def _publish(session: Session) -> None:
    changes: list[Any] = session.info.pop(_STAGED, None) or []
    try:
        if changes:
            engine = session.get_bind()
            for listener in list(_listeners):
                try:
                    listener(engine, changes)  # type: ignore[arg-type]
                except Exception as exc:  # noqa: BLE001 - raised once the session is done
                    session.info.setdefault(AFTER_COMMIT_ERROR, exc)
    finally:
        # A listener that raises (the journal's disk is full) must not keep the next
        # commit waiting: the transaction may never reach its end event then.
        _close_spool(session)
        _let_go(session)


@event.listens_for(Session, "after_rollback")
def _drop(session: Session) -> None:
    session.info.pop(_STAGED, None)
    _close_spool(session)


def _close_spool(session: Session) -> None:
    file = session.info.pop(_SPOOL, None)
    if file is not None:
        file.close()


@event.listens_for(Session, "after_transaction_end")
def _release(session: Session, transaction: SessionTransaction) -> None:
    # Failed at the commit, before anything was published: the next may go.
    if transaction.parent is None:
        _let_go(session)
        if not session.info.get(_STAGED):
            _close_spool(session)


def _let_go(session: Session) -> None:
    if session.info.pop(_HOLDS, False):
        _commit_order.release()
