"""cvat-sdk 2.80.0's high-level API against a live LabelVault, effects checked on the server."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.helpers.compat import (
    LABELS,
    PASSWORD,
    Live,
    archive_images,
    frame_color,
    shape_summary,
    source_frames,
    write_images,
)

pytestmark = pytest.mark.e2e


@pytest.fixture
def client(live: Live) -> Iterator[Any]:
    with live.sdk() as sdk_client:
        yield sdk_client


@pytest.fixture
def sdk_task(live: Live, client: Any, tmp_path: Path) -> Any:
    """A fresh 3-frame task in 2 jobs, created through the SDK."""
    from cvat_sdk.core.proxies.tasks import ResourceType

    return client.tasks.create_from_data(
        spec={"name": "sdk task", "labels": LABELS, "segment_size": 2},
        resource_type=ResourceType.LOCAL,
        resources=[str(p) for p in write_images(tmp_path / "imgs")],
    )


def _names(live: Live, task_id: int) -> dict[int, str]:
    return {label["id"]: label["name"] for label in live.labels(task_id=task_id)}


def test_make_client_and_users(live: Live) -> None:
    from cvat_sdk import make_client

    with make_client("http://127.0.0.1", port=live.port, credentials=("admin", PASSWORD)) as c:
        me = c.users.retrieve_current_user()
        assert me.username == "admin"
        users = c.users.list()
        assert "admin" in {u.username for u in users}
        assert c.users.retrieve(me.id).username == "admin"
        c.users.retrieve(me.id).update({"first_name": "Ada"})
        assert live.api().get(f"/api/users/{me.id}").json()["first_name"] == "Ada"
        c.users.retrieve(me.id).update({"first_name": ""})


def test_access_token_client(live: Live, annotated_task: int) -> None:
    from cvat_sdk import Client, Config
    from cvat_sdk.core.client import AccessTokenCredentials

    token = live.token("sdk")
    with Client(live.base, config=Config(cache_dir=live.home / "sdk-cache")) as c:
        c.login(AccessTokenCredentials(token))
        assert c.tasks.retrieve(annotated_task).name == "annotated"
        assert c.users.retrieve_current_user().username == "admin"


def test_projects_retrieve_list_update(live: Live, client: Any) -> None:
    project = client.projects.create(spec={"name": "sdk project", "labels": LABELS})
    assert {label.name for label in project.get_labels()} == {"car", "person", "sky"}
    assert project.id in {p.id for p in client.projects.list()}
    project.update({"name": "renamed project", "bug_tracker": "https://bugs.example/sdk"})
    assert project.name == "renamed project"
    server = live.api().get(f"/api/projects/{project.id}").json()
    assert server["name"] == "renamed project"
    assert server["bug_tracker"] == "https://bugs.example/sdk"
    assert client.projects.retrieve(project.id).name == "renamed project"
    project.remove()
    assert live.api().get(f"/api/projects/{project.id}").status_code == 404


def test_tasks_and_jobs_retrieve_list_update(live: Live, client: Any, sdk_task: Any) -> None:
    assert sdk_task.size == 3
    assert sdk_task.id in {t.id for t in client.tasks.list()}
    task = client.tasks.retrieve(sdk_task.id)
    task.update({"name": "renamed task", "subset": "train"})
    server = live.api().get(f"/api/tasks/{task.id}").json()
    assert (server["name"], server["subset"]) == ("renamed task", "train")

    jobs = task.get_jobs()
    assert sorted((j.start_frame, j.stop_frame) for j in jobs) == [(0, 1), (2, 2)]
    listed = [j for j in client.jobs.list() if j.task_id == task.id]
    assert sorted(j.id for j in listed) == sorted(j.id for j in jobs)
    job = client.jobs.retrieve(jobs[0].id)
    me = client.users.retrieve_current_user()
    job.update({"stage": "validation", "assignee": me.id})
    server_job = live.api().get(f"/api/jobs/{job.id}").json()
    assert server_job["stage"] == "validation"
    assert server_job["assignee"]["id"] == me.id
    assert [f.name for f in task.get_meta().frames] == ["img0.png", "img1.png", "img2.png"]
    assert [f.name for f in job.get_frames_info()] == ["img0.png", "img1.png"][: job.frame_count]


def test_frames_and_chunks(live: Live, sdk_task: Any) -> None:
    for quality in ("original", "compressed"):
        image = Image.open(sdk_task.get_frame(1, quality=quality))
        assert image.size == (42, 31)
        pixel = image.convert("RGB").getpixel((2, 2))
        assert all(abs(a - b) <= 12 for a, b in zip(pixel, frame_color(1), strict=True))
    chunk = io.BytesIO()
    sdk_task.download_chunk(0, chunk, quality="original")
    with zipfile.ZipFile(chunk) as archive:
        images = [Image.open(archive.open(m)) for m in archive.infolist()]
    assert [im.size for im in images] == [(40, 30), (42, 31), (44, 32)]
    chunk = io.BytesIO()
    sdk_task.download_chunk(0, chunk, quality="compressed")
    with zipfile.ZipFile(chunk) as archive:
        assert len(archive.infolist()) == 3


def test_job_annotations(live: Live, client: Any, sdk_task: Any) -> None:
    from cvat_sdk import models
    from cvat_sdk.core.proxies.annotations import AnnotationUpdateAction

    labels = {label.name: label for label in sdk_task.get_labels()}
    car, person, sky = labels["car"], labels["person"], labels["sky"]
    job = next(j for j in sdk_task.get_jobs() if j.start_frame == 0)
    job.set_annotations(
        models.LabeledDataRequest(
            shapes=[
                models.LabeledShapeRequest(
                    type="rectangle",
                    frame=1,
                    label_id=car.id,
                    points=[1.0, 2.0, 10.0, 20.0],
                    attributes=[
                        models.AttributeValRequest(spec_id=car.attributes[0].id, value="blue")
                    ],
                )
            ],
            tags=[models.LabeledImageRequest(frame=0, label_id=sky.id)],
        )
    )
    got = job.get_annotations()
    assert [(s.frame, s.points, s.attributes[0].value) for s in got.shapes] == [
        (1, [1.0, 2.0, 10.0, 20.0], "blue")
    ]
    box_id = got.shapes[0].id
    job.update_annotations(
        models.PatchedLabeledDataRequest(
            shapes=[
                models.LabeledShapeRequest(
                    type="polygon", frame=0, label_id=person.id, points=[0, 0, 5, 0, 5, 5]
                )
            ]
        ),
        action=AnnotationUpdateAction.CREATE,
    )
    got = job.get_annotations()
    assert sorted(str(s.type) for s in got.shapes) == ["polygon", "rectangle"]
    box = models.LabeledShapeRequest(
        id=box_id, type="rectangle", frame=1, label_id=car.id, points=[2.0, 2.0, 12.0, 22.0]
    )
    job.update_annotations(
        models.PatchedLabeledDataRequest(shapes=[box]), action=AnnotationUpdateAction.UPDATE
    )
    server = live.api().get(f"/api/jobs/{job.id}/annotations/").json()
    assert next(s for s in server["shapes"] if s["id"] == box_id)["points"] == [2, 2, 12, 22]
    job.remove_annotations(ids=[box_id])
    server = live.api().get(f"/api/jobs/{job.id}/annotations/").json()
    assert [s["type"] for s in server["shapes"]] == ["polygon"]
    assert len(server["tags"]) == 1
    job.remove_annotations()
    server = live.api().get(f"/api/jobs/{job.id}/annotations/").json()
    assert server["shapes"] == [] and server["tags"] == []


def test_task_annotations_export_import_backup(
    live: Live, client: Any, sdk_task: Any, tmp_path: Path
) -> None:
    from cvat_sdk import models

    labels = {label.name: label for label in sdk_task.get_labels()}
    sdk_task.set_annotations(
        models.LabeledDataRequest(
            shapes=[
                models.LabeledShapeRequest(
                    type="rectangle", frame=f, label_id=labels["car"].id, points=[1, 1, 9, 9 + f]
                )
                for f in range(3)
            ],
            tags=[models.LabeledImageRequest(frame=2, label_id=labels["sky"].id)],
        )
    )
    want = shape_summary(live.annotations(sdk_task.id), _names(live, sdk_task.id))
    assert len(want) == 4

    export = tmp_path / "export.zip"
    sdk_task.export_dataset("CVAT for images 1.1", export, include_images=True)
    with zipfile.ZipFile(export) as archive:
        xml = archive.read("annotations.xml").decode()
    assert xml.count("<box ") == 3 and xml.count("<tag ") == 1
    assert source_frames(archive_images(export.read_bytes())) == {0, 1, 2}

    sdk_task.remove_annotations()
    assert live.annotations(sdk_task.id)["shapes"] == []
    sdk_task.import_annotations("CVAT 1.1", export)
    assert shape_summary(live.annotations(sdk_task.id), _names(live, sdk_task.id)) == want

    backup = tmp_path / "backup.zip"
    sdk_task.download_backup(backup)
    restored = client.tasks.create_from_backup(backup)
    assert restored.id != sdk_task.id
    assert restored.size == 3
    assert shape_summary(live.annotations(restored.id), _names(live, restored.id)) == want


def test_task_dataset(live: Live, client: Any, annotated_task: int) -> None:
    from cvat_sdk.datasets import TaskDataset

    dataset = TaskDataset(client, annotated_task)
    assert {label.name for label in dataset.labels} == {"car", "person", "sky"}
    samples = list(dataset.samples)
    assert [s.frame_name for s in samples] == ["img0.png", "img1.png", "img2.png"]
    for index, sample in enumerate(samples):
        image = sample.media.load_image()
        assert image.size == (40 + 2 * index, 30 + index)
        assert image.convert("RGB").getpixel((1, 1)) == frame_color(index)
    names = {label.id: label.name for label in dataset.labels}
    per_frame = [
        sorted([names[s.label_id] + ":" + str(s.type) for s in sample.annotations.shapes])
        + [names[t.label_id] + ":tag" for t in sample.annotations.tags]
        for sample in samples
    ]
    assert per_frame == [["car:rectangle", "sky:tag"], ["person:polygon"], ["person:rectangle"]]
