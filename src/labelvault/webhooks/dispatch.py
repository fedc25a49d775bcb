"""From committed changes to signed HTTP deliveries, through an outbox in the database.

A commit that carries events writes them in the same transaction, as one row of the outbox
(the save pays one INSERT; nothing is built for webhooks nobody listens to). After the commit
a thread of this process wakes, finds the webhooks that listen, sends, and records the
deliveries while deleting the outbox row in one transaction: an event survives a crash at
any point (at worst it is sent twice). A receiver that is down costs retries on the queue
(doubling delays), never a save. While no webhook is active a commit costs a look at an
in-memory cache, refreshed every few seconds and at once after webhook edits.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, event, func, insert, inspect, select
from sqlalchemy.orm import Session

from labelvault.access.context import ACTING_USER
from labelvault.accounts.models import User
from labelvault.annotations import events as annotation_events
from labelvault.background.queue import Queue
from labelvault.config import Settings
from labelvault.db import Database
from labelvault.db.base import utcnow
from labelvault.organizations.models import Invitation, Membership, Organization
from labelvault.projects.models import Project
from labelvault.review.models import Comment, Issue
from labelvault.tasks.models import Job, Task
from labelvault.webhooks import service
from labelvault.webhooks.models import Webhook, WebhookDelivery, WebhookOutbox

log = logging.getLogger(__name__)

_STAGED = "labelvault.webhook_events"
_NUDGE = "labelvault.webhook_outbox_written"
_HOOKS_CHANGED = "labelvault.webhooks_changed"
CACHE_SECONDS = 5.0
# How often a runtime looks at the outbox unasked (rows another process left behind).
SWEEP_SECONDS = 30.0
BATCH = 50
RESPONSE_LIMIT = 1024 * 1024
TRACKED = {
    Project: "project",
    Task: "task",
    Job: "job",
    Issue: "issue",
    Comment: "comment",
    Organization: "organization",
    Membership: "membership",
    Invitation: "invitation",
}
# Columns whose change alone is bookkeeping of an annotation save, not an edit of the job.
QUIET = {"updated_date", "annotation_version"}
_generation = 0


def changed() -> None:
    """Webhooks were created, changed or deleted: every runtime re-reads them."""
    global _generation
    _generation += 1


def _jsonable(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def _row(obj: Any) -> dict[str, Any]:
    mapper = inspect(obj).mapper
    data = {c.key: _jsonable(getattr(obj, c.key)) for c in mapper.column_attrs}
    data.pop("credentials", None)
    data.pop("password_hash", None)
    return data


def _user(session: Session, user_id: int | None) -> dict[str, Any] | None:
    user = session.get(User, user_id) if user_id is not None else None
    if user is None:
        return None
    return {
        "id": user.id,
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
    }


def _data(session: Session, obj: Any) -> dict[str, Any]:
    """The resource as CVAT's serializer sends it (issues and comments), else its columns."""
    if isinstance(obj, Issue):
        comments = session.scalar(
            select(func.count()).select_from(Comment).where(Comment.issue_id == obj.id)
        )
        return {
            "id": obj.id,
            "frame": obj.frame,
            "position": list(obj.position or []),
            "job": obj.job_id,
            "owner": _user(session, obj.owner_id),
            "assignee": _user(session, obj.assignee_id),
            "created_date": _jsonable(obj.created_date),
            "updated_date": _jsonable(obj.updated_date),
            "resolved": bool(obj.resolved),
            "comments": {"count": comments or 0, "url": f"/api/comments?issue_id={obj.id}"},
        }
    if isinstance(obj, Comment):
        return {
            "id": obj.id,
            "issue": obj.issue_id,
            "owner": _user(session, obj.owner_id),
            "message": obj.message,
            "created_date": _jsonable(obj.created_date),
            "updated_date": _jsonable(obj.updated_date),
        }
    return _row(obj)


