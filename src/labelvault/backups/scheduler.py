"""The scheduler: one tick (due backups, then a due snapshot) and the thread running it."""

from __future__ import annotations

import logging
import threading

from labelvault.backups import instance, leases, periodic
from labelvault.backups.context import BackupContext
from labelvault.backups.periodic import RunReport

log = logging.getLogger("labelvault.backups")


def tick(ctx: BackupContext) -> RunReport:
    """One pass of the scheduler: due project backups, then a snapshot if due."""
    report = periodic.run_due(ctx)
    try:
        info = instance.snapshot_if_due(ctx)
        report.snapshot = info.name if info else None
    except Exception as exc:  # noqa: BLE001 - recorded on the status row
        log.warning("scheduled snapshot failed: %s", exc)
    return report


class Scheduler:
    """A daemon thread that runs `tick` every `config.tick` in the server.

    One pass at a time; a pass that raises is logged and the next one runs as usual.
    """

    def __init__(self, ctx: BackupContext) -> None:
        self.ctx = ctx
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="backup-scheduler", daemon=True)
            self._thread.start()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        while not self._stop.wait(self.ctx.config.tick.total_seconds()):
            try:
                tick(self.ctx)
            except Exception:  # noqa: BLE001 - the scheduler must outlive any one pass
                log.exception("backup scheduler pass failed")

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
            try:  # another process takes rotation and the sweep over at its next tick
                leases.release(self.ctx, leases.MAINTENANCE)
            except Exception:  # noqa: BLE001 - the lease then runs out by itself
                log.warning("could not release the maintenance lease", exc_info=True)
