"""Endpoints of OIDC sign-in: what the login page shows, the redirect out and the callback."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session as DbSession

from labelvault.accounts import oidc, service
from labelvault.accounts.auth import CSRF_COOKIE, SESSION_COOKIE
from labelvault.errors import NotFound
from labelvault.http import absolute, db_session, settings_of
from labelvault.observability import audit

router = APIRouter(tags=["auth"])
STATE_COOKIE = "lv_oidc"
CALLBACK = "/api/auth/oidc/callback"


@router.get("/api/auth/oidc")
def oidc_config(request: Request) -> dict[str, Any]:
    """Public: whether the login page offers "Sign in with …", and under which name."""
    settings = settings_of(request)
    enabled = oidc.enabled(settings)
    return {
        "enabled": enabled,
        "name": settings.oidc_name if enabled else None,
        "login_url": "/api/auth/oidc/login" if enabled else None,
    }


def _require(request: Request) -> Any:
    settings = settings_of(request)
    if not oidc.enabled(settings):
        raise NotFound("OIDC sign-in is not configured (LABELVAULT_OIDC_ISSUER)")
    return settings


@router.get("/api/auth/oidc/login")
async def oidc_login(request: Request, next: str | None = None) -> RedirectResponse:
    settings = _require(request)
    url, cookie = await run_in_threadpool(oidc.start, settings, absolute(request, CALLBACK), next)
    response = RedirectResponse(url, status_code=302)
    response.set_cookie(
        STATE_COOKIE,
        cookie,
        max_age=oidc.STATE_SECONDS,
        path="/api/auth/oidc",
        httponly=True,
        samesite="lax",  # sent on the provider's top-level redirect back to us
        secure=request.url.scheme == "https",
    )
    return response


@router.get(CALLBACK)
def oidc_callback(request: Request, session: DbSession = Depends(db_session)) -> RedirectResponse:
    settings = _require(request)
    claims, next_path = oidc.finish(
        settings,
        absolute(request, CALLBACK),
        request.cookies.get(STATE_COOKIE),
        dict(request.query_params),
    )
    user, changes = oidc.user_for(session, settings, claims)
    address = audit.address_of(request)
    for old, new in changes:
        audit.record(
            session,
            "user.role_changed",
            username="oidc",
            address=address,
            target=f"user {user.id} {user.username}",
            detail=f"{old} -> {new} (sign-in claims)",
        )
    audit.record(session, "login.succeeded", user=user, address=address, detail="oidc")
    max_age = settings.session_age_seconds
    result = service.open_session(session, user, max_age)
    response = RedirectResponse(next_path, status_code=302)
    for name, value, http_only in (
        (CSRF_COOKIE, result.csrf_token, False),
        (SESSION_COOKIE, result.key, True),
    ):
        response.set_cookie(
            name,
            value,
            max_age=max_age,
            expires=max_age,
            path="/",
            httponly=http_only,
            samesite="lax",
        )
    response.delete_cookie(STATE_COOKIE, path="/api/auth/oidc")
    return response
