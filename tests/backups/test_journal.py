"""The annotation journal: restore to the newest save and to any time, damage, outages."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from labelvault.backups import journal_format as fmt
from labelvault.backups import replay, snapshots
from labelvault.backups.journal import Journal, remote_dir, remote_segments
from labelvault.config import Settings
from labelvault.storage import Storage
from tests.helpers.backups import annotate, jobs_of, labels_by_name, make_project, table_rows

ANNOTATION_TABLES = ["tags", "shapes", "tracks", "track_shapes"]


class StepClock:
    """Commit times the test chooses: each journaled change reads the current value."""

    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def step_clock() -> StepClock:
    return StepClock()


@pytest.fixture
def journal(app, local_storage: Storage, step_clock: StepClock) -> Iterator[Journal]:
    """The app's journal, shipping only when the test flushes (no timing in the test)."""
    running = Journal(app.state.settings, local_storage, interval=3600, clock=step_clock)
    running.start()
    app.state.journal = running
    yield running
    running.stop(flush_timeout=5)


def _job_annotations(client: Any, job_id: int) -> dict:
    body = client.get(f"/api/jobs/{job_id}/annotations").json()
    body.pop("version")
    return body


def _edit_after_snapshot(admin: Any, project: dict, labels: dict) -> list[int]:
    """Every kind of write: PATCH update/create/delete, a task-wide PUT, a job DELETE."""
    tasks = admin.get("/api/tasks", params={"project_id": project["id"]}).json()["results"]
    jobs = [j["id"] for t in sorted(tasks, key=lambda t: t["id"]) for j in jobs_of(admin, t["id"])]
    first = admin.get(f"/api/jobs/{jobs[0]}/annotations").json()
    shape = next(s for s in first["shapes"] if s["type"] == "rectangle")
    shape["points"] = [7.0, 7.0, 9.5, 9.5]
    assert (
        admin.patch(
            f"/api/jobs/{jobs[0]}/annotations?action=update", json={"shapes": [shape]}
        ).status_code
        == 200
    )
    created = admin.patch(
        f"/api/jobs/{jobs[0]}/annotations?action=create",
        json={"tags": [{"frame": 0, "label_id": labels["weather"]["id"], "attributes": []}]},
    )
    assert created.status_code == 200, created.text
    assert (
        admin.patch(
            f"/api/jobs/{jobs[0]}/annotations?action=delete", json={"tags": [first["tags"][0]]}
        ).status_code
        == 200
    )
    annotate(admin, jobs[1], labels, frame=jobs_of(admin, tasks[1]["id"])[0]["start_frame"], x=3)
    assert admin.delete(f"/api/jobs/{jobs[-1]}/annotations").status_code == 204
    return jobs


def test_restore_latest_replays_every_save_after_the_snapshot(
    app, admin, task_with_data, journal, scratch_dbs, database, local_storage, tmp_path: Path
) -> None:
    project = make_project(admin, task_with_data, tasks=2, frames=3)
    labels = labels_by_name(admin, project["id"])
    snap = snapshots.create_snapshot(app.state.settings, app.state.db, local_storage)
    assert snap.journal_seq == journal.last_seq > 0
    jobs = _edit_after_snapshot(admin, project, labels)
    # A task-wide PUT spanning jobs, split back by frame at replay.
    multi = task_with_data(admin, frames=4, name="multi", project_id=project["id"], segment_size=2)
    multi_jobs = jobs_of(admin, multi["id"])
    assert len(multi_jobs) == 2
    payload = {
        "shapes": [
            {
                "type": "rectangle",
                "frame": f,
                "label_id": labels["car"]["id"],
                "points": [f, 1.0, 5.0, 5.0],
                "attributes": [],
            }
            for f in range(4)
        ]
    }
    assert admin.put(f"/api/tasks/{multi['id']}/annotations", json=payload).status_code == 200
    expected = table_rows(app.state.db.engine, ANNOTATION_TABLES)
    versions = {j: admin.get(f"/api/jobs/{j}/annotations").json()["version"] for j in jobs}
    assert journal.flush(timeout=30)
    status = journal.status()
    assert status.shipped_seq == status.committed_seq and status.pending_entries == 0

    # The task made after the snapshot is not in it: its entry is skipped, the rest replays.
    target_db = scratch_dbs.new("postgresql" if not database.is_sqlite else "sqlite")
    target = Settings(data_dir=tmp_path / "restored")
    snapshots.restore_snapshot(target, target_db, local_storage, "latest")
    restored = table_rows(target_db.engine, ANNOTATION_TABLES)
    multi_ids = {j["id"] for j in multi_jobs}
    for table in ("tags", "shapes", "tracks"):
        assert restored[table] == [r for r in expected[table] if r[1] not in multi_ids]
    with target_db.engine.connect() as conn:
        from sqlalchemy import text

        after = dict(conn.execute(text("SELECT id, annotation_version FROM jobs")).all())
    assert all(after[j] > versions[j] for j in jobs)
    assert (target.data_dir / "instance-name").read_text().strip() == journal.instance


