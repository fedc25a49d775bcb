"""The only reader and writer of the annotation tables (tags, shapes, tracks, track_shapes).

Writes use SQLAlchemy Core (COPY on PostgreSQL) in the caller's transaction; reads stream
pre-serialised bodies (see models.py) straight into replies. Tags, shapes and tracks share
one id range. The rules (what may be written, versions, events) live in service.py.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import Connection, Select, bindparam, delete, func, select, text, update
from sqlalchemy.orm import Session

from labelvault.annotations.models import LabeledImage, LabeledShape, LabeledTrack, TrackedShape
from labelvault.annotations.validation import Rows, without_gc
from labelvault.tasks.models import Job

TABLES = {"tags": LabeledImage, "shapes": LabeledShape, "tracks": LabeledTrack}

# ---- writing -------------------------------------------------------------------------------


# Tags, shapes and tracks draw ids from one range: cvat-sdk's remove_annotations(ids=...)
# matches ids across all three kinds, so a shape and a tag must never share an id.
_TOP_TABLES = ("tags", "shapes", "tracks")


def allocate_ids(conn: Connection, count: int) -> list[int]:
    """`count` fresh ids of the range tags, shapes and tracks share."""
    if count == 0:
        return []
    if conn.dialect.name == "sqlite":
        # SQLite serialises writers; once this transaction holds the write lock (any write
        # takes it) the ids past the current maximum are ours alone.
        conn.exec_driver_sql("UPDATE jobs SET id = id WHERE 0")
        top = conn.exec_driver_sql(
            "SELECT max(m) FROM ("
            + " UNION ALL ".join(f'SELECT max(id) AS m FROM "{t}"' for t in _TOP_TABLES)
            + ")"
        ).scalar()
        start = (top or 0) + 1
        return list(range(start, start + count))
    # PostgreSQL: the shapes table's sequence numbers all three kinds (concurrency-safe).
    # One row back instead of `count`: when no other writer interleaved, the values form
    # one run (first..last) and only the ends travel; otherwise they come back as an array.
    first, last, scattered = conn.execute(
        text(
            "WITH v AS (SELECT nextval(pg_get_serial_sequence('shapes', 'id')) AS id"
            " FROM generate_series(1, :n))"
            " SELECT min(id), max(id), CASE WHEN max(id) - min(id) + 1 = count(*) THEN NULL"
            " ELSE array_agg(id ORDER BY id) END FROM v"
        ),
        {"n": count},
    ).one()
    return list(range(first, last + 1)) if scattered is None else list(scattered)


def sync_id_range(conn: Connection) -> None:
    """After rows were loaded with their ids (a snapshot restore), move the shared range past
    every tag, shape and track id; PostgreSQL's per-table sequence resets would not."""
    if conn.dialect.name == "sqlite":
        return  # SQLite's allocation reads the maxima each time
    top = " UNION ALL ".join(f'SELECT max(id) AS m FROM "{t}"' for t in _TOP_TABLES)
    conn.execute(
        text(
            "SELECT setval(pg_get_serial_sequence('shapes', 'id'), "
            f"COALESCE((SELECT max(m) FROM ({top}) AS ids), 1), "
            f"(SELECT max(m) IS NOT NULL FROM ({top}) AS ids))"
        )
    )


def _getter(keys: list[str]) -> Any:
    """A row's values in `keys` order as a tuple, in one C call (itemgetter of one key
    would return the bare value)."""
    if len(keys) == 1:
        key = keys[0]
        return lambda row: (row[key],)
    return operator.itemgetter(*keys)


