"""How a user appears inside other replies (owner, assignee): CVAT's BasicUser shape."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from labelvault.accounts.models import User
from labelvault.http import absolute


def basic_user(request: Request, user: User | None) -> dict[str, Any] | None:
    if user is None:
        return None
    return {
        "url": absolute(request, f"/api/users/{user.id}"),
        "id": user.id,
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
    }


def users_by_id(session: DbSession, ids: set[int | None]) -> dict[int, User]:
    wanted = [i for i in ids if i is not None]
    if not wanted:
        return {}
    return {u.id: u for u in session.scalars(select(User).where(User.id.in_(wanted)))}
