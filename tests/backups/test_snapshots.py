"""Instance snapshots: portable restore across databases, refusals, corruption, listing."""

from __future__ import annotations

import tarfile
from pathlib import Path
from typing import Any

import orjson
import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import insert, select

from labelvault.accounts import service as account_service
from labelvault.backups import dbdump, snapshots
from labelvault.backups.snapshots import SnapshotError, SnapshotIntegrityError
from labelvault.config import Settings
from labelvault.db import Database
from labelvault.db.migrate import alembic_config
from labelvault.projects.models import Project
from labelvault.storage import Storage
from labelvault.tasks import service as task_service
from labelvault.tasks.models import Job, Task
from labelvault.webhooks.models import Webhook, WebhookDelivery
from tests.helpers.backups import make_project, table_rows

COMPARED = [
    "users",
    "access_tokens",
    "projects",
    "labels",
    "attribute_specs",
    "tasks",
    "frames",
    "jobs",
    "tags",
    "shapes",
    "tracks",
    "track_shapes",
    "organizations",
    "memberships",
    "invitations",
    "webhooks",
    "webhook_deliveries",
    "models",
    "guides",
    "guide_assets",
    "migrated_items",
    # Review: issues, comments, ground truth (a job), quality, activity.
    "issues",
    "comments",
    "quality_settings",
    "quality_reports",
    "quality_conflicts",
    "activity_events",
]
REVIEW_TABLES = COMPARED[-6:]


def _media_files(settings: Settings) -> dict[str, bytes]:
    root = settings.media_dir
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "cache" not in p.relative_to(root).parts
    }


@pytest.fixture
def populated(app, admin, task_with_data) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    project = make_project(admin, task_with_data, tasks=2, frames=3)
    with app.state.db.session() as session:
        user = account_service.get_by_username(session, "admin")
        account_service.create_token(session, user, "ci")
    model = {"name": "yolo", "kind": "deepaas", "config": {"url": "http://127.0.0.1:1"}}
    assert admin.post("/api/models", json=model).status_code == 201
    task_id = admin.get("/api/tasks", params={"project_id": project["id"]}).json()["results"][0]
    # Caches are regenerable; snapshots must leave them out.
    cache = app.state.settings.media_dir / "tasks" / str(task_id["id"]) / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    (cache / "frame-0-q70.jpg").write_bytes(b"cached")
    _review(admin, task_id)
    _replica(app, task_id["id"])
    _team(app, admin)
    return {"project": project}


def _review(admin, task: dict) -> None:  # type: ignore[no-untyped-def]
    """An issue with a reply, a ground-truth job with a box, and a quality report."""
    job = admin.get("/api/jobs", params={"task_id": task["id"]}).json()["results"][0]
    issue = admin.post(
        "/api/issues",
        json={"job": job["id"], "frame": 0, "position": [1, 1, 9, 9], "message": "check"},
    )
    assert issue.status_code == 201, issue.text
    reply = {"issue": issue.json()["id"], "message": "fixed"}
    assert admin.post("/api/comments", json=reply).status_code == 201
    gt = admin.post(
        "/api/jobs",
        json={
            "type": "ground_truth",
            "task_id": task["id"],
            "frame_selection_method": "manual",
            "frames": [0],
        },
    )
    assert gt.status_code == 201, gt.text
    car = next(
        lb
        for lb in admin.get("/api/labels", params={"task_id": task["id"]}).json()["results"]
        if lb["name"] == "car"
    )
    # Away from the annotated car: a missing and an extra annotation (two conflicts).
    box = {"type": "rectangle", "frame": 0, "label_id": car["id"], "points": [30, 30, 40, 40]}
    assert admin.put(f"/api/jobs/{gt.json()['id']}/annotations", json={"shapes": [box]}).is_success
    rq = admin.post("/api/quality/reports", json={"task_id": task["id"]}).json()["rq_id"]
    assert admin.get(f"/api/requests/{rq}").json()["status"] == "finished"


