"""Endpoint for the annotation journal's state: GET /api/backups/journal (admins)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from labelvault.accounts.auth import admin_user
from labelvault.accounts.models import User

router = APIRouter(tags=["backups"])


@router.get("/api/backups/journal")
def journal_status(request: Request, _: User = Depends(admin_user)) -> dict[str, Any]:
    """How far the journal is: committed and shipped sequence, lag, the last storage error.

    A client that got a save acknowledged may wait for `shipped_seq >= committed_seq` (as
    read after the save) to know the save is in the storage.
    """
    journal = getattr(request.app.state, "journal", None)
    if journal is None:
        return {"enabled": False}
    return {"enabled": True, "instance": journal.instance, **journal.status().to_json()}
