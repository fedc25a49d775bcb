"""A small client of a running CVAT's REST API: login, paged lists, backup downloads."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urljoin

import httpx

from labelvault.errors import LabelVaultError


class CvatError(LabelVaultError):
    """The CVAT server refused or failed a request; the message says which and why."""


class CvatClient:
    """Speaks to CVAT as cvat-sdk does (paths, headers, the export request flow)."""

    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        username: str | None = None,
        password: str | None = None,
        poll_seconds: float = 1.0,
        timeout: float = 300.0,
    ) -> None:
        self.url = url.rstrip("/")
        self.poll_seconds = poll_seconds
        self._http = httpx.Client(base_url=self.url, timeout=timeout, follow_redirects=True)
        self._http.headers["Accept"] = "application/vnd.cvat+json"
        if token:
            # CVAT's personal access tokens are Bearer tokens (cvat-sdk sends them so).
            self._http.headers["Authorization"] = f"Bearer {token}"
        elif username and password is not None:
            reply = self._http.post(
                "/api/auth/login", json={"username": username, "password": password}
            )
            self._check(reply, "logging in")
            csrf = self._http.cookies.get("csrftoken")
            if csrf:
                self._http.headers["X-CSRFToken"] = csrf
        else:
            raise CvatError("give --token, or --username and --password, to sign in to CVAT")

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> CvatClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    @staticmethod
    def _check(reply: httpx.Response, doing: str) -> None:
        if reply.status_code >= 400:
            text = reply.text.strip().replace("\n", " ")[:300]
            raise CvatError(f"CVAT answered {reply.status_code} when {doing}: {text}")

    def get(self, path: str, **params: Any) -> Any:
        try:
            reply = self._http.get(path, params=params)
        except httpx.HTTPError as exc:
            raise CvatError(f"cannot reach CVAT at {self.url} ({path}): {exc}") from exc
        self._check(reply, f"reading {path}")
        return reply.json()

    def pages(self, path: str, **params: Any) -> Iterator[dict[str, Any]]:
        """Every item of a paged list, page after page (CVAT's page/page_size)."""
        page = 1
        while True:
            body = self.get(path, page=page, page_size=100, **params)
            yield from body.get("results") or []
            if not body.get("next"):
                return
            page += 1

    def about(self) -> dict[str, Any]:
        return dict(self.get("/api/server/about"))

    def download_backup(self, kind: str, ident: int, out: Path) -> None:
        """Export a project's or task's backup and save it to `out` (CVAT ≥ 2.17's flow:
        POST …/backup/export, poll /api/requests/{rq_id}, GET its result_url)."""
        path = f"/api/{kind}s/{ident}/backup/export"
        try:
            reply = self._http.post(
                path, params={"lightweight": "false", "location": "local"}, content=b""
            )
        except httpx.HTTPError as exc:
            raise CvatError(f"cannot reach CVAT at {self.url} ({path}): {exc}") from exc
        self._check(reply, f"exporting the backup of {kind} {ident}")
        rq_id = (reply.json() or {}).get("rq_id")
        if not rq_id:
            raise CvatError(f"CVAT did not start a backup export of {kind} {ident}")
        while True:
            request = self.get(f"/api/requests/{quote(str(rq_id), safe='')}")
            status = request.get("status")
            if status == "finished":
                break
            if status == "failed":
                raise CvatError(
                    f"CVAT failed to back up {kind} {ident}: {request.get('message') or ''}"
                )
            time.sleep(self.poll_seconds)
        result = request.get("result_url")
        if not result:
            raise CvatError(f"CVAT backed up {kind} {ident} but gave no result_url")
        url = urljoin(self.url + "/", result)
        partial = out.with_name(out.name + ".part")
        try:
            with self._http.stream("GET", url, headers={"Accept": "*/*"}) as stream:
                if stream.status_code >= 400:
                    stream.read()
                    self._check(stream, f"downloading the backup of {kind} {ident}")
                with partial.open("wb") as handle:
                    for chunk in stream.iter_bytes(1 << 20):
                        handle.write(chunk)
        except httpx.HTTPError as exc:
            raise CvatError(f"downloading the backup of {kind} {ident} broke off: {exc}") from exc
        partial.replace(out)
