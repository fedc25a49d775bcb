"""Endpoints about the server itself: /api/server/about, plugins and formats."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from labelvault import CVAT_COMPAT_VERSION, __version__

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
    return {"GIT_INTEGRATION": False, "ANALYTICS": False, "MODELS": False, "PREDICT": False}


@router.get("/api/server/health")
def health() -> dict[str, str]:
    return {"status": "ok", "version": __version__}
