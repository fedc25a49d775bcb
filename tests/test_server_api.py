"""The server's own endpoints: about is public, status tells admins where backups go."""

from __future__ import annotations

from pathlib import Path

from labelvault.config import Settings
from labelvault.server_api import storage_status


def test_status_for_admins_names_the_instance_and_the_same_disk_storage(admin, make_user) -> None:  # type: ignore[no-untyped-def]
    first = admin.get("/api/server/status")
    assert first.status_code == 200, first.text
    body = first.json()
    # The default storage is a folder next to the data dir: the same disk, said plainly.
    assert body["storage"]["same_disk_as_data"] is True
    assert body["storage"]["kind"] == "local"
    assert body["storage"]["required"] is False
    assert (
        body["instance"] and admin.get("/api/server/status").json()["instance"] == body["instance"]
    )
    worker = make_user("ann", role="worker")
    assert worker.get("/api/server/status").status_code == 403


def test_instance_name_is_kept_in_the_data_dir(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    name = settings.resolved_instance_name
    assert name.startswith("data-")
    assert Settings(data_dir=tmp_path / "data").resolved_instance_name == name
    assert (
        Settings(data_dir=tmp_path / "data", instance_name="lab-a").resolved_instance_name
        == "lab-a"
    )


def test_remote_storage_is_not_the_same_disk(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", storage_url="s3://bucket/prefix")
    status = storage_status(settings)
    assert status["kind"] == "s3" and status["same_disk_as_data"] is False
