"""The annotation change journal: every committed save fsynced locally, shipped every second.

Each committed annotation change (annotations/events.py) is appended to `tail.jsonl` in the
data dir and fsynced before the client gets its reply. A shipper thread seals the tail into
`sealed/` about once a second and writes each sealed run, in order, as one checksummed
segment to `<instance>/journal/` in the storage. While the storage is down the sealed run
stays (and the tail keeps growing) until a write succeeds, so nothing is lost or reordered.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine, create_engine, select

from labelvault.annotations import events
from labelvault.annotations.events import AnnotationChange
from labelvault.backups import journal_format as fmt
from labelvault.backups.paths import instance_root
from labelvault.config import Settings
from labelvault.errors import Unavailable
from labelvault.storage import Storage, StorageError, StorageNotFoundError
from labelvault.tasks.models import Job

log = logging.getLogger("labelvault.backups.journal")

LOCAL_DIR = "journal"
TAIL = "tail.jsonl"
SEALED = "sealed"
STATE = "state.json"
SHIP_INTERVAL = 1.0
# Journals running in this process, by data dir: a snapshot asks the one of its instance
# which sequence it covers.
_running: dict[Path, Journal] = {}


def local_dir(settings: Settings) -> Path:
    return settings.data_dir / LOCAL_DIR


def remote_dir(instance: str) -> str:
    return f"{instance}/{fmt.JOURNAL_DIR}"


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _complete_lines(path: Path) -> list[bytes]:
    """The whole lines of a local journal file; a line cut by a crash was never acknowledged."""
    if not path.exists():
        return []
    lines = []
    for line in path.read_bytes().splitlines(keepends=True):
        if not line.endswith(b"\n"):
            break
        try:
            fmt.entry_seq_time(line)
        except (orjson.JSONDecodeError, KeyError, ValueError):
            break
        lines.append(line)
    return lines


def read_state(settings: Settings) -> dict[str, int]:
    path = local_dir(settings) / STATE
    try:
        return {k: int(v) for k, v in orjson.loads(path.read_bytes()).items()}
    except (FileNotFoundError, orjson.JSONDecodeError, ValueError):
        return {}


def write_state(settings: Settings, **values: int) -> None:
    """Persist sequence numbers (atomically); a restore sets where the journal goes on."""
    folder = local_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    state = read_state(settings) | values
    tmp = folder / (STATE + ".tmp")
    with tmp.open("wb") as out:
        out.write(orjson.dumps(state))
        out.flush()
        os.fsync(out.fileno())
    tmp.replace(folder / STATE)


def remote_segments(storage: Storage, instance: str) -> list[fmt.SegmentName]:
    """This instance's segments in the storage, oldest first."""
    try:
        entries = storage.list(remote_dir(instance))
    except StorageNotFoundError:
        return []
    found = [fmt.parse_name(e.name) for e in entries if not e.is_dir]
    return sorted((s for s in found if s is not None), key=lambda s: (s.first_seq, s.last_seq))


def committed_seq(settings: Settings) -> int:
    """The newest sequence on local disk: what a snapshot taken now is sure to include."""
    running = _running.get(settings.data_dir.resolve())
    if running is not None:
        return running.last_seq
    seq = read_state(settings).get("last_seq", 0)
    folder = local_dir(settings)
    for path in [*sorted((folder / SEALED).glob("*.jsonl")), folder / TAIL]:
        lines = _complete_lines(path)
        if lines:
            seq = max(seq, fmt.entry_seq_time(lines[-1])[0])
    return seq


def ship_pending(
    settings: Settings, storage: Storage, *, offline: bool = False, timeout: float = 30.0
) -> bool:
    """Ship what this data dir's journal committed so far; True once the storage holds it.

    The journal running in this process is flushed. `offline`: no server runs on the data
    dir (the caller holds its lock), so what a stopped or killed server left locally is
    shipped by a journal opened just for that.
    """
    running = _running.get(settings.data_dir.resolve())
    if running is not None:
        return running.flush(timeout)
    if not offline or not local_dir(settings).exists():
        return True
    journal = Journal(settings, storage, interval=3600)
    journal.open()
    try:
        return journal.flush(timeout)
    finally:
        journal.stop(flush_timeout=0)


@dataclass
class JournalStatus:
    committed_seq: int
    shipped_seq: int
    pending_entries: int
    lag_seconds: float
    last_error: str | None
    last_error_time: datetime | None
    last_shipped_time: datetime | None
    segments_shipped: int
    running: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "committed_seq": self.committed_seq,
            "shipped_seq": self.shipped_seq,
            "pending_entries": self.pending_entries,
            "lag_seconds": round(self.lag_seconds, 3),
            "last_error": self.last_error,
            "last_error_time": self.last_error_time.isoformat() if self.last_error_time else None,
            "last_shipped_time": (
                self.last_shipped_time.isoformat() if self.last_shipped_time else None
            ),
            "segments_shipped": self.segments_shipped,
            "running": self.running,
        }