@dataclass
class Runtime:
    """One server's (or worker's) webhook machinery: its database, settings and queue task."""

    db: Database
    settings: Settings
    queue: Queue | None
    _cache: tuple[float, int, set[str]] = (0.0, -1, set())
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _unsubscribe: Any = None

    def __post_init__(self) -> None:
        self._wake = threading.Event()
        self._stopping = False
        self._pump: threading.Thread | None = None
        self._deliver_task = None
        if self.queue is not None:
            huey = self.queue.huey
            self._deliver_task = huey.task(name="webhook_deliver", retries=0)(self.deliver)

    # -- what is listened to -----------------------------------------------------------------

    def listened(self, session: Session) -> set[str]:
        """Event keys some active webhook listens to (cached).

        Re-read on the session's own connection: a second connection from the pool, taken
        while this one holds SQLite's write lock, waited for connections that only saves
        stalled behind that lock would give back (bench/load.py: 50 annotators, 30 s saves).
        """
        expires, generation, keys = self._cache
        if time.monotonic() < expires and generation == _generation:
            return keys
        with self._lock:
            rows = session.connection().execute(
                select(Webhook.events).where(Webhook.is_active.is_(True))
            )
            keys = {key for (value,) in rows for key in value.split(",") if key}
            self._cache = (time.monotonic() + CACHE_SECONDS, _generation, keys)
        return keys

    # -- from the outbox to deliveries ------------------------------------------------------

    def nudge(self) -> None:
        """Something was written to the outbox: wake the thread that empties it."""
        if self._pump is None:
            with self._lock:
                if self._pump is None and not self._stopping:
                    self._pump = threading.Thread(
                        target=self._run, name="webhook-outbox", daemon=True
                    )
                    self._pump.start()
        self._wake.set()

    def _run(self) -> None:
        while not self._stopping:
            self._wake.wait(SWEEP_SECONDS)
            self._wake.clear()
            try:
                while self.drain() and not self._stopping:
                    pass
            except Exception:  # noqa: BLE001 - the database hiccuped: the rows wait, try later
                log.exception("could not empty the webhook outbox")

    def close(self) -> None:
        """Stop the outbox thread (what is left waits in the outbox for the next start)."""
        if self._pump is not None:
            self._stopping = True
            self._wake.set()
            self._pump.join(timeout=10)
            self._pump = None

    def drain(self) -> bool:
        """Turn one batch of outbox rows into sent, recorded deliveries; False when empty."""
        retry: list[int] = []
        with self.db.session() as session:
            query = select(WebhookOutbox).order_by(WebhookOutbox.id).limit(BATCH)
            if session.get_bind().dialect.name == "postgresql":
                # Several processes may empty one outbox; each row goes to one of them.
                query = query.with_for_update(skip_locked=True)
            rows = list(session.scalars(query))
            if not rows:
                return False
            planned = [
                (hook, {**payload, "webhook_id": hook.id})
                for row in rows
                for item in row.events
                for payload, project_id, org_id in self._expand(session, item)
                for hook in service.subscribed(session, item["event"], project_id, org_id)
            ]
            deliveries = []
            for hook, payload in planned:
                started = time.perf_counter()
                status, text = send(
                    hook.target_url,
                    hook.secret,
                    payload,
                    self.settings.webhook_timeout,
                    hook.enable_ssl,
                )
                ok = 200 <= status < 300
                last = self._deliver_task is None or self.settings.webhook_attempts <= 1
                deliveries.append(
                    WebhookDelivery(
                        webhook_id=hook.id,
                        event=payload["event"],
                        redelivery=False,
                        attempt=1,
                        status_code=status,
                        request_duration=int((time.perf_counter() - started) * 1000),
                        changed_fields=",".join(payload.get("before_update") or {}),
                        request=payload,
                        response={"body": text},
                        state="delivered" if ok else ("failed" if last else "queued"),
                    )
                )
            session.execute(delete(WebhookOutbox).where(WebhookOutbox.id.in_([r.id for r in rows])))
            session.add_all(deliveries)
            session.flush()
            retry = [d.id for d in deliveries if d.state == "queued"]
        for delivery_id in retry:
            self._schedule(delivery_id, 1)
        return True

    def _schedule(self, delivery_id: int, attempt: int) -> None:
        if self._deliver_task is not None:
            delay = self.settings.webhook_retry_seconds * 2 ** (attempt - 1)
            self._deliver_task.schedule(args=(delivery_id,), delay=delay)

    def _expand(self, session: Session, item: dict[str, Any]):  # type: ignore[no-untyped-def]
        base = {"event": item["event"], "sender": item.get("sender")}
        if "job_ids" in item:  # an annotation save: the jobs as they are now
            for job in session.scalars(select(Job).where(Job.id.in_(item["job_ids"]))):
                task = session.get(Task, job.task_id)
                payload = {**base, "job": {**_row(job), "organization": task.organization_id}}
                payload["before_update"] = {}
                yield payload, task.project_id, task.organization_id
            return
        payload = {**base, item["resource"]: item["data"]}
        if item["event"].startswith("update:"):
            payload["before_update"] = item.get("before_update", {})
        yield payload, item.get("project_id"), item.get("organization_id")

    def _record(
        self, session: Session, hook: Webhook, payload: dict, redelivery: bool = False
    ) -> WebhookDelivery:
        payload = {**payload, "webhook_id": hook.id}
        row = WebhookDelivery(
            webhook_id=hook.id,
            event=payload["event"],
            redelivery=redelivery,
            attempt=0,
            changed_fields=",".join(payload.get("before_update") or {}),
            request=payload,
            response={},
            state="queued",
        )
        session.add(row)
        session.flush()
        return row

    def ping(self, session: Session, hook: Webhook, payload: dict) -> WebhookDelivery:
        """Send a test event at once (CVAT answers with the delivery); never retried."""
        delivery = self._record(session, hook, _jsonable(payload))
        session.commit()
        self.deliver(delivery.id, retry=False)
        session.refresh(delivery)
        return delivery

    def redeliver(self, session: Session, hook: Webhook, delivery: WebhookDelivery) -> None:
        row = self._record(session, hook, dict(delivery.request), redelivery=True)
        session.flush()
        delivery_id = row.id
        session.commit()
        if self._deliver_task is not None:
            self._deliver_task(delivery_id)

    def deliver(self, delivery_id: int, retry: bool = True) -> int | None:
        """One attempt; a failure schedules the next one after a doubling delay."""
        with self.db.session() as session:
            delivery = session.get(WebhookDelivery, delivery_id)
            hook = session.get(Webhook, delivery.webhook_id) if delivery else None
            if delivery is None or hook is None or delivery.state != "queued":
                return None
            target, secret, payload = hook.target_url, hook.secret, delivery.request
            verify = hook.enable_ssl
        started = time.perf_counter()
        status, text = send(target, secret, payload, self.settings.webhook_timeout, verify)
        duration = int((time.perf_counter() - started) * 1000)
        ok = 200 <= status < 300
        with self.db.session() as session:
            delivery = session.get(WebhookDelivery, delivery_id)
            if delivery is None:
                return status
            delivery.attempt = (delivery.attempt or 0) + 1
            delivery.status_code = status
            delivery.response = {"body": text}
            delivery.request_duration = duration
            delivery.updated_date = utcnow()
            last = not retry or delivery.attempt >= self.settings.webhook_attempts
            delivery.state = "delivered" if ok else ("failed" if last else "queued")
            attempt = delivery.attempt
        if not ok and not last:
            self._schedule(delivery_id, attempt)
        return status


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def send(
    url: str, secret: str, payload: dict, timeout: float, verify: bool = True
) -> tuple[int, str]:
    """POST the payload as CVAT does: JSON body, X-Signature-256 over exactly those bytes."""
    body = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json", "User-Agent": "LabelVault-Webhook"}
    if secret:
        headers["X-Signature-256"] = sign(secret, body)
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    context = None
    if not verify and url.startswith("https"):
        import ssl

        context = ssl._create_unverified_context()  # noqa: S323 - the webhook asked for it
    try:
        with urllib.request.urlopen(request, timeout=timeout, context=context) as response:  # noqa: S310
            return response.status, response.read(RESPONSE_LIMIT).decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(RESPONSE_LIMIT).decode("utf-8", "replace")
    except TimeoutError as exc:
        return 504, str(exc)
    except (urllib.error.URLError, OSError) as exc:
        return 502, str(getattr(exc, "reason", exc))