def _bulk_insert(
    conn: Connection, table: Any, rows: list[dict[str, Any]], ids: list[int] | None = None
) -> list[int]:
    """Insert rows with explicit ids in one round trip; returns the ids in row order."""
    if not rows:
        return []
    if ids is None:
        ids = allocate_ids(conn, len(rows))
    keys = list(rows[0])
    columns = ", ".join(f'"{k}"' for k in ["id", *keys])
    name = table.__tablename__
    if conn.dialect.name == "sqlite":
        marks = ", ".join("?" * (len(keys) + 1))
        values = _getter(keys)
        conn.exec_driver_sql(
            f'INSERT INTO "{name}" ({columns}) VALUES ({marks})',
            [(i, *values(row)) for row, i in zip(rows, ids, strict=True)],
        )
        return ids
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        # COPY is PostgreSQL's bulk path: several times faster than multi-row INSERTs.
        with cursor.copy(f'COPY "{name}" ({columns}) FROM STDIN') as copy:
            values = _getter(keys)
            for row, object_id in zip(rows, ids, strict=True):
                copy.write_row((object_id, *values(row)))
    finally:
        cursor.close()
    return ids


def _insert_children(
    conn: Connection, rows: Rows, shape_ids: list[int], track_ids: list[int]
) -> list[int]:
    """Elements of skeletons, keyframes and sub-tracks of tracks, under their parents' ids."""
    elements = []
    for parent_id, children in zip(shape_ids, rows.elements, strict=True):
        for child in children:
            child["parent_id"] = parent_id
            elements.append(child)
    element_ids = _bulk_insert(conn, LabeledShape, elements)
    sub_rows = []
    sub_shapes = []
    for track_id, subs in zip(track_ids, rows.sub_tracks, strict=True):
        for sub_row, shapes in subs:
            sub_row["parent_id"] = track_id
            sub_rows.append(sub_row)
            sub_shapes.append(shapes)
    sub_ids = _bulk_insert(conn, LabeledTrack, sub_rows)
    keyframes = [
        {"track_id": track_id, **shape}
        for track_id, shapes in zip(
            track_ids + sub_ids, rows.track_shapes + sub_shapes, strict=True
        )
        for shape in shapes
    ]
    if keyframes:
        conn.execute(TrackedShape.__table__.insert(), keyframes)
    return element_ids


@dataclass
class Written:
    """What a write stored: top-level ids per kind, and how to reply with those objects."""

    conn: Connection
    ids: dict[str, list[int]]
    rows: Rows | None = None
    element_ids: list[int] = field(default_factory=list)
    _parts: tuple[list[str], list[str], list[str]] | None = None

    def reply(self, version: int) -> bytes:
        """The written objects with their ids, built from memory (no read-back of a job)."""
        if self._parts is None:
            self._parts = self._render_parts()
        return render(version, self._parts)

    def ids_only(self) -> bytes:
        """`{"tags": [{"id": ..}], ...}`: what a delete removed."""
        parts = tuple([f'{{"id":{i}}}' for i in self.ids.get(k, [])] for k in _TOP_TABLES)
        return render(0, parts)  # type: ignore[arg-type]

    def _render_parts(self) -> tuple[list[str], list[str], list[str]]:
        if self.rows is None:
            return ([], [], [])
        rows = self.rows
        tags = [_with_id(i, r["body"]) for i, r in zip(self.ids["tags"], rows.tags, strict=True)]
        element_ids = iter(self.element_ids)
        shapes = []
        for shape_id, row, children in zip(
            self.ids["shapes"], rows.shapes, rows.elements, strict=True
        ):
            if not children:  # most shapes: skip the join of no elements
                shapes.append(f'{{"id":{shape_id},{row["body"][1:-1]},"elements":[]}}')
                continue
            elements = ",".join(_with_id(next(element_ids), c["body"]) for c in children)
            shapes.append(_with_id(shape_id, row["body"], ',"elements":[' + elements + "]"))
        # Tracks are few; their keyframe ids come from the database.
        tracks = (
            _read_tracks(self.conn, [LabeledTrack.id.in_(self.ids["tracks"])], True)
            if self.ids["tracks"]
            else []
        )
        return (tags, shapes, tracks)


