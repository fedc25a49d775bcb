"""Who is calling: session cookie (with CSRF check), Bearer access token or Token key."""

from __future__ import annotations

import base64
import hmac

from fastapi import Depends, Request
from sqlalchemy.orm import Session as DbSession

from labelvault.accounts import service, throttle
from labelvault.accounts.models import User
from labelvault.errors import Forbidden, LabelVaultError
from labelvault.http import db_session, settings_of
from labelvault.observability.audit import address_of

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
SESSION_COOKIE = "sessionid"
CSRF_COOKIE = "csrftoken"
CSRF_HEADER = "x-csrftoken"


def _unauthorized(detail: str) -> LabelVaultError:
    return LabelVaultError(detail, 401)


def authenticate(request: Request, session: DbSession) -> User | None:
    """The user behind the request, None when no credentials were sent at all."""
    header = request.headers.get("authorization")
    if header:
        scheme, _, value = header.partition(" ")
        scheme = scheme.lower()
        value = value.strip()
        if scheme == "bearer":
            found = service.resolve_token(session, value)
            if found is None:
                raise _unauthorized("Invalid or expired access token.")
            user, token = found
            if token.read_only and request.method not in SAFE_METHODS:
                raise LabelVaultError("This access token is read-only.", 403)
            return user
        if scheme == "token":
            resolved = service.resolve_session(session, value)
            if resolved is None:
                raise _unauthorized("Invalid or expired token.")
            return resolved[0]
        if scheme == "basic":
            try:
                username, _, password = base64.b64decode(value).decode().partition(":")
            except ValueError as exc:
                raise _unauthorized("Malformed Basic authorization header.") from exc
            user = throttle.login(
                session,
                request.app.state.db.sessionmaker,
                settings_of(request),
                username,
                password,
                address_of(request),
                record_success=False,  # every request of a script would be an event
            )
            if user is None:
                raise _unauthorized("Invalid username/password.")
            return user
        raise _unauthorized(f"Unsupported authorization scheme '{scheme}'.")
    key = request.cookies.get(SESSION_COOKIE)
    if not key:
        return None
    resolved = service.resolve_session(session, key)
    if resolved is None:
        raise _unauthorized("Your session has expired; log in again.")
    user, csrf = resolved
    if request.method not in SAFE_METHODS:
        require_csrf(request, csrf)
    return user


def require_csrf(request: Request, csrf: str) -> None:
    """A cookie-authenticated write must echo the csrftoken cookie in X-CSRFToken."""
    sent = request.headers.get(CSRF_HEADER, "")
    if not sent or not hmac.compare_digest(sent, csrf):
        raise Forbidden(
            "CSRF check failed: send the value of the csrftoken cookie in the X-CSRFToken header."
        )


def current_user(request: Request, session: DbSession = Depends(db_session)) -> User:
    user = authenticate(request, session)
    if user is None:
        raise _unauthorized("Authentication credentials were not provided.")
    request.state.user = user
    return user


def admin_user(user: User = Depends(current_user)) -> User:
    if not user.is_admin:
        raise LabelVaultError("Only an admin may do this.", 403)
    return user
