"""/api/backups, /api/snapshots and the `snapshot`/`backup` commands, end to end."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from labelvault.backups.cli import backup, snapshot
from labelvault.storage import Storage
from tests.helpers.backups import canonical_annotations, make_project, task_ids


@pytest.fixture
def storage_env(monkeypatch: pytest.MonkeyPatch, local_storage: Storage) -> Storage:
    monkeypatch.setenv("LABELVAULT_STORAGE_URL", local_storage.location.root)
    return local_storage


def _wait(client, response) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == 202, response.text
    return client.get(f"/api/requests/{response.json()['rq_id']}").json()


def test_backup_and_restore_in_one_action_through_the_api(
    app, admin, make_user, task_with_data, storage_env
) -> None:  # type: ignore[no-untyped-def]
    project = make_project(admin, task_with_data, tasks=1, frames=2)
    task = task_ids(admin, project["id"])[0]
    before = canonical_annotations(admin, task)

    done = _wait(admin, admin.post("/api/backups", json={"project_id": project["id"]}))
    assert done["status"] == "finished", done
    backup_id = done["result_id"]
    listed = admin.get("/api/backups", params={"project_id": project["id"], "kind": "annotations"})
    assert [b["id"] for b in listed.json()["results"]] == [backup_id]
    assert admin.get("/api/backups", params={"kind": "full"}).json()["count"] == 0

    download = admin.get(f"/api/backups/{backup_id}/download")
    assert download.status_code == 200
    assert "annotations.xml" in zipfile.ZipFile(io.BytesIO(download.content)).namelist()

    status = admin.get("/api/backups/status").json()
    row = next(r for r in status["results"] if r["project_id"] == project["id"])
    assert row["kind"] == "annotations" and row["last_success"] and row["next_due"]

    # Someone else sees nothing of it and cannot restore it.
    other = make_user("stranger")
    assert other.get("/api/backups").json()["count"] == 0
    assert other.post(f"/api/backups/{backup_id}/restore").status_code == 404
    assert other.post("/api/backups", json={"project_id": project["id"]}).status_code == 404
    assert other.get("/api/snapshots").status_code == 403

    assert admin.delete(f"/api/tasks/{task}/annotations").status_code == 204
    done = _wait(admin, admin.post(f"/api/backups/{backup_id}/restore"))
    assert done["status"] == "finished", done
    assert canonical_annotations(admin, task) == before

    assert admin.delete(f"/api/backups/{backup_id}").status_code == 204
    assert admin.get(f"/api/backups/{backup_id}").status_code == 404
    assert [e for e in storage_env.walk() if e.path.endswith(".zip")] == []


def test_snapshots_through_the_api(app, admin, sqlite_only, storage_env) -> None:  # type: ignore[no-untyped-def]
    done = _wait(admin, admin.post("/api/snapshots"))
    assert done["status"] == "finished", done
    name = done["message"]
    listed = admin.get("/api/snapshots").json()["results"]
    assert [s["name"] for s in listed] == [name] and listed[0]["status"] == "ok"
    assert admin.get("/api/snapshots/latest").json()["name"] == name
    assert admin.delete(f"/api/snapshots/{name}").status_code == 204
    assert admin.get(f"/api/snapshots/{name}").status_code == 404


def test_cli_snapshot_and_backup(
    app, admin, task_with_data, sqlite_only, storage_env, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    project = make_project(admin, task_with_data, tasks=1, frames=2)
    settings = app.state.settings
    common = ["--data-dir", str(settings.data_dir), "--database-url", app.state.db.url]
    runner = CliRunner()
    result = runner.invoke(snapshot, ["create", *common])
    assert result.exit_code == 0, result.output
    result = runner.invoke(snapshot, ["list", *common])
    assert result.exit_code == 0 and " ok " in result.output

    result = runner.invoke(backup, ["run", *common])
    assert result.exit_code == 0, result.output
    assert "Made 2," in result.output
    result = runner.invoke(backup, ["list", *common, "--project", str(project["id"])])
    assert result.output.count(f"project {project['id']}") == 2
    result = runner.invoke(backup, ["verify", *common, "--restore-test"])
    assert result.exit_code == 0 and result.output.count(": ok") == 2, result.output

    # Start from the snapshot in a new, empty data dir (what `serve --restore-snapshot` does).
    fresh = ["--data-dir", str(tmp_path / "fresh")]
    result = runner.invoke(snapshot, ["restore", *fresh, "latest"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(snapshot, ["restore", *fresh, "latest"])
    assert result.exit_code == 1 and "not empty" in result.output


def test_status_says_where_backups_go_and_warns_of_the_same_disk(
    app, admin, sqlite_only, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    from labelvault.backups.lifecycle import storage_report

    monkeypatch.delenv("LABELVAULT_STORAGE_URL", raising=False)
    settings = app.state.settings
    where = admin.get("/api/backups/status").json()["backups"]
    assert where == {
        "storage": settings.resolved_storage_url,
        "same_disk_as_data": True,
        "instance": settings.resolved_instance_name,
    }
    remote = Storage.from_url("webdav+https://user:secret@dav.example.org/files/user")
    shown = storage_report(settings, remote)
    assert shown["same_disk_as_data"] is False and "secret" not in shown["storage"]


def test_cli_verify_says_when_there_is_nothing_to_verify(app, sqlite_only, storage_env) -> None:  # type: ignore[no-untyped-def]
    settings = app.state.settings
    common = ["--data-dir", str(settings.data_dir), "--database-url", app.state.db.url]
    result = CliRunner().invoke(backup, ["verify", "--restore-test", *common])
    assert result.exit_code == 0, result.output
    assert "Nothing to verify" in result.output
