"""Big changes stream: an import in many batches spools each batch's JSON to disk until the
commit and gives the same annotations and journal as one batch; a restore's announcement is
written chunk by chunk, byte for byte the read."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any

import orjson

from labelvault.annotations import events, service, store, streamed
from labelvault.backups import journal_format as fmt
from labelvault.datasets import writing
from tests.datasets.conftest import canon_shapes, export, multipart_upload


def _import(admin, task: dict, data: bytes) -> list[tuple[str, dict]]:  # type: ignore[no-untyped-def]
    heard: list[tuple[str, dict]] = []
    stop = events.subscribe(
        lambda _engine, changes: heard.extend((c.action, orjson.loads(c.objects)) for c in changes)
    )
    try:
        url = f"/api/tasks/{task['id']}/annotations"
        status = multipart_upload(admin, url, data, "annotation_file", {"format": "COCO 1.0"})
    finally:
        stop()
    assert status["status"] == "finished", status
    return heard


def _shapes(heard: list[tuple[str, dict]]) -> list[tuple]:
    out = []
    for action, objects in heard:
        assert action in ("replace", "create")
        out += [(s["id"], s["frame"], s["label_id"], tuple(s["points"])) for s in objects["shapes"]]
    return sorted(out)


def test_batched_import_same_objects_and_journal(
    admin, annotated_task, task_with_data, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    source = annotated_task()
    data = export(admin, f"/api/tasks/{source['id']}", "COCO 1.0")
    whole, batched = task_with_data(), task_with_data()
    _import(admin, whole, data)  # the default batch holds the whole sample
    monkeypatch.setattr(writing, "BATCH_OBJECTS", 3)
    staged_kinds: list[set[type]] = []
    real_flush = writing.Writer.flush

    def flush(self: writing.Writer) -> None:
        real_flush(self)
        staged = self.session.info.get("labelvault.annotation_changes") or []
        staged_kinds.append({type(render) for _ids, _action, render in staged})

    monkeypatch.setattr(writing.Writer, "flush", flush)
    heard = _import(admin, batched, data)
    stored = admin.get(f"/api/tasks/{batched['id']}/annotations").json()["shapes"]
    assert len(stored) > 3
    # What the journal heard is exactly what the database holds, ids and all.
    assert _shapes(heard) == sorted(
        (s["id"], s["frame"], s["label_id"], tuple(s["points"])) for s in stored
    )
    assert heard[0][0] == "replace" and heard[0][1]["shapes"] == []
    assert sum(1 for action, _ in heard if action == "create") > 1
    # Each batch was rendered at once: nothing staged holds Python rows till the commit.
    assert len(staged_kinds) > 1 and all(kinds == {events.Spooled} for kinds in staged_kinds)
    # And the batching changes nothing in what was imported.
    assert canon_shapes(admin, batched) == canon_shapes(admin, whole)


def test_streamed_read_is_byte_for_byte_the_read(app, admin, annotated_task, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    task = annotated_task(tracks=True, segment_size=2)
    jobs = admin.get("/api/jobs", params={"task_id": task["id"]}).json()["results"]
    job_ids = sorted(j["id"] for j in jobs)
    monkeypatch.setattr(streamed, "CHUNK", 2)  # many pages, skeleton elements across them
    with app.state.db.session() as session:
        whole = store.read(session, job_ids, 0)
        out = io.BytesIO()
        streamed.write_jobs(session.connection(), job_ids, 0, out)
    parsed = orjson.loads(whole)
    assert parsed["tags"] and parsed["tracks"]
    assert any(s["elements"] for s in parsed["shapes"])
    assert out.getvalue() == whole


def test_journal_line_streamed_is_the_same_line() -> None:
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    objects = b'{"version":0,"tags":[],"shapes":[{"id":1}],"tracks":[]}'
    prefix, suffix = fmt.entry_parts(7, when, (3, 4), "replace", {3: 2})
    assert prefix + objects + suffix == fmt.entry_line(7, when, (3, 4), "replace", {3: 2}, objects)


def test_a_restore_announces_from_disk_what_the_database_holds(app, admin, annotated_task) -> None:  # type: ignore[no-untyped-def]
    task = annotated_task(tracks=True)
    job_ids = [
        j["id"] for j in admin.get("/api/jobs", params={"task_id": task["id"]}).json()["results"]
    ]
    heard: list[events.AnnotationChange] = []
    copied: list[bytes] = []

    def listen(_engine: Any, changes: list[events.AnnotationChange]) -> None:
        heard.extend(changes)
        for change in changes:
            out = io.BytesIO()
            change.write_objects(out)  # read while the spool file is still open
            copied.append(out.getvalue())

    stop = events.subscribe(listen)
    try:
        with app.state.db.session() as session:
            expected = store.read(session, job_ids, 0)
            service.announce_jobs(session, job_ids)
            session.commit()
    finally:
        stop()
    assert [c.action for c in heard] == ["replace"]
    assert isinstance(heard[0].source, events.Spooled)
    assert copied == [expected]