# ---- ORM changes of projects, tasks, jobs, organizations ... --------------------------------

_runtimes: list[Runtime] = []


def _runtime(session: Session) -> Runtime | None:
    if not _runtimes:
        return None
    try:
        bind = session.get_bind()
    except Exception:  # noqa: BLE001 - an unbound session has no webhooks
        return None
    for runtime in _runtimes:
        if runtime.db.engine is bind:
            return runtime
    return None


def _route_of(session: Session, obj: Any) -> tuple[int | None, int | None]:
    """(project id, organization id) an object's events go to."""
    if isinstance(obj, Comment):
        obj = session.get(Issue, obj.issue_id)
        if obj is None:
            return None, None
    if isinstance(obj, Issue):
        obj = session.get(Job, obj.job_id)
        if obj is None:
            return None, None
    if isinstance(obj, Project):
        return obj.id, obj.organization_id
    if isinstance(obj, Task):
        return obj.project_id, obj.organization_id
    if isinstance(obj, Job):
        task = session.get(Task, obj.task_id)
        return (task.project_id, task.organization_id) if task else (None, None)
    if isinstance(obj, Organization):
        return None, obj.id
    if isinstance(obj, Membership):
        return None, obj.organization_id
    if isinstance(obj, Invitation):
        membership = session.get(Membership, obj.membership_id)
        return None, membership.organization_id if membership else None
    return None, None


