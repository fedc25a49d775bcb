"""End to end: a real `labelvault serve` subprocess driven by the real cvat-sdk and cvat-cli."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from PIL import Image

from labelvault.db import Database
from tests.conftest import _empty, png_bytes
from tests.helpers.net import free_port

pytestmark = pytest.mark.e2e

VENV_BIN = Path(sys.executable).parent
PASSWORD = "e2e-admin-pass"


@dataclass
class Server:
    port: int
    base: str
    data_dir: Path

    def api(self) -> httpx.Client:
        """An httpx client logged in as admin (session + CSRF), to check the server's state."""
        client = httpx.Client(base_url=self.base, timeout=30)
        response = client.post("/api/auth/login", json={"username": "admin", "password": PASSWORD})
        response.raise_for_status()
        client.headers["X-CSRFToken"] = client.cookies["csrftoken"]
        return client


@pytest.fixture
def server(database: Database, tmp_path: Path) -> Iterator[Server]:
    """A live server on this test's database (SQLite file or the PostgreSQL test database)."""
    _empty(database)
    url = database.engine.url.render_as_string(hide_password=False)
    port = free_port()
    data_dir = tmp_path / "data"
    env = {**os.environ, "LABELVAULT_DATABASE_URL": url}
    log = (tmp_path / "server.log").open("wb")
    process = subprocess.Popen(
        [
            str(VENV_BIN / "labelvault"),
            "serve",
            "--data-dir",
            str(data_dir),
            "--port",
            str(port),
            "--admin-password",
            PASSWORD,
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                pytest.fail("server exited:\n" + (tmp_path / "server.log").read_text())
            try:
                if httpx.get(base + "/api/server/about", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("server did not start:\n" + (tmp_path / "server.log").read_text())
            time.sleep(0.2)
        yield Server(port, base, data_dir)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _images(folder: Path, count: int = 3) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        path = folder / f"frame{i}.png"
        path.write_bytes(png_bytes(40 + i, 30, (i * 40, 100, 200)))
        paths.append(path)
    return paths


LABELS = [
    {
        "name": "car",
        "color": "#ff0000",
        "type": "rectangle",
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
    {"name": "sky", "type": "tag"},
]


def test_sdk_round_trip(server: Server, tmp_path: Path) -> None:
    from cvat_sdk import make_client, models
    from cvat_sdk.core.client import AccessTokenCredentials, Client, Config
    from cvat_sdk.core.proxies.annotations import AnnotationUpdateAction
    from cvat_sdk.core.proxies.tasks import ResourceType

    paths = _images(tmp_path / "imgs")
    with make_client(
        "http://127.0.0.1", port=server.port, credentials=("admin", PASSWORD)
    ) as client:
        project = client.projects.create(spec={"name": "sdk project", "labels": LABELS})
        labels = {lbl.name: lbl for lbl in project.get_labels()}
        assert set(labels) == {"car", "sky"}
        task = client.tasks.create_from_data(
            spec={"name": "sdk task", "project_id": project.id, "labels": []},
            resource_type=ResourceType.LOCAL,
            resources=[str(p) for p in paths],
        )
        assert task.size == 3
        jobs = task.get_jobs()
        assert len(jobs) == 1
        job = jobs[0]
        car = labels["car"]
        color = car.attributes[0]
        job.set_annotations(
            models.LabeledDataRequest(
                shapes=[
                    models.LabeledShapeRequest(
                        type="rectangle",
                        frame=1,
                        label_id=car.id,
                        points=[1.0, 2.0, 10.0, 20.0],
                        attributes=[models.AttributeValRequest(spec_id=color.id, value="blue")],
                    )
                ],
                tags=[models.LabeledImageRequest(frame=0, label_id=labels["sky"].id)],
            )
        )
        got = job.get_annotations()
        assert len(got.shapes) == 1 and len(got.tags) == 1
        assert got.shapes[0].points == [1.0, 2.0, 10.0, 20.0]
        assert got.shapes[0].attributes[0].value == "blue"
        first_id = got.shapes[0].id
        tag_id = got.tags[0].id
        job.update_annotations(
            models.PatchedLabeledDataRequest(
                shapes=[
                    models.LabeledShapeRequest(
                        type="rectangle", frame=2, label_id=car.id, points=[0.0, 0.0, 5.0, 5.0]
                    )
                ]
            ),
            action=AnnotationUpdateAction.CREATE,
        )
        got = job.get_annotations()
        assert sorted(s.frame for s in got.shapes) == [1, 2]
        job.remove_annotations(ids=[first_id])
        got = job.get_annotations()
        assert [s.frame for s in got.shapes] == [2]
        # remove_annotations(ids=) matches ids across tags, shapes and tracks alike
        assert [t.id for t in got.tags] == [tag_id] if tag_id != first_id else True

        frame = Image.open(task.get_frame(0, quality="original"))
        assert frame.size == (40, 30)
        chunk = io.BytesIO()
        task.download_chunk(0, chunk, quality="original")
        with zipfile.ZipFile(chunk) as archive:
            sizes = [Image.open(archive.open(m)).size for m in archive.infolist()]
        assert sizes == [(40, 30), (41, 30), (42, 30)]
        meta = task.get_meta()
        assert [f.name for f in meta.frames] == ["frame0.png", "frame1.png", "frame2.png"]
        task_id = task.id

    # personal access token
    api = server.api()
    response = api.post("/api/auth/access_tokens", json={"name": "e2e"})
    assert response.status_code == 201, response.text
    token = response.json()["value"]
    token_client = Client(f"http://127.0.0.1:{server.port}", config=Config())
    token_client.login(AccessTokenCredentials(token))
    with token_client:
        assert token_client.tasks.retrieve(task_id).name == "sdk task"
        anns = token_client.tasks.retrieve(task_id).get_jobs()[0].get_annotations()
        assert [s.frame for s in anns.shapes] == [2]
    # a bogus token is refused
    assert (
        httpx.get(server.base + "/api/tasks", headers={"Authorization": "Bearer nope"}).status_code
        == 401
    )


def _cli(server: Server, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    command = [
        str(VENV_BIN / "cvat-cli"),
        "--server-host",
        "http://127.0.0.1",
        "--server-port",
        str(server.port),
        *args,
    ]
    return subprocess.run(
        command, capture_output=True, text=True, timeout=120, env={**os.environ, **(env or {})}
    )


def test_cvat_cli(server: Server, tmp_path: Path) -> None:
    auth = ("--auth", f"admin:{PASSWORD}")
    result = _cli(server, *auth, "task", "ls")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""
    assert "version" not in result.stderr.lower(), result.stderr

    paths = _images(tmp_path / "cli")
    labels = json.dumps([{"name": "tree", "attributes": []}])
    result = _cli(
        server,
        *auth,
        "task",
        "create",
        "cli task",
        "local",
        *map(str, paths),
        "--labels",
        labels,
        "--segment_size",
        "2",
        "--completion_verification_period",
        "0.1",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNING" not in result.stderr or "version" not in result.stderr.lower()
    task_id = int(result.stdout.strip().splitlines()[-1])

    api = server.api()
    task = api.get(f"/api/tasks/{task_id}").json()
    assert task["name"] == "cli task"
    assert task["size"] == 3
    assert task["jobs"]["count"] == 2
    labels_read = api.get("/api/labels", params={"task_id": task_id}).json()["results"]
    assert [lbl["name"] for lbl in labels_read] == ["tree"]
    media = server.data_dir / "media" / "tasks" / str(task_id)
    assert sorted(p.name for p in media.rglob("*.png")) == [p.name for p in paths]

    result = _cli(server, *auth, "task", "ls")
    assert result.returncode == 0
    assert result.stdout.split() == [str(task_id)]
    result = _cli(server, *auth, "task", "ls", "--json")
    assert json.loads(result.stdout)[0]["id"] == task_id

    out = tmp_path / "frames"
    result = _cli(server, *auth, "task", "frames", str(task_id), "1", "--outdir", str(out))
    assert result.returncode == 0, result.stderr
    saved = list(out.iterdir())
    assert len(saved) == 1 and Image.open(saved[0]).size == (41, 30)

    # a personal access token through the environment
    token = api.post("/api/auth/access_tokens", json={"name": "cli"}).json()["value"]
    result = _cli(server, "task", "ls", env={"CVAT_ACCESS_TOKEN": token})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [str(task_id)]

    result = _cli(server, *auth, "task", "delete", str(task_id))
    assert result.returncode == 0
    assert api.get(f"/api/tasks/{task_id}").status_code == 404
    assert not media.exists()
