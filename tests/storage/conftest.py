"""The storage tests' backends: a folder, wsgidav, moto's S3, Azurite, a GCS emulator."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from labelvault.storage import Storage
from tests.helpers.servers import (  # noqa: F401  (fixtures used as they are)
    AZURE_KEY,
    S3_BUCKET,
    S3_REGION,
    WEBDAV_MOUNT,
    WEBDAV_PASSWORD,
    WEBDAV_USER,
    AzuriteServer,
    GcsServer,
    S3Server,
    WebdavServer,
    azurite_server,
    closed_port,
    gcs_server,
    s3_server,
    webdav_server,
    webdav_server_factory,
)


@dataclass
class Backend:
    """One backend under test: how to open it, and its secret (to prove it never shows)."""

    kind: str
    make: Callable[..., Storage]
    secret: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@pytest.fixture(scope="session")
def local_backend(tmp_path_factory: pytest.TempPathFactory) -> Backend:
    folder = tmp_path_factory.mktemp("local")
    return Backend("local", lambda **kw: Storage.from_url(str(folder / "labelvault"), **kw))


@pytest.fixture(scope="session")
def webdav_backend(webdav_server: WebdavServer) -> Backend:  # noqa: F811
    def make(password: str = WEBDAV_PASSWORD, **kw: Any) -> Storage:
        return Storage.from_url(webdav_server.url(password=password), **kw)

    return Backend("webdav", make, WEBDAV_PASSWORD, {"server": webdav_server})


@pytest.fixture(scope="session")
def s3_backend(s3_server: S3Server) -> Backend:  # noqa: F811
    def make(password: str | None = None, bucket: str = S3_BUCKET, **kw: Any) -> Storage:
        options = {**s3_server.options(password), **kw}
        return Storage.from_url(s3_server.url(bucket=bucket), **options)

    return Backend("s3", make, s3_server.secret, {"server": s3_server})


@pytest.fixture(scope="session")
def azure_backend(azurite_server: AzuriteServer) -> Backend:  # noqa: F811
    def make(password: str = AZURE_KEY, **kw: Any) -> Storage:
        # A wrong key is still base64, so Azurite itself checks the signature and refuses.
        key = password if password == AZURE_KEY else base64.b64encode(password.encode()).decode()
        return Storage.from_url(
            azurite_server.url(), connection_string=azurite_server.connection_string(key), **kw
        )

    return Backend("azure", make, AZURE_KEY, {"server": azurite_server})


@pytest.fixture(scope="session")
def gcs_backend(gcs_server: GcsServer) -> Backend:  # noqa: F811
    # No secret: the emulator accepts any caller, so the credential tests skip it.
    return Backend("gcs", lambda **kw: Storage.from_url(gcs_server.url(), **kw), None)


@pytest.fixture(scope="session", params=["local", "webdav", "s3", "azure", "gcs"])
def backend(request: pytest.FixtureRequest) -> Backend:
    return request.getfixturevalue(f"{request.param}_backend")


@pytest.fixture(scope="session")
def root_storage(backend: Backend) -> Storage:
    storage = backend.make()
    storage.check()
    return storage


@pytest.fixture
def storage(root_storage: Storage) -> Storage:
    """A fresh, empty folder of the session's backend for each test."""
    return root_storage.sub(f"t-{uuid.uuid4().hex[:12]}")
