"""The ASGI application: wires routers, error handling, the queue and the lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from labelvault import __version__, web
from labelvault.access.deps import current_user_in_context
from labelvault.accounts import oidc
from labelvault.accounts import service as account_service
from labelvault.accounts.api import router as accounts_router
from labelvault.accounts.auth import current_user
from labelvault.accounts.oidc_api import router as oidc_router
from labelvault.accounts.recovery_api import router as recovery_router
from labelvault.annotations.api import router as annotations_router
from labelvault.background import service as background_service
from labelvault.background.api import router as requests_router
from labelvault.background.metrics import queue_metrics
from labelvault.background.queue import Queue
from labelvault.backups import lifecycle as backups
from labelvault.backups.api import backup_runtime
from labelvault.backups.api import router as backups_router
from labelvault.backups.journal_api import router as journal_router
from labelvault.backups.metrics import SnapshotMetrics, backup_metrics
from labelvault.cloudstorages.api import router as cloudstorages_router
from labelvault.cloudstorages.registry import CloudStorages
from labelvault.config import Settings
from labelvault.datasets import handlers as _datasets_handlers  # noqa: F401  (registers handlers)
from labelvault.datasets.api import router as formats_router
from labelvault.db import Database
from labelvault.db.migrate import upgrade
from labelvault.errors import LabelVaultError, busy_of, disk_full_of, out_of_range_of
from labelvault.guides.api import router as guides_router
from labelvault.http import ForwardedHeaders, ids_in_range
from labelvault.limits import BodyLimits
from labelvault.media import handlers as media_handlers
from labelvault.media import ingest as media_ingest
from labelvault.media.api import router as media_router
from labelvault.media.images import raise_pillow_limit
from labelvault.memory import ReturnMemoryWhenIdle, limit_arenas
from labelvault.models_ai import handlers as _models_handlers  # noqa: F401  (registers handlers)
from labelvault.models_ai.api import router as models_router
from labelvault.observability.api import router as audit_router
from labelvault.observability.metrics import Metrics, database_check
from labelvault.observability.middleware import RequestContext
from labelvault.openapi import complete_openapi
from labelvault.organizations.api import router as organizations_router
from labelvault.projects.api import router as projects_router
from labelvault.review import handlers as _review_handlers  # noqa: F401  (registers handlers)
from labelvault.review.activity_api import router as activity_router
from labelvault.review.api import router as review_router
from labelvault.review.layout_api import router as layout_router
from labelvault.review.quality_api import router as quality_router
from labelvault.server_api import router as server_router
from labelvault.tasks.api import router as tasks_router
from labelvault.webhooks import dispatch as webhook_dispatch
from labelvault.webhooks.api import router as webhooks_router

log = logging.getLogger("labelvault")


class TrailingSlash:
    """Serve `/api/x/` and `/api/x` alike, never by redirect.

    The SDK mixes both forms and a redirect on POST/PATCH would break uploads.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            path = scope["path"]
            if len(path) > 1 and path.endswith("/") and path.startswith("/api/"):
                scope = dict(scope, path=path.rstrip("/"))
        await self.app(scope, receive, send)


def prepare(settings: Settings) -> tuple[Database, str | None]:
    """Create folders, migrate the schema and ensure the admin; returns a new admin password."""
    settings.ensure_dirs()
    db = Database(settings.resolved_database_url)
    upgrade(db.engine)
    with db.session() as session:
        generated = account_service.ensure_admin(
            session, settings.admin_user, settings.admin_password
        )
    return db, generated


