"""Per-request id, latency histogram by route template and the JSON access log."""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from labelvault.observability import metrics
from labelvault.observability.logs import request_id

access_log = logging.getLogger("labelvault.access")
_GOOD_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def _route_of(scope: dict) -> str:
    # The template ("/api/jobs/{job_id}/annotations"), never the raw path: one series per
    # route, whatever the ids.
    route = scope.get("route")
    if route is None:
        return "unmatched"
    return getattr(route, "path", "") or "/"


class RequestContext:
    """Give each request an id (the proxy's X-Request-ID when it sent a sane one), echo it
    in the reply, time the request by route and, when asked, log it."""

    def __init__(self, app: Any, access_log_enabled: bool = False) -> None:
        self.app = app
        self.access_log_enabled = access_log_enabled

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sent = dict(scope.get("headers") or ()).get(b"x-request-id", b"").decode("latin-1")
        rid = sent if _GOOD_ID.match(sent) else uuid.uuid4().hex
        token = request_id.set(rid)
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: dict) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            route = _route_of(scope)
            metrics.observe_request(scope["method"], route, status, seconds)
            if self.access_log_enabled:
                client = scope.get("client")
                access_log.info(
                    "%s %s %d %.1f ms",
                    scope["method"],
                    scope["path"],
                    status,
                    seconds * 1000,
                    extra={
                        "request_id": rid,
                        "method": scope["method"],
                        "path": scope["path"],
                        "route": route,
                        "status": status,
                        "duration_ms": round(seconds * 1000, 2),
                        "client": client[0] if client else "",
                    },
                )
            request_id.reset(token)
