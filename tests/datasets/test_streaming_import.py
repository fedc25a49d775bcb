"""An import written in many batches keeps only the rendered JSON of each batch until its
commit, and gives the same annotations and the same journal changes as one batch."""

from __future__ import annotations

import orjson

from labelvault.annotations import events
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
    assert len(staged_kinds) > 1 and all(kinds == {bytes} for kinds in staged_kinds)
    # And the batching changes nothing in what was imported.
    assert canon_shapes(admin, batched) == canon_shapes(admin, whole)
