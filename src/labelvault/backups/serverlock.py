"""The data dir's server lock: a running server holds it; deletes and restores respect it."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from labelvault.errors import Conflict, Unavailable

LOCK_FILE = "server.lock"
# Options whose value must not be written to the lock file or printed.
_SECRET_OPTION = re.compile(r"^--[\w-]*(password|secret|token|key)[\w-]*", re.IGNORECASE)
_URL_USERINFO = re.compile(r"(://)[^/@\s]+@")


@dataclass(frozen=True)
class Holder:
    """The server that holds a data dir's lock, as it wrote itself into the lock file."""

    pid: int
    command: str


class DataDirInUse(Conflict):
    """A server uses the data dir; the message names it and says how to go on."""

    def __init__(self, holder: Holder) -> None:
        super().__init__(
            f"server pid {holder.pid} ({holder.command}) uses this data dir; "
            "stop it or pass --force"
        )
        self.holder = holder


class ServerDidNotStop(Unavailable):
    """A server asked to stop (SIGTERM) still holds the data dir."""


def command_line(argv: list[str] | None = None) -> str:
    """This process's command as an operator typed it, without passwords or URL credentials."""
    argv = list(sys.argv if argv is None else argv)
    words = [Path(argv[0]).name if argv else "labelvault"]
    hide_next = False
    for word in argv[1:]:
        if hide_next:
            words.append("***")
            hide_next = False
            continue
        match = _SECRET_OPTION.match(word)
        if match and "=" in word:
            words.append(word.split("=", 1)[0] + "=***")
            continue
        hide_next = bool(match)
        words.append(_URL_USERINFO.sub(r"\1***@", word))
    return " ".join(words)


class ServerLock:
    """An exclusive flock on `<data_dir>/server.lock`, held for the server's whole life.

    The kernel drops it when the process ends, however it ends, so a stale file never
    blocks anyone; the pid and command in it are only there to name the holder.
    """

    def __init__(self, data_dir: Path) -> None:
        self.path = Path(data_dir) / LOCK_FILE
        self._fd: int | None = None

    def acquire(self, command: str | None = None) -> None:
        """Take the lock or raise DataDirInUse naming the server that has it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise DataDirInUse(read_holder(self.path)) from None
        os.ftruncate(fd, 0)
        info = {"pid": os.getpid(), "command": command or command_line()}
        os.write(fd, json.dumps(info).encode() + b"\n")
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, 0)
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> ServerLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def read_holder(path: Path) -> Holder:
    try:
        info = json.loads(path.read_text() or "{}")
    except (OSError, ValueError):
        info = {}
    return Holder(int(info.get("pid") or 0), str(info.get("command") or "unknown command"))


def holder(data_dir: Path) -> Holder | None:
    """The server using `data_dir`, or None when no process holds its lock."""
    path = Path(data_dir) / LOCK_FILE
    if not path.is_file():
        return None
    fd = os.open(path, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return read_holder(path)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def stop_server(data_dir: Path, found: Holder, timeout: float = 120.0) -> None:
    """SIGTERM the server and wait until it has let go of the data dir.

    The server writes its shutdown snapshot before it exits, so waiting for the lock (not
    for the pid, which a zombie keeps) means that snapshot is complete.
    """
    with contextlib.suppress(ProcessLookupError):
        os.kill(found.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while holder(data_dir) is not None:
        if time.monotonic() > deadline:
            raise ServerDidNotStop(
                f"server pid {found.pid} did not stop within {timeout:.0f} s of SIGTERM; "
                "stop it yourself, then run the command again"
            )
        time.sleep(0.2)


def claim(data_dir: Path, *, force: bool, echo: object = None) -> ServerLock:
    """For a command that must be alone on the data dir: refuse while a server uses it, or
    with `force` stop that server first; returns the lock, held until released."""
    lock = ServerLock(data_dir)
    try:
        lock.acquire()
    except DataDirInUse as exc:
        if not force:
            raise
        if callable(echo):
            echo(f"Stopping server pid {exc.holder.pid} ({exc.holder.command}) ...")
        stop_server(data_dir, exc.holder)
        lock.acquire()
    return lock
