"""`labelvault migrate-from-cvat`: bring a running CVAT's projects and tasks in through its API."""

from __future__ import annotations

import secrets
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from labelvault.accounts import service as accounts
from labelvault.annotations.models import LabeledImage, LabeledShape, LabeledTrack
from labelvault.config import Settings
from labelvault.db import Database
from labelvault.projects.models import Project
from labelvault.tasks import service as tasks
from labelvault.tasks.models import Job, Task

from . import backup
from .adopt import counts
from .base import Progress, no_progress
from .cvat_client import CvatClient
from .models import MigratedItem


@dataclass
class Item:
    """One project, or one task outside any project, on the CVAT server."""

    kind: str  # "project" or "task"
    source_id: int
    name: str
    tasks: list[dict[str, Any]] = field(default_factory=list)  # CVAT's TaskRead, by id
    owner: dict[str, Any] | None = None
    assignee: dict[str, Any] | None = None
    local_id: int | None = None  # set when an earlier run brought it in
    note: str = ""


@dataclass
class Outcome:
    item: Item
    local_id: int | None = None
    tasks: int = 0
    frames: int = 0
    objects: int = 0
    assigned: int = 0
    users_created: list[str] = field(default_factory=list)
    skipped: bool = False
    error: str = ""


def source_key(url: str) -> str:
    """The server's address as recorded (scheme, host, port and path; no trailing slash)."""
    return url.strip().rstrip("/").lower()


def survey(db: Database, client: CvatClient) -> list[Item]:
    """Every project, then every task outside a project, with what earlier runs brought in."""
    tasks = sorted(client.pages("/api/tasks"), key=lambda t: int(t["id"]))
    items = []
    for project in sorted(client.pages("/api/projects"), key=lambda p: int(p["id"])):
        own = [t for t in tasks if t.get("project_id") == project["id"]]
        items.append(
            Item(
                "project",
                int(project["id"]),
                str(project.get("name") or ""),
                own,
                project.get("owner"),
                project.get("assignee"),
            )
        )
    for task in tasks:
        if task.get("project_id") is None:
            items.append(
                Item(
                    "task",
                    int(task["id"]),
                    str(task.get("name") or ""),
                    [task],
                    task.get("owner"),
                    task.get("assignee"),
                )
            )
    source = source_key(client.url)
    with db.session() as session:
        done = {
            (r.kind, r.source_id): r
            for r in session.scalars(select(MigratedItem).where(MigratedItem.source == source))
        }
        for item in items:
            record = done.get((item.kind, item.source_id))
            if record is None:
                continue
            item.local_id = record.local_id
            model = Project if item.kind == "project" else Task
            if record.local_id is None or session.get(model, record.local_id) is None:
                item.note = f"migrated before as {item.kind} {record.local_id}, deleted here since"
    return items


class _Users:
    """CVAT users by name, made here when missing (without a password: they set one by
    the password reset, or an admin does)."""

    def __init__(self, session: Any) -> None:
        self._session = session
        self.created: list[str] = []

    def id_of(self, who: dict[str, Any] | None) -> int | None:
        if not who or not who.get("username"):
            return None
        name = str(who["username"])
        user = accounts.get_by_username(self._session, name)
        if user is None:
            user = accounts.create_user(
                self._session,
                name,
                None,
                first_name=str(who.get("first_name") or "")[:150],
                last_name=str(who.get("last_name") or "")[:150],
            )
            # An unusable hash: nobody signs in as a migrated user until a password is set.
            user.password_hash = "!" + secrets.token_hex(16)
            self.created.append(name)
        return user.id


