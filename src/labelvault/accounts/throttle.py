"""Login throttling: temporary lockout per account and per address after repeated failures.

The counts come from the audit log's `login.failed` rows, so every server process of a
scaled-out instance sees the same numbers and a restart does not reset them.
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session as DbSession

from labelvault.accounts import service
from labelvault.accounts.models import User
from labelvault.config import Settings
from labelvault.db.base import utcnow
from labelvault.errors import TooManyRequests
from labelvault.observability import audit


def _aware(value: Any) -> Any:
    return value if value is None or value.tzinfo else value.replace(tzinfo=utcnow().tzinfo)


def check(session: DbSession, settings: Settings, username: str, address: str) -> None:
    """Raise 429 when this account or this address has failed too often lately."""
    window = timedelta(seconds=settings.login_lockout_seconds)
    now = utcnow()
    since = now - window
    limits = []
    if settings.login_max_failures_per_user > 0 and username:
        last_ok = _aware(audit.last_of(session, "login.succeeded", username))
        user_since = max(since, last_ok) if last_ok is not None else since
        count, oldest = audit.count_since(session, "login.failed", user_since, username=username)
        limits.append((count, oldest, settings.login_max_failures_per_user, "this account"))
    if settings.login_max_failures_per_address > 0 and address:
        count, oldest = audit.count_since(session, "login.failed", since, address=address)
        limits.append((count, oldest, settings.login_max_failures_per_address, "your address"))
    for count, oldest, limit, who in limits:
        if count >= limit:
            free_at = _aware(oldest) + window if oldest is not None else now + window
            retry = max(1, math.ceil((free_at - now).total_seconds()))
            raise TooManyRequests(
                f"Too many failed logins for {who} ({count} in the last "
                f"{settings.login_lockout_seconds // 60 or 1} min): try again in {retry} s, "
                "or ask an admin to reset the password.",
                retry_after=retry,
            )


def login(
    session: DbSession,
    sessionmaker: Any,
    settings: Settings,
    username: str,
    password: str,
    address: str,
    *,
    record_success: bool = True,
) -> User | None:
    """Check the password behind the throttle; every failure and lockout is audited."""
    try:
        check(session, settings, username, address)
    except TooManyRequests:
        audit.record_now(sessionmaker, "login.locked", username=username, address=address)
        raise
    user = service.authenticate_password(session, username, password)
    if user is None:
        # Committed on its own: the request that follows rolls back.
        audit.record_now(sessionmaker, "login.failed", username=username, address=address)
        return None
    if record_success:
        audit.record(session, "login.succeeded", user=user, address=address)
    return user
