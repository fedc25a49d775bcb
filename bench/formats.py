"""Benchmark of dataset export/import and backups on a synthetic project (prints, never asserts).

    python bench/formats.py                        # 1,000 images x 100 boxes
    python bench/formats.py --images 10000         # 10,000 images x 100 boxes = 1,000,000 shapes

Each measured step runs in a fresh subprocess, so its peak RSS is its own.
"""

from __future__ import annotations

import argparse
import io
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FORMATS = ["COCO 1.0", "CVAT for images 1.1", "YOLO 1.1", "Datumaro 1.0"]


def settings_for(data_dir: Path):  # type: ignore[no-untyped-def]
    from labelvault.config import Settings

    return Settings(data_dir=data_dir, admin_password="bench-pass-1", queue_url="immediate")


def setup(data_dir: Path, images: int, per_image: int) -> None:
    """A project with one task of `images` tiny PNG frames and `per_image` boxes each."""
    from PIL import Image
    from sqlalchemy import insert

    from labelvault.annotations.models import LabeledShape
    from labelvault.app import prepare
    from labelvault.media.ingest import write_manifest
    from labelvault.media.layout import raw_dir
    from labelvault.media.models import Frame
    from labelvault.projects import service as projects
    from labelvault.projects.schemas import LabelWrite
    from labelvault.tasks import service as tasks

    settings = settings_for(data_dir)
    db, _ = prepare(settings)
    with db.session() as session:
        project = projects.create_project(
            session, "bench", 1, [LabelWrite(name="car"), LabelWrite(name="person")]
        )
        task = tasks.create_task(
            session, name="bench", owner_id=1, project=project, labels=[], segment_size=1000
        )
        labels = [lb.id for lb in projects.labels_of(session, project_id=project.id)]
        raw = raw_dir(settings, task.id)
        raw.mkdir(parents=True)
        buf = io.BytesIO()
        Image.new("RGB", (640, 480), (90, 90, 90)).save(buf, "PNG")
        png = buf.getvalue()
        rows = []
        for i in range(images):
            name = f"img_{i:06d}.png"
            (raw / name).write_bytes(png)
            rows.append(
                {
                    "task_id": task.id,
                    "frame": i,
                    "name": name,
                    "path": name,
                    "width": 640,
                    "height": 480,
                }
            )
        session.execute(insert(Frame), rows)
        task.size, task.mode, task.data_state, task.chunk_size = images, "annotation", "ready", 36
        task.stop_frame = images - 1
        task.overlap = 0
        write_manifest(raw / "manifest.jsonl", rows)
        tasks.create_jobs(session, task)
        session.flush()
        job_of = {}
        for job in tasks.jobs_of(session, task.id):
            for f in range(job.start_frame, job.stop_frame + 1):
                job_of[f] = job.id
    batch = []
    with db.session() as session:
        conn = session.connection()
        for f in range(images):
            for k in range(per_image):
                x, y = (k * 37) % 600, (k * 53) % 440
                label = labels[k % 2]
                body = {
                    "type": "rectangle",
                    "frame": f,
                    "label_id": label,
                    "group": 0,
                    "source": "manual",
                    "occluded": False,
                    "outside": False,
                    "z_order": 0,
                    "rotation": 0.0,
                    "points": [x, y, x + 30.5, y + 20.25],
                    "attributes": [],
                    "score": 1.0,
                }
                batch.append(
                    {
                        "job_id": job_of[f],
                        "frame": f,
                        "label_id": label,
                        "type": "rectangle",
                        "parent_id": None,
                        "body": json.dumps(body),
                    }
                )
                if len(batch) >= 50_000:
                    conn.execute(insert(LabeledShape), batch)
                    batch = []
        if batch:
            conn.execute(insert(LabeledShape), batch)


def step(data_dir: Path, what: str, fmt: str) -> None:
    """One measured operation, run inside its own process."""
    from labelvault.db import Database
    from labelvault.formats import cvat_backup, service
    from labelvault.formats.registry import get_exporter, open_dataset

    settings = settings_for(data_dir)
    db = Database(settings.resolved_database_url)
    out = data_dir / f"{what}-{fmt.replace(' ', '_')}.zip"
    start = time.perf_counter()
    if what == "export":
        source = service.project_source(db, settings, 1)
        with out.open("wb") as f:
            get_exporter(fmt)(source, f, False)
    elif what == "import":
        with open_dataset(fmt, data_dir / f"export-{fmt.replace(' ', '_')}.zip") as ds:
            service.import_into_task(db, 1, ds)
    elif what == "backup":
        with out.open("wb") as f:
            cvat_backup.export_project(db, settings, 1, f)
    elif what == "restore":
        cvat_backup.restore_project(db, settings, data_dir / "backup-.zip", 1)
    elapsed = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    size = out.stat().st_size / 1e6 if out.exists() else 0.0
    print(
        f"{what:8s} {fmt or 'project':22s} {elapsed:8.2f} s  "
        f"peak RSS {peak:7.1f} MB  {size:8.1f} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--shapes-per-image", type=int, default=100)
    parser.add_argument("--step", nargs=3, metavar=("DIR", "WHAT", "FORMAT"))
    args = parser.parse_args()
    if args.step:
        step(Path(args.step[0]), args.step[1], args.step[2])
        return
    with tempfile.TemporaryDirectory(prefix="lv-bench-") as tmp:
        data_dir = Path(tmp)
        start = time.perf_counter()
        setup(data_dir, args.images, args.shapes_per_image)
        total = args.images * args.shapes_per_image
        print(f"setup: {args.images} images, {total} boxes in {time.perf_counter() - start:.1f} s")
        plan = [("export", f) for f in FORMATS] + [("import", "COCO 1.0")]
        plan += [("backup", ""), ("restore", "")]
        for what, fmt in plan:
            subprocess.run(
                [sys.executable, __file__, "--step", str(data_dir), what, fmt], check=True
            )


if __name__ == "__main__":
    main()
