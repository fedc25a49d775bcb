"""Start and stop the servers under test, measure their memory and CPU, describe the machine."""

from __future__ import annotations

import contextlib
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import httpx
import psutil

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
LABELVAULT_BIN = REPO_DIR / ".venv" / "bin" / "labelvault"
if not LABELVAULT_BIN.exists():  # a worktree without its own venv: the running one's
    LABELVAULT_BIN = Path(sys.executable).parent / "labelvault"
PEERS_DIR = BENCH_DIR / ".peers"
LABEL_STUDIO_VENV = PEERS_DIR / "label-studio"
POSTGRES_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def child_env() -> dict[str, str]:
    """The environment for a server: PYTHONPATH made absolute, as servers run elsewhere."""
    env = dict(os.environ)
    if env.get("PYTHONPATH"):
        parts = env["PYTHONPATH"].split(os.pathsep)
        env["PYTHONPATH"] = os.pathsep.join(str(Path(p).resolve()) for p in parts if p)
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def tree_rss(proc: psutil.Process) -> int:
    """Resident bytes of a process and all its descendants (workers count as the server)."""
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            total += p.memory_info().rss
    return total


def tree_cpu_seconds(proc: psutil.Process) -> float:
    total = 0.0
    for p in [proc, *proc.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            t = p.cpu_times()
            total += t.user + t.system
    return total


class RssSampler:
    """Samples a server's tree RSS in a thread; `peak` is the largest sample seen."""

    def __init__(self, proc: psutil.Process, interval: float = 0.05) -> None:
        self.proc = proc
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, tree_rss(self.proc))
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, tree_rss(self.proc))


def settled_rss(proc: psutil.Process, seconds: float = 3.0) -> int:
    """RSS at rest: wait, then take the median of a few samples."""
    time.sleep(seconds)
    samples = []
    for _ in range(5):
        samples.append(tree_rss(proc))
        time.sleep(0.2)
    return sorted(samples)[len(samples) // 2]


@dataclass
class Server:
    """A running server process and what a client needs to reach it."""

    name: str
    url: str
    process: subprocess.Popen[bytes]
    data_dir: Path
    log_path: Path
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def ps(self) -> psutil.Process:
        return psutil.Process(self.process.pid)

    def stop(self) -> None:
        if self.process.poll() is None:
            # SIGTERM, not SIGINT: a child started from a background shell ignores SIGINT.
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                for p in [*self.ps.children(recursive=True), self.ps]:
                    with contextlib.suppress(psutil.Error):
                        p.kill()
                self.process.wait(timeout=10)


def wait_ready(url: str, process: subprocess.Popen[bytes], log_path: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log_path.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"server exited with {process.returncode}:\n{tail}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2).status_code < 500:
                return
        time.sleep(0.3)
    raise RuntimeError(f"server at {url} not ready after {timeout:.0f} s; see {log_path}")


def create_postgres_db(name: str) -> str:
    """A fresh PostgreSQL database for one run; returns its SQLAlchemy URL."""
    drop_postgres_db(name)
    subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-q", "-c", f'CREATE DATABASE "{name}"'],
        check=True,
    )
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


def drop_postgres_db(name: str) -> None:
    subprocess.run(
        [
            "psql",
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-q",
            "-c",
            f'DROP DATABASE IF EXISTS "{name}"',
        ],
        check=True,
        capture_output=True,
    )


def start_labelvault(
    work_dir: Path, database_url: str | None = None, source: Path | None = None
) -> Server:
    """`labelvault serve` in work_dir; `source` runs another checkout's src/ (bench/ab.py)."""
    data_dir = work_dir / "labelvault-data"
    data_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    password = "bench-password-1"
    cmd = [str(LABELVAULT_BIN), "serve", "--data-dir", str(data_dir), "--port", str(port)]
    # The storage root (its share/ is the connected share) sits beside the data dir.
    cmd += ["--admin-password", password, "--storage-url", str(work_dir / "labelvault-storage")]
    cmd += ["--no-snapshot-on-exit"]
    if database_url:
        cmd += ["--database-url", database_url]
    log_path = work_dir / "labelvault.log"
    with log_path.open("wb") as log:
        env = child_env()
        if source is not None:
            env["PYTHONPATH"] = str(source)
        process = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=work_dir, env=env)
    url = f"http://127.0.0.1:{port}"
    wait_ready(f"{url}/api/server/about", process, log_path, timeout=60)
    return Server(
        "LabelVault",
        url,
        process,
        data_dir,
        log_path,
        {"username": "admin", "password": password, "database": database_url or "sqlite"},
    )


