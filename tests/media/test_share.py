"""The connected share: listing, tasks read in place or copied, and missing paths."""

from __future__ import annotations

import io

from PIL import Image

from tests.conftest import png_bytes
from tests.media.conftest import jpeg_bytes, meta, new_task, nothing_left, post_data


def _fill(share) -> None:  # type: ignore[no-untyped-def]
    (share / "set" / "sub").mkdir(parents=True)
    (share / "set" / "a.jpg").write_bytes(jpeg_bytes(60, 40))
    (share / "set" / "b.png").write_bytes(png_bytes(30, 20))
    (share / "set" / "sub" / "c.jpg").write_bytes(jpeg_bytes(50, 50))
    (share / "set" / "notes.txt").write_text("not an image")
    (share / "clip.mp4").write_bytes(b"")
    (share / "pack.zip").write_bytes(b"PK")


def test_share_listing_like_cvat(admin, share) -> None:  # type: ignore[no-untyped-def]
    _fill(share)
    response = admin.get("/api/server/share", params={"directory": "/"})
    assert response.status_code == 200, response.text
    assert response.json() == [
        {"name": "set", "type": "DIR", "mime_type": "DIR"},
        {"name": "clip.mp4", "type": "REG", "mime_type": "video"},
        {"name": "pack.zip", "type": "REG", "mime_type": "archive"},
    ]
    inner = admin.get("/api/server/share", params={"directory": "set/"}).json()
    assert inner == [
        {"name": "sub", "type": "DIR", "mime_type": "DIR"},
        {"name": "a.jpg", "type": "REG", "mime_type": "image"},
        {"name": "b.png", "type": "REG", "mime_type": "image"},
        {"name": "notes.txt", "type": "REG", "mime_type": "unknown"},
    ]


def test_share_listing_is_path_safe(admin, share) -> None:  # type: ignore[no-untyped-def]
    (share.parent / "secret.txt").write_text("outside the share")
    response = admin.get("/api/server/share", params={"directory": "../"})
    assert response.status_code == 400
    assert "secret" not in response.text
    assert admin.get("/api/server/share", params={"directory": "nope"}).status_code == 404


def test_task_from_share_folder_reads_in_place(app, admin, share) -> None:  # type: ignore[no-untyped-def]
    _fill(share)
    (share / "set" / "notes.txt").unlink()
    task = new_task(admin)
    status = post_data(admin, task["id"], {"server_files": ["set/"], "image_quality": 80})
    assert status["status"] == "finished", status
    data = meta(admin, task["id"])
    assert [(f["name"], f["width"], f["height"]) for f in data["frames"]] == [
        ("set/a.jpg", 60, 40),
        ("set/b.png", 30, 20),
        ("set/sub/c.jpg", 50, 50),
    ]
    assert data["storage"] == "share"
    raw = app.state.settings.media_dir / "tasks" / str(task["id"]) / "raw"
    # in place: only the manifest was written, no image was copied
    assert sorted(p.name for p in raw.iterdir()) == ["manifest.jsonl"]
    original = admin.get(
        f"/api/tasks/{task['id']}/data",
        params={"type": "frame", "number": 1, "quality": "original"},
    )
    assert original.content == (share / "set" / "b.png").read_bytes()
    compressed = admin.get(f"/api/tasks/{task['id']}/data", params={"type": "frame", "number": 0})
    assert Image.open(io.BytesIO(compressed.content)).size == (60, 40)


def test_share_files_and_copy_data(app, admin, share) -> None:  # type: ignore[no-untyped-def]
    _fill(share)
    task = new_task(admin)
    status = post_data(
        admin, task["id"], {"server_files": ["set/sub/c.jpg", "set/a.jpg"], "copy_data": True}
    )
    assert status["status"] == "finished", status
    raw = app.state.settings.media_dir / "tasks" / str(task["id"]) / "raw"
    assert (raw / "set" / "a.jpg").read_bytes() == (share / "set" / "a.jpg").read_bytes()
    (share / "set" / "a.jpg").unlink()  # copied data no longer needs the share
    frame = admin.get(
        f"/api/tasks/{task['id']}/data",
        params={"type": "frame", "number": 0, "quality": "original"},
    )
    assert frame.status_code == 200
    assert meta(admin, task["id"])["storage"] == "local"


def test_missing_share_path_fails_naming_it(app, admin, share) -> None:  # type: ignore[no-untyped-def]
    _fill(share)
    task = new_task(admin)
    status = post_data(admin, task["id"], {"server_files": ["set/a.jpg", "set/missing.jpg"]})
    assert status["status"] == "failed"
    assert "set/missing.jpg" in status["message"]
    assert admin.get(f"/api/tasks/{task['id']}").json()["size"] == 0
    nothing_left(app, task["id"])