def test_a_segment_cut_in_half_is_detected_and_not_replayed(
    app, admin, task_with_data, journal, sqlite_only, local_storage: Storage
) -> None:
    project = make_project(admin, task_with_data, tasks=1, frames=2)
    labels = labels_by_name(admin, project["id"])
    job = jobs_of(admin, admin.get("/api/tasks").json()["results"][0]["id"])[0]
    assert journal.flush()
    good = journal.shipped_seq
    annotate(admin, job["id"], labels, x=5.0)
    assert journal.flush()
    annotate(admin, job["id"], labels, x=6.0)
    assert journal.flush()
    segments = remote_segments(local_storage, journal.instance)
    middle = next(s for s in segments if s.first_seq == good + 1)
    path = f"{remote_dir(journal.instance)}/{middle.name}"
    data = local_storage.read_bytes(path)
    local_storage.write_bytes(path, data[: len(data) // 2])
    with pytest.raises(fmt.SegmentDamaged):
        fmt.decode_segment(local_storage.read_bytes(path), middle.name)
    # A segment whose payload was altered (valid gzip, wrong checksum) is refused too.
    body = gzip.decompress(data).replace(b'"x', b'"y', 1).replace(b"5.0", b"5.5", 1)
    with pytest.raises(fmt.SegmentDamaged, match="checksum"):
        fmt.decode_segment(gzip.compress(body), middle.name)

    report = replay.ReplayReport(0)
    seqs = [e.seq for e in replay.entries_after(local_storage, journal.instance, 0, None, report)]
    assert seqs == list(range(1, good + 1))
    assert report.damaged == [middle.name] and report.gap_after == good


def test_the_journal_catches_up_after_a_storage_outage(
    app, admin, task_with_data, sqlite_only, webdav_server_factory, tmp_path: Path
) -> None:
    from tests.helpers.servers import WebdavServer

    (tmp_path / "dav").mkdir()
    server = webdav_server_factory(tmp_path / "dav")
    storage = Storage.from_url(server.url())
    running = Journal(app.state.settings, storage, interval=3600)
    running.start()
    try:
        project = make_project(admin, task_with_data, tasks=1, frames=2)
        labels = labels_by_name(admin, project["id"])
        job = jobs_of(admin, admin.get("/api/tasks").json()["results"][0]["id"])[0]
        assert running.flush()
        server.stop()
        for x in (2.0, 3.0, 4.0):
            annotate(admin, job["id"], labels, x=x)
        assert not running.ship_once()
        status = running.status()
        assert status.pending_entries == 3 and status.last_error
        assert status.committed_seq == status.shipped_seq + 3
        # Saves keep being acknowledged; the storage comes back on the same address.
        annotate(admin, job["id"], labels, x=5.0)
        again = WebdavServer(tmp_path / "dav", port=server.port)
        again.start()
        try:
            assert running.flush(timeout=30)
            status = running.status()
            assert status.pending_entries == 0 and status.last_error is None
            segments = remote_segments(storage, running.instance)
            covered = [seq for s in segments for seq in range(s.first_seq, s.last_seq + 1)]
            assert covered == list(range(1, running.last_seq + 1))
            entries = list(replay.entries_after(storage, running.instance, 0))
            assert [e.seq for e in entries] == covered
        finally:
            running.stop(flush_timeout=5)
            again.stop()
    finally:
        running.stop(flush_timeout=1)


def test_restore_at_a_time_gives_the_state_of_that_time(
    app, admin, task_with_data, journal, step_clock, scratch_dbs, database, local_storage, tmp_path
) -> None:
    project = make_project(admin, task_with_data, tasks=1, frames=2)
    labels = labels_by_name(admin, project["id"])
    job = jobs_of(admin, admin.get("/api/tasks").json()["results"][0]["id"])[0]
    step_clock.now += timedelta(minutes=1)
    snapshots.create_snapshot(app.state.settings, app.state.db, local_storage, now=step_clock.now)
    states = {}
    for minute, x in ((2, 2.0), (3, 3.0), (4, 4.0)):
        step_clock.now = datetime(2026, 3, 2, 9, minute, tzinfo=UTC)
        annotate(admin, job["id"], labels, x=x)
        states[minute] = table_rows(app.state.db.engine, ANNOTATION_TABLES)
    assert journal.flush()
    for minute in (2, 3):
        target_db = scratch_dbs.new("sqlite" if database.is_sqlite else "postgresql")
        target = Settings(data_dir=tmp_path / f"at-{minute}")
        until = datetime(2026, 3, 2, 9, minute, 30, tzinfo=UTC)
        snapshots.restore_snapshot(target, target_db, local_storage, "latest", until=until)
        assert table_rows(target_db.engine, ANNOTATION_TABLES) == states[minute]
    # Before the first snapshot there is nothing to start from.
    with pytest.raises(snapshots.SnapshotError, match="at or before"):
        snapshots.restore_snapshot(
            Settings(data_dir=tmp_path / "early"),
            scratch_dbs.new("sqlite"),
            local_storage,
            "latest",
            until=datetime(2026, 3, 2, 8, 0, tzinfo=UTC),
        )