def _replica(app, task_id: int) -> None:  # type: ignore[no-untyped-def]
    """A consensus replica of the task's first job (its parent_job_id and the task's count)."""
    with app.state.db.session() as session:
        parent = task_service.jobs_of(session, task_id)[0]
        session.add(
            Job(
                task_id=task_id,
                parent_job_id=parent.id,
                type=task_service.CONSENSUS_REPLICA,
                start_frame=parent.start_frame,
                stop_frame=parent.stop_frame,
            )
        )
        session.get(Task, task_id).consensus_replicas = 1


def _team(app, admin) -> None:  # type: ignore[no-untyped-def]
    """An organization with a project, a pending invitation and a webhook with a delivery."""
    org = admin.post("/api/organizations", json={"slug": "lab", "contact": {"a": 1}}).json()
    lab = {"X-Organization": "lab"}
    made = admin.post("/api/users", json={"username": "ivy", "password": "ivy-pass-1234"})
    assert made.status_code == 201, made.text
    invited = admin.post(
        "/api/invitations", json={"role": "supervisor", "email": "ivy@example.org"}, headers=lab
    )
    assert invited.status_code == 201, invited.text
    project = admin.post("/api/projects", json={"name": "org-p"}, headers=lab).json()
    assert project["organization"] == org["id"]
    with app.state.db.session() as session:
        # Stored directly: creating one through the API checks the target URL's host.
        hook = Webhook(
            target_url="https://hooks.example.org/x",
            type="organization",
            organization_id=org["id"],
            events="create:task,update:job",
            secret="s",
            owner_id=admin.user_id,
        )
        session.add(hook)
        session.flush()
        session.add(
            WebhookDelivery(
                webhook_id=hook.id,
                event="create:task",
                status_code=200,
                attempt=1,
                request={"event": "create:task"},
                response={"body": "ok"},
                state="delivered",
            )
        )


def test_snapshot_restores_into_the_other_database(
    app, populated, scratch_dbs, database, local_storage: Storage, tmp_path: Path
) -> None:
    settings: Settings = app.state.settings
    db: Database = app.state.db
    info = snapshots.create_snapshot(settings, db, local_storage, reason="test")
    assert info.status == "ok" and info.media_files >= 6
    head = ScriptDirectory.from_config(alembic_config(db.url)).get_current_head()
    assert info.schema_revision == head and info.tables["shapes"] > 0
    assert all(info.tables[name] > 0 for name in REVIEW_TABLES), {
        n: info.tables[n] for n in REVIEW_TABLES
    }
    assert info.tables["invitations"] == 1 and info.tables["webhook_deliveries"] == 1
    assert info.tables["memberships"] == 2  # the owner's and the invited one
    with local_storage.open_read(info.path) as f, tarfile.open(fileobj=f, mode="r|") as tar:
        names = tar.getnames()
    assert names[0] == snapshots.DB_PART and names[-1] == snapshots.MANIFEST
    assert not any("/cache/" in n for n in names)

    other_kind = "postgresql" if database.is_sqlite else "sqlite"
    target_db = scratch_dbs.new(other_kind)
    target = Settings(data_dir=tmp_path / "restored")
    target.ensure_dirs()
    snapshots.restore_snapshot(target, target_db, local_storage, "latest")

    assert table_rows(target_db.engine, COMPARED) == table_rows(db.engine, COMPARED)
    with target_db.session() as session:  # the replica, with its parent, came across
        (replica,) = session.scalars(select(Job).where(Job.type == "consensus_replica"))
        assert replica.parent_job_id is not None
        assert session.get(Task, replica.task_id).consensus_replicas == 1
    assert _media_files(target) == _media_files(settings)
    # Ids go on after the restored ones (PostgreSQL sequences were moved past them).
    with target_db.session() as session:
        new_id = session.execute(
            insert(Project).values(name="after", bug_tracker="").returning(Project.id)
        ).scalar_one()
        assert new_id > max(session.scalars(select(Project.id).where(Project.id != new_id)))

    # ... and back again, into a fresh database of the first kind.
    info2 = snapshots.create_snapshot(target, target_db, local_storage, reason="back")
    back_db = scratch_dbs.new("sqlite" if other_kind == "postgresql" else "postgresql")
    back = Settings(data_dir=tmp_path / "back")
    snapshots.restore_snapshot(back, back_db, local_storage, info2.name)
    assert table_rows(back_db.engine, COMPARED) == table_rows(target_db.engine, COMPARED)
    assert _media_files(back) == _media_files(settings)


