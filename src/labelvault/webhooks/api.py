"""Endpoints for /api/webhooks: subscriptions, their deliveries, redelivery, ping, events."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from labelvault.access.deps import CurrentUser, DbSession
from labelvault.accounts.replies import basic_user, users_by_id
from labelvault.errors import Invalid, NotFound
from labelvault.http import absolute, apply_sort, paginate, settings_of
from labelvault.webhooks import dispatch, events, service
from labelvault.webhooks.models import Webhook, WebhookDelivery
from labelvault.webhooks.schemas import WebhookWrite

router = APIRouter(tags=["webhooks"])


def _runtime(request: Request) -> dispatch.Runtime:
    return request.app.state.webhooks


def _json(request: Request, session: Session, rows: list[Webhook]) -> list[dict[str, Any]]:
    users = users_by_id(session, {r.owner_id for r in rows})
    last = service.last_deliveries(session, [r.id for r in rows])
    return [
        service.webhook_json(
            r,
            absolute(request, f"/api/webhooks/{r.id}"),
            basic_user(request, users.get(r.owner_id)),
            last.get(r.id),
        )
        for r in rows
    ]


@router.get("/api/webhooks/events")
def webhook_events(user: CurrentUser, type: str = "all") -> dict[str, Any]:
    if type not in events.BY_TYPE:
        raise Invalid("Incorrect value of type parameter: use all, project or organization")
    return events.catalog(type)


@router.get("/api/webhooks")
def list_webhooks(
    request: Request,
    user: CurrentUser,
    session: DbSession,
    type: str | None = None,
    project_id: int | None = None,
    target_url: str | None = None,
    sort: str | None = None,
) -> dict[str, Any]:
    query = select(Webhook).where(service.webhook_filter(user))
    if type:
        query = query.where(Webhook.type == type)
    if project_id is not None:
        query = query.where(Webhook.project_id == project_id)
    if target_url:
        query = query.where(Webhook.target_url == target_url)
    columns = {"id": Webhook.id, "type": Webhook.type, "target_url": Webhook.target_url}
    query = apply_sort(query, sort, columns, Webhook.id.desc() if not sort else Webhook.id)
    return paginate(request, session, query, lambda rows: _json(request, session, list(rows)))


@router.post("/api/webhooks", status_code=201)
def create_webhook(
    body: WebhookWrite, request: Request, user: CurrentUser, session: DbSession
) -> dict[str, Any]:
    row = service.create(session, settings_of(request), user, body)
    dispatch.changed()
    return _json(request, session, [row])[0]


@router.get("/api/webhooks/{webhook_id}")
def get_webhook(
    webhook_id: int, request: Request, user: CurrentUser, session: DbSession
) -> dict[str, Any]:
    return _json(request, session, [service.visible(session, user, webhook_id)])[0]


@router.patch("/api/webhooks/{webhook_id}")
def update_webhook(
    webhook_id: int, body: WebhookWrite, request: Request, user: CurrentUser, session: DbSession
) -> dict[str, Any]:
    row = service.visible(session, user, webhook_id)
    service.update(session, settings_of(request), user, row, body)
    session.flush()
    dispatch.changed()
    return _json(request, session, [row])[0]


@router.delete("/api/webhooks/{webhook_id}", status_code=204)
def delete_webhook(webhook_id: int, user: CurrentUser, session: DbSession) -> Response:
    row = service.visible(session, user, webhook_id)
    service.require_manager(session, user, row)
    session.delete(row)
    dispatch.changed()
    return Response(status_code=204)


@router.get("/api/webhooks/{webhook_id}/deliveries")
def list_deliveries(
    webhook_id: int, request: Request, user: CurrentUser, session: DbSession
) -> dict[str, Any]:
    service.visible(session, user, webhook_id)
    query = (
        select(WebhookDelivery)
        .where(WebhookDelivery.webhook_id == webhook_id)
        .order_by(WebhookDelivery.id.desc())
    )
    return paginate(request, session, query, lambda rows: [service.delivery_json(d) for d in rows])


def _delivery(session: Session, webhook_id: int, delivery_id: int) -> WebhookDelivery:
    row = session.get(WebhookDelivery, delivery_id)
    if row is None or row.webhook_id != webhook_id:
        raise NotFound.of("Delivery")
    return row


@router.get("/api/webhooks/{webhook_id}/deliveries/{delivery_id}")
def get_delivery(
    webhook_id: int, delivery_id: int, user: CurrentUser, session: DbSession
) -> dict[str, Any]:
    service.visible(session, user, webhook_id)
    return service.delivery_json(_delivery(session, webhook_id, delivery_id))


@router.post("/api/webhooks/{webhook_id}/deliveries/{delivery_id}/redelivery")
def redeliver(
    webhook_id: int, delivery_id: int, request: Request, user: CurrentUser, session: DbSession
) -> dict[str, Any]:
    hook = service.visible(session, user, webhook_id)
    service.require_manager(session, user, hook)
    _runtime(request).redeliver(session, hook, _delivery(session, webhook_id, delivery_id))
    return {}


@router.post("/api/webhooks/{webhook_id}/ping")
def ping(
    webhook_id: int, request: Request, user: CurrentUser, session: DbSession
) -> dict[str, Any]:
    """Sent at once (CVAT answers with the delivery), and never retried."""
    hook = service.visible(session, user, webhook_id)
    service.require_manager(session, user, hook)
    body = _json(request, session, [hook])[0]
    payload = {"event": "ping", "webhook": body, "sender": basic_user(request, user)}
    return service.delivery_json(_runtime(request).ping(session, hook, payload))
