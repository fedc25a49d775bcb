"""Request bodies bounded at the door: size checked before reading, idle bodies timed out."""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.responses import JSONResponse

from labelvault.config import Settings
from labelvault.errors import LabelVaultError

# Bodies that are files: streamed to disk by the endpoints (multipart parts spool to disk,
# TUS chunks are appended to the upload), so only max_upload_bytes bounds them.
FILE_TYPES = (
    "multipart/form-data",
    "application/offset+octet-stream",
    "application/octet-stream",
    "application/zip",
    "application/x-zip-compressed",
)
WITH_BODY = {"POST", "PUT", "PATCH"}


class BodyTooLarge(LabelVaultError):
    status = 413


class BodyTimeout(LabelVaultError):
    status = 408


def _mib(size: int) -> str:
    return f"{size / 1024**2:,.0f} MiB"


def limit_of(settings: Settings, content_type: str) -> tuple[int, str]:
    """The byte limit for a body of this type, and the setting that raises it."""
    if content_type.split(";", 1)[0].strip().lower() in FILE_TYPES:
        return settings.max_upload_bytes, "LABELVAULT_MAX_UPLOAD_BYTES"
    return settings.max_json_bytes, "LABELVAULT_MAX_JSON_BYTES"


class BodyLimits:
    """ASGI middleware: a declared Content-Length over the limit is refused (413) before a
    byte is read; a body that grows past it while streaming is cut off (413); a body that
    stalls for `body_idle_timeout` seconds ends with 408."""

    def __init__(self, app: Any, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] not in WITH_BODY:
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or ())
        content_type = headers.get(b"content-type", b"").decode("latin-1")
        limit, setting = limit_of(self.settings, content_type)
        declared = headers.get(b"content-length", b"").strip()
        message = (
            f"the request body is larger than this server accepts ({_mib(limit)} for "
            f"{content_type or 'this content type'}); send less, upload big files with TUS "
            f"(resumable, in chunks), or raise {setting}"
        )
        if declared:
            if not declared.isdigit():
                await JSONResponse({"detail": "Content-Length must be a number"}, 400)(
                    scope, receive, send
                )
                return
            if int(declared) > limit:
                # Answered at once, the body unread; the connection is closed after it.
                await JSONResponse({"detail": message}, 413, headers={"Connection": "close"})(
                    scope, receive, send
                )
                return
        received = 0
        done = False
        timeout = self.settings.body_idle_timeout
        # The refusal raised while reading: the app may turn it into its own answer (FastAPI
        # reports any read error as "error parsing the body"), so its reply is replaced.
        refused: list[LabelVaultError] = []

        async def bounded_receive() -> dict:
            nonlocal received, done
            if done:
                # The body is in; what is awaited now is the client leaving (a streamed
                # reply listens for it), which may take as long as the reply does.
                return await receive()
            try:
                event = await asyncio.wait_for(receive(), timeout)
            except TimeoutError:
                refused.append(
                    BodyTimeout(
                        f"the request body stalled: nothing arrived for {timeout:g} s; send "
                        "it again (big files resume with TUS)"
                    )
                )
                raise refused[-1] from None
            if event["type"] == "http.request":
                received += len(event.get("body", b""))
                if received > limit:
                    refused.append(BodyTooLarge(message))
                    raise refused[-1]
                done = not event.get("more_body", False)
            else:
                done = True
            return event

        started = False

        async def refuse() -> None:
            nonlocal started
            started = True
            error = refused[0]
            reply = JSONResponse(error.body(), error.status, headers={"Connection": "close"})
            await reply(scope, receive, send)

        async def guarded_send(event: dict) -> None:
            nonlocal started
            if not refused:
                started = started or event["type"] == "http.response.start"
                await send(event)
            elif event["type"] == "http.response.start" and not started:
                await refuse()
            # else: the rest of the app's own reply, dropped

        try:
            await self.app(scope, bounded_receive, guarded_send)
        except LabelVaultError:
            if not refused:
                raise
            if not started:
                await refuse()
