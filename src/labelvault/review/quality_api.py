"""Endpoints of quality control: /api/quality/{reports,conflicts,settings}."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from sqlalchemy import or_, select

from labelvault.access import permissions
from labelvault.access.deps import CurrentUser, DbSession, visible_project, visible_task
from labelvault.accounts.replies import basic_user, users_by_id
from labelvault.background import service as background
from labelvault.background.models import Request as BgRequest
from labelvault.errors import Invalid, NotFound
from labelvault.http import apply_sort, paginate
from labelvault.review import project_quality, quality
from labelvault.review.handlers import CALCULATE
from labelvault.review.models import AnnotationConflict, QualityReport, QualitySettings
from labelvault.review.schemas import QualityReportCreate, QualitySettingsPatch
from labelvault.tasks.models import Task

router = APIRouter(tags=["quality"])

REPORT_SORT = {
    "id": QualityReport.id,
    "job_id": QualityReport.job_id,
    "created_date": QualityReport.created_date,
    "target_last_updated": QualityReport.target_last_updated,
    "gt_last_updated": QualityReport.gt_last_updated,
}
CONFLICT_SORT = {
    "id": AnnotationConflict.id,
    "frame": AnnotationConflict.frame,
    "type": AnnotationConflict.type,
    "severity": AnnotationConflict.severity,
}
TARGETS = ("job", "task", "project")


def reports_json(
    request: Request, session: DbSession, rows: list[QualityReport]
) -> list[dict[str, Any]]:
    users = users_by_id(session, {r.assignee_id for r in rows})
    projects = dict(
        session.execute(
            select(Task.id, Task.project_id).where(Task.id.in_({r.task_id for r in rows}))
        ).all()
    )
    return [
        {
            "id": r.id,
            "job_id": r.job_id,
            "task_id": r.task_id,
            "project_id": r.project_id or projects.get(r.task_id),
            "parent_id": r.parent_id,
            "target": r.target,
            "summary": r.summary,
            "created_date": r.created_date,
            "target_last_updated": r.target_last_updated,
            "gt_last_updated": r.gt_last_updated,
            "assignee": basic_user(request, users.get(r.assignee_id)),
        }
        for r in rows
    ]


def conflicts_json(rows: list[AnnotationConflict]) -> list[dict[str, Any]]:
    return [
        {
            "id": c.id,
            "frame": c.frame,
            "type": c.type,
            "annotation_ids": c.annotation_ids,
            "report_id": c.report_id,
            "severity": c.severity,
        }
        for c in rows
    ]


def settings_json(s: QualitySettings) -> dict[str, Any]:
    return {
        "id": s.id,
        "task_id": s.task_id,
        "project_id": None,
        "job_filter": "",
        "inherit": False,
        "target_metric": s.target_metric,
        "target_metric_threshold": s.target_metric_threshold,
        "max_validations_per_job": 0,
        "iou_threshold": s.iou_threshold,
        "oks_sigma": 0.09,
        "point_size_base": "group_bbox_size",
        "line_thickness": 0.01,
        "low_overlap_threshold": s.low_overlap_threshold,
        "compare_line_orientation": True,
        "line_orientation_threshold": 0.1,
        "compare_groups": True,
        "group_match_threshold": 0.5,
        "check_covered_annotations": True,
        "object_visibility_threshold": 0.05,
        "panoptic_comparison": False,
        "compare_attributes": True,
        "empty_is_annotated": False,
        "created_date": s.created_date,
        "updated_date": s.updated_date,
    }


def _visible(user: CurrentUser):  # type: ignore[no-untyped-def]
    """Reports of tasks the user staffs, and project reports of projects they staff (a job's
    assignee sees neither, as in CVAT)."""
    return or_(
        QualityReport.task_id.in_(permissions.staff_task_ids(user)),
        QualityReport.project_id.in_(permissions.staff_project_ids(user)),
    )


def _visible_report(session: DbSession, user: CurrentUser, report_id: int) -> QualityReport:
    row = session.scalars(
        select(QualityReport).where(QualityReport.id == report_id, _visible(user))
    ).first()
    if row is None:
        raise NotFound.of("Quality report")
    return row


@router.get("/api/quality/reports")
def list_reports(
    request: Request,
    session: DbSession,
    user: CurrentUser,
    task_id: int | None = None,
    job_id: int | None = None,
    parent_id: int | None = None,
    project_id: int | None = None,
    target: str | None = None,
    id: int | None = None,
    sort: str | None = None,
) -> dict[str, Any]:
    query = select(QualityReport).where(_visible(user))
    if task_id is not None:
        query = query.where(QualityReport.task_id == task_id)
    if project_id is not None:
        in_project = select(Task.id).where(Task.project_id == project_id)
        query = query.where(
            or_(QualityReport.project_id == project_id, QualityReport.task_id.in_(in_project))
        )
    if job_id is not None:
        query = query.where(QualityReport.job_id == job_id)
    if parent_id is not None:
        query = query.where(QualityReport.parent_id == parent_id)
    if target is not None:
        if target not in TARGETS:
            raise Invalid(f"Unexpected 'target' filter value '{target}'; use job, task or project")
        query = query.where(QualityReport.target == target)
    if id is not None:
        query = query.where(QualityReport.id == id)
    query = apply_sort(query, sort, REPORT_SORT, QualityReport.id.desc())
    return paginate(request, session, query, lambda rows: reports_json(request, session, rows))


@router.post("/api/quality/reports", status_code=202)
def create_report(
    request: Request,
    session: DbSession,
    user: CurrentUser,
    body: QualityReportCreate | None = None,
    rq_id: str | None = None,
) -> Response:
    """Starts a report as a background request (poll /api/requests/{rq_id})."""
    if rq_id is not None:
        # CVAT's older status check: 201 with the report once it is done.
        row = session.get(BgRequest, rq_id)
        if row is None or row.operation != CALCULATE or row.owner_id != user.id:
            raise NotFound.of("Request")
        if row.status == "failed":
            raise Invalid(row.message or "the quality report failed")
        if row.status != "finished" or row.result_id is None:
            return _json({"rq_id": rq_id}, 202)
        report = _visible_report(session, user, row.result_id)
        return _json(reports_json(request, session, [report])[0], 201)
    if body is None or (body.task_id is None) == (body.project_id is None):
        raise Invalid({"task_id": ["give either the task_id or the project_id to report on"]})
    app = request.app
    if body.project_id is not None:
        project = visible_project(session, user, body.project_id)
        project_quality.prepare_project_report(session, user, project)
        session.commit()  # the worker must see the settings rows this may have made
        new_id = background.create(
            app.state.db,
            operation=CALCULATE,
            target="project",
            owner_id=user.id,
            project_id=project.id,
        )
        app.state.queue.enqueue(new_id)
        return _json({"rq_id": new_id}, 202)
    task = visible_task(session, user, body.task_id)
    quality.prepare_report(session, user, task)
    session.commit()  # the worker must see the settings row this may have made
    new_id = background.create(
        app.state.db, operation=CALCULATE, target="task", owner_id=user.id, task_id=task.id
    )
    app.state.queue.enqueue(new_id)
    return _json({"rq_id": new_id}, 202)


def _json(body: dict[str, Any], status: int) -> Response:
    return JSONResponse(jsonable_encoder(body), status_code=status)


@router.get("/api/quality/reports/{report_id}")
def get_report(
    report_id: int, request: Request, session: DbSession, user: CurrentUser
) -> dict[str, Any]:
    return reports_json(request, session, [_visible_report(session, user, report_id)])[0]


@router.get("/api/quality/reports/{report_id}/data")
def report_data(report_id: int, session: DbSession, user: CurrentUser) -> dict[str, Any]:
    return _visible_report(session, user, report_id).data


@router.get("/api/quality/conflicts")
def list_conflicts(
    request: Request,
    session: DbSession,
    user: CurrentUser,
    report_id: int | None = None,
    job_id: int | None = None,
    task_id: int | None = None,
    frame: int | None = None,
    type: str | None = None,
    severity: str | None = None,
    id: int | None = None,
    sort: str | None = None,
) -> dict[str, Any]:
    reports = select(QualityReport.id).where(_visible(user))
    if report_id is not None:
        report = _visible_report(session, user, report_id)
        # A task report's conflicts are its job reports' (as in CVAT); a project report's
        # are its tasks' job reports'.
        children = select(QualityReport.id).where(QualityReport.parent_id == report.id)
        reports = reports.where(
            (QualityReport.id == report.id)
            | (QualityReport.parent_id == report.id)
            | QualityReport.parent_id.in_(children)
        )
    if job_id is not None:
        reports = reports.where(QualityReport.job_id == job_id)
    if task_id is not None:
        reports = reports.where(QualityReport.task_id == task_id)
    query = select(AnnotationConflict).where(AnnotationConflict.report_id.in_(reports))
    if frame is not None:
        query = query.where(AnnotationConflict.frame == frame)
    if type:
        query = query.where(AnnotationConflict.type == type)
    if severity:
        query = query.where(AnnotationConflict.severity == severity)
    if id is not None:
        query = query.where(AnnotationConflict.id == id)
    query = apply_sort(query, sort, CONFLICT_SORT, AnnotationConflict.id)
    return paginate(request, session, query, conflicts_json)


@router.get("/api/quality/settings")
def list_settings(
    request: Request, session: DbSession, user: CurrentUser, task_id: int | None = None
) -> dict[str, Any]:
    if task_id is not None:
        task = visible_task(session, user, task_id)
        # Task staff only (CVAT's quality rules): a job's assignee gets an empty list.
        if session.scalar(
            select(Task.id).where(Task.id == task.id, permissions.staff_task_filter(user))
        ):
            quality.settings_of(session, task.id)
    query = select(QualitySettings).where(
        QualitySettings.task_id.in_(permissions.staff_task_ids(user))
    )
    if task_id is not None:
        query = query.where(QualitySettings.task_id == task_id)
    query = query.order_by(QualitySettings.id)
    return paginate(request, session, query, lambda rows: [settings_json(r) for r in rows])


def _visible_settings(session: DbSession, user: CurrentUser, settings_id: int) -> QualitySettings:
    row = session.scalars(
        select(QualitySettings).where(
            QualitySettings.id == settings_id,
            QualitySettings.task_id.in_(permissions.staff_task_ids(user)),
        )
    ).first()
    if row is None:
        raise NotFound.of("Quality settings")
    return row


@router.get("/api/quality/settings/{settings_id}")
def get_settings(settings_id: int, session: DbSession, user: CurrentUser) -> dict[str, Any]:
    return settings_json(_visible_settings(session, user, settings_id))


@router.patch("/api/quality/settings/{settings_id}")
def update_settings(
    settings_id: int, body: QualitySettingsPatch, session: DbSession, user: CurrentUser
) -> dict[str, Any]:
    row = _visible_settings(session, user, settings_id)
    return settings_json(quality.update_settings(session, user, row, body))
