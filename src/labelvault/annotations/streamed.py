"""The jobs' annotations written to a file chunk by chunk: byte for byte what `read` returns."""

from __future__ import annotations

from typing import IO, Any

from sqlalchemy import Connection, select

from labelvault.annotations.models import LabeledImage, LabeledShape, LabeledTrack
from labelvault.annotations.store import _read_tracks, _with_id

CHUNK = 5000  # top-level objects read (and their elements looked up) per query


def _comma_joined(out: IO[bytes], parts: Any) -> None:
    first = True
    for part in parts:
        out.write(part.encode() if first else b"," + part.encode())
        first = False


def _tags(conn: Connection, job_ids: list[int]) -> Any:
    last = 0
    while True:
        rows = conn.execute(
            select(LabeledImage.id, LabeledImage.body)
            .where(LabeledImage.job_id.in_(job_ids), LabeledImage.id > last)
            .order_by(LabeledImage.id)
            .limit(CHUNK)
        ).all()
        if not rows:
            return
        for object_id, body in rows:
            yield _with_id(object_id, body)
        last = rows[-1][0]


def _shapes(conn: Connection, job_ids: list[int]) -> Any:
    # Keyset pages of top-level shapes, each with its elements: no page is ever whole.
    last = 0
    while True:
        top = conn.execute(
            select(LabeledShape.id, LabeledShape.body)
            .where(
                LabeledShape.job_id.in_(job_ids),
                LabeledShape.parent_id.is_(None),
                LabeledShape.id > last,
            )
            .order_by(LabeledShape.id)
            .limit(CHUNK)
        ).all()
        if not top:
            return
        children: dict[int, list[str]] = {}
        for object_id, parent_id, body in conn.execute(
            select(LabeledShape.id, LabeledShape.parent_id, LabeledShape.body)
            .where(
                LabeledShape.job_id.in_(job_ids),
                LabeledShape.parent_id.in_([row[0] for row in top]),
            )
            .order_by(LabeledShape.id)
        ):
            children.setdefault(parent_id, []).append(_with_id(object_id, body))
        for object_id, body in top:
            yield _with_id(
                object_id, body, ',"elements":[' + ",".join(children.get(object_id, ())) + "]"
            )
        last = top[-1][0]


def write_jobs(conn: Connection, job_ids: list[int], version: int, out: IO[bytes]) -> None:
    """`store.read(session, job_ids, version)` into `out`, holding one chunk at a time
    (tracks are read whole, as everywhere: they are few and need their keyframes)."""
    out.write(f'{{"version":{version},"tags":['.encode())
    _comma_joined(out, _tags(conn, job_ids))
    out.write(b'],"shapes":[')
    _comma_joined(out, _shapes(conn, job_ids))
    out.write(b'],"tracks":[')
    _comma_joined(out, _read_tracks(conn, [LabeledTrack.job_id.in_(job_ids)], False))
    out.write(b'],"intervals":[]}')
