"""Frames of a run on several threads: results in frame order, the first failing frame named."""

from __future__ import annotations

import threading

import pytest

from labelvault.models_ai import runs
from tests.models_ai.conftest import bright_box_image
from tests.models_ai.test_models import _task_with


def test_frames_on_threads_keep_order_and_fail_at_the_first_bad_frame(admin, database) -> None:  # type: ignore[no-untyped-def]
    task = _task_with(admin, [bright_box_image((i, i, i + 8, i + 8)) for i in range(6)])
    threads: set[str] = set()

    def detect(frame):  # type: ignore[no-untyped-def]
        threads.add(threading.current_thread().name)
        if frame.frame == 4 and fail:
            raise runs.RunFailed(f"frame {frame.frame} failed")
        return [{"frame": frame.frame}], []

    counted: list[int] = []
    fail = False
    done = runs.run_job_frames(database, task["id"], list(range(6)), detect, counted.append, 2)
    assert [t["frame"] for t in done["tags"]] == list(range(6)) and sum(counted) == 6
    assert all(name.startswith("lv-model") for name in threads)
    fail = True
    with pytest.raises(runs.RunFailed, match="frame 4 failed"):
        runs.run_job_frames(database, task["id"], list(range(6)), detect, counted.append, 2)
