"""The direct floor of each workload: the same work done without a server, timed in-process.

A server can only add to these (parsing, checks, HTTP), so "≤ 2× floor" says how much of
LabelVault's time is overhead. Each floor does the part of the work no design can skip:
- create a project: insert one project row and its 5 label rows, commit;
- import by upload: copy the N files into a folder (the bytes must land on disk);
- import in place: list the folder and read each image's size from its header;
- import boxes: one bulk insert of the N×K rows (each with its JSON body), commit
  (executemany on SQLite, COPY on PostgreSQL, as the store writes them);
- read back: select those rows and join the bodies into one JSON reply;
- export COCO / YOLO: select the rows and write the format's file(s) into a zip.
"""

from __future__ import annotations

import io
import os
import shutil
import sqlite3
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
from dataset import HEIGHT, LABELS, WIDTH, Dataset
from PIL import Image

SHAPES_DDL = (
    "CREATE TABLE shapes (id INTEGER PRIMARY KEY, job_id INTEGER, frame INTEGER, "
    "label_id INTEGER, type VARCHAR(16), parent_id INTEGER, body TEXT)"
)


class _Db:
    """A fresh SQLite file (WAL, synchronous=NORMAL, as LabelVault runs it) or PG schema."""

    def __init__(self, folder: Path, postgres_url: str | None) -> None:
        self.postgres_url = postgres_url
        if postgres_url:
            import psycopg

            self.conn: Any = psycopg.connect(postgres_url.replace("+psycopg", ""))
            with self.conn.cursor() as cur:
                cur.execute("DROP TABLE IF EXISTS floor_shapes, floor_projects, floor_labels")
                cur.execute(SHAPES_DDL.replace("shapes", "floor_shapes", 1))
                cur.execute("CREATE INDEX ON floor_shapes (job_id, frame)")
                cur.execute("CREATE TABLE floor_projects (id SERIAL PRIMARY KEY, name TEXT)")
                cur.execute(
                    "CREATE TABLE floor_labels (id SERIAL PRIMARY KEY, project_id INT, name TEXT)"
                )
            self.conn.commit()
        else:
            self.conn = sqlite3.connect(folder / "floor.db", isolation_level=None)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.execute(SHAPES_DDL.replace("shapes", "floor_shapes", 1))
            self.conn.execute("CREATE INDEX ix_floor ON floor_shapes (job_id, frame)")
            self.conn.execute("CREATE TABLE floor_projects (id INTEGER PRIMARY KEY, name TEXT)")
            self.conn.execute(
                "CREATE TABLE floor_labels (id INTEGER PRIMARY KEY, project_id INT, name TEXT)"
            )

    def close(self) -> None:
        if self.postgres_url:
            with self.conn.cursor() as cur:
                cur.execute("DROP TABLE IF EXISTS floor_shapes, floor_projects, floor_labels")
            self.conn.commit()
        self.conn.close()

    def create_project(self) -> None:
        if self.postgres_url:
            with self.conn.cursor() as cur:
                cur.execute("INSERT INTO floor_projects (name) VALUES ('p') RETURNING id")
                pid = cur.fetchone()[0]
                cur.executemany(
                    "INSERT INTO floor_labels (project_id, name) VALUES (%s, %s)",
                    [(pid, name) for name in LABELS],
                )
            self.conn.commit()
            return
        c = self.conn
        c.execute("BEGIN")
        pid = c.execute("INSERT INTO floor_projects (name) VALUES ('p')").lastrowid
        c.executemany(
            "INSERT INTO floor_labels (project_id, name) VALUES (?, ?)",
            [(pid, name) for name in LABELS],
        )
        c.execute("COMMIT")

    def insert_rows(self, rows: list[tuple[Any, ...]]) -> None:
        if self.postgres_url:
            with self.conn.cursor() as cur:
                cur.execute("DELETE FROM floor_shapes")
                with cur.copy(
                    "COPY floor_shapes (id, job_id, frame, label_id, type, parent_id, body) "
                    "FROM STDIN"
                ) as copy:
                    for row in rows:
                        copy.write_row(row)
            self.conn.commit()
            return
        c = self.conn
        c.execute("BEGIN")
        c.execute("DELETE FROM floor_shapes")
        c.executemany("INSERT INTO floor_shapes VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
        c.execute("COMMIT")

    def select_rows(self) -> list[tuple[Any, ...]]:
        query = "SELECT id, frame, label_id, body FROM floor_shapes ORDER BY id"
        if self.postgres_url:
            with self.conn.cursor() as cur:
                cur.execute(query)
                out = cur.fetchall()
            self.conn.commit()
            return out
        return self.conn.execute(query).fetchall()


def _rows(dataset: Dataset) -> list[tuple[Any, ...]]:
    rows = []
    next_id = 1
    for frame, boxes in enumerate(dataset.boxes):
        for box in boxes:
            body = orjson.dumps(
                {
                    "type": "rectangle",
                    "frame": frame,
                    "label_id": box.label + 1,
                    "group": 0,
                    "source": "manual",
                    "occluded": False,
                    "outside": False,
                    "z_order": 0,
                    "rotation": 0.0,
                    "points": [box.x, box.y, box.x + box.w, box.y + box.h],
                    "attributes": [],
                    "score": 1.0,
                }
            ).decode()
            rows.append((next_id, 1, frame, box.label + 1, "rectangle", None, body))
            next_id += 1
    return rows


def _read(db: _Db) -> int:
    parts = [f'{{"id":{i},{body[1:-1]},"elements":[]}}' for i, _, _, body in db.select_rows()]
    reply = ('{"version":1,"tags":[],"shapes":[' + ",".join(parts) + '],"tracks":[]}').encode()
    return len(parts) if reply else 0


def _export_coco(db: _Db, dataset: Dataset) -> int:
    annotations = []
    for object_id, frame, label_id, body in db.select_rows():
        x1, y1, x2, y2 = orjson.loads(body)["points"]
        w, h = x2 - x1, y2 - y1
        annotations.append(
            {
                "id": object_id,
                "image_id": frame + 1,
                "category_id": label_id,
                "segmentation": [],
                "area": w * h,
                "bbox": [x1, y1, w, h],
                "iscrowd": 0,
            }
        )
    document = {
        "images": [
            {"id": i + 1, "file_name": p.name, "width": WIDTH, "height": HEIGHT}
            for i, p in enumerate(dataset.images)
        ],
        "categories": [{"id": i + 1, "name": n} for i, n in enumerate(LABELS)],
        "annotations": annotations,
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("annotations/instances_default.json", orjson.dumps(document))
    return len(annotations)


def _export_yolo(db: _Db, dataset: Dataset) -> int:
    lines: dict[int, list[str]] = {}
    count = 0
    for _, frame, label_id, body in db.select_rows():
        x1, y1, x2, y2 = orjson.loads(body)["points"]
        cx, cy = (x1 + x2) / 2 / WIDTH, (y1 + y2) / 2 / HEIGHT
        w, h = (x2 - x1) / WIDTH, (y2 - y1) / HEIGHT
        lines.setdefault(frame, []).append(f"{label_id - 1} {cx:.6f} {cy:.6f} {w:.6f} {h:.6f}")
        count += 1
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("obj.names", "\n".join(LABELS) + "\n")
        for frame, path in enumerate(dataset.images):
            archive.writestr(f"obj_train_data/{path.stem}.txt", "\n".join(lines.get(frame, [])))
    return count


def _timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def run_floors(dataset: Dataset, postgres_url: str | None = None) -> dict[str, float]:
    """One repetition of every floor; the keys are those of workloads.TIMED."""
    with tempfile.TemporaryDirectory(prefix="lv-floor-") as tmp:
        folder = Path(tmp)
        db = _Db(folder, postgres_url)
        try:
            figures = {"create_project": _timed(db.create_project)}
            target = folder / "upload"
            target.mkdir()

            def copy() -> None:
                for path in dataset.images:
                    shutil.copyfile(path, target / path.name)

            figures["import_upload"] = _timed(copy)

            def in_place() -> None:
                for entry in sorted(os.scandir(target), key=lambda e: e.name):
                    with Image.open(entry.path) as image:
                        image.size  # noqa: B018  (the header read is the work)

            figures["import_share"] = _timed(in_place)
            rows = _rows(dataset)
            figures["import_boxes"] = _timed(lambda: db.insert_rows(rows))
            figures["read_annotations"] = _timed(lambda: _read(db))
            figures["export_coco"] = _timed(lambda: _export_coco(db, dataset))
            figures["export_yolo"] = _timed(lambda: _export_yolo(db, dataset))
        finally:
            db.close()
    return figures
