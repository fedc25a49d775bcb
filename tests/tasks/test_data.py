"""Task data over the API: uploads (SDK flow, one-shot, TUS), ordering, jobs, frames, meta."""

from __future__ import annotations

import base64
import io
import zipfile
from urllib.parse import urlsplit

import pytest
from PIL import Image

from tests.conftest import png_bytes, upload_images


def _task(client, **fields) -> dict:  # type: ignore[no-untyped-def]
    response = client.post("/api/tasks", json={"name": "d", "labels": [{"name": "car"}], **fields})
    assert response.status_code == 201, response.text
    return response.json()


def _meta(client, task_id: int) -> dict:  # type: ignore[no-untyped-def]
    response = client.get(f"/api/tasks/{task_id}/data/meta")
    assert response.status_code == 200, response.text
    return response.json()


def _names(client, task_id: int) -> list[str]:  # type: ignore[no-untyped-def]
    return [f["name"] for f in _meta(client, task_id)["frames"]]


def _jobs(client, task_id: int) -> list[dict]:  # type: ignore[no-untyped-def]
    return client.get("/api/jobs", params={"task_id": task_id, "page_size": 100}).json()["results"]


def _decode(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def _nothing_left(app, client, task_id: int) -> None:  # type: ignore[no-untyped-def]
    settings = app.state.settings
    task = client.get(f"/api/tasks/{task_id}").json()
    assert task["data"] is None
    assert task["size"] == 0
    assert task["jobs"]["count"] == 0
    meta = client.get(f"/api/tasks/{task_id}/data/meta").json()
    assert not meta["frames"]
    media = settings.media_dir / "tasks" / str(task_id)
    assert not media.exists() or not [p for p in media.rglob("*") if p.is_file()]
    assert not (settings.uploads_dir / f"task-{task_id}-data").exists()


def test_sdk_upload_flow_finishes(admin) -> None:  # type: ignore[no-untyped-def]
    task = _task(admin)
    status = upload_images(admin, task["id"], 3)
    assert status["status"] == "finished"
    assert status["operation"]["type"] == "create:task"
    assert status["operation"]["task_id"] == task["id"]
    assert status["progress"] == 1
    after = admin.get(f"/api/tasks/{task['id']}").json()
    assert after["size"] == 3
    assert after["data"] is not None
    assert _names(admin, task["id"]) == ["img0.png", "img1.png", "img2.png"]
    # the upload area is gone once the request ran
    assert not (admin.app.state.settings.uploads_dir / f"task-{task['id']}-data").exists()
    # a second data upload to the same task is refused
    response = admin.post(f"/api/tasks/{task['id']}/data/", headers={"Upload-Start": ""})
    assert response.status_code == 400


NAMES = ["img10.png", "img2.png", "img1.png", "a.png"]


@pytest.mark.parametrize(
    ("method", "expected"),
    [
        ("lexicographical", ["a.png", "img1.png", "img10.png", "img2.png"]),
        ("natural", ["a.png", "img1.png", "img2.png", "img10.png"]),
    ],
)
def test_sorting(admin, method: str, expected: list[str]) -> None:  # type: ignore[no-untyped-def]
    task = _task(admin)
    status = upload_images(admin, task["id"], params={"sorting_method": method}, names=NAMES)
    assert status["status"] == "finished", status
    meta = _meta(admin, task["id"])
    assert [f["name"] for f in meta["frames"]] == expected
    # each frame still carries its own file (upload i has width 64+i)
    for frame in meta["frames"]:
        assert frame["width"] == 64 + NAMES.index(frame["name"])


def test_predefined_sorting_uses_upload_file_order(admin) -> None:  # type: ignore[no-untyped-def]
    task = _task(admin)
    order = ["img1.png", "a.png", "img10.png", "img2.png"]
    params = {"sorting_method": "predefined", "upload_file_order": order}
    status = upload_images(admin, task["id"], params=params, names=NAMES)
    assert status["status"] == "finished", status
    assert _names(admin, task["id"]) == order
    # frame 0 really is img1.png (upload index 2 → width 66)
    frame = admin.get(
        f"/api/tasks/{task['id']}/data/",
        params={"type": "frame", "number": 0, "quality": "original"},
    )
    assert _decode(frame.content).size == (64 + NAMES.index("img1.png"), 48)


def test_predefined_without_order_keeps_upload_order(admin) -> None:  # type: ignore[no-untyped-def]
    task = _task(admin)
    status = upload_images(admin, task["id"], params={"sorting_method": "predefined"}, names=NAMES)
    assert status["status"] == "finished", status
    assert _names(admin, task["id"]) == NAMES


def test_random_sorting_is_a_stable_permutation(admin) -> None:  # type: ignore[no-untyped-def]
    names = [f"f{i:02d}.png" for i in range(12)]
    task = _task(admin)
    status = upload_images(admin, task["id"], params={"sorting_method": "random"}, names=names)
    assert status["status"] == "finished", status
    first = _names(admin, task["id"])
    assert sorted(first) == names
    assert first != names  # 1 in 12! chance of a false alarm
    assert _names(admin, task["id"]) == first
    for index, frame in enumerate(_meta(admin, task["id"])["frames"]):
        assert frame["width"] == 64 + names.index(frame["name"]), index


def test_start_stop_and_step(admin) -> None:  # type: ignore[no-untyped-def]
    names = [f"f{i}.png" for i in range(7)]
    task = _task(admin)
    params = {"start_frame": 1, "stop_frame": 5, "frame_filter": "step=2"}
    status = upload_images(admin, task["id"], params=params, names=names)
    assert status["status"] == "finished", status
    assert _names(admin, task["id"]) == ["f1.png", "f3.png", "f5.png"]
    body = admin.get(f"/api/tasks/{task['id']}").json()
    assert body["size"] == 3
    meta = _meta(admin, task["id"])
    assert meta["frame_filter"] == "step=2"
    assert meta["size"] == 3


def test_bad_data_params_are_400(admin) -> None:  # type: ignore[no-untyped-def]
    task = _task(admin)
    for params in (
        {"frame_filter": "every=2"},
        {"sorting_method": "sideways"},
        {"image_quality": 0},
        {"chunk_size": 0},
    ):
        assert (
            admin.post(f"/api/tasks/{task['id']}/data/", headers={"Upload-Start": ""}).status_code
            == 202
        )
        files = [("client_files[0]", ("a.png", png_bytes(), "image/png"))]
        assert (
            admin.post(
                f"/api/tasks/{task['id']}/data/", headers={"Upload-Multiple": ""}, files=files
            ).status_code
            == 200
        )
        response = admin.post(
            f"/api/tasks/{task['id']}/data/", headers={"Upload-Finish": ""}, json=params
        )
        assert response.status_code == 400, params
    assert admin.get(f"/api/tasks/{task['id']}").json()["data"] is None


@pytest.mark.parametrize(
    ("frames", "segment_size", "overlap", "ranges"),
    [
        (7, 3, 1, [(0, 2), (2, 4), (4, 6)]),
        (5, 2, None, [(0, 1), (2, 3), (4, 4)]),
        (4, 0, None, [(0, 3)]),
        (3, 10, None, [(0, 2)]),
    ],
)
def test_segments_make_jobs(admin, task_with_data, frames, segment_size, overlap, ranges) -> None:  # type: ignore[no-untyped-def]
    fields = {"segment_size": segment_size}
    if overlap is not None:
        fields["overlap"] = overlap
    task = task_with_data(frames=frames, **fields)
    jobs = sorted(_jobs(admin, task["id"]), key=lambda j: j["start_frame"])
    assert [(j["start_frame"], j["stop_frame"]) for j in jobs] == ranges
    assert [j["frame_count"] for j in jobs] == [b - a + 1 for a, b in ranges]
    assert task["jobs"]["count"] == len(ranges)


def test_job_file_mapping(admin) -> None:  # type: ignore[no-untyped-def]
    names = [f"f{i}.png" for i in range(5)]
    task = _task(admin)
    mapping = [["f0.png", "f2.png"], ["f1.png", "f3.png", "f4.png"]]
    status = upload_images(admin, task["id"], params={"job_file_mapping": mapping}, names=names)
    assert status["status"] == "finished", status
    jobs = sorted(_jobs(admin, task["id"]), key=lambda j: j["id"])
    assert len(jobs) == 2
    for job, files in zip(jobs, mapping, strict=True):
        assert job["frame_count"] == len(files)
        meta = admin.get(f"/api/jobs/{job['id']}/data/meta").json()
        assert [f["name"] for f in meta["frames"]] == files
        # each job serves exactly its own frames
        served = []
        for number in range(5):
            response = admin.get(
                f"/api/jobs/{job['id']}/data",
                params={"type": "frame", "number": number, "quality": "original"},
            )
            if response.status_code == 200:
                served.append(_decode(response.content).size[0] - 64)
            else:
                assert response.status_code == 400
        assert served == [names.index(f) for f in files]


def test_job_file_mapping_with_unknown_file_fails_cleanly(app, admin) -> None:  # type: ignore[no-untyped-def]
    task = _task(admin)
    status = upload_images(
        admin, task["id"], 2, params={"job_file_mapping": [["img0.png", "zz.png"]]}
    )
    assert status["status"] == "failed"
    assert "zz.png" in status["message"]
    _nothing_left(app, admin, task["id"])


def test_one_shot_multipart(admin) -> None:  # type: ignore[no-untyped-def]
    task = _task(admin)
    files = [
        ("client_files[0]", ("/home/u/b.png", png_bytes(70, 30), "image/png")),
        ("client_files[1]", ("/home/u/a.png", png_bytes(80, 40), "image/png")),
    ]
    response = admin.post(
        f"/api/tasks/{task['id']}/data/", files=files, data={"image_quality": "50"}
    )
    assert response.status_code == 202, response.text
    status = admin.get(f"/api/requests/{response.json()['rq_id']}").json()
    assert status["status"] == "finished", status
    meta = _meta(admin, task["id"])
    assert [(f["name"], f["width"], f["height"]) for f in meta["frames"]] == [
        ("a.png", 80, 40),
        ("b.png", 70, 30),
    ]
    assert meta["image_quality"] == 50


def _tus_upload(client, task_id: int, name: str, payload: bytes) -> str:  # type: ignore[no-untyped-def]
    response = client.post(
        f"/api/tasks/{task_id}/data/",
        headers={
            "Tus-Resumable": "1.0.0",
            "Upload-Length": str(len(payload)),
            "Upload-Metadata": "filename " + base64.b64encode(name.encode()).decode(),
            "Content-Type": "application/json",
        },
        content=b"",
    )
    assert response.status_code == 201, response.text
    location = response.headers["Location"]
    assert location.startswith("http://testserver/")
    assert response.headers["Upload-Filename"]
    return urlsplit(location).path


def test_tus_upload(admin) -> None:  # type: ignore[no-untyped-def]
    task = _task(admin)
    assert (
        admin.post(f"/api/tasks/{task['id']}/data/", headers={"Upload-Start": ""}).status_code
        == 202
    )
    small = [("client_files[0]", ("/x/small.png", png_bytes(10, 10), "image/png"))]
    response = admin.post(
        f"/api/tasks/{task['id']}/data/", headers={"Upload-Multiple": ""}, files=small
    )
    assert response.status_code == 200
    payload = png_bytes(200, 100, (1, 2, 3))
    path = _tus_upload(admin, task["id"], "big.png", payload)
    chunk_headers = {"Tus-Resumable": "1.0.0", "Content-Type": "application/offset+octet-stream"}
    half = len(payload) // 2
    response = admin.patch(
        path, headers={**chunk_headers, "Upload-Offset": "0"}, content=payload[:half]
    )
    assert response.status_code == 204, response.text
    assert response.headers["Upload-Offset"] == str(half)
    # a wrong offset is a 409 carrying the real one
    response = admin.patch(
        path, headers={**chunk_headers, "Upload-Offset": "0"}, content=payload[half:]
    )
    assert response.status_code == 409
    assert response.headers["Upload-Offset"] == str(half)
    head = admin.head(path, headers={"Tus-Resumable": "1.0.0"})
    assert head.status_code == 200
    assert head.headers["Upload-Offset"] == str(half)
    response = admin.patch(
        path, headers={**chunk_headers, "Upload-Offset": str(half)}, content=payload[half:]
    )
    assert response.status_code == 204
    assert response.headers["Upload-Offset"] == str(len(payload))
    response = admin.post(
        f"/api/tasks/{task['id']}/data/",
        headers={"Upload-Finish": ""},
        json={"image_quality": 70, "sorting_method": "lexicographical"},
    )
    assert response.status_code == 202, response.text
    status = admin.get(f"/api/requests/{response.json()['rq_id']}").json()
    assert status["status"] == "finished", status
    meta = _meta(admin, task["id"])
    assert [(f["name"], f["width"]) for f in meta["frames"]] == [
        ("big.png", 200),
        ("small.png", 10),
    ]
    frame = admin.get(
        f"/api/tasks/{task['id']}/data",
        params={"type": "frame", "number": 0, "quality": "original"},
    )
    assert frame.content == payload


def test_tus_rejects_bytes_beyond_length(admin) -> None:  # type: ignore[no-untyped-def]
    task = _task(admin)
    assert (
        admin.post(f"/api/tasks/{task['id']}/data/", headers={"Upload-Start": ""}).status_code
        == 202
    )
    path = _tus_upload(admin, task["id"], "x.png", b"12345")
    response = admin.patch(
        path,
        headers={"Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"},
        content=b"1234567890",
    )
    assert response.status_code == 400
    head = admin.head(path)
    assert head.headers["Upload-Offset"] == "0"


def _upload_raw(client, task_id: int, files: list[tuple[str, bytes]]) -> tuple[int, dict]:  # type: ignore[no-untyped-def]
    """Upload-Start/Multiple/Finish with raw (name, bytes); returns (finish status, reply)."""
    assert (
        client.post(f"/api/tasks/{task_id}/data/", headers={"Upload-Start": ""}).status_code == 202
    )
    if files:
        parts = [
            (f"client_files[{i}]", (f"/abs/{name}", data, "application/octet-stream"))
            for i, (name, data) in enumerate(files)
        ]
        response = client.post(
            f"/api/tasks/{task_id}/data/", headers={"Upload-Multiple": ""}, files=parts
        )
        if response.status_code != 200:
            return response.status_code, {"message": response.text}
    response = client.post(
        f"/api/tasks/{task_id}/data/", headers={"Upload-Finish": ""}, json={"image_quality": 70}
    )
    if response.status_code != 202:
        return response.status_code, {"message": response.text}
    return 202, client.get(f"/api/requests/{response.json()['rq_id']}").json()


@pytest.mark.parametrize(
    ("files", "culprit"),
    [
        ([("good.png", png_bytes()), ("broken.png", b"\x89PNG\r\n\x1a\nnot really")], "broken.png"),
        ([("good.png", png_bytes()), ("notes.txt", b"hello")], "notes.txt"),
        ([("dup.png", png_bytes()), ("dup.png", png_bytes(10, 10))], "dup.png"),
        ([], "no files"),
    ],
    ids=["corrupt", "text", "duplicate", "empty"],
)
def test_bad_uploads_leave_nothing(app, admin, files, culprit) -> None:  # type: ignore[no-untyped-def]
    task = _task(admin)
    status, reply = _upload_raw(admin, task["id"], files)
    if status == 202:
        assert reply["status"] == "failed", reply
        assert isinstance(reply["message"], str)
    else:
        assert status == 400
    assert culprit in reply["message"]
    _nothing_left(app, admin, task["id"])
    # and the task can still get good data
    status = upload_images(admin, task["id"], 2)
    assert status["status"] == "finished", status
    assert admin.get(f"/api/tasks/{task['id']}").json()["size"] == 2


def test_frames_original_and_compressed(admin, task_with_data) -> None:  # type: ignore[no-untyped-def]
    task = task_with_data(frames=3)
    meta = _meta(admin, task["id"])
    for number, frame in enumerate(meta["frames"]):
        for quality in ("original", "compressed"):
            response = admin.get(
                f"/api/tasks/{task['id']}/data/",
                params={"type": "frame", "number": number, "quality": quality},
            )
            assert response.status_code == 200, response.text
            image = _decode(response.content)
            assert image.size == (frame["width"], frame["height"])
            if quality == "original":
                assert image.format == "PNG"
    for number in (3, -1, 100):
        response = admin.get(
            f"/api/tasks/{task['id']}/data/", params={"type": "frame", "number": number}
        )
        assert response.status_code == 400, number
    bad = admin.get(
        f"/api/tasks/{task['id']}/data/", params={"type": "frame", "number": 0, "quality": "x"}
    )
    assert bad.status_code == 400


def test_frame_of_task_without_data_is_400(admin) -> None:  # type: ignore[no-untyped-def]
    task = _task(admin)
    response = admin.get(f"/api/tasks/{task['id']}/data", params={"type": "frame", "number": 0})
    assert response.status_code == 400


def test_chunks_are_zips_in_frame_order(admin) -> None:  # type: ignore[no-untyped-def]
    names = [f"f{i}.png" for i in range(5)]
    task = _task(admin)
    status = upload_images(admin, task["id"], params={"chunk_size": 2}, names=names)
    assert status["status"] == "finished", status
    body = admin.get(f"/api/tasks/{task['id']}").json()
    assert body["data_chunk_size"] == 2
    meta = _meta(admin, task["id"])
    assert meta["chunk_size"] == 2
    for chunk in range(3):
        for quality in ("original", "compressed"):
            response = admin.get(
                f"/api/tasks/{task['id']}/data/",
                params={"type": "chunk", "number": chunk, "quality": quality},
            )
            assert response.status_code == 200
            with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
                members = archive.infolist()
                expected = list(range(chunk * 2, min(chunk * 2 + 2, 5)))
                assert len(members) == len(expected)
                for member, frame in zip(members, expected, strict=True):
                    image = _decode(archive.read(member))
                    assert image.size[0] == meta["frames"][frame]["width"]
    response = admin.get(f"/api/tasks/{task['id']}/data/", params={"type": "chunk", "number": 3})
    assert response.status_code in (400, 404)


def test_preview(admin, task_with_data) -> None:  # type: ignore[no-untyped-def]
    task = task_with_data(frames=2)
    for url, params in (
        (f"/api/tasks/{task['id']}/data", {"type": "preview"}),
        (f"/api/tasks/{task['id']}/preview", {}),
    ):
        response = admin.get(url, params=params)
        assert response.status_code == 200, url
        assert _decode(response.content).size[0] > 0
    job = _jobs(admin, task["id"])[0]
    assert _decode(admin.get(f"/api/jobs/{job['id']}/preview").content).size[0] > 0


def test_meta_of_task_and_jobs(admin, task_with_data) -> None:  # type: ignore[no-untyped-def]
    task = task_with_data(frames=5, segment_size=3)
    meta = _meta(admin, task["id"])
    for key in ("chunks_updated_date", "frames", "deleted_frames", "size", "image_quality"):
        assert key in meta
    assert meta["deleted_frames"] == []
    assert len(meta["frames"]) == 5
    for frame in meta["frames"]:
        assert set(frame) >= {"name", "width", "height", "related_files"}
        assert type(frame["related_files"]) is int
    jobs = sorted(_jobs(admin, task["id"]), key=lambda j: j["start_frame"])
    second = admin.get(f"/api/jobs/{jobs[1]['id']}/data/meta").json()
    assert second["start_frame"] == 3 and second["stop_frame"] == 4
    assert [f["name"] for f in second["frames"]] == [f["name"] for f in meta["frames"][3:]]
    assert "chunks_updated_date" in second and second["deleted_frames"] == []


def test_patch_meta_deleted_frames(admin, task_with_data) -> None:  # type: ignore[no-untyped-def]
    task = task_with_data(frames=4)
    response = admin.patch(f"/api/tasks/{task['id']}/data/meta", json={"deleted_frames": [2, 0, 2]})
    assert response.status_code == 200, response.text
    assert response.json()["deleted_frames"] == [0, 2]
    assert _meta(admin, task["id"])["deleted_frames"] == [0, 2]
    job = _jobs(admin, task["id"])[0]
    assert admin.get(f"/api/jobs/{job['id']}/data/meta").json()["deleted_frames"] == [0, 2]
    response = admin.patch(f"/api/tasks/{task['id']}/data/meta", json={"deleted_frames": [9]})
    assert response.status_code == 400
    assert _meta(admin, task["id"])["deleted_frames"] == [0, 2]
    response = admin.patch(f"/api/tasks/{task['id']}/data/meta", json={"deleted_frames": []})
    assert response.json()["deleted_frames"] == []


def test_other_user_cannot_upload_or_read(admin, make_user, task_with_data) -> None:  # type: ignore[no-untyped-def]
    bob = make_user("bob")
    task = task_with_data(frames=1)
    assert bob.get(f"/api/tasks/{task['id']}/data/meta").status_code == 404
    assert bob.get(f"/api/tasks/{task['id']}/data", params={"number": 0}).status_code == 404
    empty = _task(admin)
    response = bob.post(f"/api/tasks/{empty['id']}/data/", headers={"Upload-Start": ""})
    assert response.status_code == 404


def test_project_preview_is_its_first_task_with_data(admin, task_with_data) -> None:  # type: ignore[no-untyped-def]
    from io import BytesIO

    from PIL import Image

    project = admin.post("/api/projects", json={"name": "p", "labels": [{"name": "a"}]}).json()
    assert admin.get(f"/api/projects/{project['id']}/preview").status_code == 404
    task_with_data(project_id=project["id"])
    response = admin.get(f"/api/projects/{project['id']}/preview")
    assert response.status_code == 200
    assert Image.open(BytesIO(response.content)).size[0] > 0