@without_gc
def insert(conn: Connection, rows: Rows) -> Written:
    """Insert validated rows; returns the new ids of top-level objects in payload order."""
    ids = allocate_ids(conn, len(rows.tags) + len(rows.shapes) + len(rows.tracks))
    tag_ids = _bulk_insert(conn, LabeledImage, rows.tags, ids[: len(rows.tags)])
    rest = ids[len(rows.tags) :]
    shape_ids = _bulk_insert(conn, LabeledShape, rows.shapes, rest[: len(rows.shapes)])
    track_ids = _bulk_insert(conn, LabeledTrack, rows.tracks, rest[len(rows.shapes) :])
    element_ids = _insert_children(conn, rows, shape_ids, track_ids)
    ids = {"tags": tag_ids, "shapes": shape_ids, "tracks": track_ids}
    return Written(conn, ids, rows, element_ids)


def clear(conn: Connection, job_ids: list[int]) -> None:
    conn.execute(delete(LabeledImage).where(LabeledImage.job_id.in_(job_ids)))
    conn.execute(
        delete(TrackedShape).where(
            TrackedShape.track_id.in_(
                select(LabeledTrack.id).where(LabeledTrack.job_id.in_(job_ids))
            )
        )
    )
    conn.execute(
        delete(LabeledTrack).where(
            LabeledTrack.job_id.in_(job_ids), LabeledTrack.parent_id.is_not(None)
        )
    )
    conn.execute(delete(LabeledTrack).where(LabeledTrack.job_id.in_(job_ids)))
    conn.execute(
        delete(LabeledShape).where(
            LabeledShape.job_id.in_(job_ids), LabeledShape.parent_id.is_not(None)
        )
    )
    conn.execute(delete(LabeledShape).where(LabeledShape.job_id.in_(job_ids)))


def existing_ids(conn: Connection, kind: str, job_ids: list[int], ids: Iterable[int]) -> set[int]:
    """Which of these tag/shape/track ids exist in the jobs."""
    table = TABLES[kind]
    wanted = list({i for i in ids if i is not None})
    found: set[int] = set()
    for start in range(0, len(wanted), 5000):
        batch = wanted[start : start + 5000]
        found.update(
            conn.execute(
                select(table.id).where(table.id.in_(batch), table.job_id.in_(job_ids))
            ).scalars()
        )
    return found


def update_rows(conn: Connection, rows: Rows, found: dict[str, set[int]]) -> Written:
    """Replace each object whole (its elements and keyframes too), keeping its id."""
    _delete_children(conn, found)
    for key, items in (("tags", rows.tags), ("shapes", rows.shapes), ("tracks", rows.tracks)):
        table = TABLES[key]
        for object_id, row in zip(rows.ids[key], items, strict=True):
            conn.execute(update(table).where(table.id == object_id).values(**row))
    ids = {k: [i for i in v if i is not None] for k, v in rows.ids.items()}
    element_ids = _insert_children(conn, rows, ids["shapes"], ids["tracks"])
    return Written(conn, ids, rows, element_ids)


def delete_ids(conn: Connection, ids: dict[str, set[int]]) -> Written:
    """Remove the objects (with their elements and keyframes); what the reply names."""
    _delete_children(conn, ids)
    for key, table in TABLES.items():
        wanted = list(ids.get(key, ()))
        for start in range(0, len(wanted), 5000):
            conn.execute(delete(table).where(table.id.in_(wanted[start : start + 5000])))
    return Written(conn, {name: sorted(found) for name, found in ids.items()})


def _delete_children(conn: Connection, ids: dict[str, set[int]]) -> None:
    shape_ids = list(ids.get("shapes", ()))
    track_ids = list(ids.get("tracks", ()))
    for start in range(0, max(len(shape_ids), len(track_ids)), 5000):
        shapes = shape_ids[start : start + 5000]
        tracks = track_ids[start : start + 5000]
        if shapes:
            conn.execute(delete(LabeledShape).where(LabeledShape.parent_id.in_(shapes)))
        if tracks:
            subs = select(LabeledTrack.id).where(LabeledTrack.parent_id.in_(tracks))
            conn.execute(delete(TrackedShape).where(TrackedShape.track_id.in_(subs)))
            conn.execute(delete(TrackedShape).where(TrackedShape.track_id.in_(tracks)))
            conn.execute(delete(LabeledTrack).where(LabeledTrack.parent_id.in_(tracks)))


