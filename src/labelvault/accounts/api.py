"""Endpoints for login/logout, users, personal access tokens and user groups."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import or_, select, true
from sqlalchemy.orm import Session as DbSession

from labelvault import filters
from labelvault.access.context import context_of
from labelvault.accounts import service, throttle
from labelvault.accounts.auth import (
    CSRF_COOKIE,
    SESSION_COOKIE,
    admin_user,
    current_user,
    require_csrf,
)
from labelvault.accounts.models import AccessToken, Group, User, UserGroup
from labelvault.accounts.replies import basic_user
from labelvault.accounts.schemas import (
    AccessTokenCreated,
    AccessTokenPatch,
    AccessTokenRead,
    AccessTokenWrite,
    GroupRead,
    GroupWrite,
    LoginRequest,
    PasswordChange,
    TokenOut,
    UserCreate,
    UserRead,
    UserUpdate,
)
from labelvault.db.base import utcnow
from labelvault.errors import Forbidden, Invalid, NotFound
from labelvault.http import apply_sort, db_session, paginate, settings_of
from labelvault.observability import audit
from labelvault.observability.audit import address_of
from labelvault.organizations.models import Membership

router = APIRouter(tags=["auth", "users"])


def user_read(request: Request, user: User, groups: list[str]) -> dict[str, Any]:
    return {
        **basic_user(request, user),  # type: ignore[dict-item]
        "email": user.email,
        "groups": [user.role],
        "user_groups": groups,
        "is_staff": user.is_admin,
        "is_superuser": user.is_admin,
        "is_active": user.is_active,
        "last_login": user.last_login,
        "date_joined": user.date_joined,
        "has_analytics_access": False,
    }


def _set_cookie(response: Response, name: str, value: str, max_age: int, http_only: bool) -> None:
    # Every cookie ends with a name=value attribute (SameSite=Lax): the SDK joins
    # Set-Cookie headers with ", " and SimpleCookie drops everything after a bare flag.
    response.set_cookie(
        name, value, max_age=max_age, expires=max_age, path="/", httponly=http_only, samesite="lax"
    )


@router.post("/api/auth/login", response_model=TokenOut)
def login(
    body: LoginRequest,
    request: Request,
    response: Response,
    session: DbSession = Depends(db_session),
) -> dict[str, str]:
    username = body.username
    if not username and body.email:
        found = session.scalars(select(User).where(User.email == body.email)).first()
        username = found.username if found else None
    user = throttle.login(
        session,
        request.app.state.db.sessionmaker,
        settings_of(request),
        username or body.email or "",
        body.password,
        address_of(request),
    )
    if user is None:
        raise Invalid({"non_field_errors": ["Unable to log in with provided credentials."]})
    max_age = settings_of(request).session_age_seconds
    result = service.open_session(session, user, max_age)
    _set_cookie(response, CSRF_COOKIE, result.csrf_token, max_age, http_only=False)
    _set_cookie(response, SESSION_COOKIE, result.key, max_age, http_only=True)
    return {"key": result.key}


@router.post("/api/auth/logout")
def logout(
    request: Request, response: Response, session: DbSession = Depends(db_session)
) -> dict[str, str]:
    key = request.cookies.get(SESSION_COOKIE)
    if key:
        resolved = service.resolve_session(session, key)
        if resolved is not None:
            # Else any page could sign a visitor out with a cross-site form.
            require_csrf(request, resolved[1])
            audit.record(session, "logout", user=resolved[0], address=address_of(request))
        service.close_session(session, key)
    header = request.headers.get("authorization", "")
    if header.lower().startswith("token "):
        resolved = service.resolve_session(session, header[6:].strip())
        if resolved is not None:
            audit.record(session, "logout", user=resolved[0], address=address_of(request))
        service.close_session(session, header[6:].strip())
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")
    return {"detail": "Successfully logged out."}


@router.post("/api/auth/password/change")
def change_password(
    body: PasswordChange,
    user: User = Depends(current_user),
    session: DbSession = Depends(db_session),
) -> dict[str, str]:
    service.change_password(
        session, user, body.old_password, body.new_password1, body.new_password2
    )
    return {"detail": "New password has been saved."}


# ---- users -------------------------------------------------------------------------------

USER_SORT = {
    "id": User.id,
    "username": User.username,
    "first_name": User.first_name,
    "last_name": User.last_name,
    "email": User.email,
    "date_joined": User.date_joined,
}


@router.get("/api/users/self", response_model=UserRead)
def users_self(
    request: Request, user: User = Depends(current_user), session: DbSession = Depends(db_session)
) -> dict[str, Any]:
    return user_read(request, user, service.groups_of(session, [user.id])[user.id])


# The terms CVAT's UserViewSet filters on.
USER_FILTERS = {
    "id": filters.Field(User.id),
    "username": filters.Field(User.username),
    "first_name": filters.Field(User.first_name),
    "last_name": filters.Field(User.last_name),
    "is_active": filters.Field(User.is_active),
}


@router.get("/api/users")
def list_users(
    request: Request,
    user: User = Depends(current_user),
    session: DbSession = Depends(db_session),
    search: str | None = None,
    username: str | None = None,
    sort: str | None = None,
    is_active: bool | None = None,
    role: str | None = None,
) -> dict[str, Any]:
    query = select(User)
    organization = context_of(user).organization
    if organization is not None:
        # In an organization the list is its members (CVAT's users rule), for admins too.
        members = select(Membership.user_id).where(
            Membership.organization_id == organization.id, Membership.is_active.is_(True)
        )
        query = query.where(User.id.in_(members))
    if search:
        like = f"%{search}%"
        query = query.where(
            or_(
                User.username.ilike(like),
                User.first_name.ilike(like),
                User.last_name.ilike(like),
                User.email.ilike(like),
            )
        )
    if username:
        query = query.where(User.username == username)
    if is_active is not None:
        query = query.where(User.is_active == is_active)
    if role:
        query = query.where(User.role == role)
    query = filters.apply(query, request.query_params, USER_FILTERS)
    query = apply_sort(query, sort, USER_SORT, User.id)

    def serialize(users: list[User]) -> list[dict[str, Any]]:
        groups = service.groups_of(session, [u.id for u in users])
        if user.is_admin:
            return [user_read(request, u, groups[u.id]) for u in users]
        # Everyone may pick assignees, but only admins see e-mails and roles of others.
        return [
            user_read(request, u, groups[u.id])
            if u.id == user.id
            else basic_user(request, u) | {"groups": [], "is_active": u.is_active}
            for u in users
        ]

    return paginate(request, session, query, serialize)


@router.post("/api/users", status_code=201, response_model=UserRead)
def create_user(
    body: UserCreate,
    request: Request,
    me: User = Depends(admin_user),
    session: DbSession = Depends(db_session),
) -> dict[str, Any]:
    user = service.create_user(
        session,
        body.username,
        body.password,
        body.role,
        body.email,
        body.first_name,
        body.last_name,
    )
    audit.record(
        session,
        "user.created",
        user=me,
        address=address_of(request),
        target=f"user {user.id} {user.username}",
        detail=f"role={user.role}",
    )
    return user_read(request, user, [])


def _user_or_404(session: DbSession, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound.of("User")
    return user


@router.get("/api/users/{user_id}")
def get_user(
    user_id: int,
    request: Request,
    me: User = Depends(current_user),
    session: DbSession = Depends(db_session),
) -> dict[str, Any]:
    user = _user_or_404(session, user_id)
    if me.is_admin or me.id == user.id:
        return user_read(request, user, service.groups_of(session, [user.id])[user.id])
    return basic_user(request, user) | {"groups": []}  # type: ignore[operator]


@router.patch("/api/users/{user_id}", response_model=UserRead)
def update_user(
    user_id: int,
    body: UserUpdate,
    request: Request,
    me: User = Depends(current_user),
    session: DbSession = Depends(db_session),
) -> dict[str, Any]:
    user = _user_or_404(session, user_id)
    if not me.is_admin and me.id != user.id:
        raise Forbidden("You may only change your own account.")
    if not me.is_admin and (body.role is not None or body.is_active is not None):
        raise Forbidden("Only an admin may change roles or deactivate users.")
    for field in ("email", "first_name", "last_name", "is_active"):
        value = getattr(body, field)
        if value is not None:
            setattr(user, field, value)
    if body.role is not None and body.role != user.role:
        service.validate_role(body.role)
        audit.record(
            session,
            "user.role_changed",
            user=me,
            address=address_of(request),
            target=f"user {user.id} {user.username}",
            detail=f"{user.role} -> {body.role}",
        )
        user.role = body.role
    if body.password is not None:
        if not me.is_admin:
            raise Forbidden("Use /api/auth/password/change to change your own password.")
        service.set_password(session, user, body.password)
    return user_read(request, user, service.groups_of(session, [user.id])[user.id])


@router.delete("/api/users/{user_id}", status_code=204)
def delete_user(
    user_id: int,
    request: Request,
    me: User = Depends(admin_user),
    session: DbSession = Depends(db_session),
) -> Response:
    user = _user_or_404(session, user_id)
    if user.id == me.id:
        raise Invalid("You cannot delete your own account.")
    audit.record(
        session,
        "user.deleted",
        user=me,
        address=address_of(request),
        target=f"user {user.id} {user.username}",
    )
    service.delete_user(session, user)
    return Response(status_code=204)


# ---- personal access tokens --------------------------------------------------------------


def token_read(request: Request, token: AccessToken, owner: User) -> dict[str, Any]:
    return {
        "id": token.id,
        "name": token.name,
        "created_date": token.created_date,
        "updated_date": token.updated_date,
        "expiry_date": token.expiry_date,
        "last_used_date": token.last_used_date,
        "read_only": token.read_only,
        "owner": basic_user(request, owner),
    }


@router.get("/api/auth/access_tokens/self", response_model=AccessTokenRead)
def token_self(
    request: Request, user: User = Depends(current_user), session: DbSession = Depends(db_session)
) -> dict[str, Any]:
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("bearer "):
        raise Invalid("This request was not authenticated with an access token.")
    found = service.resolve_token(session, header[7:].strip())
    assert found is not None  # current_user already resolved it
    return token_read(request, found[1], user)


@router.get("/api/auth/access_tokens")
def list_tokens(
    request: Request, user: User = Depends(current_user), session: DbSession = Depends(db_session)
) -> dict[str, Any]:
    query = select(AccessToken).where(AccessToken.user_id == user.id).order_by(AccessToken.id)
    return paginate(
        request, session, query, lambda rows: [token_read(request, t, user) for t in rows]
    )


@router.post("/api/auth/access_tokens", status_code=201, response_model=AccessTokenCreated)
def create_token(
    body: AccessTokenWrite,
    request: Request,
    user: User = Depends(current_user),
    session: DbSession = Depends(db_session),
) -> dict[str, Any]:
    _check_expiry(body.expiry_date)
    token, raw = service.create_token(session, user, body.name, body.expiry_date, body.read_only)
    audit.record(
        session,
        "token.created",
        user=user,
        address=address_of(request),
        target=f"token {token.id} {token.name}",
        detail="read-only" if token.read_only else "",
    )
    return token_read(request, token, user) | {"value": raw}


def _check_expiry(expiry: datetime | None) -> None:
    if expiry is not None and expiry.timestamp() < utcnow().timestamp():
        raise Invalid({"expiry_date": ["The expiry date must be in the future."]})


def _owner_of(session: DbSession, token: AccessToken, me: User) -> User:
    """The token's owner (an admin may read and change other users' tokens)."""
    if token.user_id == me.id:
        return me
    owner = session.get(User, token.user_id)
    assert owner is not None  # tokens are deleted with their user
    return owner


def _token_or_404(session: DbSession, user: User, token_id: int) -> AccessToken:
    token = session.get(AccessToken, token_id)
    if token is None or (token.user_id != user.id and not user.is_admin):
        raise NotFound.of("Access token")
    return token


@router.get("/api/auth/access_tokens/{token_id}", response_model=AccessTokenRead)
def get_token(
    token_id: int,
    request: Request,
    user: User = Depends(current_user),
    session: DbSession = Depends(db_session),
) -> dict[str, Any]:
    token = _token_or_404(session, user, token_id)
    return token_read(request, token, _owner_of(session, token, user))


@router.patch("/api/auth/access_tokens/{token_id}", response_model=AccessTokenRead)
def update_token(
    token_id: int,
    body: AccessTokenPatch,
    request: Request,
    user: User = Depends(current_user),
    session: DbSession = Depends(db_session),
) -> dict[str, Any]:
    token = _token_or_404(session, user, token_id)
    sent = body.model_fields_set
    if "name" in sent and body.name is None:
        raise Invalid({"name": ["A token's name cannot be null."]})
    if "read_only" in sent and body.read_only is None:
        raise Invalid({"read_only": ["read_only is true or false, not null."]})
    if "expiry_date" in sent:
        _check_expiry(body.expiry_date)
    changed = []
    for field in ("name", "expiry_date", "read_only"):
        if field in sent and getattr(token, field) != getattr(body, field):
            setattr(token, field, getattr(body, field))
            changed.append(field)
    if changed:
        token.updated_date = utcnow()
        audit.record(
            session,
            "token.updated",
            user=user,
            address=address_of(request),
            target=f"token {token.id} {token.name}",
            detail=",".join(changed),
        )
    return token_read(request, token, _owner_of(session, token, user))


@router.delete("/api/auth/access_tokens/{token_id}", status_code=204)
def revoke_token(
    token_id: int,
    request: Request,
    user: User = Depends(current_user),
    session: DbSession = Depends(db_session),
) -> Response:
    token = _token_or_404(session, user, token_id)
    audit.record(
        session,
        "token.revoked",
        user=user,
        address=address_of(request),
        target=f"token {token.id} {token.name}",
        detail=f"owner={token.user_id}",
    )
    session.delete(token)
    return Response(status_code=204)


# ---- user groups -------------------------------------------------------------------------


def group_read(session: DbSession, group: Group) -> dict[str, Any]:
    return {
        "id": group.id,
        "name": group.name,
        "description": group.description,
        "members": service.group_members(session, group.id),
        "created_date": group.created_date,
    }


def _group_filter(user: User) -> Any:
    """A group and its members are seen by its members and admins, no one else."""
    if user.is_admin:
        return true()
    return Group.id.in_(select(UserGroup.group_id).where(UserGroup.user_id == user.id))


@router.get("/api/groups")
def list_groups(
    request: Request, user: User = Depends(current_user), session: DbSession = Depends(db_session)
) -> dict[str, Any]:
    query = select(Group).where(_group_filter(user)).order_by(Group.name)
    return paginate(request, session, query, lambda rows: [group_read(session, g) for g in rows])


@router.post("/api/groups", status_code=201, response_model=GroupRead)
def create_group(
    body: GroupWrite, _: User = Depends(admin_user), session: DbSession = Depends(db_session)
) -> dict[str, Any]:
    group = service.create_group(session, body.name or "", body.description or "")
    if body.members:
        service.set_group_members(session, group, body.members)
    return group_read(session, group)


def _group_or_404(session: DbSession, group_id: int, user: User | None = None) -> Group:
    query = select(Group).where(Group.id == group_id)
    if user is not None:
        query = query.where(_group_filter(user))
    group = session.scalars(query).first()
    if group is None:
        raise NotFound.of("Group")
    return group


@router.get("/api/groups/{group_id}", response_model=GroupRead)
def get_group(
    group_id: int, user: User = Depends(current_user), session: DbSession = Depends(db_session)
) -> dict[str, Any]:
    return group_read(session, _group_or_404(session, group_id, user))


@router.patch("/api/groups/{group_id}", response_model=GroupRead)
def update_group(
    group_id: int,
    body: GroupWrite,
    _: User = Depends(admin_user),
    session: DbSession = Depends(db_session),
) -> dict[str, Any]:
    group = _group_or_404(session, group_id)
    if body.name is not None:
        service.rename_group(session, group, body.name)
    if body.description is not None:
        group.description = body.description
    if body.members is not None:
        service.set_group_members(session, group, body.members)
    return group_read(session, group)


@router.delete("/api/groups/{group_id}", status_code=204)
def delete_group(
    group_id: int, _: User = Depends(admin_user), session: DbSession = Depends(db_session)
) -> Response:
    session.delete(_group_or_404(session, group_id))
    return Response(status_code=204)
