"""Rules of organizations: who may create, change, invite, accept, leave (CVAT's tables)."""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from labelvault.accounts.models import User
from labelvault.db.base import utcnow
from labelvault.errors import Conflict, Forbidden, Invalid, NotFound
from labelvault.organizations.models import ROLE_RANK, Invitation, Membership, Organization

SLUG = re.compile(r"^[-a-zA-Z0-9_]{1,16}$")
INVITATION_EXPIRY = timedelta(days=7)  # CVAT's ORG_INVITATION_EXPIRY_DAYS


def at_least(role: str | None, minimum: str) -> bool:
    """True when `role` may do what `minimum` may (owner > maintainer > supervisor > worker)."""
    return role is not None and ROLE_RANK[role] <= ROLE_RANK[minimum]


def active_roles(session: Session, user_id: int) -> dict[int, str]:
    """The user's role in each organization they are an active member of."""
    rows = session.execute(
        select(Membership.organization_id, Membership.role).where(
            Membership.user_id == user_id, Membership.is_active.is_(True)
        )
    )
    return {org_id: role for org_id, role in rows}


def by_slug(session: Session, slug: str) -> Organization:
    org = session.scalars(select(Organization).where(Organization.slug == slug)).first()
    if org is None:
        raise NotFound(f"Organization '{slug}' not found")
    return org


def by_id(session: Session, org_id: int) -> Organization:
    org = session.get(Organization, org_id)
    if org is None:
        raise NotFound.of("Organization")
    return org


def _role(session: Session, user: User, org_id: int) -> str | None:
    return active_roles(session, user.id).get(org_id)


def require_role(session: Session, user: User, org_id: int, minimum: str, what: str) -> None:
    if user.is_admin or at_least(_role(session, user, org_id), minimum):
        return
    raise Forbidden(f"Only an organization {minimum} or higher may {what}.")


# ---- organizations ------------------------------------------------------------------------


def visible_organizations(user: User):  # type: ignore[no-untyped-def]
    query = select(Organization)
    if not user.is_admin:
        mine = select(Membership.organization_id).where(
            Membership.user_id == user.id, Membership.is_active.is_(True)
        )
        query = query.where(Organization.id.in_(mine))
    return query


def visible_organization(session: Session, user: User, org_id: int) -> Organization:
    org = session.scalars(visible_organizations(user).where(Organization.id == org_id)).first()
    if org is None:
        raise NotFound.of("Organization")
    return org


def _check_slug(session: Session, slug: str, org_id: int | None = None) -> str:
    slug = (slug or "").strip()
    if not SLUG.match(slug):
        raise Invalid({"slug": ["use 1-16 letters, digits, '-' or '_'"]})
    taken = session.scalars(
        select(Organization.id).where(func.lower(Organization.slug) == slug.lower())
    ).first()
    if taken is not None and taken != org_id:
        raise Conflict({"slug": [f"an organization '{slug}' exists already"]})
    return slug


def create_organization(
    session: Session, user: User, slug: str, name: str, description: str, contact: dict
) -> Organization:
    if user.role == "worker":
        raise Forbidden("Workers cannot create organizations; ask an admin for the user role.")
    org = Organization(
        slug=_check_slug(session, slug),
        name=(name or "").strip() or slug.strip(),
        description=description or "",
        contact=contact or {},
        owner_id=user.id,
    )
    session.add(org)
    session.flush()
    session.add(
        Membership(
            user_id=user.id,
            organization_id=org.id,
            is_active=True,
            joined_date=org.created_date,
            role="owner",
        )
    )
    session.flush()
    return org


def update_organization(session: Session, user: User, org: Organization, fields: dict) -> None:
    require_role(session, user, org.id, "maintainer", "change the organization")
    if "slug" in fields:
        org.slug = _check_slug(session, fields["slug"], org.id)
    for key in ("name", "description", "contact"):
        if key in fields and fields[key] is not None:
            setattr(org, key, fields[key])
    org.updated_date = utcnow()


def delete_organization(session: Session, user: User, org: Organization) -> None:
    require_role(session, user, org.id, "owner", "delete the organization")
    session.delete(org)


# ---- memberships --------------------------------------------------------------------------


def membership_filter(user: User, org_id: int | None):  # type: ignore[no-untyped-def]
    """Members see the memberships of their organizations; others only their own."""
    query = select(Membership)
    if org_id is not None:
        query = query.where(Membership.organization_id == org_id)
    if not user.is_admin:
        mine = select(Membership.organization_id).where(
            Membership.user_id == user.id, Membership.is_active.is_(True)
        )
        query = query.where(
            or_(Membership.user_id == user.id, Membership.organization_id.in_(mine))
        )
    return query


def visible_membership(session: Session, user: User, membership_id: int) -> Membership:
    row = session.scalars(
        membership_filter(user, None).where(Membership.id == membership_id)
    ).first()
    if row is None:
        raise NotFound.of("Membership")
    return row


def _may_manage_member(session: Session, user: User, target: Membership) -> bool:
    """The owner manages everyone but the owner; a maintainer manages supervisors and workers."""
    if target.role == "owner":
        return False
    if user.is_admin:
        return True
    mine = _role(session, user, target.organization_id)
    if mine == "owner":
        return True
    return mine == "maintainer" and target.role in ("supervisor", "worker")


