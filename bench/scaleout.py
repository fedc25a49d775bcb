"""The scale-out set for the load bench: 2 servers + 2 workers on PostgreSQL, Redis and S3.

Everything runs on 127.0.0.1: moto's S3 server (the backups' storage), a fresh PostgreSQL
database, one Redis database (flushed: give one nobody else uses), and four `labelvault`
processes. Each process has its own data dir (a data dir is one process's, by its lock);
their media, uploads and exports are one shared folder, as a shared volume would be.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psutil
from servers import (
    LABELVAULT_BIN,
    Server,
    child_env,
    create_postgres_db,
    drop_postgres_db,
    free_port,
    wait_ready,
)

PASSWORD = "bench-password-1"
BUCKET = "labelvault-bench"
SHARED = ("media", "uploads", "exports")


@dataclass
class ScaleOut:
    """The running set: the servers the annotators spread over, and every process."""

    servers: list[Server]
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def urls(self) -> list[str]:
        return [s.url for s in self.servers]

    @property
    def processes(self) -> list[psutil.Process]:
        return [s.ps for s in self.servers] + [psutil.Process(w.pid) for w in self.workers]


def _data_dir(work: Path, name: str) -> Path:
    data = work / name
    data.mkdir(parents=True)
    for part in SHARED:
        shared = work / "shared" / part
        shared.mkdir(parents=True, exist_ok=True)
        (data / part).symlink_to(shared, target_is_directory=True)
    return data


def _start_s3(work: Path) -> tuple[subprocess.Popen[bytes], str]:
    import boto3

    port = free_port()
    moto = Path(sys.executable).parent / "moto_server"
    log = (work / "moto.log").open("wb")
    process = subprocess.Popen(
        [str(moto), "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=subprocess.STDOUT
    )
    endpoint = f"http://127.0.0.1:{port}"
    wait_ready(f"{endpoint}/moto-api/", process, work / "moto.log", 30)
    s3 = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="bench",
        aws_secret_access_key="bench-secret",
    )
    s3.create_bucket(Bucket=BUCKET)
    return process, f"s3://{BUCKET}/backups?endpoint_url={endpoint}&region=us-east-1"


@contextlib.contextmanager
def scale_out(work: Path, redis_url: str, db_name: str) -> Iterator[ScaleOut]:
    """Start the set, yield it, stop every process and drop the database."""
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    database_url = create_postgres_db(db_name)
    s3, storage_url = _start_s3(work)
    env = {
        **child_env(),
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench-secret",
        "LABELVAULT_INSTANCE_NAME": "bench-scaled",
    }
    common = ["--database-url", database_url, "--queue-url", redis_url]
    common += ["--storage-url", storage_url]
    running = ScaleOut([])
    try:
        for i in range(2):
            port = free_port()
            data = _data_dir(work, f"server{i}")
            log_path = work / f"server{i}.log"
            command = [str(LABELVAULT_BIN), "serve", "--data-dir", str(data), *common]
            command += ["--port", str(port), "--admin-password", PASSWORD, "--no-snapshot-on-exit"]
            with log_path.open("wb") as log:
                process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
            url = f"http://127.0.0.1:{port}"
            server = Server(f"server{i}", url, process, data, log_path, {"password": PASSWORD})
            running.servers.append(server)
            # The first migrates the database and makes the admin before the second starts.
            wait_ready(f"{url}/api/server/about", process, log_path, 120)
        for i in range(2):
            data = _data_dir(work, f"worker{i}")
            command = [str(LABELVAULT_BIN), "worker", "--data-dir", str(data), *common]
            with (work / f"worker{i}.log").open("wb") as log:
                running.workers.append(
                    subprocess.Popen(
                        [*command, "--workers", "2"], stdout=log, stderr=subprocess.STDOUT, env=env
                    )
                )
        yield running
    finally:
        for server in running.servers:
            server.stop()
        for process in [*running.workers, s3]:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        drop_postgres_db(db_name)