class Journal:
    """One instance's journal: the listener, the local files and the shipper thread."""

    def __init__(
        self,
        settings: Settings,
        storage: Storage,
        *,
        interval: float = SHIP_INTERVAL,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.settings = settings
        self.storage = storage
        self.instance = instance_root(settings)
        self.interval = interval
        self.clock = clock
        self.folder = local_dir(settings)
        self._lock = threading.Lock()  # appends, sealing and the counters
        self._ship_lock = threading.Lock()  # one shipping pass at a time
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self._tail: Any = None
        self.last_seq = 0
        self.shipped_seq = 0
        self._oldest_unshipped: float | None = None  # monotonic time of the oldest unshipped
        self.last_error: str | None = None
        self.last_error_time: datetime | None = None
        self.last_shipped_time: datetime | None = None
        self.segments_shipped = 0

    # -- life cycle ----------------------------------------------------------------------------

    def open(self) -> None:
        """Recover the local files a previous run left and find where the sequence stands."""
        (self.folder / SEALED).mkdir(parents=True, exist_ok=True)
        state = read_state(self.settings)
        tail = self.folder / TAIL
        lines = _complete_lines(tail)
        if tail.exists() and len(b"".join(lines)) != tail.stat().st_size:
            # Keep only whole lines: what follows was cut by a crash and never acknowledged.
            with tail.open("r+b") as f:
                f.truncate(len(b"".join(lines)))
                os.fsync(f.fileno())
        seqs = [state.get("last_seq", 0), state.get("shipped_seq", 0)]
        for path in self._sealed():
            sealed = _complete_lines(path)
            if sealed:
                seqs.append(fmt.entry_seq_time(sealed[-1])[0])
        if lines:
            seqs.append(fmt.entry_seq_time(lines[-1])[0])
        try:
            # The data dir may be new (a restore): never reuse a number the storage holds.
            remote = remote_segments(self.storage, self.instance)
        except StorageError as exc:
            self._failed(exc)
            remote = []
        if remote:
            seqs.append(remote[-1].last_seq)
        self.last_seq = max(seqs)
        self.shipped_seq = max(state.get("shipped_seq", 0), remote[-1].last_seq if remote else 0)
        pending = self._pending_count(lines)
        if pending:
            self._oldest_unshipped = time.monotonic()
        self._tail = tail.open("ab")

    def start(self) -> Journal:
        self.open()
        self._unsubscribe = events.subscribe(self.record)
        _running[self.settings.data_dir.resolve()] = self
        self._thread = threading.Thread(target=self._run, name="annotation-journal", daemon=True)
        self._thread.start()
        log.info("annotation journal at seq %d (shipped %d)", self.last_seq, self.shipped_seq)
        return self

    def stop(self, flush_timeout: float = 30.0) -> None:
        """Stop listening, ship what is left (bounded wait), close the files."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if not self.flush(flush_timeout):
            log.warning(
                "the journal could not ship seq %d..%d before stopping (%s); they stay in %s "
                "and go at the next start",
                self.shipped_seq + 1,
                self.last_seq,
                self.last_error,
                self.folder,
            )
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(flush_timeout)
            self._thread = None
        _running.pop(self.settings.data_dir.resolve(), None)
        with self._lock:
            if self._tail is not None:
                self._tail.close()
                self._tail = None

    # -- the listener --------------------------------------------------------------------------

    def record(self, engine: Engine, changes: list[AnnotationChange]) -> None:
        """Append committed changes and fsync them: on local disk before the client's reply."""
        versions = _versions(engine, {j for c in changes for j in c.job_ids})
        now = self.clock()
        try:
            with self._lock:
                if self._tail is None:
                    raise OSError("the journal is closed")
                for change in changes:
                    self.last_seq += 1
                    # Streamed: an import's or restore's objects come from their spool file.
                    prefix, suffix = fmt.entry_parts(
                        self.last_seq,
                        now,
                        change.job_ids,
                        change.action,
                        {j: versions[j] for j in change.job_ids if j in versions},
                    )
                    self._tail.write(prefix)
                    change.write_objects(self._tail)
                    self._tail.write(suffix)
                self._tail.flush()
                os.fsync(self._tail.fileno())
                if self._oldest_unshipped is None:
                    self._oldest_unshipped = time.monotonic()
        except OSError as exc:
            self._failed(exc)
            log.error("annotation journal write failed: %s", exc)
            raise Unavailable(
                "The annotations were saved in the database, but the change journal that "
                f"protects them could not be written ({exc}); free space in the data dir."
            ) from exc

    # -- shipping ------------------------------------------------------------------------------

    def _sealed(self) -> list[Path]:
        return sorted((self.folder / SEALED).glob("*.jsonl"))

    def _pending_count(self, tail_lines: list[bytes] | None = None) -> int:
        count = 0
        for path in self._sealed():
            count += len(_complete_lines(path))
        if tail_lines is None:
            tail_lines = _complete_lines(self.folder / TAIL)
        return count + len(tail_lines)

    def _seal(self) -> None:
        """Move the tail into `sealed/` (only when nothing sealed waits, so an outage gives one
        growing tail rather than thousands of one-second files)."""
        with self._lock:
            if self._tail is None or self._sealed():
                return
            if self._tail.tell() == 0:
                return
            self._tail.close()
            tail = self.folder / TAIL
            lines = _complete_lines(tail)
            first = fmt.entry_seq_time(lines[0])[0]
            last = fmt.entry_seq_time(lines[-1])[0]
            tail.replace(self.folder / SEALED / f"{first:012d}-{last:012d}.jsonl")
            _fsync_dir(self.folder / SEALED)
            _fsync_dir(self.folder)
            self._tail = tail.open("ab")

    def ship_once(self) -> bool:
        """Seal the tail and write every sealed run to the storage, in order; True if all went."""
        with self._ship_lock:
            self._seal()
            for path in self._sealed():
                lines = _complete_lines(path)
                if not lines:
                    path.unlink()
                    continue
                data, name = fmt.encode_segment(b"".join(lines), self.instance)
                try:
                    self.storage.write_atomic(
                        f"{remote_dir(self.instance)}/{name.name}", data, size=len(data)
                    )
                except StorageError as exc:
                    self._failed(exc)
                    return False
                path.unlink()
                write_state(self.settings, shipped_seq=name.last_seq, last_seq=self.last_seq)
                with self._lock:
                    self.shipped_seq = max(self.shipped_seq, name.last_seq)
                    self.last_shipped_time = self.clock()
                    self.segments_shipped += 1
                    self.last_error = None
                    if self.shipped_seq >= self.last_seq:
                        self._oldest_unshipped = None
            self._seal()
            with self._lock:
                return self.shipped_seq >= self.last_seq and self._tail is not None

    def _failed(self, exc: BaseException) -> None:
        self.last_error = str(exc) or type(exc).__name__
        self.last_error_time = self.clock()
        log.warning("annotation journal: %s", self.last_error)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.interval)
            self._wake.clear()
            if self._stop.is_set():
                break
            try:
                self.ship_once()
            except Exception as exc:  # noqa: BLE001 - the shipper must outlive any one pass
                self._failed(exc)
                log.exception("annotation journal shipping failed")

    def flush(self, timeout: float = 30.0) -> bool:
        """Ship everything committed so far; True once the storage holds it all."""
        with self._lock:
            target = self.last_seq
        deadline = time.monotonic() + timeout
        while True:
            with contextlib.suppress(Exception):
                self.ship_once()
            with self._lock:
                if self.shipped_seq >= target:
                    return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(min(0.2, max(deadline - time.monotonic(), 0)))

    # -- status --------------------------------------------------------------------------------

    def status(self) -> JournalStatus:
        with self._lock:
            oldest = self._oldest_unshipped
            lag = time.monotonic() - oldest if oldest is not None else 0.0
            return JournalStatus(
                committed_seq=self.last_seq,
                shipped_seq=self.shipped_seq,
                pending_entries=self.last_seq - self.shipped_seq,
                lag_seconds=lag,
                last_error=self.last_error,
                last_error_time=self.last_error_time,
                last_shipped_time=self.last_shipped_time,
                segments_shipped=self.segments_shipped,
                running=self._thread is not None,
            )


