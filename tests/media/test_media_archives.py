"""Safe extraction of zip and tar uploads: every escape and bomb is refused, nothing left."""

from __future__ import annotations

import io
import os
import tarfile
import zipfile
from pathlib import Path

import pytest

from labelvault.media.archives import (
    ArchiveLimits,
    archive_kind,
    extract_archive,
    is_archive_name,
)
from labelvault.media.images import MediaError


def _zip(path: Path, members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression=method) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def _tar(path: Path, members: list[tarfile.TarInfo | tuple[str, bytes]], mode: str = "w:gz"):
    with tarfile.open(path, mode) as tf:
        for m in members:
            if isinstance(m, tarfile.TarInfo):
                tf.addfile(m)
            else:
                info = tarfile.TarInfo(m[0])
                info.size = len(m[1])
                tf.addfile(info, io.BytesIO(m[1]))
    return path


def _listing(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


MEMBERS = {"a.jpg": b"A" * 100, "sub/b.png": b"B" * 50, "sub/deeper/c.bmp": b"C"}


def test_zip_extracts_in_archive_order(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "up.zip", MEMBERS)
    dest = tmp_path / "out"
    assert extract_archive(archive, dest) == list(MEMBERS)
    assert (dest / "sub/deeper/c.bmp").read_bytes() == b"C"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".extract")]


@pytest.mark.parametrize("mode", ["w", "w:gz", "w:bz2", "w:xz"])
def test_tar_variants(tmp_path: Path, mode: str) -> None:
    archive = _tar(tmp_path / "up.tar", list(MEMBERS.items()), mode)
    dest = tmp_path / "out"
    assert extract_archive(archive, dest) == list(MEMBERS)
    assert (dest / "a.jpg").read_bytes() == b"A" * 100


def test_extract_into_existing_folder_merges_but_never_overwrites(tmp_path: Path) -> None:
    dest = tmp_path / "out"
    (dest / "sub").mkdir(parents=True)
    (dest / "other.jpg").write_bytes(b"keep")
    extract_archive(_zip(tmp_path / "one.zip", MEMBERS), dest)
    assert (dest / "sub/b.png").exists() and (dest / "other.jpg").read_bytes() == b"keep"
    before = _listing(dest)
    with pytest.raises(MediaError, match="'sub/b.png' would overwrite"):
        extract_archive(_zip(tmp_path / "two.zip", {"new.jpg": b"n", "sub/b.png": b"x"}), dest)
    assert _listing(dest) == before
    assert (dest / "sub/b.png").read_bytes() == b"B" * 50


def _assert_refused(tmp_path: Path, archive: Path, *words: str, **kw: object) -> None:
    dest = tmp_path / "out"
    with pytest.raises(MediaError) as err:
        extract_archive(archive, dest, **kw)  # type: ignore[arg-type]
    for word in words:
        assert word in str(err.value)
    assert str(archive) in str(err.value)
    assert not dest.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [archive.name]


@pytest.mark.parametrize("name", ["../evil.jpg", "ok/../../evil.jpg", "..\\evil.jpg"])
def test_zip_slip_refused(tmp_path: Path, name: str) -> None:
    archive = _zip(tmp_path / "slip.zip", {"fine.jpg": b"x", name: b"evil"})
    _assert_refused(tmp_path, archive, name.replace("\\", "\\\\"), "..")


@pytest.mark.parametrize("name", ["/etc/evil.jpg", "C:/evil.jpg", "\\evil.jpg"])
def test_absolute_paths_refused(tmp_path: Path, name: str) -> None:
    archive = tmp_path / "abs.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("fine.jpg", b"x")
        info = zipfile.ZipInfo("placeholder")
        zf.writestr(info, b"evil")
    # zipfile strips leading slashes when writing; patch the raw names afterwards.
    raw = archive.read_bytes().replace(b"placeholder", name.encode().ljust(11, b"_")[:11])
    archive.write_bytes(raw)
    _assert_refused(tmp_path, archive, "absolute")


def test_tar_absolute_and_parent_paths_refused(tmp_path: Path) -> None:
    _assert_refused(tmp_path, _tar(tmp_path / "a.tgz", [("/tmp/x.jpg", b"x")]), "absolute")
    (tmp_path / "a.tgz").unlink()
    _assert_refused(tmp_path, _tar(tmp_path / "b.tgz", [("x/../../y.jpg", b"x")]), "..")


@pytest.mark.parametrize(
    ("kind", "word"),
    [
        (tarfile.SYMTYPE, "symbolic link"),
        (tarfile.LNKTYPE, "hard link"),
        (tarfile.CHRTYPE, "device"),
    ],
)
def test_tar_links_and_devices_refused(tmp_path: Path, kind: bytes, word: str) -> None:
    link = tarfile.TarInfo("link.jpg")
    link.type = kind
    link.linkname = "/etc/passwd"
    archive = _tar(tmp_path / "l.tar.gz", [("first.jpg", b"data"), link])
    _assert_refused(tmp_path, archive, "'link.jpg'", word)