LS_USER = "bench@example.com"
LS_PASSWORD = "bench-password-1"
LS_TOKEN = "benchtoken0123456789abcdef0123456789abcd"


def install_label_studio(version: str | None = None) -> Path:
    """Label Studio in its own venv under bench/.peers (reused when present)."""
    python = LABEL_STUDIO_VENV / "bin" / "python"
    binary = LABEL_STUDIO_VENV / "bin" / "label-studio"
    if binary.exists():
        return binary
    PEERS_DIR.mkdir(parents=True, exist_ok=True)
    print(f"installing label-studio into {LABEL_STUDIO_VENV} (a few minutes)...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(LABEL_STUDIO_VENV)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--upgrade", "pip"], check=True)
    spec = f"label-studio=={version}" if version else "label-studio"
    subprocess.run([str(python), "-m", "pip", "install", "-q", spec], check=True)
    return binary


def label_studio_version() -> str:
    python = LABEL_STUDIO_VENV / "bin" / "python"
    out = subprocess.run(
        [str(python), "-c", "import importlib.metadata as m; print(m.version('label-studio'))"],
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout.strip()


def start_label_studio(work_dir: Path) -> Server:
    """`label-studio start` as its docs show for a pip install (Django's threaded server)."""
    binary = install_label_studio()
    data_dir = work_dir / "label-studio-data"
    files_root = work_dir / "label-studio-files"
    data_dir.mkdir(parents=True, exist_ok=True)
    files_root.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = dict(os.environ)
    env.update(
        {
            "LABEL_STUDIO_BASE_DATA_DIR": str(data_dir),
            # Local files serving is Label Studio's in-place source, the peer of our share.
            "LOCAL_FILES_SERVING_ENABLED": "true",
            "LOCAL_FILES_DOCUMENT_ROOT": str(files_root),
            # The fixed user token of --user-token is a "legacy" token since 1.14.
            "LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN": "true",
            # No PyPI version check at start: the machine has no general network.
            "LATEST_VERSION_CHECK": "false",
            "LOG_LEVEL": "WARNING",
        }
    )
    cmd = [str(binary), "start", "--no-browser", "--internal-host", "127.0.0.1"]
    cmd += ["--port", str(port), "--username", LS_USER, "--password", LS_PASSWORD]
    cmd += ["--user-token", LS_TOKEN, "--enable-legacy-api-token"]
    log_path = work_dir / "label-studio.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=work_dir, env=env)
    url = f"http://127.0.0.1:{port}"
    wait_ready(f"{url}/health", process, log_path, timeout=240)
    return Server(
        "Label Studio",
        url,
        process,
        data_dir,
        log_path,
        {"token": LS_TOKEN, "files_root": str(files_root), "version": label_studio_version()},
    )


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def machine_info() -> dict[str, object]:
    cpu_model = platform.processor() or ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    load = os.getloadavg()
    return {
        "cores_logical": psutil.cpu_count(logical=True),
        "cores_physical": psutil.cpu_count(logical=False),
        "ram_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "cpu_model": cpu_model,
        "os": platform.platform(),
        "python": platform.python_version(),
        "load_average_at_start": [round(x, 2) for x in load],
        "disk_free_gb": round(shutil.disk_usage(BENCH_DIR).free / 2**30, 1),
        "packages": {
            name: _version(name)
            for name in ("labelvault", "fastapi", "uvicorn", "sqlalchemy", "pillow", "httpx")
        },
    }
