"""Fixtures for browser tests: a live `labelvault serve`, Debian's chromium, API helpers."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers.net import free_port

CHROMIUM = os.environ.get("LABELVAULT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ADMIN_PASSWORD = "e2e-admin-Pw1"
ROOT = Path(__file__).resolve().parents[3]
SCREENSHOTS = ROOT / "docs" / "screenshots"

pytestmark = pytest.mark.e2e


def _labelvault_bin() -> str:
    found = Path(sys.executable).with_name("labelvault")
    return str(found) if found.exists() else (shutil.which("labelvault") or "labelvault")


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real server on a free port, with its own data folder; yields the base URL."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing: apt-get install -y chromium")
    pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    data = tmp_path_factory.mktemp("e2e-data")
    port = free_port()
    log = open(data / "server.log", "wb")  # noqa: SIM115 (open for the server's lifetime)
    proc = subprocess.Popen(
        [
            _labelvault_bin(),
            "serve",
            "--data-dir",
            str(data),
            "--port",
            str(port),
            "--admin-password",
            ADMIN_PASSWORD,
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{url}/api/server/about", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"server did not start; see {data / 'server.log'}")
        time.sleep(0.2)
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """The one Chromium of the session: Playwright's sync API runs once per process."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="session")
def browser(server: str, chromium: Any) -> Any:
    return chromium


@pytest.fixture
def page(browser: Any, server: str) -> Iterator[Any]:
    context = browser.new_context(base_url=server, viewport={"width": 1440, "height": 900})
    pg = context.new_page()
    pg.set_default_timeout(15000)
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    yield pg
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.fixture(scope="session")
def api(server: str) -> Iterator[httpx.Client]:
    """An admin API client (session cookie + CSRF header) to set up data and check results."""
    client = httpx.Client(base_url=server, timeout=30)
    r = client.post("/api/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD})
    r.raise_for_status()
    client.headers["X-CSRFToken"] = client.cookies["csrftoken"]
    yield client
    client.close()


def login(page: Any, username: str = "admin", password: str = ADMIN_PASSWORD) -> None:
    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/projects")


def png_bytes(
    width: int = 640, height: int = 480, color: tuple[int, int, int] = (90, 120, 160)
) -> bytes:
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (width, height), color)
    draw = ImageDraw.Draw(img)
    for i in range(0, width, 40):
        draw.line([(i, 0), (i, height)], fill=(color[0] + 30, color[1] + 30, color[2] + 30))
    draw.ellipse([width // 4, height // 4, width // 2, height // 2], fill=(220, 180, 60))
    buf = BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def make_task(
    api: httpx.Client, name: str, frames: int = 3, labels: list[dict] | None = None, **kw: Any
) -> dict:
    """A task with `frames` uploaded PNGs, created through the API; returns the task JSON."""
    labels = labels or [
        {
            "name": "car",
            "color": "#ff6037",
            "type": "any",
            "attributes": [
                {
                    "name": "colour",
                    "input_type": "select",
                    "mutable": False,
                    "values": ["red", "blue", "white"],
                    "default_value": "red",
                }
            ],
        },
        {"name": "person", "color": "#33ddff", "type": "any", "attributes": []},
    ]
    task = api.post("/api/tasks", json={"name": name, "labels": labels, **kw}).json()
    files = {
        f"client_files[{i}]": (f"frame_{i:03d}.png", png_bytes(color=(40 * i % 200, 90, 140)))
        for i in range(frames)
    }
    r = api.post(f"/api/tasks/{task['id']}/data", files=files, data={"image_quality": "80"})
    assert r.status_code == 202, r.text
    rq = r.json()["rq_id"]
    for _ in range(200):
        status = api.get(f"/api/requests/{rq}").json()
        if status["status"] in ("finished", "failed"):
            assert status["status"] == "finished", status
            break
        time.sleep(0.1)
    return api.get(f"/api/tasks/{task['id']}").json()


def first_job(api: httpx.Client, task_id: int) -> dict:
    return api.get("/api/jobs", params={"task_id": task_id}).json()["results"][0]


def job_shapes(api: httpx.Client, job_id: int) -> list[dict]:
    return api.get(f"/api/jobs/{job_id}/annotations").json()["shapes"]


def shot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    # Previews load lazily; give them a moment so the pictures show real images.
    with contextlib.suppress(Exception):  # a missing preview must not fail the test
        page.wait_for_function("[...document.images].every((i) => i.complete)", timeout=5000)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))