def test_restore_refuses_a_non_empty_instance_unless_forced(
    app, populated, sqlite_only, scratch_dbs, local_storage: Storage, tmp_path: Path
) -> None:
    settings, db = app.state.settings, app.state.db
    info = snapshots.create_snapshot(settings, db, local_storage)
    with pytest.raises(SnapshotError, match="not empty"):
        snapshots.restore_snapshot(settings, db, local_storage, info.name)
    before = table_rows(db.engine, COMPARED)
    # The project changes after the snapshot; a forced restore brings the old state back.
    with db.session() as session:
        session.add(Project(name="made later", bug_tracker=""))
    (settings.media_dir / "tasks" / "999").mkdir(parents=True)
    (settings.media_dir / "tasks" / "999" / "stray.png").write_bytes(b"x")
    snapshots.restore_snapshot(settings, db, local_storage, info.name, force=True)
    assert table_rows(db.engine, COMPARED) == before
    assert not (settings.media_dir / "tasks" / "999").exists()


def test_newer_schema_is_refused_with_a_clear_message(
    app, sqlite_only, scratch_dbs, local_storage: Storage, tmp_path: Path
) -> None:
    info = snapshots.create_snapshot(app.state.settings, app.state.db, local_storage)
    sidecar = f"{info.folder}/{info.name}.json"
    manifest = orjson.loads(local_storage.read_bytes(sidecar))
    manifest["schema_revision"], manifest["app_version"] = "9999", "9.0.0"
    local_storage.write_bytes(sidecar, orjson.dumps(manifest))
    target_db = scratch_dbs.new("sqlite")
    with pytest.raises(SnapshotError, match=r"LabelVault 9\.0\.0.*newer.*Upgrade LabelVault"):
        snapshots.restore_snapshot(
            Settings(data_dir=tmp_path / "t"), target_db, local_storage, info.name
        )


def test_corrupted_snapshot_is_reported_and_not_restored(
    app, populated, sqlite_only, scratch_dbs, local_storage: Storage, tmp_path: Path
) -> None:
    info = snapshots.create_snapshot(app.state.settings, app.state.db, local_storage)
    data = bytearray(local_storage.read_bytes(info.path))
    data[2000] ^= 0xFF  # inside the database part
    local_storage.write_bytes(info.path, bytes(data))
    target_db = scratch_dbs.new("sqlite")
    target = Settings(data_dir=tmp_path / "t")
    with pytest.raises(SnapshotIntegrityError, match="checksum mismatch"):
        snapshots.restore_snapshot(target, target_db, local_storage, info.name)
    assert dbdump.table_counts(target_db.engine) == {}
    assert not (target.media_dir / "tasks").exists()
    # The per-part check catches it even when the outer manifest is gone.
    local_storage.delete(f"{info.folder}/{info.name}.json")
    listed = snapshots.list_snapshots(local_storage)
    assert [(s.name, s.status) for s in listed] == [(info.name, "incomplete")]
    with pytest.raises(SnapshotError, match="incomplete"):
        snapshots.restore_snapshot(target, target_db, local_storage, info.name)


def test_list_show_delete_and_prune(app, sqlite_only, local_storage: Storage, clock) -> None:
    made = []
    for hour in range(3):
        made.append(
            snapshots.create_snapshot(
                app.state.settings, app.state.db, local_storage, now=clock.advance(hours=hour)
            )
        )
    assert [s.name for s in snapshots.list_snapshots(local_storage)] == [
        m.name for m in reversed(made)
    ]
    assert snapshots.get_snapshot(local_storage, "latest").name == made[-1].name
    snapshots.delete_snapshot(local_storage, made[0].name)
    with pytest.raises(SnapshotError, match="no snapshot named"):
        snapshots.get_snapshot(local_storage, made[0].name)
    assert snapshots.prune_snapshots(local_storage, keep=1) == [made[1].name]
    assert [e.name for e in local_storage.list(made[2].folder)] == sorted(
        [f"{made[2].name}.json", f"{made[2].name}.tar"]
    )