def _relabelled(body: str, mapping: Any, used: tuple[set[int], set[int]]) -> str:
    data = orjson.loads(body)
    if "label_id" in data:
        used[0].add(data["label_id"])
        data["label_id"] = mapping.labels.get(data["label_id"], data["label_id"])
    for attr in data.get("attributes") or ():
        used[1].add(attr["spec_id"])
        attr["spec_id"] = mapping.attributes.get(attr["spec_id"], attr["spec_id"])
    return orjson.dumps(data).decode()


def relabel(session: Session, job_ids: Select[tuple[int]], mapping: Any) -> None:
    """Point the jobs' objects at other labels and attribute specs (a task changes project):
    the label column and the stored body (its label_id and every attribute's spec_id), of
    tags, shapes, skeleton elements, tracks and their keyframes. Objects that use a label or
    attribute the target lacks refuse the move (mapping.check), before anything is written."""
    conn = session.connection()
    used: tuple[set[int], set[int]] = (set(), set())
    track_ids = select(LabeledTrack.id).where(LabeledTrack.job_id.in_(job_ids))
    sources = [(table, table.job_id.in_(job_ids), True) for table in TABLES.values()] + [
        (TrackedShape, TrackedShape.track_id.in_(track_ids), False)
    ]
    pending = []
    for table, where, has_label in sources:
        columns = [table.id, table.body] + ([table.label_id] if has_label else [])
        changes = []
        for row in conn.execute(select(*columns).where(where)):
            values = {"b_id": row[0], "body": _relabelled(row[1], mapping, used)}
            if has_label:
                used[0].add(row[2])
                values["label_id"] = mapping.labels.get(row[2], row[2])
            changes.append(values)
        pending.append((table, has_label, changes))
    mapping.check(*used)
    for table, has_label, changes in pending:
        values = {"body": bindparam("body")}
        if has_label:
            values["label_id"] = bindparam("label_id")
        statement = (
            update(table.__table__)
            .where(table.__table__.c.id == bindparam("b_id"))
            .values(**values)
        )
        for start in range(0, len(changes), 5000):
            conn.execute(statement, changes[start : start + 5000])


# ---- reading -------------------------------------------------------------------------------


def _fetch_all(conn: Connection, sql: str) -> list[Any]:
    """Every row of a parameterless query as plain tuples from the driver's own cursor:
    for a whole job (100k rows) SQLAlchemy's per-row Result wrapping is a third of a GET."""
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql)
        return cursor.fetchall()
    finally:
        cursor.close()


def _with_id(object_id: int, body: str, extra: str = "") -> str:
    return f'{{"id":{object_id},{body[1:-1]}{extra}}}'


@without_gc
def read_parts(
    conn: Connection, job_ids: list[int], only: dict[str, list[int]] | None = None
) -> tuple[list[str], list[str], list[str]]:
    """Serialised tags, shapes and tracks of the jobs (optionally only some ids)."""

    def where(table: Any, key: str) -> list[Any]:
        clauses = [table.job_id.in_(job_ids)]
        if only is not None:
            clauses.append(table.id.in_(only.get(key) or [-1]))
        return clauses

    tags = [
        _with_id(i, b)
        for i, b in conn.execute(
            select(LabeledImage.id, LabeledImage.body)
            .where(*where(LabeledImage, "tags"))
            .order_by(LabeledImage.id)
        )
    ]
    columns = select(LabeledShape.id, LabeledShape.parent_id, LabeledShape.body)
    if only is None:
        shape_rows: Iterable[Any] = _fetch_all(
            conn,
            'SELECT id, parent_id, body FROM "shapes" WHERE job_id IN '
            f"({', '.join(str(int(j)) for j in job_ids) or 'NULL'}) ORDER BY id",
        )
    else:
        # Two index lookups (by id, by parent): an OR of both makes the database scan the job.
        wanted = only.get("shapes") or [-1]
        scoped = columns.where(LabeledShape.job_id.in_(job_ids))
        shape_rows = sorted(
            [
                *conn.execute(scoped.where(LabeledShape.id.in_(wanted))),
                *conn.execute(scoped.where(LabeledShape.parent_id.in_(wanted))),
            ],
            key=lambda row: row[0],
        )
    top: list[tuple[int, str]] = []
    children: dict[int, list[str]] = {}
    for object_id, parent_id, body in shape_rows:
        if parent_id is None:
            top.append((object_id, body))
        else:
            children.setdefault(parent_id, []).append(_with_id(object_id, body))
    shapes = [_with_id(i, b, ',"elements":[' + ",".join(children.get(i, ())) + "]") for i, b in top]
    tracks = _read_tracks(conn, where(LabeledTrack, "tracks"), only is not None)
    return tags, shapes, tracks


