"""Endpoints for /api/organizations, /api/memberships and /api/invitations."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from labelvault.access.context import context_of
from labelvault.access.deps import CurrentUser, DbSession
from labelvault.accounts.models import User
from labelvault.accounts.replies import basic_user, users_by_id
from labelvault.db.base import utcnow
from labelvault.errors import Invalid
from labelvault.http import apply_sort, base_url, paginate, settings_of
from labelvault.organizations import mail, service
from labelvault.organizations.models import Invitation, Membership, Organization
from labelvault.organizations.schemas import InvitationWrite, MembershipWrite, OrganizationWrite

router = APIRouter(tags=["organizations"])


def _org_json(request: Request, session: Session, orgs: list[Organization]) -> list[dict]:
    users = users_by_id(session, {o.owner_id for o in orgs})
    return [
        {
            "id": o.id,
            "slug": o.slug,
            "name": o.name,
            "description": o.description,
            "created_date": o.created_date,
            "updated_date": o.updated_date,
            "contact": o.contact or {},
            "owner": basic_user(request, users.get(o.owner_id)),
        }
        for o in orgs
    ]


@router.get("/api/organizations")
def list_organizations(
    request: Request,
    user: CurrentUser,
    session: DbSession,
    name: str | None = None,
    slug: str | None = None,
    owner: str | None = None,
    search: str | None = None,
    sort: str | None = None,
    id: int | None = None,
) -> dict[str, Any]:
    query = service.visible_organizations(user)
    if id is not None:
        query = query.where(Organization.id == id)
    if name:
        query = query.where(Organization.name == name)
    if slug:
        query = query.where(Organization.slug == slug)
    if owner:
        query = query.where(
            Organization.owner_id.in_(select(User.id).where(User.username == owner))
        )
    if search:
        query = query.where(
            or_(Organization.slug.ilike(f"%{search}%"), Organization.name.ilike(f"%{search}%"))
        )
    columns = {"id": Organization.id, "name": Organization.name, "slug": Organization.slug}
    query = apply_sort(
        query, sort, columns, Organization.id.desc() if not sort else Organization.id
    )
    return paginate(request, session, query, lambda rows: _org_json(request, session, list(rows)))


@router.post("/api/organizations", status_code=201)
def create_organization(
    body: OrganizationWrite, request: Request, user: CurrentUser, session: DbSession
) -> dict[str, Any]:
    org = service.create_organization(
        session, user, body.slug or "", body.name or "", body.description or "", body.contact or {}
    )
    return _org_json(request, session, [org])[0]


@router.get("/api/organizations/{org_id}")
def get_organization(
    org_id: int, request: Request, user: CurrentUser, session: DbSession
) -> dict[str, Any]:
    return _org_json(request, session, [service.visible_organization(session, user, org_id)])[0]


@router.patch("/api/organizations/{org_id}")
def update_organization(
    org_id: int, body: OrganizationWrite, request: Request, user: CurrentUser, session: DbSession
) -> dict[str, Any]:
    org = service.visible_organization(session, user, org_id)
    fields = {k: getattr(body, k) for k in body.model_fields_set}
    service.update_organization(session, user, org, fields)
    session.flush()
    return _org_json(request, session, [org])[0]


@router.delete("/api/organizations/{org_id}", status_code=204)
def delete_organization(org_id: int, user: CurrentUser, session: DbSession) -> Response:
    service.delete_organization(session, user, service.visible_organization(session, user, org_id))
    return Response(status_code=204)


# ---- memberships --------------------------------------------------------------------------


def _membership_json(request: Request, session: Session, rows: list[Membership]) -> list[dict]:
    users = users_by_id(session, {m.user_id for m in rows})
    keys = dict(
        session.execute(
            select(Invitation.membership_id, Invitation.key).where(
                Invitation.membership_id.in_([m.id for m in rows])
            )
        ).all()
    )
    return [
        {
            "id": m.id,
            "user": basic_user(request, users.get(m.user_id)),
            "organization": m.organization_id,
            "is_active": m.is_active,
            "joined_date": m.joined_date,
            "role": m.role,
            "invitation": keys.get(m.id),
        }
        for m in rows
    ]


@router.get("/api/memberships")
def list_memberships(
    request: Request,
    user: CurrentUser,
    session: DbSession,
    role: str | None = None,
    search: str | None = None,
    sort: str | None = None,
    id: int | None = None,
) -> dict[str, Any]:
    query = service.membership_filter(user, context_of(user).org_id)
    username = request.query_params.get("user")
    if username or search:
        names = select(User.id).where(
            User.username == username if username else User.username.ilike(f"%{search}%")
        )
        query = query.where(Membership.user_id.in_(names))
    if role:
        query = query.where(Membership.role == role)
    if id is not None:
        query = query.where(Membership.id == id)
    columns = {"id": Membership.id, "role": Membership.role, "user": Membership.user_id}
    query = apply_sort(query, sort, columns, Membership.id.desc() if not sort else Membership.id)
    return paginate(
        request, session, query, lambda rows: _membership_json(request, session, list(rows))
    )


@router.get("/api/memberships/{membership_id}")
def get_membership(
    membership_id: int, request: Request, user: CurrentUser, session: DbSession
) -> dict[str, Any]:
    row = service.visible_membership(session, user, membership_id)
    return _membership_json(request, session, [row])[0]


@router.patch("/api/memberships/{membership_id}")
def update_membership(
    membership_id: int,
    body: MembershipWrite,
    request: Request,
    user: CurrentUser,
    session: DbSession,
) -> dict[str, Any]:
    row = service.visible_membership(session, user, membership_id)
    service.change_role(session, user, row, body.role)
    session.flush()
    return _membership_json(request, session, [row])[0]


@router.delete("/api/memberships/{membership_id}", status_code=204)
def delete_membership(membership_id: int, user: CurrentUser, session: DbSession) -> Response:
    service.remove_member(session, user, service.visible_membership(session, user, membership_id))
    return Response(status_code=204)


# ---- invitations --------------------------------------------------------------------------


def _invitation_json(request: Request, session: Session, rows: list[Invitation]) -> list[dict]:
    memberships = {
        m.id: m
        for m in session.scalars(
            select(Membership).where(Membership.id.in_([i.membership_id for i in rows]))
        )
    }
    orgs = {
        o.id: o
        for o in session.scalars(
            select(Organization).where(
                Organization.id.in_({m.organization_id for m in memberships.values()})
            )
        )
    }
    users = users_by_id(
        session, {i.owner_id for i in rows} | {m.user_id for m in memberships.values()}
    )
    replies = []
    for i in rows:
        m = memberships[i.membership_id]
        org = orgs[m.organization_id]
        replies.append(
            {
                "key": i.key,
                "created_date": i.created_date,
                "owner": basic_user(request, users.get(i.owner_id)),
                "role": m.role,
                "user": basic_user(request, users.get(m.user_id)),
                "organization": org.id,
                "expired": service.expired(i),
                "accepted": m.is_active,
                "organization_info": {"id": org.id, "slug": org.slug},
            }
        )
    return replies


def _send(request: Request, session: Session, user: User, invitation: Invitation) -> None:
    """Email the invitation when SMTP is configured; the link works either way."""
    settings = settings_of(request)
    if not mail.enabled(settings):
        return
    membership = session.get(Membership, invitation.membership_id)
    invitee = session.get(User, membership.user_id)
    org = session.get(Organization, membership.organization_id)
    link = mail.invitation_link(base_url(request), invitation.key)
    mail.send_invitation(settings, invitee.email, user.username, org.slug, membership.role, link)
    invitation.sent_date = utcnow()


@router.get("/api/invitations")
def list_invitations(
    request: Request,
    user: CurrentUser,
    session: DbSession,
    owner: str | None = None,
    user_id: int | None = None,
    accepted: str | None = None,
    sort: str | None = None,
) -> dict[str, Any]:
    query = service.invitation_filter(user, context_of(user).org_id)
    if owner:
        query = query.where(Invitation.owner_id.in_(select(User.id).where(User.username == owner)))
    if user_id is not None:
        query = query.where(Membership.user_id == user_id)
    if accepted is not None and accepted != "":
        query = query.where(Membership.is_active.is_(accepted.lower() in ("1", "true")))
    columns = {"created_date": Invitation.created_date, "owner": Invitation.owner_id}
    query = apply_sort(query, sort, columns, Invitation.created_date.desc())
    return paginate(
        request, session, query, lambda rows: _invitation_json(request, session, list(rows))
    )


@router.post("/api/invitations", status_code=201)
def create_invitation(
    body: InvitationWrite, request: Request, user: CurrentUser, session: DbSession
) -> dict[str, Any]:
    org = context_of(user).organization
    if org is None:
        raise Invalid(
            "Choose the organization to invite to: send X-Organization: <slug> or ?org=<slug>."
        )
    invitation = service.create_invitation(session, user, org, body.email, body.role)
    _send(request, session, user, invitation)
    session.flush()
    return _invitation_json(request, session, [invitation])[0]


@router.get("/api/invitations/{key}")
def get_invitation(
    key: str, request: Request, user: CurrentUser, session: DbSession
) -> dict[str, Any]:
    return _invitation_json(request, session, [service.visible_invitation(session, user, key)])[0]


@router.post("/api/invitations/{key}/accept")
def accept_invitation(key: str, user: CurrentUser, session: DbSession) -> dict[str, Any]:
    org = service.accept(session, user, service.visible_invitation(session, user, key))
    return {"organization_slug": org.slug}


@router.post("/api/invitations/{key}/decline", status_code=204)
def decline_invitation(key: str, user: CurrentUser, session: DbSession) -> Response:
    service.decline(session, user, service.visible_invitation(session, user, key))
    return Response(status_code=204)


@router.post("/api/invitations/{key}/resend", status_code=204)
def resend_invitation(
    key: str, request: Request, user: CurrentUser, session: DbSession
) -> Response:
    invitation = service.visible_invitation(session, user, key)
    service.require_inviter(session, user, invitation, "resend invitations")
    if not mail.enabled(settings_of(request)):
        raise Invalid(
            "No SMTP server is configured (LABELVAULT_SMTP_HOST); share the invitation "
            "link instead."
        )
    _send(request, session, user, invitation)
    return Response(status_code=204)


@router.delete("/api/invitations/{key}", status_code=204)
def delete_invitation(key: str, user: CurrentUser, session: DbSession) -> Response:
    service.delete_invitation(session, user, service.visible_invitation(session, user, key))
    return Response(status_code=204)