def test_zip_symlink_refused(tmp_path: Path) -> None:
    archive = tmp_path / "s.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        info = zipfile.ZipInfo("link.jpg")
        info.external_attr = 0o120777 << 16
        zf.writestr(info, "/etc/passwd")
    _assert_refused(tmp_path, archive, "symbolic link")


def test_zip_permissions_without_type_are_fine(tmp_path: Path) -> None:
    archive = tmp_path / "p.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        info = zipfile.ZipInfo("a.jpg")
        info.external_attr = 0o644 << 16  # mode bits only, as some tools write
        zf.writestr(info, b"x")
    assert extract_archive(archive, tmp_path / "out") == ["a.jpg"]


def test_too_many_members(tmp_path: Path) -> None:
    members = {f"{i}.jpg": b"x" for i in range(6)}
    limits = ArchiveLimits(max_members=5)
    _assert_refused(tmp_path, _zip(tmp_path / "m.zip", members), "more than 5", limits=limits)
    (tmp_path / "m.zip").unlink()
    archive = _tar(tmp_path / "m.tgz", list(members.items()))
    _assert_refused(tmp_path, archive, "more than 5", limits=limits)


def test_total_size_limit(tmp_path: Path) -> None:
    limits = ArchiveLimits(max_total_size=1000)
    members = {"a.jpg": os.urandom(600), "b.jpg": os.urandom(600)}
    _assert_refused(tmp_path, _zip(tmp_path / "t.zip", members), "1000 bytes", limits=limits)
    (tmp_path / "t.zip").unlink()
    archive = _tar(tmp_path / "t.tgz", list(members.items()))
    _assert_refused(tmp_path, archive, "1000 bytes", "'b.jpg'", limits=limits)


def test_compression_ratio_bomb(tmp_path: Path) -> None:
    limits = ArchiveLimits(max_ratio=50, ratio_floor=1 << 20)
    zeros = b"\0" * (8 << 20)  # 8 MiB of zeros deflate ~1000:1
    _assert_refused(tmp_path, _zip(tmp_path / "bomb.zip", {"z.bmp": zeros}), "bomb", limits=limits)
    (tmp_path / "bomb.zip").unlink()
    archive = _tar(tmp_path / "bomb.tar.gz", [("z.bmp", zeros)])
    _assert_refused(tmp_path, archive, "bomb", limits=limits)


def test_zip_lying_about_sizes_is_caught_while_writing(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "liar.zip", {"a.bin": os.urandom(4000)}, zipfile.ZIP_STORED)
    # Declare 10 bytes in the central directory; the real data is bigger.
    raw = bytearray(archive.read_bytes())
    cd = raw.rfind(b"PK\x01\x02")
    raw[cd + 24 : cd + 28] = (10).to_bytes(4, "little")
    archive.write_bytes(bytes(raw))
    with pytest.raises(MediaError):
        extract_archive(archive, tmp_path / "out", limits=ArchiveLimits(max_total_size=1000))
    assert not (tmp_path / "out").exists()


def test_duplicate_members_refused(tmp_path: Path) -> None:
    archive = _tar(tmp_path / "d.tgz", [("a.jpg", b"1"), ("./a.jpg", b"2")])
    _assert_refused(tmp_path, archive, "more than once")
    (tmp_path / "d.tgz").unlink()
    archive = _tar(tmp_path / "e.tgz", [("a", b"1"), ("a/b.jpg", b"2")])
    _assert_refused(tmp_path, archive, "'a/b.jpg'", "which is a file")


def test_not_an_archive_and_broken_archives(tmp_path: Path) -> None:
    (tmp_path / "x.zip").write_text("nope")
    _assert_refused(tmp_path, tmp_path / "x.zip", "not a zip or tar")
    (tmp_path / "x.zip").unlink()
    good = _tar(tmp_path / "g.tgz", [("a.jpg", os.urandom(5000))]).read_bytes()
    (tmp_path / "g.tgz").write_bytes(good[: len(good) // 2])
    _assert_refused(tmp_path, tmp_path / "g.tgz", "tar")


def test_encrypted_zip_refused(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "enc.zip", {"a.jpg": b"x"})
    raw = bytearray(archive.read_bytes())
    for sig, off in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        pos = raw.find(sig)
        raw[pos + off] |= 1
    archive.write_bytes(bytes(raw))
    _assert_refused(tmp_path, archive, "encrypted")


def test_names_and_kinds(tmp_path: Path) -> None:
    assert is_archive_name("a.ZIP") and is_archive_name("a.tar.gz") and is_archive_name("b.tgz")
    assert not is_archive_name("a.gz.jpg")
    assert archive_kind(_zip(tmp_path / "z", {"a": b""})) == "zip"
    assert archive_kind(_tar(tmp_path / "t", [("a", b"")], "w")) == "tar"
    assert archive_kind(_tar(tmp_path / "x", [("a", b"")], "w:xz")) == "xz"
