"""Listeners told of every annotation change once its transaction commits (the journal is one).

The service stages each write on its session; the change is rendered before the commit (the
connection is still open) and handed to listeners right after it, so a listener hears only
what is durable in the database and hears it before the client gets its reply. Commits that
carry changes are serialised with their publication, so listeners hear changes in the order
the database committed them (two saves of one job never reach the journal swapped).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, SessionTransaction

from labelvault.db.engine import AFTER_COMMIT_ERROR

_STAGED = "labelvault.annotation_changes"
_HOLDS = "labelvault.annotation_commit_lock"
# Held from just before the COMMIT of a session with changes until its listeners have run.
# Re-entrant: a listener's own session may commit in the same thread.
_commit_order = threading.RLock()


@dataclass(frozen=True)
class AnnotationChange:
    """One committed write to the annotations of some jobs.

    `action` is "replace" (the jobs now hold exactly `objects`), "create", "update" (the
    objects, with their ids, now exist as given) or "delete" (the objects with these ids are
    gone). `objects` is the JSON `{"tags": [...], "shapes": [...], "tracks": [...]}` with
    every object's id, as the API replies.
    """

    job_ids: tuple[int, ...]
    action: str
    objects: bytes


Listener = Callable[[Engine, list[AnnotationChange]], None]
_listeners: list[Listener] = []


def subscribe(listener: Listener) -> Callable[[], None]:
    """Register a listener; returns the function that removes it again."""
    _listeners.append(listener)
    return lambda: _listeners.remove(listener) if listener in _listeners else None


def stage(session: Session, job_ids: list[int], action: str, render: Callable[[], bytes]) -> None:
    """Queue a change; `render` runs before the commit, listeners hear it after."""
    if not _listeners:
        return
    session.info.setdefault(_STAGED, []).append((tuple(job_ids), action, render))


def render_staged(session: Session) -> None:
    """Render the changes staged so far now, keeping only their bytes until the commit.

    A long import stages one change per batch; each holds its written rows (Python objects,
    about ten times the size of their JSON) until the commit, so 300,000 objects cost
    gigabytes. Rendered as they come, a batch's rows are freed with the batch. Only for
    changes whose content is fixed when staged (created objects, a clear), not for renders
    that read the database at the commit.
    """
    staged = session.info.get(_STAGED)
    if staged:
        session.info[_STAGED] = [
            (job_ids, action, render if isinstance(render, bytes) else render())
            for job_ids, action, render in staged
        ]


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
            AnnotationChange(job_ids, action, render if isinstance(render, bytes) else render())
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
        _let_go(session)


@event.listens_for(Session, "after_rollback")
def _drop(session: Session) -> None:
    session.info.pop(_STAGED, None)


@event.listens_for(Session, "after_transaction_end")
def _release(session: Session, transaction: SessionTransaction) -> None:
    # Failed at the commit, before anything was published: the next may go.
    if transaction.parent is None:
        _let_go(session)


def _let_go(session: Session) -> None:
    if session.info.pop(_HOLDS, False):
        _commit_order.release()