def _assign(session: Any, client: CvatClient, item: Item, local_id: int, users: _Users) -> int:
    """Owners and assignees of the item, its tasks and their jobs, by user name; the
    restored tasks are CVAT's in id order (the order CVAT writes them into a backup)."""
    assigned = 0
    if item.kind == "project":
        project = session.get(Project, local_id)
        project.owner_id = users.id_of(item.owner) or project.owner_id
        project.assignee_id = users.id_of(item.assignee)
        assigned += project.assignee_id is not None
        ours = list(
            session.scalars(select(Task).where(Task.project_id == local_id).order_by(Task.id))
        )
    else:
        ours = [session.get(Task, local_id)]
    if len(ours) != len(item.tasks):
        by_name = {t.name: t for t in ours}
        pairs = [(by_name.get(str(t.get("name"))), t) for t in item.tasks]
    else:
        pairs = list(zip(ours, item.tasks, strict=True))
    for task, theirs in pairs:
        if task is None:
            continue
        task.owner_id = users.id_of(theirs.get("owner")) or task.owner_id
        task.assignee_id = users.id_of(theirs.get("assignee"))
        assigned += task.assignee_id is not None
        remote = [
            j
            for j in client.pages("/api/jobs", task_id=theirs["id"])
            if j.get("type", "annotation") == "annotation"
        ]
        remote.sort(key=lambda j: (int(j.get("start_frame") or 0), int(j["id"])))
        local = list(
            session.scalars(
                select(Job)
                .where(Job.task_id == task.id, Job.type == "annotation")
                .order_by(Job.start_frame, Job.id)
            )
        )
        if len(local) != len(remote):
            continue  # jobs laid out differently: nothing to pair them by
        for job, their_job in zip(local, remote, strict=True):
            job.assignee_id = users.id_of(their_job.get("assignee"))
            assigned += job.assignee_id is not None
    return assigned


def migrate_one(
    db: Database,
    settings: Settings,
    client: CvatClient,
    item: Item,
    owner_id: int,
    progress: Progress = no_progress,
) -> Outcome:
    """Download one backup, restore it, set assignees and record it, all or nothing."""
    out = Outcome(item)
    with tempfile.TemporaryDirectory(dir=settings.uploads_dir, prefix="migrate-") as tmp:
        local = Path(tmp) / f"{item.kind}_{item.source_id}.zip"
        progress(0.0, f"{item.name}: exporting on CVAT")
        client.download_backup(item.kind, item.source_id, local)
        progress(0.4, f"{item.name}: restoring")
        restore = backup.restore_project if item.kind == "project" else backup.restore_task
        new_id = restore(db, settings, local, owner_id, lambda f, m: progress(0.4 + 0.5 * f, m))
    try:
        with db.session() as session:
            users = _Users(session)
            out.assigned = _assign(session, client, item, new_id, users)
            session.add(
                MigratedItem(
                    source=source_key(client.url),
                    kind=item.kind,
                    source_id=item.source_id,
                    name=item.name[:256],
                    local_id=new_id,
                )
            )
            out.users_created = users.created
    except BaseException:
        # Not recorded, so not kept: the next run brings it in again, once.
        if item.kind == "project":
            backup.discard_project(db, settings, new_id)
        else:
            _discard_task(db, settings, new_id)
        raise
    out.local_id = new_id
    if item.kind == "project":
        out.tasks, out.frames, out.objects = counts(db, new_id)
    else:
        out.tasks, out.frames, out.objects = _task_counts(db, new_id)
    progress(1.0, item.name)
    return out


def _discard_task(db: Database, settings: Settings, task_id: int) -> None:
    with db.session() as session:
        task = session.get(Task, task_id)
        if task is not None:
            tasks.delete_task(settings, session, task)


def _task_counts(db: Database, task_id: int) -> tuple[int, int, int]:
    with db.session() as session:
        size = session.scalar(select(Task.size).where(Task.id == task_id)) or 0
        jobs = select(Job.id).where(Job.task_id == task_id)
        objects = 0
        for model in (LabeledImage, LabeledShape, LabeledTrack):
            query = select(func.count()).select_from(model).where(model.job_id.in_(jobs))
            if model is not LabeledImage:
                query = query.where(model.parent_id.is_(None))  # type: ignore[attr-defined]
            objects += session.scalar(query) or 0
    return 1, int(size), objects