def _read_tracks(conn: Connection, clauses: list[Any], filtered: bool) -> list[str]:
    rows = list(
        conn.execute(
            select(LabeledTrack.id, LabeledTrack.parent_id, LabeledTrack.body)
            .where(*clauses)
            .order_by(LabeledTrack.id)
        )
    )
    if not rows:
        return []
    ids = [r[0] for r in rows]
    sub_rows = (
        list(
            conn.execute(
                select(LabeledTrack.id, LabeledTrack.parent_id, LabeledTrack.body)
                .where(LabeledTrack.parent_id.in_(ids))
                .order_by(LabeledTrack.id)
            )
        )
        if filtered
        else []
    )
    all_rows = rows + sub_rows
    keyframes: dict[int, list[str]] = {}
    all_ids = [r[0] for r in all_rows]
    for start in range(0, len(all_ids), 5000):
        for object_id, track_id, body in conn.execute(
            select(TrackedShape.id, TrackedShape.track_id, TrackedShape.body)
            .where(TrackedShape.track_id.in_(all_ids[start : start + 5000]))
            .order_by(TrackedShape.frame, TrackedShape.id)
        ):
            keyframes.setdefault(track_id, []).append(_with_id(object_id, body))
    subs: dict[int, list[str]] = {}
    top = []
    for object_id, parent_id, body in all_rows:
        shapes = ',"shapes":[' + ",".join(keyframes.get(object_id, ())) + "]"
        if parent_id is None:
            top.append((object_id, body, shapes))
        else:
            subs.setdefault(parent_id, []).append(_with_id(object_id, body, shapes))
    return [
        _with_id(i, b, s + ',"elements":[' + ",".join(subs.get(i, ())) + "]") for i, b, s in top
    ]


def render(version: int, parts: tuple[list[str], list[str], list[str]]) -> bytes:
    tags, shapes, tracks = parts
    return (
        f'{{"version":{version},"tags":[{",".join(tags)}],"shapes":[{",".join(shapes)}],'
        f'"tracks":[{",".join(tracks)}],"intervals":[]}}'
    ).encode()


def count(session: Session, job_ids: list[int]) -> dict[str, int]:
    """How many tags and top-level shapes and tracks the jobs hold."""
    conn = session.connection()
    return {
        "tags": conn.execute(
            select(func.count()).where(LabeledImage.job_id.in_(job_ids))
        ).scalar_one(),
        "shapes": conn.execute(
            select(func.count()).where(
                LabeledShape.job_id.in_(job_ids), LabeledShape.parent_id.is_(None)
            )
        ).scalar_one(),
        "tracks": conn.execute(
            select(func.count()).where(
                LabeledTrack.job_id.in_(job_ids), LabeledTrack.parent_id.is_(None)
            )
        ).scalar_one(),
    }


def read(
    session: Session, job_ids: list[int], version: int, only: dict[str, list[int]] | None = None
) -> bytes:
    """The jobs' annotations as the API replies them (optionally only some ids)."""
    return render(version, read_parts(session.connection(), job_ids, only))


# ---- journal replay ------------------------------------------------------------------------


