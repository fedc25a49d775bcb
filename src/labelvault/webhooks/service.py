"""Rules of webhooks: who may subscribe where (CVAT's webhooks table), validation, replies."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from labelvault.access import permissions
from labelvault.access.context import context_of
from labelvault.access.deps import visible_project
from labelvault.accounts.models import User
from labelvault.config import Settings
from labelvault.db.base import utcnow
from labelvault.errors import Forbidden, Invalid, NotFound
from labelvault.media.sources import SourceError, _allowed_targets, check_target
from labelvault.projects.models import Project
from labelvault.webhooks import events
from labelvault.webhooks.models import Webhook, WebhookDelivery
from labelvault.webhooks.schemas import WebhookWrite

TYPES = ("project", "organization")


def webhook_filter(user: User):  # type: ignore[no-untyped-def]
    """Staff of the organization see its webhooks; others the ones they or their project own."""
    owned_projects = select(Project.id).where(Project.owner_id == user.id)
    ownership = or_(Webhook.owner_id == user.id, Webhook.project_id.in_(owned_projects))
    return permissions.scoped(user, Webhook.organization_id, ownership)


def visible(session: Session, user: User, webhook_id: int) -> Webhook:
    row = session.scalars(select(Webhook).where(Webhook.id == webhook_id, webhook_filter(user)))
    found = row.first()
    if found is None:
        raise NotFound.of("Webhook")
    return found


def _may_manage(session: Session, user: User, webhook: Webhook) -> bool:
    if user.is_admin or webhook.owner_id == user.id:
        return True
    if permissions.is_org_staff(user, webhook.organization_id):
        return True
    project = session.get(Project, webhook.project_id) if webhook.project_id else None
    return project is not None and project.owner_id == user.id


def require_manager(session: Session, user: User, webhook: Webhook) -> None:
    if not _may_manage(session, user, webhook):
        raise Forbidden(
            "Only the webhook's owner, its project's owner or the organization's maintainers "
            "may do this."
        )


def _check_url(settings: Settings, url: str) -> str:
    url = (url or "").strip()
    try:
        check_target(url, _allowed_targets(settings))
    except SourceError as exc:
        raise Invalid({"target_url": [str(exc)]}) from None
    return url


def _check_events(kind: str, keys: list[str]) -> str:
    allowed = events.keys(kind)
    unknown = sorted(set(keys) - allowed)
    if unknown:
        raise Invalid({"events": [f"not events of a {kind} webhook: {', '.join(unknown)}"]})
    return ",".join(sorted(set(keys)))


def create(session: Session, settings: Settings, user: User, body: WebhookWrite) -> Webhook:
    kind = body.type or ""
    if kind not in TYPES:
        raise Invalid({"type": ["use project or organization"]})
    org = context_of(user).organization
    project_id = None
    if kind == "project":
        if body.project_id is None:
            raise Invalid({"project_id": ["a project webhook needs project_id"]})
        project = visible_project(session, user, body.project_id)
        allowed = (
            user.is_admin
            or project.owner_id == user.id
            or permissions.is_org_staff(user, project.organization_id)
        )
        permissions.require(allowed, "Only the project's owner may add webhooks to it.")
        project_id, org_id = project.id, project.organization_id
    else:
        if org is None:
            raise Invalid("An organization webhook needs an organization: send X-Organization.")
        permissions.require(
            user.is_admin or permissions.is_org_staff(user, org.id),
            "Only the organization's owner or maintainers may add its webhooks.",
        )
        org_id = org.id
    if (body.content_type or "application/json") != "application/json":
        raise Invalid({"content_type": ["only application/json is supported"]})
    row = Webhook(
        target_url=_check_url(settings, body.target_url or ""),
        description=body.description or "",
        type=kind,
        content_type="application/json",
        secret=body.secret or "",
        is_active=True if body.is_active is None else body.is_active,
        enable_ssl=True if body.enable_ssl is None else body.enable_ssl,
        owner_id=user.id,
        project_id=project_id,
        organization_id=org_id,
        events=_check_events(kind, body.events or []),
    )
    session.add(row)
    session.flush()
    return row


def update(
    session: Session, settings: Settings, user: User, row: Webhook, body: WebhookWrite
) -> None:
    require_manager(session, user, row)
    fields = body.model_fields_set
    if (
        "type" in fields
        and body.type != row.type
        or ("project_id" in fields and body.project_id != row.project_id)
    ):
        raise Invalid("type and project_id of a webhook cannot change; make a new one")
    if "target_url" in fields:
        row.target_url = _check_url(settings, body.target_url or "")
    for key in ("description", "secret", "is_active", "enable_ssl"):
        if key in fields and getattr(body, key) is not None:
            setattr(row, key, getattr(body, key))
    if "events" in fields:
        row.events = _check_events(row.type, body.events or [])
    row.updated_date = utcnow()


def last_deliveries(session: Session, ids: list[int]) -> dict[int, WebhookDelivery]:
    if not ids:
        return {}
    latest = (
        select(func.max(WebhookDelivery.id))
        .where(WebhookDelivery.webhook_id.in_(ids))
        .group_by(WebhookDelivery.webhook_id)
    )
    rows = session.scalars(select(WebhookDelivery).where(WebhookDelivery.id.in_(latest)))
    return {d.webhook_id: d for d in rows}


def webhook_json(
    row: Webhook, url: str, owner: dict | None, last: WebhookDelivery | None
) -> dict[str, Any]:
    return {
        "id": row.id,
        "url": url,
        "target_url": row.target_url,
        "description": row.description,
        "type": row.type,
        "content_type": row.content_type,
        "is_active": row.is_active,
        "enable_ssl": row.enable_ssl,
        "created_date": row.created_date,
        "updated_date": row.updated_date,
        "owner": owner,
        "project_id": row.project_id,
        "organization": row.organization_id,
        "events": [e for e in row.events.split(",") if e],
        "last_status": last.status_code if last else None,
        "last_delivery_date": last.updated_date if last else None,
    }


def delivery_json(row: WebhookDelivery) -> dict[str, Any]:
    return {
        "id": row.id,
        "webhook_id": row.webhook_id,
        "event": row.event,
        "status_code": row.status_code,
        "redelivery": row.redelivery,
        "attempt": row.attempt,
        "request_duration": row.request_duration,
        "created_date": row.created_date,
        "updated_date": row.updated_date,
        "changed_fields": row.changed_fields,
        "request": row.request,
        "response": row.response,
    }


def subscribed(
    session: Session, key: str, project_id: int | None, org_id: int | None
) -> list[Webhook]:
    """Active webhooks of the project or organization that listen to this event."""
    listens = or_(
        Webhook.events == key,
        Webhook.events.startswith(f"{key},"),
        Webhook.events.endswith(f",{key}"),
        Webhook.events.contains(f",{key},"),
    )
    scopes = []
    if org_id is not None:
        scopes.append(and_(Webhook.type == "organization", Webhook.organization_id == org_id))
    if project_id is not None and key in events.keys("project"):
        scopes.append(and_(Webhook.type == "project", Webhook.project_id == project_id))
    if not scopes:
        return []
    return list(
        session.scalars(select(Webhook).where(Webhook.is_active.is_(True), listens, or_(*scopes)))
    )
