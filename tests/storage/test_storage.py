"""The storage interface, the same tests on a local folder, WebDAV (wsgidav) and S3 (moto)."""

from __future__ import annotations

import base64
import hashlib
import io
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from labelvault.storage import (
    TEMP_PREFIX,
    Storage,
    StorageAuthError,
    StorageError,
    StorageIntegrityError,
    StorageNotFoundError,
    StoragePathError,
)


def raw_names(storage: Storage) -> list[str]:
    """Every file really stored below `storage`, temporaries included."""
    fs = storage._backend.fs
    try:
        found = fs.find(storage._full(""))
    except FileNotFoundError:
        return []
    return sorted(storage._to_rel(name) for name in found)


def test_write_read_roundtrip(storage: Storage) -> None:
    data = b"frame-0001" * 1000
    result = storage.write_atomic("images/0001.png", data)
    assert result.path == "images/0001.png"
    assert result.size == len(data)
    assert result.sha256 == hashlib.sha256(data).hexdigest()
    assert storage.read_bytes("images/0001.png") == data
    with storage.open_read("images/0001.png") as f:
        assert f.read(10) == b"frame-0001"
    entry = storage.info("images/0001.png")
    assert (entry.type, entry.size, entry.mime) == ("file", len(data), "image/png")
    assert entry.mtime is not None and entry.mtime.tzinfo is not None
    assert storage.exists("images/0001.png") and storage.exists("images")
    assert not storage.exists("images/0002.png")
    assert storage.digest("images/0001.png") == (result.size, result.sha256)


def test_write_streams_from_iterator_and_file(storage: Storage) -> None:
    # Over one S3 part (8 MiB) so the multipart path is exercised.
    chunk = bytes(range(256)) * 256  # 64 KiB
    count = 140
    expected = hashlib.sha256(chunk * count).hexdigest()

    def chunks() -> Iterator[bytes]:
        for _ in range(count):
            yield chunk

    result = storage.write_atomic("big/from-iterator.bin", chunks())
    assert (result.size, result.sha256) == (len(chunk) * count, expected)
    result = storage.write_atomic("big/from-file.bin", io.BytesIO(chunk * count))
    assert (result.size, result.sha256) == (len(chunk) * count, expected)
    assert storage.digest("big/from-iterator.bin") == (len(chunk) * count, expected)
    assert sum(len(c) for c in storage.iter_bytes("big/from-file.bin")) == len(chunk) * count


def test_list_is_sorted_typed_and_hides_temporaries(storage: Storage) -> None:
    for name in ("b.jpg", "a.png", "sub/c.txt", "sub/deeper/d.json", "Z dir/é.jpg"):
        storage.write_atomic(name, b"x")
    fs = storage._backend.fs
    fs.pipe_file(storage._full(f"{TEMP_PREFIX}crashed-e.jpg"), b"half")

    entries = storage.list()
    assert [e.name for e in entries] == ["Z dir", "a.png", "b.jpg", "sub"]
    assert [e.type for e in entries] == ["dir", "file", "file", "dir"]
    assert entries[1].mime == "image/png" and entries[0].mime is None

    nested = storage.list("sub")
    assert [(e.name, e.path, e.type) for e in nested] == [
        ("c.txt", "sub/c.txt", "file"),
        ("deeper", "sub/deeper", "dir"),
    ]
    files = [e.path for e in storage.walk()]
    assert files == ["Z dir/é.jpg", "a.png", "b.jpg", "sub/c.txt", "sub/deeper/d.json"]
    recursive = storage.list("sub", recursive=True)
    assert [e.name for e in recursive] == ["c.txt", "deeper", "deeper/d.json"]
    assert [e.path for e in storage.glob("sub/*/*.json")] == ["sub/deeper/d.json"]


def test_list_missing_folder_and_empty_root(storage: Storage) -> None:
    assert storage.list() == []
    assert storage.sub("backups").list() == []
    with pytest.raises(StorageNotFoundError, match="nothing-here"):
        storage.list("nothing-here")
    with pytest.raises(StorageNotFoundError):
        storage.read_bytes("nothing-here.txt")
    with pytest.raises(StorageNotFoundError):
        storage.info("nothing-here.txt")


def test_overwrite_replaces_content(storage: Storage) -> None:
    storage.write_atomic("manifest.json", b"old")
    storage.write_atomic("manifest.json", b"new content")
    assert storage.read_bytes("manifest.json") == b"new content"
    assert raw_names(storage) == ["manifest.json"]


def test_delete_files_and_folders(storage: Storage) -> None:
    storage.write_atomic("keep.txt", b"1")
    storage.write_atomic("snap/db.dump", b"2")
    storage.write_atomic("snap/media.tar", b"3")
    storage.delete("keep.txt")
    assert not storage.exists("keep.txt")
    with pytest.raises(StorageError, match="recursive"):
        storage.delete("snap")
    storage.delete("snap", recursive=True)
    assert storage.list() == []
    with pytest.raises(StorageNotFoundError):
        storage.delete("keep.txt")


def test_sub_is_rooted_below(storage: Storage) -> None:
    backups = storage.sub("backups-periodic/").sub("project-1")
    backups.write_atomic("annotations.zip", b"zip")
    assert [e.path for e in storage.walk()] == ["backups-periodic/project-1/annotations.zip"]
    assert [e.path for e in backups.list()] == ["annotations.zip"]
    assert backups.redacted_url.split("?")[0].endswith("/backups-periodic/project-1")
    assert storage.sub("") == storage
    assert backups.prefix.endswith("backups-periodic/project-1")


