"""Uploads: archives, resumable TUS, and every kind of bad input failing cleanly."""

from __future__ import annotations

import base64
import io
import struct
import tarfile
import zipfile
import zlib
from urllib.parse import urlsplit

import pytest

from tests.conftest import png_bytes
from tests.media.conftest import jpeg_bytes, meta, new_task, nothing_left


def _upload(client, task_id: int, files: list[tuple[str, bytes]], **params) -> dict:  # type: ignore[no-untyped-def]
    assert (
        client.post(f"/api/tasks/{task_id}/data/", headers={"Upload-Start": ""}).status_code == 202
    )
    parts = [
        (f"client_files[{i}]", (f"/home/u/{n}", b, "application/octet-stream"))
        for i, (n, b) in enumerate(files)
    ]
    response = client.post(
        f"/api/tasks/{task_id}/data/", headers={"Upload-Multiple": ""}, files=parts
    )
    assert response.status_code == 200, response.text
    response = client.post(
        f"/api/tasks/{task_id}/data/",
        headers={"Upload-Finish": ""},
        json={"image_quality": 70, **params},
    )
    assert response.status_code == 202, response.text
    return client.get(f"/api/requests/{response.json()['rq_id']}").json()


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buffer.getvalue()


def _tar(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def test_zip_and_tar_archives_are_expanded(admin) -> None:  # type: ignore[no-untyped-def]
    task = new_task(admin)
    files = [
        ("photos.zip", _zip({"day1/a.jpg": jpeg_bytes(10, 10), "day1/b.png": png_bytes(11, 10)})),
        ("more.tar.gz", _tar({"day2/c.jpg": jpeg_bytes(12, 10)})),
        ("loose.png", png_bytes(13, 10)),
    ]
    status = _upload(admin, task["id"], files)
    assert status["status"] == "finished", status
    frames = meta(admin, task["id"])["frames"]
    assert [(f["name"], f["width"]) for f in frames] == [
        ("day1/a.jpg", 10),
        ("day1/b.png", 11),
        ("day2/c.jpg", 12),
        ("loose.png", 13),
    ]


def _bomb_png(width: int, height: int) -> bytes:
    """A PNG whose header claims a huge size; the pixel data is never needed to refuse it."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


def _zip_slip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("ok.jpg", jpeg_bytes())
        zf.writestr("../../evil.jpg", jpeg_bytes())
    return buffer.getvalue()


def _absolute_tar() -> bytes:
    return _tar({"/etc/evil.jpg": jpeg_bytes()})


BAD = {
    "truncated": ([("good.jpg", jpeg_bytes()), ("cut.jpg", jpeg_bytes(200, 200)[:300])], "cut.jpg"),
    "corrupt": (
        [("good.jpg", jpeg_bytes()), ("noise.png", b"\x89PNG\r\n\x1a\nnot really")],
        "noise.png",
    ),
    "unsupported": ([("good.jpg", jpeg_bytes()), ("doc.pdf", b"%PDF-1.4")], "doc.pdf"),
    "bomb": ([("good.jpg", jpeg_bytes()), ("huge.png", _bomb_png(60000, 60000))], "huge.png"),
    "zip slip": ([("good.jpg", jpeg_bytes()), ("slip.zip", _zip_slip())], "slip.zip"),
    "absolute tar": ([("good.jpg", jpeg_bytes()), ("abs.tar.gz", _absolute_tar())], "abs.tar.gz"),
    "duplicate": ([("a.jpg", jpeg_bytes()), ("d.zip", _zip({"a.jpg": jpeg_bytes()}))], "a.jpg"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_fails_naming_the_file(app, admin, case: str) -> None:  # type: ignore[no-untyped-def]
    files, culprit = BAD[case]
    task = new_task(admin)
    status = _upload(admin, task["id"], files)
    assert status["status"] == "failed", status
    assert culprit in status["message"]
    after = admin.get(f"/api/tasks/{task['id']}").json()
    assert after["size"] == 0 and after["data"] is None
    nothing_left(app, task["id"])


@pytest.mark.parametrize("case", ["truncated", "corrupt", "unsupported", "bomb", "zip slip"])
def test_skip_broken_leaves_bad_files_out(admin, case: str) -> None:  # type: ignore[no-untyped-def]
    files, culprit = BAD[case]
    task = new_task(admin)
    status = _upload(admin, task["id"], files, skip_broken=True)
    assert status["status"] == "finished", status
    assert "skipped 1 files" in status["message"] and culprit in status["message"]
    assert [f["name"] for f in meta(admin, task["id"])["frames"]] == ["good.jpg"]


def test_pixel_limit_setting(app, admin, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(app.state.settings, "max_image_pixels", 1000)
    task = new_task(admin)
    status = _upload(admin, task["id"], [("big.jpg", jpeg_bytes(64, 48))])
    assert status["status"] == "failed"
    assert "big.jpg" in status["message"] and "limit" in status["message"]
    nothing_left(app, task["id"])


def _solid_png(width: int, height: int) -> bytes:
    """A complete, valid PNG of one colour: every row is there, deflated to almost nothing."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    packer = zlib.compressobj(9)
    row = b"\0" * (1 + 3 * width)  # filter byte, then black RGB pixels
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


def test_a_small_png_declaring_196_megapixels_is_refused_by_default(app, admin) -> None:  # type: ignore[no-untyped-def]
    # The attack as measured: ~190 KB on the wire, ~600 MB of RGB once decoded. The default
    # bound refuses it from the header, before a pixel is decoded.
    bomb = _solid_png(14_000, 14_000)
    assert len(bomb) < 1024 * 1024
    assert app.state.settings.max_image_pixels < 14_000 * 14_000
    task = new_task(admin)
    status = _upload(admin, task["id"], [("aerial.png", bomb), ("good.jpg", jpeg_bytes(8, 8))])
    assert status["status"] == "failed", status
    assert "aerial.png" in status["message"] and "196 Mpx" in status["message"]
    assert "LABELVAULT_MAX_IMAGE_PIXELS" in status["message"]
    nothing_left(app, task["id"])


def test_tus_interrupted_and_resumed(admin) -> None:  # type: ignore[no-untyped-def]
    task = new_task(admin)
    assert (
        admin.post(f"/api/tasks/{task['id']}/data/", headers={"Upload-Start": ""}).status_code
        == 202
    )
    payload = _zip({f"seq/{i:03d}.jpg": jpeg_bytes(20 + i, 10) for i in range(5)})
    response = admin.post(
        f"/api/tasks/{task['id']}/data/",
        headers={
            "Tus-Resumable": "1.0.0",
            "Upload-Length": str(len(payload)),
            "Upload-Metadata": "filename " + base64.b64encode(b"seq.zip").decode(),
        },
    )
    assert response.status_code == 201, response.text
    path = urlsplit(response.headers["Location"]).path
    headers = {"Tus-Resumable": "1.0.0", "Content-Type": "application/offset+octet-stream"}
    third = len(payload) // 3
    response = admin.patch(path, headers={**headers, "Upload-Offset": "0"}, content=payload[:third])
    assert response.headers["Upload-Offset"] == str(third)
    # the connection drops; the client asks where to resume
    head = admin.head(path, headers={"Tus-Resumable": "1.0.0"})
    assert head.headers["Upload-Offset"] == str(third)
    # a retry of the first chunk is told the real offset
    stale = admin.patch(path, headers={**headers, "Upload-Offset": "0"}, content=payload[:third])
    assert stale.status_code == 409 and stale.headers["Upload-Offset"] == str(third)
    response = admin.patch(
        path, headers={**headers, "Upload-Offset": str(third)}, content=payload[third:]
    )
    assert response.status_code == 204
    assert response.headers["Upload-Offset"] == str(len(payload))
    response = admin.post(f"/api/tasks/{task['id']}/data/", headers={"Upload-Finish": ""}, json={})
    status = admin.get(f"/api/requests/{response.json()['rq_id']}").json()
    assert status["status"] == "finished", status
    assert [f["width"] for f in meta(admin, task["id"])["frames"]] == [20, 21, 22, 23, 24]


def test_manifest_is_written(app, admin) -> None:  # type: ignore[no-untyped-def]
    from labelvault.media.manifest import read_image_manifest

    task = new_task(admin)
    status = _upload(admin, task["id"], [("b.png", png_bytes(5, 6)), ("a.jpg", jpeg_bytes(7, 8))])
    assert status["status"] == "finished"
    path = app.state.settings.media_dir / "tasks" / str(task["id"]) / "raw" / "manifest.jsonl"
    entries = list(read_image_manifest(path))
    assert [(e.filename, e.width, e.height) for e in entries] == [("a.jpg", 7, 8), ("b.png", 5, 6)]
