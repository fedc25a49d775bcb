"""Helpers of the compat suite: the live server handle, images, archive readers."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from PIL import Image

from tests.helpers.pg import per_worker

VENV_BIN = Path(sys.executable).parent
PASSWORD = "compat-admin-pass-1"
POSTGRES_URL = per_worker(
    os.environ.get(
        "LABELVAULT_COMPAT_POSTGRES",
        "postgresql+psycopg://postgres@127.0.0.1:5432/labelvault_compat",
    )
)
# Labels as a CLI user writes them: a select attribute, a tag label, no ids.
LABELS: list[dict[str, Any]] = [
    {
        "name": "car",
        "color": "#ff0000",
        "type": "any",
        "attributes": [
            {
                "name": "color",
                "mutable": False,
                "input_type": "select",
                "values": ["red", "blue"],
                "default_value": "red",
            }
        ],
    },
    {"name": "person", "type": "any"},
    {"name": "sky", "type": "tag"},
]


@dataclass
class Live:
    """A running server and the ways to talk to it."""

    backend: str
    port: int
    data_dir: Path
    share_dir: Path
    home: Path
    log_path: Path
    _api: httpx.Client | None = field(default=None, repr=False)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def api(self) -> httpx.Client:
        """An httpx client logged in as admin (session + CSRF), to check the server's state."""
        if self._api is None:
            client = httpx.Client(base_url=self.base, timeout=60)
            response = client.post(
                "/api/auth/login", json={"username": "admin", "password": PASSWORD}
            )
            response.raise_for_status()
            client.headers["X-CSRFToken"] = client.cookies["csrftoken"]
            self._api = client
        return self._api

    def cli(
        self,
        *args: str,
        auth: bool = True,
        server: bool = True,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
        timeout: float = 600,
    ) -> subprocess.CompletedProcess[str]:
        """Run the real cvat-cli against this server with its own HOME (no stray profiles)."""
        command = [str(VENV_BIN / "cvat-cli")]
        if server:
            command += ["--server-host", "http://127.0.0.1", "--server-port", str(self.port)]
        if auth:
            command += ["--auth", f"admin:{PASSWORD}"]
        full_env = {**os.environ, "HOME": str(self.home)}
        full_env.pop("CVAT_ACCESS_TOKEN", None)
        full_env.update(env or {})
        return subprocess.run(
            [*command, *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=full_env,
            cwd=cwd,
        )

    def cli_ok(self, *args: str, **kwargs: Any) -> str:
        """Run cvat-cli, require success and no traceback or version warning; return stdout."""
        result = self.cli(*args, **kwargs)
        assert result.returncode == 0, f"cvat-cli {args} failed:\n{result.stdout}\n{result.stderr}"
        assert "Traceback" not in result.stderr, result.stderr
        assert "version" not in result.stderr.lower(), result.stderr
        return result.stdout

    def sdk(self):  # type: ignore[no-untyped-def]
        """A cvat_sdk Client logged in with a password; caches live under this server's HOME."""
        from cvat_sdk import Client, Config
        from cvat_sdk.core.client import PasswordCredentials

        client = Client(
            self.base,
            config=Config(cache_dir=self.home / "sdk-cache", status_check_period=0.1),
        )
        client.login(PasswordCredentials("admin", PASSWORD))
        return client

    def wait_request(self, rq_id: str, timeout: float = 120) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            status = self.api().get(f"/api/requests/{rq_id}").json()
            if status["status"] in ("finished", "failed") or time.monotonic() > deadline:
                return status
            time.sleep(0.05)

    def labels(self, **query: int) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        page = 1
        while True:
            body = self.api().get("/api/labels", params={**query, "page": page}).json()
            out += body["results"]
            if not body["next"]:
                return out
            page += 1

    def annotations(self, task_id: int) -> dict[str, Any]:
        response = self.api().get(f"/api/tasks/{task_id}/annotations/")
        assert response.status_code == 200, response.text
        return response.json()

    def token(self, name: str = "compat") -> str:
        response = self.api().post("/api/auth/access_tokens", json={"name": name})
        assert response.status_code == 201, response.text
        return response.json()["value"]


def png_bytes(width: int, height: int, color: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, "PNG")
    return buffer.getvalue()


def write_images(folder: Path, count: int = 3, prefix: str = "img") -> list[Path]:
    """Small distinct PNGs, each a different size so frames can be told apart."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        path = folder / f"{prefix}{i}.png"
        path.write_bytes(png_bytes(40 + 2 * i, 30 + i, frame_color(i)))
        paths.append(path)
    return paths


def labels_json(labels: list[dict[str, Any]] | None = None) -> str:
    return json.dumps(labels if labels is not None else LABELS)


def frame_color(index: int) -> tuple[int, int, int]:
    return (index * 60 % 256, 100, 200)


def archive_images(data: bytes) -> dict[str, Image.Image]:
    """Members of a zip that decode as images, by member name."""
    out: dict[str, Image.Image] = {}
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for info in archive.infolist():
            if info.is_dir():
                continue
            try:
                image = Image.open(io.BytesIO(archive.read(info)))
                image.load()
            except Exception:  # noqa: BLE001
                continue
            out[info.filename] = image
    return out


def source_frames(images: dict[str, Image.Image], count: int = 3) -> set[int]:
    """Which of write_images()'s frames appear among the images (by size and colour)."""
    found: set[int] = set()
    for image in images.values():
        for i in range(count):
            if image.size != (40 + 2 * i, 30 + i):
                continue
            pixel = image.convert("RGB").getpixel((1, 1))
            if all(abs(a - b) <= 8 for a, b in zip(pixel, frame_color(i), strict=True)):
                found.add(i)
    return found


def archive_text(data: bytes) -> str:
    """All non-image members of a zip, decoded leniently and concatenated."""
    parts: list[str] = []
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for info in archive.infolist():
            if info.is_dir() or info.filename.lower().endswith((".png", ".jpg", ".jpeg")):
                continue
            parts.append(archive.read(info).decode("utf-8", "replace"))
    return "\n".join(parts)


def label_ids(live: Live, **query: int) -> dict[str, int]:
    """name -> id for labels and "label.attribute" -> spec id."""
    out: dict[str, int] = {}
    for label in live.labels(**query):
        out[label["name"]] = label["id"]
        for attribute in label["attributes"]:
            out[f"{label['name']}.{attribute['name']}"] = attribute["id"]
    return out


def sample_annotations(live: Live, task_id: int) -> dict[str, Any]:
    """A box with an attribute, a polygon, points and a tag over frames 0-2."""
    ids = label_ids(live, task_id=task_id)
    return {
        "version": 0,
        "tags": [{"frame": 0, "label_id": ids["sky"], "attributes": []}],
        "shapes": [
            {
                "type": "rectangle",
                "frame": 0,
                "label_id": ids["car"],
                "points": [2, 3, 20, 15],
                "attributes": [{"spec_id": ids["car.color"], "value": "blue"}],
            },
            {
                "type": "polygon",
                "frame": 1,
                "label_id": ids["person"],
                "points": [5, 5, 25, 5, 25, 20, 5, 20],
            },
            {"type": "rectangle", "frame": 2, "label_id": ids["person"], "points": [1, 1, 9, 21]},
        ],
        "tracks": [],
    }


def shape_summary(data: dict[str, Any], names: dict[int, str]) -> list[tuple[Any, ...]]:
    """Shapes and tags as sortable (frame, label name, type, rounded points) tuples."""
    out: list[tuple[Any, ...]] = [
        (s["frame"], names[s["label_id"]], s["type"], tuple(round(p) for p in s["points"]))
        for s in data["shapes"]
    ]
    out += [(t["frame"], names[t["label_id"]], "tag", ()) for t in data["tags"]]
    return sorted(out)
