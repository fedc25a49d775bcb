"""The real cvat-sdk against a live server: dataset export/import and backups."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import png_bytes
from tests.helpers.net import free_port

pytestmark = pytest.mark.e2e
PASSWORD = "sdk-admin-pass-1"
# Until app.py registers the formats router, start the app the way `labelvault serve`
# does and add the router; afterwards this is exactly `labelvault serve`.
SERVER = """
import sys, uvicorn
from labelvault.app import create_app, prepare
from labelvault.config import Settings
from labelvault.datasets.api import router
settings = Settings()
db, _ = prepare(settings)
app = create_app(settings, db)
if not any(getattr(r, "path", "") == "/api/server/annotation/formats" for r in app.routes):
    app.include_router(router)
uvicorn.run(app, host="127.0.0.1", port=settings.port, log_level="warning")
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    env = dict(
        os.environ,
        LABELVAULT_DATA_DIR=str(tmp_path_factory.mktemp("live")),
        LABELVAULT_ADMIN_PASSWORD=PASSWORD,
        LABELVAULT_PORT=str(port),
    )
    env.pop("LABELVAULT_DATABASE_URL", None)
    proc = subprocess.Popen([sys.executable, "-c", SERVER], env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{url}/api/server/about", timeout=1)
                break
            except OSError:
                if proc.poll() is not None:
                    pytest.fail("the server exited at start")
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_sdk_export_import_and_backup(server: str, tmp_path: Path) -> None:
    from cvat_sdk import make_client, models

    images = []
    for i in range(3):
        path = tmp_path / f"img{i}.png"
        path.write_bytes(png_bytes(64, 48, (i * 40, 10, 10)))
        images.append(path)
    host, port = server.rsplit(":", 1)
    with make_client(host=host, port=int(port), credentials=("admin", PASSWORD)) as client:
        client.config.status_check_period = 0.5
        project = client.projects.create(
            models.ProjectWriteRequest(name="sdk project", labels=[{"name": "car"}])
        )
        task = client.tasks.create_from_data(
            spec=models.TaskWriteRequest(name="sdk task", project_id=project.id, labels=[]),
            resources=images,
        )
        (car,) = [lb for lb in task.get_labels() if lb.name == "car"]
        task.set_annotations(
            models.LabeledDataRequest(
                shapes=[
                    models.LabeledShapeRequest(
                        type="rectangle", frame=1, label_id=car.id, points=[1, 2, 11, 22]
                    )
                ]
            )
        )
        coco = tmp_path / "coco.zip"
        task.export_dataset("COCO 1.0", coco, include_images=False)
        doc = json.loads(zipfile.ZipFile(coco).read("annotations/instances_default.json"))
        assert [a["bbox"] for a in doc["annotations"]] == [[1, 2, 10, 20]]

        other = client.tasks.create_from_data(
            spec=models.TaskWriteRequest(name="copy", project_id=project.id, labels=[]),
            resources=images,
        )
        other.import_annotations("COCO 1.0", coco)
        shapes = other.get_annotations().shapes
        assert [(s.frame, s.points) for s in shapes] == [(1, [1.0, 2.0, 11.0, 22.0])]

        backup = tmp_path / "backup.zip"
        task.download_backup(backup)
        restored = client.tasks.create_from_backup(backup)
        assert restored.id not in (task.id, other.id) and restored.size == 3
        assert len(restored.get_annotations().shapes) == 1

        dataset = tmp_path / "project.zip"
        project.export_dataset("Datumaro 1.0", dataset, include_images=True)
        names = zipfile.ZipFile(io.BytesIO(dataset.read_bytes())).namelist()
        assert "images/default/img0.png" in names and "annotations/default.json" in names
