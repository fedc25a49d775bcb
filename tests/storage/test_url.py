"""Storage URLs: backend choice, credentials from URL/options/env, redaction, no contact made."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from labelvault.storage import (
    Storage,
    StorageConfigError,
    StorageUnreachableError,
    parse_storage_url,
)


def test_local_path_and_file_url(tmp_path: Path) -> None:
    for url in (str(tmp_path), f"file://{tmp_path}", tmp_path):
        location = parse_storage_url(url)
        assert location.kind == "local"
        assert location.root == tmp_path.resolve().as_posix()
    assert Storage.from_url(tmp_path).kind == "local"
    with pytest.raises(StorageConfigError):
        parse_storage_url("file://otherhost/data")
    with pytest.raises(StorageConfigError):
        parse_storage_url("")


def test_webdav_nextcloud_url() -> None:
    url = (
        "webdav+https://alice:p%40ss%2Fw0rd@cloud.example.org/remote.php/dav/files/alice/lv%20data"
    )
    location = parse_storage_url(url)
    assert location.kind == "webdav"
    assert location.options["base_url"] == "https://cloud.example.org"
    assert location.options["auth"] == ("alice", "p@ss/w0rd")
    assert location.root == "remote.php/dav/files/alice/lv data"
    shown = Storage.from_url(url).sub("backups")
    assert repr(shown) == (
        "Storage('webdav+https://alice:***@cloud.example.org"
        "/remote.php/dav/files/alice/lv%20data/backups')"
    )
    assert "p@ss" not in repr(location) and "p%40ss" not in str(shown)
    plain = parse_storage_url("webdav+http://127.0.0.1:8081/dav?timeout=5")
    assert plain.options == {"base_url": "http://127.0.0.1:8081", "timeout": 5.0}


def test_webdav_credentials_from_options_and_env(monkeypatch: pytest.MonkeyPatch) -> None:
    location = parse_storage_url("webdav+https://h/dav", username="bob", password="opt-secret")
    assert location.options["auth"] == ("bob", "opt-secret")
    assert "opt-secret" in location.secrets
    monkeypatch.setenv("LABELVAULT_STORAGE_USERNAME", "carol")
    monkeypatch.setenv("LABELVAULT_STORAGE_PASSWORD", "env-secret")
    location = parse_storage_url("webdav+https://h/dav")
    assert location.options["auth"] == ("carol", "env-secret")
    assert location.redacted_url == "webdav+https://carol:***@h/dav"
    assert location.scrub("error env-secret here") == "error *** here"


def test_s3_url() -> None:
    url = "s3://AKIAEXAMPLE:s3cr3t%2Bkey@My-Bucket/pre/fix?endpoint_url=http://127.0.0.1:9000&region=eu-west-3"
    location = parse_storage_url(url)
    assert location.kind == "s3"
    assert location.root == "My-Bucket/pre/fix"
    assert location.options["key"] == "AKIAEXAMPLE"
    assert location.options["secret"] == "s3cr3t+key"
    assert location.options["endpoint_url"] == "http://127.0.0.1:9000"
    assert location.options["client_kwargs"] == {"region_name": "eu-west-3"}
    assert location.redacted_url == (
        "s3://***@My-Bucket/pre/fix?endpoint_url=http://127.0.0.1:9000&region=eu-west-3"
    )
    with pytest.raises(StorageConfigError, match="both"):
        parse_storage_url("s3://bucket/x", key="only-the-id")
    with pytest.raises(StorageConfigError, match="bucket"):
        parse_storage_url("s3:///x")


def test_s3_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://minio:9000")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "env-s3-secret")
    location = parse_storage_url("s3://bucket")
    assert location.options["endpoint_url"] == "http://minio:9000"
    assert "key" not in location.options  # botocore reads the keys from the environment
    assert location.scrub("boom env-s3-secret") == "boom ***"


def test_azure_and_gcs_are_parsed_and_built_lazily() -> None:
    azure = Storage.from_url("az://account:acc0untKey==@container/lv?sas_token=sv%3Dxyz")
    assert azure.kind == "azure"
    assert azure.location.root == "container/lv"
    assert azure.location.options["account_name"] == "account"
    assert azure.location.options["account_key"] == "acc0untKey=="
    assert azure.location.options["sas_token"] == "sv=xyz"
    assert "acc0untKey" not in repr(azure) and "xyz" not in repr(azure)
    assert repr(azure) == "Storage('az://account:***@container/lv?sas_token=***')"

    gcs = Storage.from_url("gs://bucket/lv?project=proj&endpoint_url=http://127.0.0.1:4443")
    assert gcs.kind == "gcs"
    assert gcs.location.root == "bucket/lv"
    assert gcs.location.options["project"] == "proj"
    assert gcs.location.options["endpoint_url"] == "http://127.0.0.1:4443"

    for storage, module in ((azure, "adlfs"), (gcs, "gcsfs")):
        if importlib.util.find_spec(module) is None:
            with pytest.raises(StorageConfigError, match=f"pip install {module}"):
                storage.list()


def test_unknown_scheme() -> None:
    with pytest.raises(StorageConfigError, match="unknown storage URL scheme 'ftp'"):
        parse_storage_url("ftp://host/x")


def test_unreachable_webdav_is_reported_clearly(closed_port: int) -> None:
    storage = Storage.from_url(f"webdav+http://u:hidden-pw@127.0.0.1:{closed_port}/dav")
    with pytest.raises(StorageUnreachableError, match="cannot be reached") as info:
        storage.check()
    assert "hidden-pw" not in str(info.value)
    assert "127.0.0.1" in str(info.value)


def test_unreachable_s3_is_reported_clearly(closed_port: int) -> None:
    storage = Storage.from_url(
        f"s3://bucket/x?endpoint_url=http://127.0.0.1:{closed_port}",
        key="AKIAXX",
        secret="hidden-s3-secret",
        retries=1,
        config_kwargs={"retries": {"max_attempts": 1}, "connect_timeout": 2},
    )
    with pytest.raises(StorageUnreachableError, match="cannot be reached") as info:
        storage.check()
    assert "hidden-s3-secret" not in str(info.value)