def restore_objects(
    session: Session, job_ids: list[int], payload: dict[str, list[Any]], mode: str
) -> None:
    """Write objects as a save replied with them, keeping every id (a journal replay).

    `mode` is the save's action: "replace" (the jobs hold exactly these objects), "create" or
    "update" (upsert by id) or "delete" (these ids go). Idempotent, so replaying a change the
    database already holds changes nothing. A task-wide change is split by frame, as saved.
    """
    conn = session.connection()
    ids = {key: {int(o["id"]) for o in payload[key]} for key in _TOP_TABLES}
    if mode == "replace":
        clear(conn, job_ids)
    else:
        delete_ids(conn, ids)
    if mode == "delete":
        return
    owner = _frame_owner(conn, job_ids)

    def job_for(frame: int) -> int:
        return owner.get(frame, job_ids[0])

    def body(obj: dict[str, Any], *drop: str) -> str:
        # Without its id and children the object is its stored body, keys in stored order.
        return orjson.dumps({k: v for k, v in obj.items() if k not in drop}).decode()

    tags = [
        {
            "id": o["id"],
            "job_id": job_for(o["frame"]),
            "frame": o["frame"],
            "label_id": o["label_id"],
            "body": body(o, "id"),
        }
        for o in payload["tags"]
    ]
    shapes: list[dict[str, Any]] = []
    elements: list[dict[str, Any]] = []
    for o in payload["shapes"]:
        job_id = job_for(o["frame"])
        shapes.append(
            {
                "id": o["id"],
                "job_id": job_id,
                "frame": o["frame"],
                "label_id": o["label_id"],
                "type": o["type"],
                "parent_id": None,
                "body": body(o, "id", "elements"),
            }
        )
        elements += [
            {
                "id": e["id"],
                "job_id": job_id,
                "frame": e.get("frame", o["frame"]),
                "label_id": e["label_id"],
                "type": e.get("type", "points"),
                "parent_id": o["id"],
                "body": body(e, "id", "elements"),
            }
            for e in o.get("elements") or []
        ]
    tracks: list[dict[str, Any]] = []
    sub_tracks: list[dict[str, Any]] = []
    keyframes: list[dict[str, Any]] = []

    def track(obj: dict[str, Any], job_id: int, parent_id: int | None) -> dict[str, Any]:
        keyframes.extend(
            {"id": k["id"], "track_id": obj["id"], "frame": k["frame"], "body": body(k, "id")}
            for k in obj.get("shapes") or []
        )
        return {
            "id": obj["id"],
            "job_id": job_id,
            "frame": obj["frame"],
            "label_id": obj["label_id"],
            "parent_id": parent_id,
            "body": body(obj, "id", "shapes", "elements"),
        }

    for o in payload["tracks"]:
        job_id = job_for(o["frame"])
        tracks.append(track(o, job_id, None))
        sub_tracks += [track(e, job_id, o["id"]) for e in o.get("elements") or []]
    for table, rows in (
        (LabeledImage, tags),
        (LabeledShape, shapes),
        (LabeledShape, elements),
        (LabeledTrack, tracks),
        (LabeledTrack, sub_tracks),
    ):
        if rows:
            _bulk_insert(
                conn,
                table,
                [{k: v for k, v in r.items() if k != "id"} for r in rows],
                [int(r["id"]) for r in rows],
            )
    if keyframes:
        conn.execute(TrackedShape.__table__.insert(), keyframes)


def _frame_owner(conn: Connection, job_ids: list[int]) -> dict[int, int]:
    """frame -> job for a task-wide change; overlapping frames belong to the first job."""
    owner: dict[int, int] = {}
    if len(job_ids) < 2:
        return owner
    rows = conn.execute(
        select(Job.id, Job.start_frame, Job.stop_frame, Job.frames)
        .where(Job.id.in_(job_ids))
        .order_by(Job.id)
    )
    for job_id, start, stop, frames in rows:
        for frame in frames if frames is not None else range(start, stop + 1):
            owner.setdefault(frame, job_id)
    return owner


# ---- streaming reads (dataset exports and backups) ------------------------------------------
# Exports of millions of objects read a window of frames, or a page of ids, at a time, so
# memory holds one window; these return the stored bodies with what the caller groups by.