def create_app(settings: Settings | None = None, db: Database | None = None) -> FastAPI:
    settings = settings or Settings()
    oidc.check_settings(settings)
    # Each background request opens the cloud storages it reads (a worker has no app).
    media_handlers.register(CloudStorages)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        nonlocal db
        if db is None:
            db, generated = prepare(settings)
            if generated:
                print(
                    f"Created admin '{settings.admin_user}' with password: {generated}\n"
                    "  (shown once; set LABELVAULT_ADMIN_PASSWORD to choose your own)",
                    flush=True,
                )
        app.state.db = db
        interrupted = background_service.recover_interrupted(db)
        if interrupted:
            log.warning("%d requests were interrupted by a restart", len(interrupted))
        raise_pillow_limit(settings.max_image_pixels)
        app.state.cloud_storages = CloudStorages(db, settings)
        # Task data a killed process left half-made is removed before anyone sees it.
        media_ingest.cleanup_interrupted(db, settings)
        queue = Queue(settings, db)
        app.state.queue = queue
        if settings.queue_url == "embedded":
            queue.start_embedded_worker()
        # Checks the storage (a clear error on bad credentials), cleans what a killed run
        # left, starts the annotation journal, the snapshot watcher and the scheduler.
        app.state.backups = backups.on_startup(settings, db, queue)
        app.state.webhooks = webhook_dispatch.start(db, settings, queue)
        app.state.metrics = Metrics(
            db, [queue_metrics, backup_metrics, SnapshotMetrics(app.state.backups)]
        )
        app.state.readiness = {
            "database": database_check(db),
            "queue": queue.check,
            "storage": lambda: app.state.backups.context.storage.check(write=False),
        }
        try:
            yield
        finally:
            # Webhook events still in memory go to the queue first; in-flight work finishes,
            # then the snapshot on exit sees all of it.
            webhook_dispatch.stop(app.state.webhooks)
            queue.stop()
            backups.on_shutdown(app.state.backups)

    app = FastAPI(
        title="LabelVault",
        version=__version__,
        lifespan=lifespan,
        openapi_url="/api/schema",
        dependencies=[Depends(ids_in_range)],
        docs_url="/api/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    app.router.redirect_slashes = False
    app.openapi = lambda: complete_openapi(app)  # type: ignore[method-assign]

    @app.exception_handler(LabelVaultError)
    async def labelvault_error(_: Request, exc: LabelVaultError) -> JSONResponse:
        return JSONResponse(
            exc.body(), status_code=exc.status, headers=getattr(exc, "headers", None) or None
        )

    async def maybe_disk_full(_: Request, exc: Exception) -> JSONResponse:
        # A full disk is the operator's to fix, not a bug: 507 saying so, never a bare 500.
        full = disk_full_of(exc)
        if full is None:
            refused = out_of_range_of(exc) or busy_of(exc)
            if refused is None:
                raise exc
            return JSONResponse(
                refused.body(), status_code=refused.status, headers=refused.headers or None
            )
        log.error("%s", full)
        return JSONResponse(full.body(), status_code=full.status)

    app.add_exception_handler(OSError, maybe_disk_full)
    app.add_exception_handler(DBAPIError, maybe_disk_full)
    app.add_exception_handler(OverflowError, maybe_disk_full)
    # The pool's wait running out while a long write holds SQLite: a 503 to retry, not a 500.
    app.add_exception_handler(PoolTimeout, maybe_disk_full)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = []
        for err in exc.errors()[:20]:
            loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path")]
            errors.append(f"{'.'.join(loc) or 'request'}: {err.get('msg')}")
        return JSONResponse(
            {"detail": errors[0] if errors else "invalid request", "errors": errors},
            status_code=400,
        )

    for router in (
        server_router,
        accounts_router,
        organizations_router,
        oidc_router,
        recovery_router,
        projects_router,
        tasks_router,
        media_router,
        cloudstorages_router,
        annotations_router,
        review_router,
        guides_router,
        layout_router,
        quality_router,
        activity_router,
        requests_router,
        journal_router,  # before backups_router, whose /api/backups/{id} would take the path
        backups_router,
        formats_router,
        models_router,
        webhooks_router,
        audit_router,
    ):
        app.include_router(router)

    # The backups API gets what the lifespan made through its dependency, not app.state.
    app.dependency_overrides[backup_runtime] = lambda: app.state.backups
    # Every endpoint that asks who is calling also gets the organization context applied.
    app.dependency_overrides[current_user] = current_user_in_context
    web.mount(app)

    app.add_middleware(TrailingSlash)
    limit_arenas()  # before the thread pool makes its arenas
    app.add_middleware(ReturnMemoryWhenIdle)
    app.add_middleware(RequestContext, access_log_enabled=settings.log_format == "json")
    # Outermost: everything below sees the client address and scheme a trusted proxy gave.
    app.add_middleware(ForwardedHeaders, trusted_proxies=settings.trusted_proxies)
    # Outermost: a body too big is refused before any other layer reads a byte of it.
    app.add_middleware(BodyLimits, settings=settings)
    return app
