"""Endpoint for the annotation journal's state: GET /api/backups/journal (admins)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from labelvault.accounts.auth import admin_user
from labelvault.accounts.models import User
from labelvault.backups.api import Runtime

router = APIRouter(tags=["backups"])


@router.get("/api/backups/journal")
def journal_status(runtime: Runtime, _: User = Depends(admin_user)) -> dict[str, Any]:
    """How far the journal is: committed and shipped sequence, lag, the last storage error.

    A client that got a save acknowledged may wait for `shipped_seq >= committed_seq` (as
    read after the save) to know the save is in the storage.
    """
    journal = runtime.journal
    if journal is None:
        return {"enabled": False}
    return {"enabled": True, "instance": journal.instance, **journal.status().to_json()}
