"""The browser UI: static ES modules, CSS and HTML served by the server (no build step)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static"
# Addresses a person can bookmark, as in CVAT; each serves the single-page app.
APP_ROUTES = [
    "/",
    "/login",
    "/projects",
    "/projects/{rest:path}",
    "/tasks",
    "/tasks/{rest:path}",
    "/jobs",
    "/jobs/{rest:path}",
    "/admin",
    "/admin/{rest:path}",
    "/organization",
    "/invitations/{rest:path}",
]


def mount(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    def index() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    for route in APP_ROUTES:
        app.add_api_route(route, index, methods=["GET"], include_in_schema=False)
