"""Running a model over frames: one frame (interactive) or a task's or job's frames (a request).

Frames go to the model in batches; a job's results are written in one save once all of its
frames are done, so a model failing half-way leaves that job as it was.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from labelvault.cloudstorages.registry import CloudStorages
from labelvault.config import Settings
from labelvault.db import Database
from labelvault.errors import Invalid, LabelVaultError
from labelvault.media.frames import frame_file, frames_of
from labelvault.media.models import Frame
from labelvault.models_ai import service
from labelvault.models_ai.adapters import Adapter, ModelError
from labelvault.models_ai.models import Model
from labelvault.models_ai.shapes import Mapping, Target, build_mapping, frame_objects
from labelvault.projects import service as project_service
from labelvault.tasks import service as task_service
from labelvault.tasks.models import Task

BATCH = 64


class RunFailed(LabelVaultError):
    """The model failed on a frame: the message names the model and the frame."""

    status = 502


def task_labels(session: Session, task: Task) -> list[Target]:
    if task.project_id is not None:
        infos = project_service.label_infos(session, project_id=task.project_id)
    else:
        infos = project_service.label_infos(session, task_id=task.id)
    return [Target(i.id, i.name, i.type) for i in infos.values() if i.parent_id is None]


def mapping_for(session: Session, model: Model, task: Task, call: dict[str, Any]) -> Mapping:
    """The label mapping and filters of a call, checked before any frame is sent."""
    threshold = call.get("threshold")
    conv = call.get("conv_mask_to_poly")
    if conv is None:
        conv = call.get("convMaskToPoly")
    return build_mapping(
        model.name,
        service.label_names(model),
        task_labels(session, task),
        call.get("mapping"),
        None if threshold is None else float(threshold),
        bool(conv),
    )


@dataclass
class FrameReader:
    """Reads frames' original bytes (a worker opens the cloud storages itself)."""

    settings: Settings
    clouds: CloudStorages | None

    def read(self, frame: Frame) -> bytes:
        return frame_file(self.settings, frame, self.clouds).read_bytes()


def reader_for(db: Database, settings: Settings, task: Task) -> FrameReader:
    clouds = CloudStorages(db, settings) if task.cloud_storage_id is not None else None
    return FrameReader(settings, clouds)


def detect_frame(
    model: Model, adapter: Adapter, mapping: Mapping, frame: Frame, image: bytes
) -> tuple[list[dict], list[dict]]:
    """One frame's tags and shapes; a RunFailed naming the model and frame otherwise."""
    try:
        detections = adapter.detect(image, frame.width, frame.height)
        return frame_objects(mapping, frame.frame, detections)
    except ModelError as exc:
        raise RunFailed(
            f"model '{model.name}' failed on frame {frame.frame} ({frame.name}): {exc}"
        ) from exc


def adapter_of(model: Model) -> Adapter:
    if not model.enabled:
        raise Invalid(f"model '{model.name}' is disabled")
    try:
        adapter = service.adapter(model)
    except ModelError as exc:
        raise RunFailed(f"model '{model.name}': {exc}") from exc
    return adapter


def job_batches(session: Session, task: Task, job_id: int | None) -> list[tuple[int, list[int]]]:
    """(job id, frames) of the jobs to annotate, deleted frames left out."""
    deleted = set(task.deleted_frames or [])
    jobs = task_service.jobs_of(session, task.id)
    if job_id is not None:
        jobs = [j for j in jobs if j.id == job_id]
    seen: set[int] = set()
    out = []
    for job in jobs:
        frames = [f for f in task_service.job_frames(job) if f not in deleted and f not in seen]
        seen.update(frames)  # an overlapping frame is annotated once, in its first job
        out.append((job.id, frames))
    return out


def batches(frames: list[int], size: int = BATCH) -> Iterator[list[int]]:
    for start in range(0, len(frames), size):
        yield frames[start : start + size]


def run_job_frames(
    db: Database,
    task_id: int,
    frames: list[int],
    detect: Callable[[Frame], tuple[list[dict], list[dict]]],
    between_batches: Callable[[int], None],
    workers: int = 1,
) -> dict[str, list]:
    """Tags and shapes of one job's frames, batch by batch, in frame order.

    With workers > 1 (adapters that are thread-safe say so), frames are read, decoded and
    run on that many threads: file reads, PIL's decoding and onnxruntime let go of the GIL,
    so a cheap model is no longer waiting for the disk between frames.
    """
    tags: list[dict] = []
    shapes: list[dict] = []
    pool = ThreadPoolExecutor(workers, thread_name_prefix="lv-model") if workers > 1 else None
    try:
        for batch in batches(frames):
            with db.session() as session:
                rows = frames_of(session, task_id, batch)
                session.expunge_all()
            results = pool.map(detect, rows) if pool is not None else map(detect, rows)
            for t, s in results:  # the first failing frame (in order) raises here
                tags += t
                shapes += s
            between_batches(len(rows))
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    return {"tags": tags, "shapes": shapes, "tracks": []}