def test_source_failing_halfway_leaves_nothing(storage: Storage) -> None:
    storage.write_atomic("backup.zip", b"previous good backup")

    def broken() -> Iterator[bytes]:
        yield b"a" * 100_000
        raise ConnectionResetError("client went away")

    with pytest.raises(StorageError, match="backup.zip"):
        storage.write_atomic("backup.zip", broken())
    with pytest.raises(StorageError):
        storage.write_atomic("new/other.zip", broken())
    assert storage.read_bytes("backup.zip") == b"previous good backup"
    assert [e.path for e in storage.walk()] == ["backup.zip"]
    assert raw_names(storage) == ["backup.zip"]


def test_announced_size_is_checked(storage: Storage) -> None:
    with pytest.raises(StorageError):
        storage.write_atomic("short.bin", iter([b"12345"]), size=10)
    assert storage.list() == []
    # A WebDAV server may still be writing the aborted PUT when the temporary is deleted; what
    # it leaves is never listed and goes at the next cleanup.
    storage.cleanup_temporaries(0, now=datetime.now(UTC) + timedelta(minutes=1))
    assert raw_names(storage) == []


def test_checksum_mismatch_is_refused(storage: Storage, monkeypatch: pytest.MonkeyPatch) -> None:
    storage.write_atomic("backup.zip", b"good")
    # A store that silently corrupts data: the read-back digest differs from what was sent.
    monkeypatch.setattr(storage, "_verify_digest", lambda rel: (4, "0" * 64))
    with pytest.raises(StorageIntegrityError, match="sha256"):
        storage.write_atomic("backup.zip", b"evil")
    assert storage.read_bytes("backup.zip") == b"good"
    assert raw_names(storage) == ["backup.zip"]


def test_cleanup_temporaries(storage: Storage) -> None:
    fs = storage._backend.fs
    storage.write_atomic("backups/real.zip", b"ok")
    fs.pipe_file(storage._full(f"backups/{TEMP_PREFIX}0123-real.zip"), b"half")
    fs.pipe_file(storage._full(f"{TEMP_PREFIX}4567-snapshot.tar"), b"half")
    assert [e.path for e in storage.walk()] == ["backups/real.zip"]
    assert storage.cleanup_temporaries(older_than=timedelta(hours=1)) == []
    later = datetime.now(UTC) + timedelta(hours=2)
    removed = storage.cleanup_temporaries(older_than=timedelta(hours=1), now=later)
    assert removed == [f"{TEMP_PREFIX}4567-snapshot.tar", f"backups/{TEMP_PREFIX}0123-real.zip"]
    assert raw_names(storage) == ["backups/real.zip"]


@pytest.mark.parametrize(
    "path", ["..", "../x", "a/../../x", "a/..", "/etc/passwd", "C:/x", "a\\..\\b", "a\x00b"]
)
def test_paths_escaping_the_root_are_refused(storage: Storage, path: str) -> None:
    for call in (
        lambda: storage.list(path),
        lambda: storage.read_bytes(path),
        lambda: storage.write_atomic(path, b"x"),
        lambda: storage.delete(path),
        lambda: storage.sub(path),
        lambda: storage.exists(path),
    ):
        with pytest.raises(StoragePathError):
            call()


def test_temporary_names_and_root_are_not_writable(storage: Storage) -> None:
    with pytest.raises(StoragePathError, match="reserved"):
        storage.write_atomic(f"{TEMP_PREFIX}x", b"x")
    with pytest.raises(StoragePathError):
        storage.write_atomic("", b"x")
    with pytest.raises(StoragePathError):
        storage.delete("")


def test_check_passes_and_leaves_nothing(storage: Storage) -> None:
    storage.check()
    assert raw_names(storage) == []


def test_credentials_never_shown(
    backend: Any, storage: Storage, caplog: pytest.LogCaptureFixture
) -> None:
    if backend.secret is None:
        pytest.skip("no credentials to check: a local folder, or the GCS emulator (takes any)")
    secret = backend.secret
    basic = base64.b64encode(f"annotator:{secret}".encode()).decode()
    caplog.set_level(logging.DEBUG)
    shown = [str(storage), repr(storage), storage.redacted_url, repr(storage.location)]
    storage.write_atomic("a.txt", b"x")
    storage.list()
    for failing in (lambda: storage.read_bytes("missing.txt"), lambda: storage.list("nope")):
        with pytest.raises(StorageError) as info:
            failing()
        shown.append(str(info.value))
    wrong = backend.make(password="wrong-" + secret[::-1])
    with pytest.raises(StorageAuthError) as info:
        wrong.check()
    error: BaseException | None = info.value
    while error is not None:
        shown.append(str(error))
        error = error.__cause__
    shown += [str(wrong), repr(wrong)]
    shown.append(caplog.text)
    for text in shown:
        assert secret not in text
        assert basic not in text


def test_wrong_password_gives_a_clear_error(backend: Any) -> None:
    if backend.secret is None:
        pytest.skip("no credentials to check: a local folder, or the GCS emulator (takes any)")
    storage = backend.make(password="not-the-password")
    with pytest.raises(StorageAuthError) as info:
        storage.check()
    message = str(info.value)
    assert "storage check failed" in message
    assert "refused the credentials" in message
    assert "password" in message if backend.kind == "webdav" else "keys" in message
    assert "not-the-password" not in message