def frame_window(
    conn: Connection, job_ids: list[int], start: int, stop: int
) -> tuple[list[tuple[int, str]], list[tuple[int, int | None, int, str]]]:
    """Tags as (frame, body) and shapes as (id, parent_id, frame, body) on frames start..stop."""
    tags = conn.execute(
        select(LabeledImage.frame, LabeledImage.body)
        .where(
            LabeledImage.job_id.in_(job_ids),
            LabeledImage.frame >= start,
            LabeledImage.frame <= stop,
        )
        .order_by(LabeledImage.id)
    )
    shapes = conn.execute(
        select(LabeledShape.id, LabeledShape.parent_id, LabeledShape.frame, LabeledShape.body)
        .where(
            LabeledShape.job_id.in_(job_ids),
            LabeledShape.frame >= start,
            LabeledShape.frame <= stop,
        )
        .order_by(LabeledShape.id)
    )
    return [(f, b) for f, b in tags], [(i, p, f, b) for i, p, f, b in shapes]


def tags_page(conn: Connection, job_id: int, after: int, limit: int) -> list[tuple[int, int, str]]:
    """(id, frame, body) of the job's tags with ids above `after`, in id order (keyset paging)."""
    rows = conn.execute(
        select(LabeledImage.id, LabeledImage.frame, LabeledImage.body)
        .where(LabeledImage.job_id == job_id, LabeledImage.id > after)
        .order_by(LabeledImage.id)
        .limit(limit)
    )
    return [(i, f, b) for i, f, b in rows]


def shapes_page(
    conn: Connection, job_id: int, after: int, limit: int
) -> list[tuple[int, int, str]]:
    """(id, frame, body) of the job's top-level shapes with ids above `after`, in id order."""
    rows = conn.execute(
        select(LabeledShape.id, LabeledShape.frame, LabeledShape.body)
        .where(
            LabeledShape.job_id == job_id,
            LabeledShape.parent_id.is_(None),
            LabeledShape.id > after,
        )
        .order_by(LabeledShape.id)
        .limit(limit)
    )
    return [(i, f, b) for i, f, b in rows]


def shape_elements(conn: Connection, parent_ids: list[int]) -> list[tuple[int, int, str]]:
    """(parent_id, frame, body) of the elements of these skeleton shapes, in id order."""
    rows = conn.execute(
        select(LabeledShape.parent_id, LabeledShape.frame, LabeledShape.body)
        .where(LabeledShape.parent_id.in_(parent_ids))
        .order_by(LabeledShape.id)
    )
    return [(p, f, b) for p, f, b in rows]


def track_rows(
    conn: Connection, job_ids: list[int]
) -> tuple[list[tuple[int, int | None, str]], dict[int, list[str]]]:
    """The jobs' tracks as (id, parent_id, body) and each track's keyframe bodies by frame."""
    rows = [
        (i, p, b)
        for i, p, b in conn.execute(
            select(LabeledTrack.id, LabeledTrack.parent_id, LabeledTrack.body)
            .where(LabeledTrack.job_id.in_(job_ids))
            .order_by(LabeledTrack.id)
        )
    ]
    keyframes: dict[int, list[str]] = {}
    ids = [r[0] for r in rows]
    for start in range(0, len(ids), 5000):
        for track_id, body in conn.execute(
            select(TrackedShape.track_id, TrackedShape.body)
            .where(TrackedShape.track_id.in_(ids[start : start + 5000]))
            .order_by(TrackedShape.frame, TrackedShape.id)
        ):
            keyframes.setdefault(track_id, []).append(body)
    return rows, keyframes


def merge(first: Written, second: Written) -> Written:
    """One write's result from two (an update's replaced objects, then its created ones)."""
    rows = Rows()
    for written in (first, second):
        part = written.rows or Rows()
        for name in ("tags", "shapes", "elements", "tracks", "track_shapes", "sub_tracks"):
            getattr(rows, name).extend(getattr(part, name))
    ids = {k: list(first.ids.get(k, [])) + list(second.ids.get(k, [])) for k in _TOP_TABLES}
    rows.ids = {k: list(v) for k, v in ids.items()}
    return Written(first.conn, ids, rows, first.element_ids + second.element_ids)
