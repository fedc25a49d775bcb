"""Imageset chunks: a stored zip whose member i is frame start+i, decodable by Pillow."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from labelvault.media.chunks import build_frames_chunk, build_image_chunk, write_image_chunk
from labelvault.media.images import MediaError


def _frames(tmp_path: Path) -> list[Path]:
    paths = []
    for i, (fmt, ext) in enumerate(
        [("JPEG", ".jpg"), ("PNG", ".png"), ("TIFF", ".tif"), ("BMP", ".bmp"), ("WEBP", ".webp")]
    ):
        path = tmp_path / f"f{i}{ext}"
        Image.new("RGB", (30 + i, 20), (i * 40, 0, 0)).save(path, fmt)
        paths.append(path)
    rotated = tmp_path / "rot.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.new("RGB", (40, 10), "blue").save(rotated, exif=exif.tobytes())
    return [*paths, rotated]


def _members(data: bytes) -> list[tuple[str, int, tuple[int, int], str | None]]:
    out = []
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        for info in zf.infolist():
            with Image.open(zf.open(info)) as im:
                im.load()
                out.append((info.filename, info.compress_type, im.size, im.format))
    return out


def test_original_chunk(tmp_path: Path) -> None:
    files = _frames(tmp_path)
    members = _members(build_image_chunk(files, start=36))
    assert [m[0] for m in members] == [
        "000036.jpg",
        "000037.png",
        "000038.png",  # TIFF: browsers cannot show it, so stored as PNG
        "000039.bmp",
        "000040.webp",
        "000041.png",  # EXIF-rotated: stored as displayed
    ]
    assert all(m[1] == zipfile.ZIP_STORED for m in members)
    assert [m[2] for m in members] == [(30, 20), (31, 20), (32, 20), (33, 20), (34, 20), (10, 40)]
    with zipfile.ZipFile(io.BytesIO(build_image_chunk(files[:1]))) as zf:
        assert zf.read("000000.jpg") == files[0].read_bytes()  # untouched bytes


def test_compressed_chunk(tmp_path: Path) -> None:
    files = _frames(tmp_path)
    members = _members(build_image_chunk(files, start=0, quality="compressed", image_quality=50))
    assert [m[0] for m in members] == [f"{i:06d}.jpeg" for i in range(len(files))]
    assert {m[3] for m in members} == {"JPEG"}
    assert members[-1][2] == (10, 40)


def test_write_chunk_to_file_is_atomic(tmp_path: Path) -> None:
    files = _frames(tmp_path)
    out = tmp_path / "chunk.zip"
    write_image_chunk(out, files[:2], start=2)
    assert [m[0] for m in _members(out.read_bytes())] == ["000002.jpg", "000003.png"]
    (tmp_path / "broken.jpg").write_text("text")
    with pytest.raises(MediaError, match="broken.jpg"):
        write_image_chunk(tmp_path / "bad.zip", [files[0], tmp_path / "broken.jpg"])
    assert not (tmp_path / "bad.zip").exists()
    assert not [p for p in tmp_path.iterdir() if ".tmp-" in p.name]


def test_frames_chunk(tmp_path: Path) -> None:
    frames = [Image.new("RGB", (8, 6), (i, i, i)) for i in range(3)]
    original = _members(build_frames_chunk(frames, start=3))
    assert [(m[0], m[3]) for m in original] == [(f"{i:06d}.png", "PNG") for i in (3, 4, 5)]
    compressed = _members(build_frames_chunk(frames, quality="compressed"))
    assert [m[3] for m in compressed] == ["JPEG"] * 3
