"""Endpoints about the server itself: /api/server/about, plugins, health and status."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request

from labelvault import CVAT_COMPAT_VERSION, __version__
from labelvault.accounts.auth import admin_user
from labelvault.accounts.models import User
from labelvault.config import Settings
from labelvault.storage.url import parse_storage_url

router = APIRouter(tags=["server"])


@router.get("/api/server/about")
def about() -> dict[str, str]:
    # Public and complete: the SDK asks before logging in and every field is required.
    return {
        "name": "LabelVault",
        "description": f"LabelVault {__version__}: image annotation that never loses work, "
        "speaking CVAT's REST API.",
        "version": CVAT_COMPAT_VERSION,
        "logo_url": "",
        "subtitle": "Self-hosted image annotation",
    }


@router.get("/api/server/plugins")
def plugins() -> dict[str, Any]:
    # MODELS: the lambda API (/api/lambda) serves the registered models, as in CVAT.
    return {"GIT_INTEGRATION": False, "ANALYTICS": False, "MODELS": True, "PREDICT": False}


@router.get("/api/server/health")
def health() -> dict[str, str]:
    return {"status": "ok", "version": __version__}


def storage_status(settings: Settings) -> dict[str, Any]:
    """Where backups go, and whether a lost data disk would take them along."""
    location = parse_storage_url(settings.resolved_storage_url)
    same_disk = False
    if location.kind == "local":
        data_dir = settings.data_dir.resolve()
        root = Path(location.root)
        probe = root if root.exists() else root.parent
        same_disk = not settings.storage_url or (
            probe.exists() and probe.stat().st_dev == data_dir.stat().st_dev
        )
    return {
        "url": location.redacted_url,
        "kind": location.kind,
        "same_disk_as_data": same_disk,
        "required": settings.storage_required,
    }


@router.get("/api/server/status")
def status(request: Request, user: User = Depends(admin_user)) -> dict[str, Any]:
    """For admins: this instance's name, its storage and how far behind the journal is."""
    settings: Settings = request.app.state.settings
    runtime = getattr(request.app.state, "backups", None)
    journal = runtime.journal if runtime is not None else None
    return {
        "instance": settings.resolved_instance_name,
        "storage": storage_status(settings),
        "journal": journal.status().to_json() if journal is not None else None,
    }
