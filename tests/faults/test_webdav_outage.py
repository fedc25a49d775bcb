"""The WebDAV server stops in the middle of a backup or snapshot upload and comes back: the
request fails saying so, nothing half-written is listed or left, and the next run succeeds."""

from __future__ import annotations

import pytest

from tests.backups.test_journal_crash import PASSWORD
from tests.faults.harness import Node, wait_request
from tests.faults.test_kill9 import _backups, _noisy_project, _snapshots
from tests.helpers.servers import WEBDAV_PASSWORD


def _start(node: Node, what: str, project_id: int) -> str:
    if what == "backup":
        body = {"project_id": project_id, "kind": "full"}
        return node.server.client().post("/api/backups", json=body).json()["rq_id"]
    return node.server.client().post("/api/snapshots").json()["rq_id"]


@pytest.mark.parametrize(
    ("what", "node"), [("backup", "sqlite"), ("snapshot", "postgresql")], indirect=["node"]
)
def test_webdav_stopped_mid_upload_and_restarted(node: Node, what: str) -> None:
    client = node.server.client()
    project_id = _noisy_project(client)
    before = _snapshots(client)
    link = node.slow_uploads_of("/backups-periodic/" if what == "backup" else "/snapshots/")
    rq = _start(node, what, project_id)
    assert link.started.wait(timeout=120), "the upload never started"
    node.dav.stop()  # the storage goes away with the upload half sent

    failed = wait_request(client, rq, ("failed", "finished"))
    assert failed["status"] == "failed", failed
    message = failed["message"]
    assert "storage" in message.lower() or "cut off" in message, message
    assert "Traceback" not in message
    assert WEBDAV_PASSWORD not in message and PASSWORD not in message
    assert _backups(client, project_id) == []

    node.restart_dav()
    link.delay = 0
    rq = _start(node, what, project_id)
    done = wait_request(client, rq, ("failed", "finished"))
    assert done["status"] == "finished", done
    if what == "backup":
        assert len(_backups(client, project_id)) == 1
    else:
        assert len(_snapshots(client)) == len(before) + 1
    # What the cut upload left in the storage was swept by the run that followed.
    assert node.leftovers() == []
