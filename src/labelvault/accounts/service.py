"""Account rules: users, roles, groups, login sessions and personal access tokens."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session as DbSession

from labelvault.accounts.models import ROLES, AccessToken, Group, Session, User, UserGroup
from labelvault.accounts.passwords import generate_password, hash_password, verify_password
from labelvault.db.base import utcnow
from labelvault.errors import Invalid

USERNAME_RE = re.compile(r"^[\w.@+-]{1,150}$")
TOKEN_PREFIX = "lv_"


class AccountError(Invalid):
    """A rule about accounts was broken; the message says what to change (a 400)."""


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _aware(value: datetime) -> datetime:
    # SQLite returns naive datetimes even for timezone-aware columns.
    return value if value.tzinfo else value.replace(tzinfo=utcnow().tzinfo)


def validate_username(username: str) -> None:
    if not USERNAME_RE.match(username):
        raise AccountError("username must be 1-150 characters of letters, digits and @ . + - _")


def validate_role(role: str) -> None:
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}, not '{role}'")


def get_by_username(session: DbSession, username: str) -> User | None:
    return session.scalars(select(User).where(User.username == username)).first()


def create_user(
    session: DbSession,
    username: str,
    password: str | None,
    role: str = "user",
    email: str = "",
    first_name: str = "",
    last_name: str = "",
) -> User:
    validate_username(username)
    validate_role(role)
    for field, value, limit in (
        ("email", email, 254),
        ("first_name", first_name, 150),
        ("last_name", last_name, 150),
    ):
        if len(value) > limit:
            raise AccountError(f"{field} must be at most {limit} characters")
    if get_by_username(session, username) is not None:
        raise AccountError(f"a user named '{username}' already exists")
    if password is not None and len(password) < 8:
        raise AccountError("password must be at least 8 characters")
    user = User(
        username=username,
        email=email,
        first_name=first_name,
        last_name=last_name,
        role=role,
        password_hash=hash_password(password) if password else "",
        is_active=True,
        date_joined=utcnow(),
    )
    session.add(user)
    session.flush()
    return user


def set_password(session: DbSession, user: User, password: str) -> None:
    if len(password) < 8:
        raise AccountError("password must be at least 8 characters")
    user.password_hash = hash_password(password)
    # A new password ends every open browser session of this user.
    session.execute(delete(Session).where(Session.user_id == user.id))


def change_password(
    session: DbSession, user: User, old: str, new: str, repeated: str | None
) -> None:
    """A user's own password change; errors name the form field, as CVAT's dj-rest-auth does."""
    if not verify_password(user.password_hash, old):
        raise AccountError({"old_password": ["The old password is wrong."]})
    if repeated is not None and repeated != new:
        raise AccountError({"new_password2": ["The two new passwords differ."]})
    try:
        set_password(session, user, new)
    except AccountError as exc:
        raise AccountError({"new_password1": [exc.message]}) from exc


def delete_user(session: DbSession, user: User) -> None:
    session.delete(user)


def ensure_admin(session: DbSession, username: str, password: str | None) -> str | None:
    """Make sure the configured admin exists with this password; idempotent.

    Returns a generated password when the admin had to be created without one, so the
    caller can print it once; only its hash is stored.
    """
    user = get_by_username(session, username)
    generated = None
    if user is None:
        if password is None:
            password = generated = generate_password()
        user = create_user(session, username, password, role="admin")
        return generated
    user.role = "admin"
    user.is_active = True
    if password is not None and not verify_password(user.password_hash, password):
        set_password(session, user, password)
    return None


def authenticate_password(session: DbSession, username: str, password: str) -> User | None:
    user = get_by_username(session, username)
    if user is None or not user.is_active:
        # One verification against a dummy hash: a missing user takes as long as a wrong
        # password (hashing a fresh password here would double the work and give it away).
        verify_password("", password)
        return None
    return user if verify_password(user.password_hash, password) else None


@dataclass
class LoginResult:
    key: str
    csrf_token: str
    expiry: datetime


def open_session(session: DbSession, user: User, max_age: int) -> LoginResult:
    key = secrets.token_hex(20)  # 40 chars: the SDK caps Token.key at 40
    csrf = secrets.token_urlsafe(32)
    expiry = utcnow() + timedelta(seconds=max_age)
    session.add(
        Session(
            key_hash=_digest(key),
            user_id=user.id,
            csrf_token=csrf,
            created_date=utcnow(),
            expiry_date=expiry,
        )
    )
    user.last_login = utcnow()
    return LoginResult(key=key, csrf_token=csrf, expiry=expiry)


def close_session(session: DbSession, key: str) -> None:
    session.execute(delete(Session).where(Session.key_hash == _digest(key)))


def resolve_session(session: DbSession, key: str) -> tuple[User, str] | None:
    row = session.get(Session, _digest(key))
    if row is None:
        return None
    if _aware(row.expiry_date) < utcnow():
        session.delete(row)
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.is_active:
        return None
    return user, row.csrf_token


def create_token(
    session: DbSession,
    user: User,
    name: str,
    expiry_date: datetime | None = None,
    read_only: bool = False,
) -> tuple[AccessToken, str]:
    if len(name) > 150:
        raise AccountError("a token name must be at most 150 characters")
    raw = TOKEN_PREFIX + secrets.token_urlsafe(30)
    token = AccessToken(
        user_id=user.id,
        name=name or "token",
        digest=_digest(raw),
        created_date=utcnow(),
        updated_date=utcnow(),
        expiry_date=expiry_date,
        read_only=read_only,
    )
    session.add(token)
    session.flush()
    return token, raw


def resolve_token(session: DbSession, raw: str) -> tuple[User, AccessToken] | None:
    token = session.scalars(select(AccessToken).where(AccessToken.digest == _digest(raw))).first()
    if token is None:
        return None
    now = utcnow()
    if token.expiry_date is not None and _aware(token.expiry_date) < now:
        return None
    user = session.get(User, token.user_id)
    if user is None or not user.is_active:
        return None
    # Record use at most once a minute, so reads do not turn into writes on every call.
    if token.last_used_date is None or now - _aware(token.last_used_date) > timedelta(minutes=1):
        token.last_used_date = now
    return user, token


def create_group(session: DbSession, name: str, description: str = "") -> Group:
    name = name.strip()
    if not name:
        raise AccountError("group name must not be empty")
    if session.scalars(select(Group).where(Group.name == name)).first() is not None:
        raise AccountError(f"a group named '{name}' already exists")
    group = Group(name=name, description=description, created_date=utcnow())
    session.add(group)
    session.flush()
    return group


def rename_group(session: DbSession, group: Group, name: str) -> None:
    if name == group.name:
        return
    if session.scalars(select(Group).where(Group.name == name)).first() is not None:
        raise AccountError(f"a group named '{name}' already exists")
    group.name = name


def group_members(session: DbSession, group_id: int) -> list[int]:
    return list(
        session.scalars(
            select(UserGroup.user_id)
            .where(UserGroup.group_id == group_id)
            .order_by(UserGroup.user_id)
        )
    )


def set_group_members(session: DbSession, group: Group, user_ids: list[int]) -> None:
    missing = [uid for uid in user_ids if session.get(User, uid) is None]
    if missing:
        raise AccountError(f"no such users: {missing}")
    session.execute(delete(UserGroup).where(UserGroup.group_id == group.id))
    for uid in dict.fromkeys(user_ids):
        session.add(UserGroup(group_id=group.id, user_id=uid))


def groups_of(session: DbSession, user_ids: list[int]) -> dict[int, list[str]]:
    result: dict[int, list[str]] = {uid: [] for uid in user_ids}
    if not user_ids:
        return result
    rows = session.execute(
        select(UserGroup.user_id, Group.name)
        .join(Group, Group.id == UserGroup.group_id)
        .where(UserGroup.user_id.in_(user_ids))
        .order_by(Group.name)
    )
    for uid, name in rows:
        result[uid].append(name)
    return result
