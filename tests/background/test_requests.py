"""Background requests: the /api/requests JSON, visibility, the real Huey queue, recovery."""

from __future__ import annotations

import threading
import time
from datetime import datetime
from urllib.parse import quote

from sqlalchemy import select

from labelvault.background import service
from labelvault.background.models import Request as BgRequest
from labelvault.background.queue import Queue
from labelvault.config import Settings
from tests.conftest import upload_images


def _check_request(body: dict) -> None:
    assert isinstance(body["id"], str) and body["id"]
    assert body["status"] in ("queued", "started", "failed", "finished")
    assert isinstance(body["operation"]["type"], str)
    assert isinstance(body["operation"]["target"], str)
    datetime.fromisoformat(body["created_date"])
    assert isinstance(body["message"], str)
    assert body["progress"] is None or 0 <= body["progress"] <= 1
    assert type(body["progress"]) in (int, float, type(None))


def test_request_json(admin) -> None:  # type: ignore[no-untyped-def]
    task = admin.post("/api/tasks", json={"name": "t", "labels": [{"name": "a"}]}).json()
    status = upload_images(admin, task["id"], 2)
    _check_request(status)
    assert status["status"] == "finished"
    assert status["progress"] == 1
    assert status["operation"] == {**status["operation"], "type": "create:task", "target": "task"}
    assert status["operation"]["task_id"] == task["id"]
    assert status["owner"]["username"] == "admin"
    datetime.fromisoformat(status["finished_date"])
    listed = admin.get("/api/requests").json()
    assert [r["id"] for r in listed["results"]] == [status["id"]]


def test_failed_request_json(admin) -> None:  # type: ignore[no-untyped-def]
    task = admin.post("/api/tasks", json={"name": "t", "labels": [{"name": "a"}]}).json()
    status = upload_images(admin, task["id"], 1, names=["readme.md"])
    _check_request(status)
    assert status["status"] == "failed"
    assert "readme.md" in status["message"]


def test_other_users_request_is_404(admin, make_user) -> None:  # type: ignore[no-untyped-def]
    bob = make_user("bob")
    task = admin.post("/api/tasks", json={"name": "t", "labels": [{"name": "a"}]}).json()
    rq_id = upload_images(admin, task["id"], 1)["id"]
    assert bob.get(f"/api/requests/{rq_id}").status_code == 404
    assert bob.get("/api/requests").json()["count"] == 0
    assert admin.get(f"/api/requests/{rq_id}").status_code == 200
    assert admin.get("/api/requests/nope").status_code == 404


def test_percent_encoded_id(app, admin) -> None:  # type: ignore[no-untyped-def]
    # An upstream-style id with characters the SDK percent-encodes into the path.
    rq_id = "action=create&target=task&id=7"
    with app.state.db.session() as session:
        session.add(
            BgRequest(
                id=rq_id,
                operation="create:task",
                target="task",
                owner_id=admin.user_id,
                status="queued",
            )
        )
    response = admin.get(f"/api/requests/{quote(rq_id, safe='')}")
    assert response.status_code == 200, response.text
    assert response.json()["id"] == rq_id
    task = admin.post("/api/tasks", json={"name": "t", "labels": [{"name": "a"}]}).json()
    real = upload_images(admin, task["id"], 1)["id"]
    assert admin.get(f"/api/requests/{quote(real, safe='')}").json()["id"] == real


def test_embedded_huey_runs_a_request(database, tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(data_dir=tmp_path / "data", queue_url="embedded", workers=1)
    settings.ensure_dirs()
    ran = threading.Event()
    seen: dict = {}

    @service.handler("test:embedded")
    def _work(ctx: service.JobContext) -> None:
        ctx.progress(0.5, "half way")
        seen["params"] = ctx.params
        seen["thread"] = threading.current_thread().name
        ctx.result["message"] = "done here"
        ran.set()

    queue = Queue(settings, database)
    try:
        queue.start_embedded_worker()
        rq_id = service.create(
            database, operation="test:embedded", target="task", owner_id=None, params={"x": 1}
        )
        queue.enqueue(rq_id)
        deadline = time.monotonic() + 30
        status = "queued"
        while time.monotonic() < deadline:
            with database.session() as session:
                row = session.get(BgRequest, rq_id)
                status = row.status
                message = row.message
                progress = row.progress
            if status in ("finished", "failed"):
                break
            time.sleep(0.05)
        assert status == "finished", (status, message)
        assert message == "done here"
        assert progress == 1
        assert seen["params"] == {"x": 1}
        assert seen["thread"] != threading.current_thread().name
    finally:
        queue.stop()
        service.HANDLERS.pop("test:embedded", None)


def test_recover_interrupted_fails_started(database, app) -> None:  # type: ignore[no-untyped-def]
    ids = {}
    for status in ("started", "queued", "finished"):
        ids[status] = service.create(database, operation="x", target="task", owner_id=None)
        with database.session() as session:
            session.get(BgRequest, ids[status]).status = status
    recovered = service.recover_interrupted(database)
    assert [r.id for r in recovered] == [ids["started"]]
    with database.session() as session:
        rows = {r.id: r for r in session.scalars(select(BgRequest))}
        assert rows[ids["started"]].status == "failed"
        assert rows[ids["started"]].message
        assert rows[ids["started"]].finished_date is not None
        assert rows[ids["queued"]].status == "queued"
        assert rows[ids["finished"]].status == "finished"


def test_unknown_operation_fails_with_message(database, app, settings) -> None:  # type: ignore[no-untyped-def]
    rq_id = service.create(database, operation="no:such", target="task", owner_id=None)
    service.execute(database, settings, rq_id)
    with database.session() as session:
        row = session.get(BgRequest, rq_id)
        assert row.status == "failed"
        assert "no:such" in row.message


def test_handler_exception_fails_request(database, app, settings) -> None:  # type: ignore[no-untyped-def]
    @service.handler("test:boom")
    def _boom(ctx: service.JobContext) -> None:
        raise RuntimeError("kaput")

    try:
        rq_id = service.create(database, operation="test:boom", target="task", owner_id=None)
        service.execute(database, settings, rq_id)
        with database.session() as session:
            row = session.get(BgRequest, rq_id)
            assert row.status == "failed"
            assert "kaput" in row.message
    finally:
        service.HANDLERS.pop("test:boom", None)
