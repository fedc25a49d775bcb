"""Videos, appending and deleting frames, the frame cache (ETag/304, eviction), recovery."""

from __future__ import annotations

import io
from pathlib import Path

import av
import numpy as np
from PIL import Image

from labelvault.background import service as background
from labelvault.media import ingest, layout
from labelvault.tasks.models import Task
from tests.conftest import png_bytes
from tests.media.conftest import meta, new_task, post_data


def _video(path: Path, frames: int = 30) -> Path:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.codec_context.gop_size = 10
        for i in range(frames):
            pixels = np.full((48, 64, 3), (i * 8) % 256, dtype=np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def test_video_task_serves_frames_by_seek(admin, share) -> None:  # type: ignore[no-untyped-def]
    _video(share / "clip.mp4")
    task = new_task(admin, segment_size=10)
    status = post_data(admin, task["id"], {"server_files": ["clip.mp4"], "frame_filter": "step=2"})
    assert status["status"] == "finished", status
    after = admin.get(f"/api/tasks/{task['id']}").json()
    assert after["mode"] == "interpolation" and after["size"] == 15
    assert after["overlap"] == 5
    # As CVAT reports a video task: original chunks are video, compressed ones image sets.
    assert after["media_type"] == "video"
    assert after["data_original_chunk_type"] == "video"
    assert after["data_compressed_chunk_type"] == "imageset"
    job = admin.get("/api/jobs", params={"task_id": task["id"]}).json()["results"][0]
    assert job["data_original_chunk_type"] == "video"
    frame = admin.get(
        f"/api/tasks/{task['id']}/data",
        params={"type": "frame", "number": 7, "quality": "original"},
    )
    assert frame.status_code == 200
    pixels = np.asarray(Image.open(io.BytesIO(frame.content)).convert("L"))
    # output frame 7 is source frame 14 (step=2), whose grey level is 14*8
    assert abs(int(pixels.mean()) - 112) <= 4
    chunk = admin.get(f"/api/tasks/{task['id']}/data", params={"type": "chunk", "number": 0})
    assert chunk.status_code == 200


def test_append_and_delete_frames_keep_annotations(admin, task_with_data) -> None:  # type: ignore[no-untyped-def]
    task = task_with_data(frames=3)
    labels = admin.get("/api/labels", params={"task_id": task["id"]}).json()["results"]
    person = next(lbl for lbl in labels if lbl["name"] == "person")
    shape = {"type": "rectangle", "frame": 1, "label_id": person["id"], "points": [1, 2, 30, 40]}
    put = admin.put(
        f"/api/tasks/{task['id']}/annotations",
        json={"version": 0, "tags": [], "shapes": [shape], "tracks": []},
    )
    assert put.status_code == 200, put.text
    # without append=true a second upload is still refused
    refused = admin.post(f"/api/tasks/{task['id']}/data/", headers={"Upload-Start": ""})
    assert refused.status_code == 400
    assert (
        admin.post(
            f"/api/tasks/{task['id']}/data/?append=true", headers={"Upload-Start": ""}
        ).status_code
        == 202
    )
    files = [
        (f"client_files[{i}]", (f"/x/{n}", png_bytes(70 + i, 48), "image/png"))
        for i, n in enumerate(["new1.png", "new2.png"])
    ]
    assert (
        admin.post(
            f"/api/tasks/{task['id']}/data/?append=true",
            headers={"Upload-Multiple": ""},
            files=files,
        ).status_code
        == 200
    )
    response = admin.post(
        f"/api/tasks/{task['id']}/data/?append=true", headers={"Upload-Finish": ""}, json={}
    )
    assert response.status_code == 202, response.text
    status = admin.get(f"/api/requests/{response.json()['rq_id']}").json()
    assert status["status"] == "finished", status
    after = admin.get(f"/api/tasks/{task['id']}").json()
    assert after["size"] == 5
    names = [f["name"] for f in meta(admin, task["id"])["frames"]]
    assert names[3:] == ["new1.png", "new2.png"]
    jobs = admin.get("/api/jobs", params={"task_id": task["id"]}).json()["results"]
    # segment_size 0: the one job grows over the new frames
    assert [(j["start_frame"], j["stop_frame"]) for j in jobs] == [(0, 4)]
    got = admin.get(f"/api/tasks/{task['id']}/annotations").json()
    assert [(s["frame"], s["points"]) for s in got["shapes"]] == [(1, [1, 2, 30, 40])]
    frame = admin.get(
        f"/api/tasks/{task['id']}/data",
        params={"type": "frame", "number": 4, "quality": "original"},
    )
    assert Image.open(io.BytesIO(frame.content)).size == (71, 48)
    # delete and restore frames
    patched = admin.patch(f"/api/tasks/{task['id']}/data/meta", json={"deleted_frames": [1, 4]})
    assert patched.status_code == 200 and patched.json()["deleted_frames"] == [1, 4]
    restored = admin.patch(f"/api/tasks/{task['id']}/data/meta", json={"deleted_frames": [4]})
    assert restored.json()["deleted_frames"] == [4]
    got = admin.get(f"/api/tasks/{task['id']}/annotations").json()
    assert len(got["shapes"]) == 1


def test_append_with_segments_makes_new_jobs(admin, share) -> None:  # type: ignore[no-untyped-def]
    for i in range(4):
        (share / f"a{i}.png").write_bytes(png_bytes(20 + i, 10))
    for i in range(3):
        (share / f"b{i}.png").write_bytes(png_bytes(30 + i, 10))
    task = new_task(admin, segment_size=3)
    assert (
        post_data(admin, task["id"], {"server_files": [f"a{i}.png" for i in range(4)]})["status"]
        == "finished"
    )
    status = post_data(
        admin, task["id"], {"server_files": [f"b{i}.png" for i in range(3)]}, query="?append=true"
    )
    assert status["status"] == "finished", status
    jobs = admin.get("/api/jobs", params={"task_id": task["id"]}).json()["results"]
    assert sorted((j["start_frame"], j["stop_frame"]) for j in jobs) == [(0, 2), (3, 3), (4, 6)]
    # appending a name the task already has fails and changes nothing
    status = post_data(admin, task["id"], {"server_files": ["a0.png"]}, query="?append=true")
    assert status["status"] == "failed" and "a0.png" in status["message"]
    assert admin.get(f"/api/tasks/{task['id']}").json()["size"] == 7


def test_frames_have_etags_and_304(admin, task_with_data) -> None:  # type: ignore[no-untyped-def]
    task = task_with_data(frames=2)
    url = f"/api/tasks/{task['id']}/data"
    for params in (
        {"type": "frame", "number": 1},
        {"type": "frame", "number": 1, "quality": "original"},
        {"type": "chunk", "number": 0},
        {"type": "preview"},
    ):
        first = admin.get(url, params=params)
        assert first.status_code == 200
        tag = first.headers["ETag"]
        assert "max-age" in first.headers["Cache-Control"]
        again = admin.get(url, params=params)
        assert again.content == first.content and again.headers["ETag"] == tag
        not_modified = admin.get(url, params=params, headers={"If-None-Match": tag})
        assert not_modified.status_code == 304 and not_modified.content == b""


def test_frame_cache_is_bounded(app, admin, task_with_data, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from labelvault.media import sources

    monkeypatch.setattr(sources, "_caches", {})
    monkeypatch.setenv("LABELVAULT_MEDIA_CACHE_BYTES", "3000")
    task = task_with_data(frames=3)
    for number in range(3):
        for quality in ("compressed",):
            assert (
                admin.get(
                    f"/api/tasks/{task['id']}/data",
                    params={"type": "frame", "number": number, "quality": quality},
                ).status_code
                == 200
            )
        admin.get(f"/api/tasks/{task['id']}/data", params={"type": "chunk", "number": 0})
    cache = app.state.settings.media_dir / "tasks" / str(task["id"]) / "cache"
    total = sum(p.stat().st_size for p in cache.rglob("*") if p.is_file())
    assert total <= 3000
    monkeypatch.setattr(sources, "_caches", {})


def test_restart_during_creation_is_cleaned_up(app, admin, share) -> None:  # type: ignore[no-untyped-def]
    settings = app.state.settings
    db = app.state.db
    task = new_task(admin)
    # a request that was running when the process died, with its files half made
    rq_id = background.create(
        db, operation="create:task", target="task", owner_id=admin.user_id, task_id=task["id"]
    )
    with db.session() as session:
        session.get(Task, task["id"]).data_state = "uploading"
        from labelvault.background.models import Request

        session.get(Request, rq_id).status = "started"
    area = settings.uploads_dir / f"task-{task['id']}-data"
    area.mkdir(parents=True)
    (area / "a.png").write_bytes(png_bytes())
    raw = layout.raw_dir(settings, task["id"])
    (raw / ".staging-x").mkdir(parents=True)
    (raw / "half.png").write_bytes(png_bytes())
    interrupted = background.recover_interrupted(db)
    assert [r.id for r in interrupted] == [rq_id]
    assert ingest.cleanup_interrupted(db, settings) == [task["id"]]
    assert admin.get(f"/api/requests/{rq_id}").json()["status"] == "failed"
    assert not area.exists() and not raw.exists()
    # the task takes data again
    (share / "ok.png").write_bytes(png_bytes())
    assert post_data(admin, task["id"], {"server_files": ["ok.png"]})["status"] == "finished"
