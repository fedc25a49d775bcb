"""Activity: one row per annotation save, and what is read from them (annotators, time per job).

Working time is estimated from the saves of one person on one job: the gaps between
consecutive saves count when they are at most IDLE long (a longer gap is a break), and each
stretch of work also counts LEAD for the work before its first save. The workspace saves
when a frame changes and a few seconds after an edit, so the saves trace the work closely.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, insert, select
from sqlalchemy.orm import Session

from labelvault.accounts.models import User
from labelvault.db.base import utcnow
from labelvault.review.models import ActivityEvent
from labelvault.tasks.models import Job, Task

IDLE = timedelta(minutes=5)
LEAD = timedelta(seconds=30)
COUNTED = {"create": "created", "replace": "created", "update": "updated", "delete": "deleted"}


def record_save(
    session: Session,
    user_id: int | None,
    task: Task,
    job_id: int | None,
    action: str,
    objects: int,
    version: int,
) -> None:
    """Add the save's row to the save's own transaction (one INSERT, no read)."""
    counts = {"created": 0, "updated": 0, "deleted": 0}
    if action in COUNTED:
        counts[COUNTED[action]] = objects
    session.execute(
        insert(ActivityEvent).values(
            created_date=utcnow(),
            user_id=user_id,
            project_id=task.project_id,
            task_id=task.id,
            job_id=job_id,
            action=action,
            version=version,
            **counts,
        )
    )


def events_query(
    *,
    visible_tasks: Select[tuple[int]],
    project_id: int | None = None,
    task_id: int | None = None,
    job_id: int | None = None,
    user_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Select[tuple[ActivityEvent]]:
    query = select(ActivityEvent).where(ActivityEvent.task_id.in_(visible_tasks))
    for column, value in (
        (ActivityEvent.project_id, project_id),
        (ActivityEvent.task_id, task_id),
        (ActivityEvent.job_id, job_id),
        (ActivityEvent.user_id, user_id),
    ):
        if value is not None:
            query = query.where(column == value)
    if since is not None:
        query = query.where(ActivityEvent.created_date >= since)
    if until is not None:
        query = query.where(ActivityEvent.created_date < until)
    return query.order_by(ActivityEvent.created_date, ActivityEvent.id)


def working_seconds(times: Iterable[datetime]) -> float:
    """The estimated working time behind saves made at `times` (one person, one job)."""
    total = timedelta()
    previous: datetime | None = None
    for moment in sorted(times):
        if previous is None or moment - previous > IDLE:
            total += LEAD
        else:
            total += moment - previous
        previous = moment
    return total.total_seconds()


def _per_hour(objects: int, seconds: float) -> float:
    return objects * 3600 / seconds if seconds else 0.0


def summary(session: Session, events: list[ActivityEvent]) -> dict[str, Any]:
    """Annotators (saves, objects, time, objects per hour) and time per job."""
    users = {
        u.id: u.username
        for u in session.scalars(select(User).where(User.id.in_({e.user_id for e in events})))
    }
    job_ids = {e.job_id for e in events if e.job_id is not None}
    jobs = {j.id: j for j in session.scalars(select(Job).where(Job.id.in_(job_ids)))}
    tasks = dict(
        session.execute(
            select(Task.id, Task.name).where(Task.id.in_({e.task_id for e in events}))
        ).all()
    )
    times: dict[tuple[int | None, int | None], list[datetime]] = defaultdict(list)
    for e in events:
        times[(e.user_id, e.job_id)].append(e.created_date)
    seconds = {key: working_seconds(values) for key, values in times.items()}

    def totals(rows: list[ActivityEvent]) -> dict[str, Any]:
        created = sum(e.created for e in rows)
        updated = sum(e.updated for e in rows)
        deleted = sum(e.deleted for e in rows)
        return {
            "saves": len(rows),
            "objects_created": created,
            "objects_changed": updated,
            "objects_deleted": deleted,
            "first_save": min(e.created_date for e in rows),
            "last_save": max(e.created_date for e in rows),
        }

    by_user: dict[int | None, list[ActivityEvent]] = defaultdict(list)
    by_job: dict[int | None, list[ActivityEvent]] = defaultdict(list)
    for e in events:
        by_user[e.user_id].append(e)
        by_job[e.job_id].append(e)
    annotators = []
    for user_id, rows in by_user.items():
        spent = sum(s for (u, _), s in seconds.items() if u == user_id)
        row = totals(rows)
        touched = row["objects_created"] + row["objects_changed"] + row["objects_deleted"]
        annotators.append(
            {
                "user_id": user_id,
                "username": users.get(user_id),
                **row,
                "working_seconds": spent,
                "objects_per_hour": _per_hour(touched, spent),
                "jobs": sorted({e.job_id for e in rows if e.job_id is not None}),
            }
        )
    per_job = []
    for job_id, rows in by_job.items():
        if job_id is None:
            continue
        job = jobs.get(job_id)
        per_job.append(
            {
                "job_id": job_id,
                "task_id": rows[0].task_id,
                "task_name": tasks.get(rows[0].task_id),
                "stage": job.stage if job else None,
                "state": job.state if job else None,
                **totals(rows),
                "working_seconds": sum(s for (_, j), s in seconds.items() if j == job_id),
                "annotators": sorted({users.get(e.user_id) or "?" for e in rows}),
            }
        )
    annotators.sort(key=lambda a: -a["working_seconds"])
    per_job.sort(key=lambda j: j["job_id"])
    return {
        "estimate": {
            "idle_gap_seconds": IDLE.total_seconds(),
            "lead_seconds": LEAD.total_seconds(),
        },
        "saves": len(events),
        "annotators": annotators,
        "jobs": per_job,
    }


CSV_COLUMNS = [
    "scope",
    "obj_name",
    "obj_id",
    "obj_val",
    "source",
    "timestamp",
    "count",
    "duration",
    "project_id",
    "task_id",
    "job_id",
    "user_id",
    "user_name",
    "user_email",
    "org_id",
    "org_slug",
    "payload",
]


def events_csv(session: Session, events: list[ActivityEvent]) -> str:
    """CVAT's event export columns, one line per save."""
    users = {
        u.id: u
        for u in session.scalars(select(User).where(User.id.in_({e.user_id for e in events})))
    }
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for e in events:
        user = users.get(e.user_id)
        count = e.created + e.updated + e.deleted
        payload = (
            f'{{"created": {e.created}, "updated": {e.updated}, '
            f'"deleted": {e.deleted}, "version": {e.version}}}'
        )
        writer.writerow(
            [
                f"{e.action}:annotations",
                "job" if e.job_id is not None else "task",
                e.job_id if e.job_id is not None else e.task_id,
                "",
                "server",
                e.created_date.isoformat(),
                count,
                0,
                e.project_id or "",
                e.task_id,
                e.job_id or "",
                e.user_id or "",
                user.username if user else "",
                user.email if user else "",
                "",
                "",
                payload,
            ]
        )
    return out.getvalue()