def change_role(session: Session, user: User, target: Membership, role: str) -> None:
    if role not in ROLE_RANK or role == "owner":
        raise Invalid({"role": ["use maintainer, supervisor or worker"]})
    if not _may_manage_member(session, user, target):
        raise Forbidden("You may not change this member's role.")
    if role == "maintainer" and not (
        user.is_admin or _role(session, user, target.organization_id) == "owner"
    ):
        raise Forbidden("Only the organization's owner may make maintainers.")
    target.role = role


def remove_member(session: Session, user: User, target: Membership) -> None:
    leaving = target.user_id == user.id
    if target.role == "owner":
        raise Forbidden("The owner cannot leave the organization; delete it instead.")
    if not leaving and not _may_manage_member(session, user, target):
        raise Forbidden("You may not remove this member.")
    session.delete(target)


def invitation_of(session: Session, membership_id: int) -> Invitation | None:
    return session.scalars(
        select(Invitation).where(Invitation.membership_id == membership_id)
    ).first()


# ---- invitations --------------------------------------------------------------------------


def invitation_filter(user: User, org_id: int | None):  # type: ignore[no-untyped-def]
    """The invitee and the inviter see an invitation; so do the organization's maintainers."""
    query = select(Invitation).join(Membership, Membership.id == Invitation.membership_id)
    if org_id is not None:
        query = query.where(Membership.organization_id == org_id)
    if not user.is_admin:
        staff = select(Membership.organization_id).where(
            Membership.user_id == user.id,
            Membership.is_active.is_(True),
            Membership.role.in_(("owner", "maintainer")),
        )
        query = query.where(
            or_(
                Membership.user_id == user.id,
                Invitation.owner_id == user.id,
                Membership.organization_id.in_(staff),
            )
        )
    return query


def visible_invitation(session: Session, user: User, key: str) -> Invitation:
    row = session.scalars(invitation_filter(user, None).where(Invitation.key == key)).first()
    if row is None:
        raise NotFound("This invitation does not exist. Please contact organization owner.")
    return row


def _invitee(session: Session, email: str) -> User:
    """The user with this email; a new account without password when nobody has it yet.

    As CVAT: the person invited sets a password through the admin or their sign-in later;
    until then the invitation link shows who is invited.
    """
    email = (email or "").strip().lower()
    if "@" not in email or len(email) > 254:
        raise Invalid({"email": ["enter a valid email address"]})
    user = session.scalars(select(User).where(func.lower(User.email) == email)).first()
    if user is None:
        user = User(username=email[:150], email=email, role="user")
        session.add(user)
        session.flush()
    return user


def create_invitation(
    session: Session, user: User, org: Organization, email: str, role: str
) -> Invitation:
    if role not in ROLE_RANK or role == "owner":
        raise Invalid({"role": ["use maintainer, supervisor or worker"]})
    minimum = "owner" if role == "maintainer" else "maintainer"
    require_role(session, user, org.id, minimum, f"invite a {role}")
    invitee = _invitee(session, email)
    exists = session.scalars(
        select(Membership).where(
            Membership.user_id == invitee.id, Membership.organization_id == org.id
        )
    ).first()
    if exists is not None:
        raise Invalid("The user is a member of the organization already.")
    membership = Membership(user_id=invitee.id, organization_id=org.id, role=role)
    session.add(membership)
    session.flush()
    invitation = Invitation(
        key=secrets.token_urlsafe(48)[:64], owner_id=user.id, membership_id=membership.id
    )
    session.add(invitation)
    session.flush()
    return invitation


def expired(invitation: Invitation, now: datetime | None = None) -> bool | None:
    if invitation.sent_date is None:
        return None
    sent = invitation.sent_date
    if sent.tzinfo is None:
        sent = sent.replace(tzinfo=(now or utcnow()).tzinfo)
    return sent + INVITATION_EXPIRY <= (now or utcnow())


def _require_invitee(user: User, membership: Membership) -> None:
    if not user.is_admin and membership.user_id != user.id:
        raise Forbidden("Only the invited user may answer this invitation.")


def accept(session: Session, user: User, invitation: Invitation) -> Organization:
    membership = session.get(Membership, invitation.membership_id)
    _require_invitee(user, membership)
    if expired(invitation):
        raise Invalid("Your invitation is expired. Please contact organization owner to renew it.")
    if membership.is_active:
        raise Invalid("Your invitation is already accepted.")
    membership.is_active = True
    membership.joined_date = utcnow()
    return session.get(Organization, membership.organization_id)


def decline(session: Session, user: User, invitation: Invitation) -> None:
    membership = session.get(Membership, invitation.membership_id)
    _require_invitee(user, membership)
    if membership.is_active:
        raise Invalid("This invitation is accepted already; leave the organization instead.")
    session.execute(delete(Invitation).where(Invitation.key == invitation.key))
    session.delete(membership)


def require_inviter(session: Session, user: User, invitation: Invitation, what: str) -> None:
    """The one who invited, or the organization's maintainers, may resend or delete."""
    if invitation.owner_id == user.id:
        return
    membership = session.get(Membership, invitation.membership_id)
    require_role(session, user, membership.organization_id, "maintainer", what)


def delete_invitation(session: Session, user: User, invitation: Invitation) -> None:
    require_inviter(session, user, invitation, "delete invitations")
    membership = session.get(Membership, invitation.membership_id)
    session.execute(delete(Invitation).where(Invitation.key == invitation.key))
    if not membership.is_active:
        session.delete(membership)
