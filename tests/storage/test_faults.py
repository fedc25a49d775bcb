"""Faults on real servers: a WebDAV server stopped mid-upload, aborted S3 multipart, no bucket."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from labelvault.storage import (
    Storage,
    StorageError,
    StorageNotFoundError,
    StorageUnreachableError,
)


def test_webdav_server_stopped_mid_write(tmp_path: Path, webdav_server_factory: Any) -> None:
    server = webdav_server_factory(tmp_path)
    storage = Storage.from_url(server.url())
    storage.check()
    storage.write_atomic("backups/good.zip", b"the last good backup")

    def source() -> Iterator[bytes]:
        yield b"x" * 256 * 1024
        server.stop()
        for _ in range(64):
            yield b"y" * 256 * 1024

    with pytest.raises(StorageError) as info:
        storage.write_atomic("backups/good.zip", source(), size=65 * 256 * 1024)
    # wsgidav answers the cut-off PUT with a success; the write must still fail.
    assert "cut off" in str(info.value) or "cannot be reached" in str(info.value)
    assert "dav-Secret" not in str(info.value)

    # The server comes back (on a new port) with whatever it had written to disk.
    again = webdav_server_factory(tmp_path)
    storage = Storage.from_url(again.url())
    assert [e.path for e in storage.walk()] == ["backups/good.zip"]
    assert storage.read_bytes("backups/good.zip") == b"the last good backup"
    later = datetime.now(UTC) + timedelta(hours=2)
    storage.cleanup_temporaries(now=later)
    on_disk = sorted(p.name for p in tmp_path.rglob("*") if p.is_file())
    assert on_disk == ["good.zip"]


def test_webdav_stopped_before_upload(tmp_path: Path, webdav_server_factory: Any) -> None:
    server = webdav_server_factory(tmp_path)
    storage = Storage.from_url(server.url())
    storage.check()

    def source() -> Iterator[bytes]:
        yield b"x" * 1024
        server.stop()
        yield b"y" * 1024

    # Unknown size: WebDAV spools first, so the PUT meets a server that is gone.
    with pytest.raises(StorageUnreachableError, match="cannot be reached"):
        storage.write_atomic("snapshot.tar", source())


def test_s3_failed_multipart_upload_is_aborted(s3_backend: Any) -> None:
    import boto3

    server = s3_backend.extra["server"]
    storage = s3_backend.make().sub("multipart-abort")

    def source() -> Iterator[bytes]:
        for _ in range(10):  # 10 MiB: the first 8 MiB part is uploaded before the failure
            yield b"z" * 1024 * 1024
        raise OSError("disk read error")

    with pytest.raises(StorageError, match="disk read error"):
        storage.write_atomic("full.zip", source())
    assert storage.list() == []
    client = boto3.client(
        "s3",
        endpoint_url=server.endpoint,
        region_name="us-east-1",
        aws_access_key_id=server.key,
        aws_secret_access_key=server.secret,
    )
    pending = client.list_multipart_uploads(Bucket="labelvault-test").get("Uploads", [])
    assert [u["Key"] for u in pending if "multipart-abort" in u["Key"]] == []


def test_s3_missing_bucket(s3_backend: Any) -> None:
    storage = s3_backend.make(bucket="no-such-bucket")
    with pytest.raises(StorageNotFoundError, match="'no-such-bucket' .* does not exist"):
        storage.check()


def test_s3_credentials_in_the_url(s3_backend: Any) -> None:
    from urllib.parse import quote

    server = s3_backend.extra["server"]
    url = (
        f"s3://{server.key}:{quote(server.secret, safe='')}@labelvault-test/in-url"
        f"?endpoint_url={server.endpoint}&region=us-east-1"
    )
    storage = Storage.from_url(url)
    storage.check()
    storage.write_atomic("x.txt", b"ok")
    assert storage.read_bytes("x.txt") == b"ok"
    assert server.secret not in repr(storage) and server.key not in repr(storage)
    storage.delete("x.txt")
