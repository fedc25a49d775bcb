"""CVAT manifest.jsonl: exact wire lines, round trips, streaming and errors naming the line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from labelvault.media.images import ImageInfo, MediaError
from labelvault.media.manifest import (
    ImageEntry,
    KeyFrame,
    VideoProperties,
    manifest_type,
    read_image_manifest,
    read_video_manifest,
    split_name,
    write_image_manifest,
    write_video_manifest,
)


def test_image_manifest_lines_match_cvat(tmp_path: Path) -> None:
    path = tmp_path / "manifest.jsonl"
    entries = [
        ImageEntry("img1", ".jpg", 720, 405),
        ImageEntry("sub/dir/img2", ".PNG", 10, 20, checksum="abc", meta={"related_images": []}),
    ]
    write_image_manifest(path, entries)
    assert path.read_text().splitlines() == [
        '{"version":"1.1"}',
        '{"type":"images"}',
        '{"name":"img1","extension":".jpg","width":720,"height":405}',
        '{"name":"sub/dir/img2","extension":".PNG","width":10,"height":20,'
        '"meta":{"related_images":[]},"checksum":"abc"}',
    ]
    assert list(read_image_manifest(path)) == entries
    assert manifest_type(path) == "images"
    assert entries[1].filename == "sub/dir/img2.PNG"


def test_reads_cvat_1_0_manifest_with_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "manifest.jsonl"
    path.write_text(
        '{"version":"1.0"}\n{"type":"images"}\n\n'
        '{"name":"a","extension":".jpg","width":1,"height":2,"meta":{"related_images":[]}}\n'
    )
    (entry,) = read_image_manifest(path)
    assert entry == ImageEntry("a", ".jpg", 1, 2, None, {"related_images": []})


def test_writing_streams_and_is_atomic(tmp_path: Path) -> None:
    path = tmp_path / "manifest.jsonl"
    write_image_manifest(path, [ImageEntry("old", ".jpg", 1, 1)])

    def entries() -> Iterator[ImageEntry]:
        yield ImageEntry("a", ".jpg", 1, 1)
        raise RuntimeError("disk gone")

    with pytest.raises(RuntimeError):
        write_image_manifest(path, entries())
    assert [e.name for e in read_image_manifest(path)] == ["old"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["manifest.jsonl"]

    big = (ImageEntry(f"img{i}", ".jpg", 640, 480) for i in range(20_000))
    write_image_manifest(path, big)
    reader = read_image_manifest(path)
    assert next(reader).name == "img0"  # lazily read
    assert sum(1 for _ in reader) == 19_999


def test_from_file_and_split_name() -> None:
    info = ImageInfo(48, 64, "JPEG", 6, "RGB", 1)
    assert ImageEntry.from_file("d\\x.y.jpeg", info) == ImageEntry("d/x.y", ".jpeg", 48, 64)
    assert split_name("noext") == ("noext", "")


def test_video_manifest_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "manifest.jsonl"
    props = VideoProperties("clip.mp4", 1920, 1080, 300)
    keys = [KeyFrame(0, 0, "aa"), KeyFrame(30, 15360, "bb"), KeyFrame(60, 30720)]
    write_video_manifest(path, props, keys)
    lines = path.read_text().splitlines()
    assert lines[:3] == [
        '{"version":"1.1"}',
        '{"type":"video"}',
        '{"properties":{"name":"clip.mp4","resolution":[1920,1080],"length":300}}',
    ]
    assert json.loads(lines[4]) == {"number": 30, "pts": 15360, "checksum": "bb"}
    got_props, got_keys = read_video_manifest(path)
    assert got_props == props and list(got_keys) == keys
    assert manifest_type(path) == "video"


@pytest.mark.parametrize(
    ("content", "line", "words"),
    [
        ('{"version":"9"}\n{"type":"images"}\n', 1, "version"),
        ('{"version":"1.1"}\n{"type":"video"}\n', 2, "images"),
        ('{"version":"1.1"}\n{"type":"images"}\nnot json\n', 3, "not valid JSON"),
        (
            '{"version":"1.1"}\n{"type":"images"}\n{"name":"a","extension":".jpg","width":0,'
            '"height":1}\n',
            3,
            "'width'",
        ),
        (
            '{"version":"1.1"}\n{"type":"images"}\n{"extension":".jpg","width":1,"height":1}\n',
            3,
            "'name'",
        ),
        ('{"version":"1.1"}\n{"type":"images"}\n[1,2]\n', 3, "JSON object"),
    ],
)
def test_bad_image_manifests_name_the_line(
    tmp_path: Path, content: str, line: int, words: str
) -> None:
    path = tmp_path / "manifest.jsonl"
    path.write_text(content)
    with pytest.raises(MediaError) as err:
        list(read_image_manifest(path))
    assert str(path) in str(err.value) and f"line {line}:" in str(err.value)
    assert words in str(err.value)


def test_bad_video_manifest(tmp_path: Path) -> None:
    path = tmp_path / "manifest.jsonl"
    path.write_text(
        '{"version":"1.1"}\n{"type":"video"}\n{"properties":{"name":"v.mp4",'
        '"resolution":[0,1],"length":3}}\n'
    )
    with pytest.raises(MediaError, match="line 3: 'resolution'"):
        read_video_manifest(path)
