"""The Huey queue: embedded (SQLite file, worker thread in the server) or Redis (workers)."""

from __future__ import annotations

import logging
import threading

from huey import MemoryHuey, RedisHuey, SqliteHuey
from huey.consumer import Consumer

from labelvault.background import service
from labelvault.config import Settings
from labelvault.db import Database

log = logging.getLogger(__name__)


class _ThreadConsumer(Consumer):
    # Signal handlers can only be installed from the main thread; the server owns those.
    def _set_signal_handlers(self) -> None:  # noqa: D401
        return None


class Queue:
    """Puts requests on the queue and, in embedded mode, runs the worker threads."""

    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.db = db
        url = settings.queue_url
        if url == "embedded":
            settings.data_dir.mkdir(parents=True, exist_ok=True)
            self.huey = SqliteHuey(name="labelvault", filename=str(settings.data_dir / "queue.db"))
        elif url == "immediate":
            self.huey = MemoryHuey(name="labelvault", immediate=True)
        elif url.startswith(("redis://", "rediss://", "unix://")):
            self.huey = RedisHuey(name="labelvault", url=url)
        else:
            raise ValueError(f"queue_url must be 'embedded', 'immediate' or redis://…, not {url!r}")
        self._run = self.huey.task(name="run_request", retries=0)(self._execute)
        self._consumer: Consumer | None = None
        self._lock = threading.Lock()

    def _execute(self, request_id: str) -> None:
        service.execute(self.db, self.settings, request_id)

    def check(self) -> dict[str, object]:
        """Readiness: the queue's storage answers (Redis PING or the SQLite file); its depth."""
        pending = self.huey.pending_count()
        return {"backend": type(self.huey).__name__, "pending": pending}

    def enqueue(self, request_id: str) -> None:
        self._run(request_id)

    def start_embedded_worker(self) -> None:
        """Run worker threads in this process (the default, single-machine mode)."""
        if self.huey.immediate:
            return
        with self._lock:
            if self._consumer is None:
                self._consumer = _ThreadConsumer(
                    self.huey,
                    workers=self.settings.workers,
                    worker_type="thread",
                    periodic=True,
                    check_worker_health=False,
                    # SQLite cannot block on a dequeue: an idle worker polls, backing off
                    # up to Huey's 10 s, which a request posted then waits out. Half a second
                    # at most keeps requests starting at once for a few reads a second.
                    max_delay=0.5,
                )
                self._consumer.start()

    def stop(self) -> None:
        with self._lock:
            if self._consumer is not None:
                self._consumer.stop(graceful=True)
                self._consumer = None

    def run_worker(self) -> None:
        """Block running a standalone worker process (`labelvault worker`)."""
        consumer = self.huey.create_consumer(workers=self.settings.workers, worker_type="thread")
        consumer.run()
