"""Real servers on 127.0.0.1 that tests store into: wsgidav (WebDAV), moto's S3 and Azurite
(Azure Blob)."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.net import free_port, wait_for_port

WEBDAV_USER = "annotator"
WEBDAV_PASSWORD = "dav-Secret-7f3a91"
# Mounted where Nextcloud serves a user's files, so URLs look like the real thing.
WEBDAV_MOUNT = f"/remote.php/dav/files/{WEBDAV_USER}"
S3_BUCKET = "labelvault-test"
S3_REGION = "us-east-1"
ROOT = Path(__file__).resolve().parents[2]
AZURITE = ROOT / "tests" / "tools" / "node_modules" / ".bin" / "azurite-blob"
# Azurite's well-known development account (public, documented by Microsoft).
AZURE_ACCOUNT = "devstoreaccount1"
AZURE_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
AZURE_CONTAINER = "labelvault-test"


@pytest.fixture
def closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens."""
    return free_port()


class WebdavServer:
    """wsgidav under cheroot in a thread, serving one folder to one user with Basic auth."""

    def __init__(
        self, folder: Path, port: int | None = None, wrap: Callable[[Any], Any] | None = None
    ) -> None:
        self.folder = folder
        self.port = port or free_port()
        self.wrap = wrap  # a WSGI middleware around wsgidav (a slow link, a fault)
        self._server: Any = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        from cheroot import wsgi
        from wsgidav.wsgidav_app import WsgiDAVApp

        config = {
            "host": "127.0.0.1",
            "port": self.port,
            "provider_mapping": {WEBDAV_MOUNT: str(self.folder)},
            "simple_dc": {
                "user_mapping": {"*": {WEBDAV_USER: {"password": WEBDAV_PASSWORD}}},
            },
            "http_authenticator": {
                "accept_basic": True,
                "accept_digest": False,
                "default_to_digest": False,
            },
            "verbose": 0,
            "logging": {"enable": False, "enable_loggers": []},
            "property_manager": True,
            "lock_storage": True,
        }
        app = WsgiDAVApp(config)
        if self.wrap is not None:
            app = self.wrap(app)
        self._server = wsgi.Server(("127.0.0.1", self.port), app, numthreads=4, shutdown_timeout=1)
        self._server.prepare()
        self._thread = threading.Thread(target=self._server.serve, daemon=True)
        self._thread.start()
        wait_for_port(self.port)

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def url(self, password: str = WEBDAV_PASSWORD, user: str = WEBDAV_USER) -> str:
        return f"webdav+http://{user}:{password}@127.0.0.1:{self.port}{WEBDAV_MOUNT}/labelvault"


@pytest.fixture(scope="session")
def webdav_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebdavServer]:
    logging.getLogger("wsgidav").setLevel(logging.WARNING)
    server = WebdavServer(tmp_path_factory.mktemp("webdav"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def webdav_server_factory() -> Iterator[Callable[[Path], WebdavServer]]:
    """Private WebDAV servers a test may stop; all are stopped at the end."""
    started: list[WebdavServer] = []

    def start(folder: Path) -> WebdavServer:
        server = WebdavServer(folder)
        server.start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@dataclass
class S3Server:
    port: int
    key: str = ""
    secret: str = ""

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, secret: str | None = None, bucket: str = S3_BUCKET) -> str:
        return f"s3://{bucket}/labelvault?endpoint_url={self.endpoint}&region={S3_REGION}"

    def options(self, secret: str | None = None) -> dict[str, str]:
        return {"key": self.key, "secret": secret if secret is not None else self.secret}


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """moto's S3 in its own process on 127.0.0.1, checking signatures against an IAM user.

    Its own process: moto's state is global to a process, and other test folders start
    in-process moto servers with the same user and bucket.
    """
    import boto3

    server = S3Server(port=free_port())
    process = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "moto_server"),
            "-H",
            "127.0.0.1",
            "-p",
            str(server.port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(server.port, timeout=30)
        bootstrap = {
            "endpoint_url": server.endpoint,
            "region_name": S3_REGION,
            "aws_access_key_id": "bootstrap",
            "aws_secret_access_key": "bootstrap",
        }
        iam = boto3.client("iam", **bootstrap)
        iam.create_user(UserName="labelvault")
        policy = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
        }
        iam.put_user_policy(
            UserName="labelvault", PolicyName="s3", PolicyDocument=json.dumps(policy)
        )
        access = iam.create_access_key(UserName="labelvault")["AccessKey"]
        server.key, server.secret = access["AccessKeyId"], access["SecretAccessKey"]
        boto3.client("s3", **bootstrap).create_bucket(Bucket=S3_BUCKET)
        request = urllib.request.Request(
            f"{server.endpoint}/moto-api/reset-auth",
            data=b"0",
            method="POST",
            headers={"Content-Type": "text/plain"},
        )
        urllib.request.urlopen(request, timeout=10).close()
        yield server
    finally:
        process.terminate()
        process.wait(timeout=10)


GCS_BUCKET = "labelvault-test"


@dataclass
class GcsServer:
    port: int

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, bucket: str = GCS_BUCKET) -> str:
        # The emulator takes any caller: an anonymous token, so nothing asks for credentials.
        return f"gs://{bucket}/labelvault?endpoint_url={self.endpoint}&token=anon&project=test"


@pytest.fixture(scope="session")
def gcs_server() -> Iterator[GcsServer]:
    """gcp-storage-emulator (PyPI) in its own process on 127.0.0.1, in memory, one bucket."""
    pytest.importorskip("gcsfs", reason="pip install labelvault[gcs]")
    emulator = Path(sys.executable).parent / "gcp-storage-emulator"
    if not emulator.exists():
        pytest.skip("gcp-storage-emulator is not installed: pip install labelvault[test]")
    server = GcsServer(port=free_port())
    command = [str(emulator), "start", "--host", "127.0.0.1", "--port", str(server.port)]
    process = subprocess.Popen(
        [*command, "--in-memory", "--default-bucket", GCS_BUCKET, "--quiet"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(server.port, timeout=30)
        yield server
    finally:
        process.terminate()
        process.wait(timeout=10)


@dataclass
class AzuriteServer:
    port: int

    def connection_string(self, key: str = AZURE_KEY) -> str:
        return (
            f"DefaultEndpointsProtocol=http;AccountName={AZURE_ACCOUNT};AccountKey={key};"
            f"BlobEndpoint=http://127.0.0.1:{self.port}/{AZURE_ACCOUNT};"
        )

    def url(self, container: str = AZURE_CONTAINER) -> str:
        return f"az://{container}/labelvault"


@pytest.fixture(scope="session")
def azurite_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AzuriteServer]:
    """Azurite's blob service (npm `azurite`, installed by scripts/ensure-test-tools.sh)."""
    if not AZURITE.exists():
        pytest.skip("azurite is not installed: run scripts/ensure-test-tools.sh")
    pytest.importorskip("adlfs", reason="pip install labelvault[azure]")
    from azure.storage.blob import BlobServiceClient

    server = AzuriteServer(port=free_port())
    folder = tmp_path_factory.mktemp("azurite")
    process = subprocess.Popen(
        [
            str(AZURITE),
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            str(server.port),
            "--location",
            str(folder),
            "--silent",
            "--skipApiVersionCheck",
            "--disableTelemetry",  # it would call out of the machine
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(server.port, timeout=30)
        client = BlobServiceClient.from_connection_string(server.connection_string())
        client.create_container(AZURE_CONTAINER)
        yield server
    finally:
        process.terminate()
        process.wait(timeout=10)
