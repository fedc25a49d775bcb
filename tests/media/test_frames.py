"""Serving frames, chunks and previews: ETags and 304, streaming from disk, rebuilding the cache."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from labelvault.media import layout
from tests.media.conftest import new_task, post_data


def _data(admin, task_id: int, **params):  # type: ignore[no-untyped-def]
    return admin.get(f"/api/tasks/{task_id}/data", params=params)


def test_frame_has_an_etag_and_answers_304(admin, task_with_data) -> None:  # type: ignore[no-untyped-def]
    task = task_with_data(frames=2)
    first = _data(admin, task["id"], type="frame", number=1, quality="compressed")
    assert first.status_code == 200
    assert first.headers["content-type"] == "image/jpeg"
    tag = first.headers["ETag"]
    assert tag.startswith('"') and tag.endswith('"')
    assert first.headers["Cache-Control"] == "private, max-age=3600"
    assert int(first.headers["content-length"]) == len(first.content)
    not_modified = admin.get(
        f"/api/tasks/{task['id']}/data",
        params={"type": "frame", "number": 1, "quality": "compressed"},
        headers={"If-None-Match": tag},
    )
    assert not_modified.status_code == 304
    assert not_modified.content == b""
    assert not_modified.headers["ETag"] == tag
    # another frame is another version
    other = _data(admin, task["id"], type="frame", number=0, quality="compressed")
    assert other.headers["ETag"] != tag


def test_an_evicted_frame_is_built_again(app, admin, task_with_data) -> None:  # type: ignore[no-untyped-def]
    task = task_with_data(frames=1)
    first = _data(admin, task["id"], type="frame", number=0, quality="compressed")
    cache = layout.cache_dir(app.state.settings, task["id"])
    for path in cache.rglob("*"):
        path.unlink()
    again = _data(admin, task["id"], type="frame", number=0, quality="compressed")
    assert again.status_code == 200
    assert again.headers["ETag"] == first.headers["ETag"] and again.content == first.content


def test_a_large_chunk_is_streamed_from_its_file(  # type: ignore[no-untyped-def]
    app, admin, share, monkeypatch: pytest.MonkeyPatch
) -> None:
    noise = np.random.default_rng(0).integers(0, 256, (1200, 1200, 3), dtype=np.uint8)
    Image.fromarray(noise).save(share / "big.png")  # a few MB that PNG cannot shrink
    task = new_task(admin)
    assert post_data(admin, task["id"], {"server_files": ["big.png"]})["status"] == "finished"
    first = _data(admin, task["id"], type="chunk", number=0, quality="original")
    assert first.status_code == 200 and first.headers["content-type"] == "application/zip"
    chunks = list(layout.cache_dir(app.state.settings, task["id"]).glob("chunk-*-original-*"))
    assert len(chunks) == 1
    size = chunks[0].stat().st_size
    assert size > 3_000_000
    assert int(first.headers["content-length"]) == size == len(first.content)
    with zipfile.ZipFile(io.BytesIO(first.content)) as archive:
        assert len(archive.namelist()) == 1

    # A cached chunk goes from disk to the socket: nothing reads it whole into memory.
    def read_whole(path: Path) -> bytes:
        raise AssertionError(f"{path} was read into memory")

    monkeypatch.setattr(Path, "read_bytes", read_whole)
    again = _data(admin, task["id"], type="chunk", number=0, quality="original")
    assert again.status_code == 200 and again.content == first.content
    assert again.headers["ETag"] == first.headers["ETag"]


def test_chunk_and_preview_answer_304(admin, task_with_data) -> None:  # type: ignore[no-untyped-def]
    task = task_with_data(frames=3)
    for params in ({"type": "chunk", "number": 0}, {"type": "preview"}):
        first = admin.get(f"/api/tasks/{task['id']}/data", params=params)
        assert first.status_code == 200
        tag = first.headers["ETag"]
        again = admin.get(
            f"/api/tasks/{task['id']}/data", params=params, headers={"If-None-Match": tag}
        )
        assert again.status_code == 304 and again.headers["ETag"] == tag
