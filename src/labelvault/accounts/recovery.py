"""Self-registration and password reset tokens (CVAT's dj-rest-auth flows)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from labelvault.accounts import service
from labelvault.accounts.models import User
from labelvault.accounts.service import AccountError

# As Django's PASSWORD_RESET_TIMEOUT (3 days), which CVAT keeps.
RESET_SECONDS = 3 * 24 * 3600


def register(
    session: DbSession,
    username: str,
    email: str,
    password1: str,
    password2: str,
    first_name: str = "",
    last_name: str = "",
) -> User:
    """A new plain user; errors name the form field, as dj-rest-auth's do."""
    if password1 != password2:
        raise AccountError({"password2": ["The two password fields didn't match."]})
    if email and session.scalars(select(User).where(User.email == email)).first() is not None:
        raise AccountError({"email": ["A user is already registered with this e-mail address."]})
    if service.get_by_username(session, username) is not None:
        raise AccountError({"username": ["A user with that username already exists."]})
    try:
        return service.create_user(
            session, username, password1, "user", email, first_name, last_name
        )
    except AccountError as exc:
        field = "password1" if "password" in str(exc.message) else "username"
        raise AccountError({field: [str(exc.message)]}) from exc


def uid_of(user: User) -> str:
    return base64.urlsafe_b64encode(str(user.id).encode()).decode().rstrip("=")


def _mac(user: User, stamp: int) -> str:
    # Keyed by the password hash: a token dies when the password changes (it is used once),
    # and every server of a scaled-out instance checks it without a shared secret or table.
    key = hashlib.sha256(b"labelvault-password-reset:" + user.password_hash.encode()).digest()
    body = f"{user.id}:{stamp}:{user.last_login.timestamp() if user.last_login else ''}"
    return hmac.new(key, body.encode(), hashlib.sha256).hexdigest()[:32]


def make_token(user: User, now: float | None = None) -> str:
    stamp = int(now if now is not None else time.time())
    return f"{stamp:x}-{_mac(user, stamp)}"


def user_for(session: DbSession, uid: str) -> User | None:
    try:
        raw = base64.urlsafe_b64decode(uid + "=" * (-len(uid) % 4)).decode()
        return session.get(User, int(raw))
    except (ValueError, UnicodeDecodeError):
        return None


def confirm(
    session: DbSession, uid: str, token: str, new1: str, new2: str, now: float | None = None
) -> User:
    """Set the new password if the token is the user's, unused and under 3 days old."""
    user = user_for(session, uid)
    stamp_hex, _, mac = token.partition("-")
    try:
        stamp = int(stamp_hex, 16)
    except ValueError:
        stamp = -1
    now = now if now is not None else time.time()
    if user is None or not user.is_active:
        raise AccountError({"uid": ["Invalid value"]})
    if stamp < 0 or now - stamp > RESET_SECONDS or not hmac.compare_digest(mac, _mac(user, stamp)):
        raise AccountError({"token": ["Invalid value"]})
    if new1 != new2:
        raise AccountError({"new_password2": ["The two password fields didn't match."]})
    try:
        service.set_password(session, user, new1)
    except AccountError as exc:
        raise AccountError({"new_password1": [str(exc.message)]}) from exc
    return user
