"""CVAT's /api/auth/register and /api/auth/password/reset[/confirm] endpoints."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import delete, select
from sqlalchemy.orm import Session as DbSession

from labelvault.accounts import mail, recovery, service
from labelvault.accounts.auth import CSRF_COOKIE, SESSION_COOKIE
from labelvault.accounts.models import Session as LoginSession
from labelvault.accounts.models import User
from labelvault.errors import Forbidden
from labelvault.http import base_url, db_session, settings_of
from labelvault.observability import audit
from labelvault.observability.audit import address_of

router = APIRouter(tags=["auth"])


class RegisterRequest(BaseModel):
    username: str = Field(min_length=5, max_length=150)
    email: str = Field("", max_length=254)
    password1: str = Field(min_length=8, max_length=256)
    password2: str = Field(min_length=8, max_length=256)
    first_name: str = Field("", max_length=150)
    last_name: str = Field("", max_length=150)


class RegisterReply(BaseModel):
    username: str
    email: str
    first_name: str
    last_name: str
    email_verification_required: bool
    key: str | None


class ResetRequest(BaseModel):
    email: str = Field(min_length=1)


class ResetConfirm(BaseModel):
    new_password1: str = Field(min_length=8, max_length=256)
    new_password2: str = Field(min_length=8, max_length=256)
    uid: str = Field(min_length=1)
    token: str = Field(min_length=1)


@router.post("/api/auth/register", status_code=201, response_model=RegisterReply)
def register(
    body: RegisterRequest,
    request: Request,
    response: Response,
    session: DbSession = Depends(db_session),
) -> dict[str, Any]:
    settings = settings_of(request)
    if not settings.allow_registration:
        raise Forbidden(
            "Sign-up is closed on this server: ask an admin for an account "
            "(or to set LABELVAULT_ALLOW_REGISTRATION=true)."
        )
    user = recovery.register(
        session,
        body.username,
        body.email,
        body.password1,
        body.password2,
        body.first_name,
        body.last_name,
    )
    audit.record(session, "user.registered", user=user, address=address_of(request))
    # No e-mail verification here: signed in at once, as CVAT without ACCOUNT_EMAIL_VERIFICATION.
    opened = service.open_session(session, user, settings.session_age_seconds)
    for name, value, http_only in (
        (CSRF_COOKIE, opened.csrf_token, False),
        (SESSION_COOKIE, opened.key, True),
    ):
        response.set_cookie(
            name,
            value,
            max_age=settings.session_age_seconds,
            expires=settings.session_age_seconds,
            path="/",
            httponly=http_only,
            samesite="lax",
        )
    return {
        "username": user.username,
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email_verification_required": False,
        "key": opened.key,
    }


@router.post("/api/auth/password/reset")
def password_reset(
    body: ResetRequest, request: Request, session: DbSession = Depends(db_session)
) -> dict[str, str]:
    """Mail a reset link to each active user with that address; without SMTP the link goes
    to the audit log (/api/audit, admins only) for an admin to pass on. The reply is the
    same whether or not the address is known, so it tells nobody who has an account."""
    settings = settings_of(request)
    users = session.scalars(
        select(User).where(User.email == body.email.strip(), User.is_active.is_(True))
    ).all()
    for user in users:
        query = urlencode({"uid": recovery.uid_of(user), "token": recovery.make_token(user)})
        link = f"{base_url(request)}/auth/password/reset/confirm?{query}"
        if mail.enabled(settings):
            mail.send(
                settings,
                user.email,
                "Password reset on LabelVault",
                f"Someone asked to reset the password of '{user.username}'.\n\n"
                f"To choose a new one, open:\n{link}\n\n"
                "The link works once, for 3 days. If it was not you, ignore this message.\n",
            )
            audit.record(session, "password.reset_mailed", user=user, address=address_of(request))
        else:
            audit.record(
                session,
                "password.reset_requested",
                user=user,
                address=address_of(request),
                detail=f"no SMTP configured; pass this link on: {link}",
            )
    return {"detail": "Password reset e-mail has been sent."}


@router.post("/api/auth/password/reset/confirm")
def password_reset_confirm(
    body: ResetConfirm, request: Request, session: DbSession = Depends(db_session)
) -> dict[str, str]:
    user = recovery.confirm(session, body.uid, body.token, body.new_password1, body.new_password2)
    # Sessions opened before the reset end with it (whoever knew the old password is out).
    session.execute(delete(LoginSession).where(LoginSession.user_id == user.id))
    audit.record(session, "password.reset", user=user, address=address_of(request))
    return {"detail": "Password has been reset with the new password."}
