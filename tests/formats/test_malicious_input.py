"""Hostile or broken uploads fail with a clear error naming the file, and write nothing."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest

from labelvault.formats import FormatError, open_dataset
from labelvault.formats.safety import safe_extract_zip


def _zip(tmp_path: Path, members: dict[str, bytes], name: str = "evil.zip") -> Path:
    path = tmp_path / name
    with zipfile.ZipFile(path, "w") as zf:
        for arcname, data in members.items():
            zf.writestr(zipfile.ZipInfo(arcname), data)
    return path


@pytest.mark.parametrize(
    "member", ["../escape.txt", "a/../../escape.txt", "/etc/passwd_x", "C:/win.txt", "..\\win.txt"]
)
def test_traversal_members_are_refused(member, tmp_path) -> None:
    path = _zip(tmp_path, {"ok.txt": b"fine", member: b"bad"})
    dest = tmp_path / "out"
    with pytest.raises(FormatError, match="evil.zip") as err:
        safe_extract_zip(path, dest)
    assert repr(member) in str(err.value)
    # validation runs before extraction, so nothing was written
    assert not dest.exists() or not any(dest.rglob("*"))
    assert not (tmp_path / "escape.txt").exists()


def test_import_refuses_traversal_zip(tmp_path) -> None:
    path = _zip(tmp_path, {"annotations.xml": b"<annotations/>", "../x.xml": b"<a/>"})
    with pytest.raises(FormatError, match="outside the archive"), open_dataset("CVAT 1.1", path):
        pass


def test_symlink_member_is_refused(tmp_path) -> None:
    path = tmp_path / "link.zip"
    with zipfile.ZipFile(path, "w") as zf:
        info = zipfile.ZipInfo("link")
        info.external_attr = 0o120777 << 16
        zf.writestr(info, "/etc/passwd")
    with pytest.raises(FormatError, match="symbolic link"):
        safe_extract_zip(path, tmp_path / "out")


def test_not_a_zip(tmp_path) -> None:
    path = tmp_path / "broken.zip"
    path.write_bytes(b"PK\x03\x04 definitely not a zip")
    with pytest.raises(FormatError, match="broken.zip"):
        safe_extract_zip(path, tmp_path / "out")


def test_malformed_xml_names_the_file(tmp_path) -> None:
    path = _zip(tmp_path, {"annotations.xml": b"<annotations><image id='0' name='a'></annotations"})
    with (
        pytest.raises(ValueError, match=r"annotations\.xml: malformed XML"),
        open_dataset("CVAT 1.1", path) as ds,
    ):
        list(ds.frames())


def test_xml_with_wrong_root(tmp_path) -> None:
    path = tmp_path / "notcvat.xml"
    path.write_text("<html><body/></html>")
    with pytest.raises(ValueError, match=r"notcvat\.xml: root element is <html>"):
        open_dataset("CVAT 1.1", path).__enter__()


def test_xml_bad_coordinates(tmp_path) -> None:
    path = tmp_path / "annotations.xml"
    path.write_text(
        "<annotations><image id='0' name='a.png' width='4' height='4'>"
        "<box label='x' xtl='oops' ytl='0' xbr='1' ybr='1'/></image></annotations>"
    )
    with (
        pytest.raises(ValueError, match=r"annotations\.xml: <box> has no valid 'xtl'"),
        open_dataset("CVAT 1.1", path) as ds,
    ):
        list(ds.frames())


def test_xml_entities_are_not_expanded(tmp_path) -> None:
    # billion-laughs style payloads must not blow up memory: expat refuses recursive
    # entity definitions beyond its amplification limit, and we surface it as a FormatError
    lol = (
        '<?xml version="1.0"?><!DOCTYPE a [<!ENTITY a "aaaaaaaaaa">'
        + "".join(
            f'<!ENTITY {c} "{("&" + p + ";") * 10}">'
            for p, c in zip("abcdefg", "bcdefgh", strict=True)
        )
        + "]><annotations><image id='0' name='&h;'/></annotations>"
    )
    path = tmp_path / "annotations.xml"
    path.write_text(lol)
    with pytest.raises(ValueError, match=r"annotations\.xml"), open_dataset("CVAT 1.1", path) as ds:
        list(ds.frames())


def test_malformed_json_names_the_file(tmp_path) -> None:
    path = _zip(tmp_path, {"annotations/instances_default.json": b'{"images": [1, 2'})
    with (
        pytest.raises(ValueError, match=r"instances_default\.json: malformed JSON"),
        open_dataset("COCO 1.0", path) as ds,
    ):
        list(ds.frames())


def test_json_with_wrong_shape(tmp_path) -> None:
    path = tmp_path / "instances_default.json"
    path.write_text(json.dumps([1, 2, 3]))
    with (
        pytest.raises(ValueError, match=r"instances_default\.json: not a COCO file"),
        open_dataset("COCO 1.0", path) as ds,
    ):
        list(ds.frames())


def test_coco_unknown_category(tmp_path) -> None:
    doc = {
        "images": [{"id": 1, "file_name": "a.png", "width": 4, "height": 4}],
        "categories": [{"id": 1, "name": "a"}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 9, "bbox": [0, 0, 1, 1]}],
    }
    path = tmp_path / "instances_default.json"
    path.write_text(json.dumps(doc))
    with (
        pytest.raises(ValueError, match="unknown category_id"),
        open_dataset("COCO 1.0", path) as ds,
    ):
        list(ds.frames())


def test_yolo_bad_line(tmp_path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("obj.names", "a\n")
        zf.writestr("obj_train_data/x.txt", "0 0.5 zero 0.1 0.1\n")
    path = tmp_path / "y.zip"
    path.write_bytes(buf.getvalue())
    with (
        pytest.raises(ValueError, match=r"x\.txt:1: malformed line"),
        open_dataset("YOLO 1.1", path, frame_size=lambda name: (10, 10)) as ds,
    ):
        list(ds.frames())


def test_yolo_missing_size(tmp_path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("obj.names", "a\n")
        zf.writestr("obj_train_data/x.txt", "0 0.5 0.5 0.1 0.1\n")
    path = tmp_path / "y.zip"
    path.write_bytes(buf.getvalue())
    with (
        pytest.raises(ValueError, match="x: image size unknown"),
        open_dataset("YOLO 1.1", path) as ds,
    ):
        list(ds.frames())


def test_bad_yaml(tmp_path) -> None:
    path = _zip(tmp_path, {"data.yaml": b"names: [a, b\n  oops: : :"})
    with (
        pytest.raises(ValueError, match=r"data\.yaml: malformed YAML"),
        open_dataset("Ultralytics YOLO Detection 1.0", path) as ds,
    ):
        list(ds.frames())


def _coco(tmp_path: Path, doc: object | str, name: str = "instances_default.json") -> Path:
    folder = tmp_path / "coco" / "annotations"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return tmp_path / "coco"


@pytest.mark.parametrize(
    "text",
    [
        "[" * 100_000 + "]" * 100_000,
        '{"images": [{"id": 1, "file_name": "a.jpg"}], "annotations": ['
        + "[" * 100_000
        + "]" * 100_000
        + "]}",
        '{"images": [{"id": 1, "file_name": "a.jpg", "x": ' + "{" * 50_000 + "}" * 50_000 + "}]}",
    ],
    ids=["top", "annotations", "images"],
)
def test_deeply_nested_json_is_a_clear_error_naming_the_file(tmp_path, text: str) -> None:
    path = _coco(tmp_path, text)
    with (
        pytest.raises(FormatError, match="instances_default.json") as err,
        open_dataset("COCO 1.0", path) as dataset,
    ):
        list(dataset.frames())
    assert "Recursion" not in str(err.value)


def test_coco_is_streamed_and_reads_like_the_whole_file(tmp_path) -> None:
    from labelvault.formats import coco

    images = [{"id": i, "file_name": f"{i}.jpg", "width": 50, "height": 40} for i in range(1, 5)]
    anns = [
        {"id": n, "image_id": image, "category_id": 1, "bbox": [n, 1.5, 3, 4]}
        for n, image in enumerate([1, 1, 2, 1, 3, 3, 9], start=1)  # 1 again later; 9 unknown
    ]
    doc = {"annotations": anns, "categories": [{"id": 1, "name": "car"}], "images": images}
    path = _coco(tmp_path, doc)
    with open_dataset("COCO 1.0", path) as dataset:
        streamed = list(dataset.frames())
    whole = list(
        coco.CocoDataset([coco._coco_files(path, False)[0]], False)._read_doc(
            coco._coco_files(path, False)[0], doc
        )
    )

    def by_name(items) -> dict:  # type: ignore[no-untyped-def]
        out: dict = {}
        for item in items:
            out.setdefault(item.name, []).extend(sorted(s["points"] for s in item.shapes))
        return {k: sorted(v) for k, v in out.items()}

    assert by_name(streamed) == by_name(whole)
    assert by_name(streamed)["1.jpg"] == [[1, 1.5, 4, 5.5], [2, 1.5, 5, 5.5], [4, 1.5, 7, 5.5]]
    assert by_name(streamed)["4.jpg"] == []
    assert all(type(p) is float for item in streamed for s in item.shapes for p in s["points"])
