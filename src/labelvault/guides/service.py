"""Which guide a project, task or job shows (its `guide_id` in CVAT's replies)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import Guide


def guide_ids(
    session: Session, task_ids: Iterable[int | None], project_ids: Iterable[int | None]
) -> dict[str, int]:
    """ "task:N" / "project:N" -> guide id, for the ones that have a guide."""
    tasks = [t for t in task_ids if t is not None]
    projects = [p for p in project_ids if p is not None]
    if not tasks and not projects:
        return {}
    rows = session.execute(
        select(Guide.id, Guide.task_id, Guide.project_id).where(
            Guide.task_id.in_(tasks) | Guide.project_id.in_(projects)
        )
    )
    return {(f"task:{tid}" if tid is not None else f"project:{pid}"): gid for gid, tid, pid in rows}