def test_share_path_traversal_is_refused(app, admin, share) -> None:  # type: ignore[no-untyped-def]
    (share.parent / "outside.jpg").write_bytes(jpeg_bytes())
    task = new_task(admin)
    response = admin.post(
        f"/api/tasks/{task['id']}/data/", json={"server_files": ["../outside.jpg"]}
    )
    status = admin.get(f"/api/requests/{response.json()['rq_id']}").json()
    assert status["status"] == "failed"
    assert "'..' is not allowed" in status["message"]
    nothing_left(app, task["id"])


def test_share_unsupported_file_fails_or_is_skipped(app, admin, share) -> None:  # type: ignore[no-untyped-def]
    _fill(share)
    task = new_task(admin)
    status = post_data(admin, task["id"], {"server_files": ["set/"]})
    assert status["status"] == "failed"
    assert "set/notes.txt" in status["message"]
    nothing_left(app, task["id"])
    status = post_data(admin, task["id"], {"server_files": ["set/"], "skip_broken": True})
    assert status["status"] == "finished", status
    assert "skipped 1 files: set/notes.txt" in status["message"]
    assert admin.get(f"/api/tasks/{task['id']}").json()["size"] == 3


def test_share_tasks_export_and_back_up_with_their_images(admin, share) -> None:  # type: ignore[no-untyped-def]
    """Frames read in place live in the share, not the task's folder: exports and CVAT
    backups must still carry the original bytes."""
    import zipfile

    from tests.media.conftest import wait

    _fill(share)
    task = new_task(admin)
    status = post_data(admin, task["id"], {"server_files": ["set/a.jpg", "set/b.png"]})
    assert status["status"] == "finished", status
    names = [f["name"] for f in meta(admin, task["id"])["frames"]]
    originals = {name: (share / name).read_bytes() for name in names}
    assert len(originals) == 2

    def download(path: str, **params: str) -> zipfile.ZipFile:
        response = admin.post(f"/api/tasks/{task['id']}/{path}/export", params=params)
        assert response.status_code == 202, response.text
        done = wait(admin, response.json()["rq_id"])
        assert done["status"] == "finished", done
        archive = admin.get(done["result_url"])
        assert archive.status_code == 200
        return zipfile.ZipFile(io.BytesIO(archive.content))

    backup = download("backup")
    for name, data in originals.items():
        assert backup.read(f"data/{name}") == data
    dataset = download("dataset", format="CVAT for images 1.1", save_images="True")
    members = {n.rsplit("/", 1)[-1]: n for n in dataset.namelist()}
    for name, data in originals.items():
        assert dataset.read(members[name.rsplit("/", 1)[-1]]) == data


def test_symlinks_never_lead_out_of_the_share(admin, share, tmp_path) -> None:  # type: ignore[no-untyped-def]
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "passwd.jpg").write_bytes(jpeg_bytes(20, 20))
    (share / "set").mkdir()
    (share / "set" / "a.jpg").write_bytes(jpeg_bytes(30, 20))
    (share / "etc").symlink_to(outside, target_is_directory=True)
    (share / "set" / "leak.jpg").symlink_to(outside / "passwd.jpg")
    (share / "set" / "loop").symlink_to(share / "set", target_is_directory=True)
    (share / "root").symlink_to("/", target_is_directory=True)

    top = admin.get("/api/server/share", params={"directory": "/"}).json()
    assert [e["name"] for e in top] == ["set"], top
    for folder in ("etc/", "root/", "root/etc/", "set/../etc"):
        response = admin.get("/api/server/share", params={"directory": folder})
        assert response.status_code in (400, 404), (folder, response.text)
        assert "passwd" not in response.text
    inner = admin.get("/api/server/share", params={"directory": "set/"}).json()
    assert {e["name"] for e in inner} == {"a.jpg", "loop"}, inner

    # Creating a task: a linked folder or file out of the share is refused, not read.
    for paths in (["etc/"], ["etc/passwd.jpg"], ["set/leak.jpg"], ["root/etc/hostname"]):
        task = new_task(admin)
        status = post_data(admin, task["id"], {"server_files": paths, "image_quality": 80})
        assert status["status"] == "failed", (paths, status)
        assert "not in the connected share" in status["message"], status
    task = new_task(admin)
    status = post_data(admin, task["id"], {"server_files": ["set/"], "image_quality": 80})
    assert status["status"] == "finished", status
    assert [f["name"] for f in meta(admin, task["id"])["frames"]] == ["set/a.jpg"]
