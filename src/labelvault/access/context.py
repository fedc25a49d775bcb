"""The organization context of a request: sandbox, one organization, or unspecified.

CVAT's rules: `X-Organization: slug`, `?org=slug` or `?org_id=N` select an organization;
an empty `org` (or header) selects the personal sandbox; nothing at all leaves the context
unspecified, where a user sees what they own or are assigned to anywhere plus everything
of the organizations they maintain. The context rides on the request's User object, so
every rule that receives the user applies it.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request
from sqlalchemy.orm import Session, object_session

from labelvault.accounts.models import User
from labelvault.errors import Forbidden, Invalid
from labelvault.organizations import service as orgs
from labelvault.organizations.models import Organization

_CONTEXT = "_lv_org_context"
# session.info key: who is making this session's changes (the webhooks' "sender").
ACTING_USER = "labelvault.acting_user"
_ROLES = "_lv_org_roles"


@dataclass(frozen=True)
class OrgContext:
    selected: bool = False
    organization: Organization | None = None
    role: str | None = None

    @property
    def org_id(self) -> int | None:
        return self.organization.id if self.organization is not None else None


UNSPECIFIED = OrgContext()


def context_of(user: User) -> OrgContext:
    return getattr(user, _CONTEXT, UNSPECIFIED)


def roles_of(user: User) -> dict[int, str]:
    """{organization id: role} of the user's active memberships, read once per request."""
    roles = getattr(user, _ROLES, None)
    if roles is None:
        session = object_session(user)
        roles = orgs.active_roles(session, user.id) if session is not None else {}
        setattr(user, _ROLES, roles)
    return roles


def role_in(user: User, org_id: int | None) -> str | None:
    return roles_of(user).get(org_id) if org_id is not None else None


def selector(request: Request) -> tuple[str | None, str | None]:
    """(slug or "" for the sandbox or None, org_id or None) as CVAT's middleware reads them."""
    query = request.query_params
    slug = query.get("org")
    header = request.headers.get("x-organization")
    org_id = query.get("org_id") or None
    if org_id is not None and (slug or header):
        raise Invalid(
            'You cannot specify "org_id" query parameter with "org" query parameter or '
            '"X-Organization" HTTP header at the same time.'
        )
    if slug is not None and header is not None and slug != header:
        raise Invalid(
            'You cannot specify "org" query parameter and "X-Organization" HTTP header with '
            "different values."
        )
    return (slug if slug is not None else header), org_id


def enter(session: Session, user: User, slug: str | None, org_id: str | None) -> OrgContext:
    """Resolve the selector for this user and attach the context to them."""
    if org_id is not None:
        try:
            organization = orgs.by_id(session, int(org_id))
        except ValueError:
            raise Invalid("org_id must be an integer") from None
    elif slug:
        organization = orgs.by_slug(session, slug.strip())
    else:
        context = OrgContext(selected=slug is not None)
        setattr(user, _CONTEXT, context)
        return context
    role = role_in(user, organization.id)
    if role is None and not user.is_admin:
        raise Forbidden(f"You are not a member of the organization '{organization.slug}'.")
    context = OrgContext(selected=True, organization=organization, role=role)
    setattr(user, _CONTEXT, context)
    return context


def enter_organization(user: User, organization: Organization | None) -> None:
    """Give code that acts for a user outside a request (a restore, a test) a context."""
    setattr(
        user,
        _CONTEXT,
        OrgContext(
            selected=True,
            organization=organization,
            role=role_in(user, organization.id) if organization else None,
        ),
    )
