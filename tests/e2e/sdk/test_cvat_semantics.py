"""The real cvat-sdk/cvat-cli 2.80.0 on CVAT's semantics: filters, update, dates, labels."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.helpers.compat import PASSWORD, VENV_BIN, Live, write_images
from tests.helpers.net import free_port

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """`labelvault serve` on SQLite in a folder of its own."""
    root = tmp_path_factory.mktemp("semantics")
    env = {
        **os.environ,
        "LABELVAULT_BACKUPS": "false",
        "LABELVAULT_SNAPSHOT_ON_EXIT": "false",
        "LABELVAULT_STORAGE_URL": str(root / "storage"),
    }
    env.pop("LABELVAULT_DATABASE_URL", None)
    (root / "home").mkdir()
    port = free_port()
    log_path = root / "server.log"
    with log_path.open("wb") as log:
        command = [str(VENV_BIN / "labelvault"), "serve", "--data-dir", str(root / "data")]
        command += ["--port", str(port), "--admin-password", PASSWORD]
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        server = Live("sqlite", port, root / "data", root / "share", root / "home", log_path)
        try:
            deadline = time.monotonic() + 90
            while True:
                if process.poll() is not None:
                    pytest.fail("server exited:\n" + log_path.read_text())
                try:
                    if httpx.get(server.base + "/api/server/about", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    pytest.fail("server did not start:\n" + log_path.read_text())
                time.sleep(0.2)
            yield server
        finally:
            if server._api is not None:
                server._api.close()
            process.terminate()
            process.wait(timeout=30)


def test_sdk_filters_update_dates_and_labelless_tasks(live: Live, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from cvat_sdk import models
    from cvat_sdk.core.filters import F

    images = write_images(tmp_path / "images", 2)
    with live.sdk() as client:
        project = client.projects.create(
            models.ProjectWriteRequest(name="semantics", labels=[{"name": "car"}])
        )
        tasks = [
            client.tasks.create_from_data(
                spec=models.TaskWriteRequest(name=f"t{i}", project_id=project.id, labels=[]),
                resources=images,
            )
            for i in range(3)
        ]
        # A task without labels is allowed, as in CVAT.
        bare = client.tasks.create(models.TaskWriteRequest(name="bare", labels=[]))
        assert bare.get_labels() == []

        # list(id__in=...) and F-expressions become `filter=`: only those come back.
        wanted = [tasks[0].id, tasks[2].id]
        assert sorted(t.id for t in client.tasks.list(id__in=wanted)) == wanted
        assert [t.id for t in client.tasks.list(filter=F.name == "bare")] == [bare.id]
        named = client.tasks.list(filter=F.name.contains("t") & (F.project_id == project.id))
        assert sorted(t.id for t in named) == sorted(t.id for t in tasks)
        from cvat_sdk.api_client.exceptions import ApiException

        with pytest.raises(ApiException) as refused:
            client.tasks.list(filter=F.colour == "red")
        assert refused.value.status == 400 and "colour" in str(refused.value.body)

        # update_annotations with new objects: CVAT's delete-by-id then create.
        task = tasks[1]
        (car,) = task.get_labels()
        box = {"type": "rectangle", "frame": 0, "label_id": car.id, "points": [1, 1, 9, 9]}
        task.set_annotations(models.LabeledDataRequest(shapes=[box]))
        stored = task.get_annotations().shapes[0]
        before = task.updated_date
        time.sleep(0.01)
        task.update_annotations(
            models.PatchedLabeledDataRequest(
                shapes=[
                    {**box, "id": stored.id, "points": [2, 2, 8, 8]},
                    {**box, "frame": 1, "points": [3, 3, 7, 7]},
                ]
            )
        )
        shapes = sorted(task.get_annotations().shapes, key=lambda s: s.frame)
        assert [(s.frame, s.points) for s in shapes] == [(0, [2, 2, 8, 8]), (1, [3, 3, 7, 7])]
        assert shapes[0].id == stored.id and shapes[1].id != stored.id
        # The task's updated_date moved, so cvat_sdk.datasets' cache sees fresh annotations.
        task.fetch()
        assert task.updated_date > before

        from cvat_sdk.datasets import TaskDataset

        dataset = TaskDataset(client, task.id)
        assert sum(len(s.annotations.shapes) for s in dataset.samples) == 2
        task.remove_annotations(ids=[stored.id])
        dataset = TaskDataset(client, task.id)
        assert sum(len(s.annotations.shapes) for s in dataset.samples) == 1

        dataset_zip = tmp_path / "ds.zip"
        project.export_dataset("CVAT for images 1.1", dataset_zip, include_images=True)

    # `project create --dataset_path` without --labels takes the labels from the dataset.
    output = live.cli_ok(
        "project", "create", "from dataset", "--dataset_path", str(dataset_zip),
        "--dataset_format", "CVAT 1.1",
    )  # fmt: skip
    new_id = int(output.strip().splitlines()[-1])
    assert [lbl["name"] for lbl in live.labels(project_id=new_id)] == ["car"]
    new_tasks = live.api().get("/api/tasks", params={"project_id": new_id}).json()["results"]
    assert sum(len(live.annotations(t["id"])["shapes"]) for t in new_tasks) == 1