@event.listens_for(Session, "after_flush")
def _collect(session: Session, _context: Any) -> None:
    """Note what changed; a row created and changed in one transaction is one create."""
    if any(isinstance(o, Webhook) for o in (*session.new, *session.dirty, *session.deleted)):
        # Re-read at the commit too: a cache filled meanwhile could not see the new rows.
        session.info[_HOOKS_CHANGED] = True
    runtime = _runtime(session)
    if runtime is None:
        return
    listened = runtime.listened(session)
    if not listened:
        return
    staged: dict[tuple[str, Any], dict[str, Any]] = session.info.setdefault(_STAGED, {})
    changes = (("create", session.new), ("update", session.dirty), ("delete", session.deleted))
    for action, objects in changes:
        for obj in list(objects):
            resource = TRACKED.get(type(obj))
            if resource is None:
                continue
            key = (resource, inspect(obj).identity or id(obj))
            earlier = staged.get(key)
            if action == "update":
                if earlier is not None and earlier["action"] == "create":
                    continue
                before = _before(obj)
                if not set(before) - QUIET:
                    continue
                if earlier is not None:
                    before.update(earlier["before"])  # the first old value wins
            else:
                before = {}
            if action == "delete" and earlier is not None and earlier["action"] == "create":
                del staged[key]
                continue
            if f"{action}:{resource}" not in listened:
                continue
            entry = {"action": action, "resource": resource, "obj": obj, "before": before}
            if action == "delete":  # rendered now: the row is gone at the commit
                entry["rendered"] = _render(session, obj, resource, action, before)
            staged[key] = entry


def _before(obj: Any) -> dict[str, Any]:
    before: dict[str, Any] = {}
    state = inspect(obj)
    for attr in state.mapper.column_attrs:
        history = state.attrs[attr.key].history
        if history.has_changes() and history.deleted:
            before[attr.key] = _jsonable(history.deleted[0])
    return before


def _render(session: Session, obj: Any, resource: str, action: str, before: dict) -> dict:
    project_id, org_id = _route_of(session, obj)
    return {
        "event": f"{action}:{resource}",
        "resource": resource,
        "data": _data(session, obj),
        "before_update": before,
        "project_id": project_id,
        "organization_id": org_id,
        "sender": session.info.get(ACTING_USER),
    }


@event.listens_for(Session, "before_commit")
def _write_outbox(session: Session) -> None:
    """Write the transaction's events into the outbox, inside the transaction."""
    staged = session.info.get(_STAGED)
    job_ids: list[int] = []
    runtime = _runtime(session)
    if runtime is not None and "update:job" in runtime.listened(session):
        job_ids = annotation_events.staged_job_ids(session)
    if not staged and not job_ids:
        return
    if staged:
        session.flush()
    staged = session.info.pop(_STAGED, None) or {}
    items = [
        entry.get("rendered")
        or _render(session, entry["obj"], entry["resource"], entry["action"], entry["before"])
        for entry in staged.values()
    ]
    if job_ids:  # an annotation save: the job's row is read when the delivery is made
        sender = session.info.get(ACTING_USER)
        items.append({"event": "update:job", "job_ids": job_ids, "sender": sender})
    if items:
        session.execute(insert(WebhookOutbox).values(events=items, created_date=utcnow()))
        session.info[_NUDGE] = True


@event.listens_for(Session, "after_commit")
def _hand_over(session: Session) -> None:
    if session.info.pop(_HOOKS_CHANGED, False):
        changed()
    if session.info.pop(_NUDGE, False):
        runtime = _runtime(session)
        if runtime is not None:
            runtime.nudge()


@event.listens_for(Session, "after_rollback")
def _drop(session: Session) -> None:
    session.info.pop(_STAGED, None)
    session.info.pop(_NUDGE, None)
    session.info.pop(_HOOKS_CHANGED, None)


def start(db: Database, settings: Settings, queue: Queue) -> Runtime:
    runtime = Runtime(db, settings, queue)
    _runtimes.append(runtime)
    # Annotation saves tell which jobs they touch only to those who watch them.
    runtime._unsubscribe = annotation_events.watch()
    runtime.nudge()  # events a previous run left in the outbox
    return runtime


def stop(runtime: Runtime) -> None:
    if runtime in _runtimes:
        _runtimes.remove(runtime)
    runtime.close()
    if runtime._unsubscribe is not None:
        runtime._unsubscribe()
