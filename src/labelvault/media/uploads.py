"""Upload sessions shared by every upload endpoint: multipart parts and TUS 1.0.0 files.

An upload area is a folder per resource (task data, annotation file, backup...). CVAT's
clients pick the request kind purely from headers, in this precedence: Upload-Finish,
Upload-Start, Upload-Length (TUS create), Upload-Multiple, otherwise a plain request.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import uuid
from pathlib import Path, PurePosixPath

from fastapi import Request, Response, UploadFile

from labelvault.errors import Invalid, LabelVaultError
from labelvault.http import absolute

TUS_VERSION = "1.0.0"
CHUNK = 1024 * 1024
_SAFE_NAME = re.compile(r"[^\w.\-+@ ()\[\]]")


def upload_kind(request: Request) -> str:
    headers = request.headers
    if "upload-finish" in headers:
        return "finish"
    if "upload-start" in headers:
        return "start"
    if "upload-length" in headers:
        return "tus"
    if "upload-multiple" in headers:
        return "multiple"
    return "plain"


def safe_relative(name: str) -> str:
    """A client file name made safe to store: basename only, no traversal, no oddities.

    The SDK sends absolute client paths as part names; Django keeps only the basename.
    """
    base = PurePosixPath(name.replace("\\", "/")).name
    base = _SAFE_NAME.sub("_", base).strip()
    if base in ("", ".", ".."):
        raise Invalid(f"'{name}' is not a usable file name")
    return base


class UploadArea:
    """Files received for one resource, before the request that uses them runs."""

    def __init__(self, root: Path, key: str) -> None:
        self.dir = root / key
        self.tus_dir = self.dir / ".tus"

    def reset(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir.mkdir(parents=True, exist_ok=True)

    def ensure(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)

    def files(self) -> list[Path]:
        if not self.dir.exists():
            return []
        return sorted(p for p in self.dir.iterdir() if p.is_file() and not p.name.startswith("."))

    def order(self) -> list[str]:
        """Names in the order they arrived (the SDK's upload order)."""
        path = self.dir / ".order"
        return path.read_text().splitlines() if path.exists() else []

    def _record(self, name: str) -> None:
        # One line appended per file (safe names hold no newline): rewriting a JSON list
        # per file made an upload of N files cost N² in reads and writes.
        with (self.dir / ".order").open("a") as out:
            out.write(name + "\n")

    def _unique(self, name: str) -> str:
        if not (self.dir / name).exists():
            return name
        raise Invalid(f"two files named '{name}' were uploaded; rename one (names must be unique)")

    async def save_part(self, part: UploadFile) -> str:
        self.ensure()
        name = self._unique(safe_relative(part.filename or "file"))
        tmp = self.dir / f".part-{uuid.uuid4().hex}"
        with tmp.open("wb") as out:
            while chunk := await part.read(CHUNK):
                out.write(chunk)
        tmp.rename(self.dir / name)
        self._record(name)
        return name

    def take(self, name: str) -> Path:
        path = self.dir / safe_relative(name)
        if not path.is_file():
            raise Invalid(f"no uploaded file named '{name}'; upload it first")
        return path

    def discard(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)

    # ---- TUS ----------------------------------------------------------------------------

    def tus_create(self, request: Request, chunk_base: str, max_bytes: int) -> Response:
        try:
            length = int(request.headers["upload-length"])
        except ValueError as exc:
            raise Invalid("Upload-Length must be an integer") from exc
        if length < 0 or length > max_bytes:
            raise LabelVaultError(f"files are limited to {max_bytes} bytes", 413)
        name = "file"
        for item in request.headers.get("upload-metadata", "").split(","):
            key, _, value = item.strip().partition(" ")
            if key == "filename" and value:
                try:
                    name = base64.b64decode(value).decode()
                except ValueError as exc:
                    raise Invalid("Upload-Metadata filename is not base64") from exc
        name = safe_relative(name)
        self.ensure()
        self.tus_dir.mkdir(exist_ok=True)
        file_id = uuid.uuid4().hex
        (self.tus_dir / f"{file_id}.json").write_text(json.dumps({"name": name, "length": length}))
        (self.tus_dir / file_id).touch()
        if length == 0:
            self._complete(file_id)
        headers = {
            "Location": absolute(request, f"{chunk_base}/{file_id}"),
            "Upload-Filename": name,
            "Tus-Resumable": TUS_VERSION,
        }
        return Response(status_code=201, headers=headers)

    def _meta(self, file_id: str) -> dict:
        if not re.fullmatch(r"[0-9a-f]{32}", file_id):
            raise LabelVaultError("upload not found", 404)
        path = self.tus_dir / f"{file_id}.json"
        if not path.exists():
            raise LabelVaultError("upload not found; start it again", 404)
        return json.loads(path.read_text())

    def tus_offset(self, file_id: str) -> Response:
        meta = self._meta(file_id)
        data = self.tus_dir / file_id
        offset = data.stat().st_size if data.exists() else meta["length"]
        return Response(
            status_code=200,
            headers={
                "Upload-Offset": str(offset),
                "Upload-Length": str(meta["length"]),
                "Tus-Resumable": TUS_VERSION,
                "Cache-Control": "no-store",
            },
        )

    async def tus_patch(self, request: Request, file_id: str) -> Response:
        meta = self._meta(file_id)
        data = self.tus_dir / file_id
        if not data.exists():
            raise LabelVaultError("this upload is already complete", 409)
        try:
            offset = int(request.headers.get("upload-offset", ""))
        except ValueError as exc:
            raise Invalid("Upload-Offset must be an integer") from exc
        current = data.stat().st_size
        if offset != current:
            # 409 with the real offset lets the client resume from where we are.
            return Response(
                status_code=409,
                headers={"Upload-Offset": str(current), "Tus-Resumable": TUS_VERSION},
            )
        written = current
        with data.open("ab") as out:
            async for chunk in request.stream():
                if written + len(chunk) > meta["length"]:
                    out.truncate(current)
                    raise Invalid("more bytes were sent than Upload-Length announced")
                out.write(chunk)
                written += len(chunk)
            out.flush()
            os.fsync(out.fileno())
        if written == meta["length"]:
            self._complete(file_id)
        return Response(
            status_code=204, headers={"Upload-Offset": str(written), "Tus-Resumable": TUS_VERSION}
        )

    def _complete(self, file_id: str) -> None:
        meta = self._meta(file_id)
        name = self._unique(meta["name"])
        (self.tus_dir / file_id).rename(self.dir / name)
        self._record(name)