# One connection of its own per database for the read below. It runs after a commit while
# that commit still holds events' commit-order lock, and saves waiting for that lock hold
# the database's write lock (SQLite: the file's); from the app's pool it could wait for a
# connection that only those stalled saves give back: every save then hung until the busy
# timeout (bench/load.py, 50 annotators: 30 s saves with the server idle). The commit-order
# lock lets one commit at a time in here, so one connection is always free.
_SIDE_ENGINES: dict[str, Engine] = {}
_SIDE_LOCK = threading.Lock()


def _side_engine(engine: Engine) -> Engine:
    key = engine.url.render_as_string(hide_password=False)
    with _SIDE_LOCK:
        side = _SIDE_ENGINES.get(key)
        if side is None:
            options: dict[str, Any] = {"pool_size": 1, "max_overflow": 1}
            if engine.dialect.name == "sqlite":
                options["connect_args"] = {"check_same_thread": False, "timeout": 15}
            side = _SIDE_ENGINES[key] = create_engine(engine.url, **options)
        return side


def _versions(engine: Engine, job_ids: set[int]) -> dict[int, int]:
    """The jobs' annotation versions just after the commit (at least the committed ones)."""
    if not job_ids:
        return {}
    try:
        with _side_engine(engine).connect() as conn:
            rows = conn.execute(
                select(Job.id, Job.annotation_version).where(Job.id.in_(sorted(job_ids)))
            )
            return {int(i): int(v or 0) for i, v in rows}
    except Exception as exc:  # noqa: BLE001 - the versions only sharpen a restore
        log.warning("could not read job versions for the journal: %s", exc)
        return {}


# ---- lifespan hooks ----------------------------------------------------------------------
