"""`labelvault migrate-from-cvat`: a second server speaking CVAT's API is moved in, resumably."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from click.testing import CliRunner

from labelvault.accounts import service as account_service
from labelvault.app import create_app
from labelvault.cli import main
from labelvault.config import Settings
from labelvault.datasets import migrate_cvat
from labelvault.datasets.cvat_client import CvatClient
from labelvault.db import Database
from labelvault.db.migrate import upgrade
from tests.conftest import LABELS, upload_images
from tests.datasets.conftest import label_ids, sample_annotations
from tests.helpers.net import free_port, wait_for_port

SOURCE_ADMIN = ("cvatadmin", "cvat-admin-pass-1")


class Source:
    """A LabelVault on its own SQLite database and port, standing in for a CVAT server."""

    def __init__(self, root: Path) -> None:
        root.mkdir(parents=True)
        self.port = free_port()
        self.db = Database(f"sqlite:///{root / 'source.db'}")
        upgrade(self.db.engine)
        settings = Settings(
            data_dir=root / "data",
            admin_user=SOURCE_ADMIN[0],
            admin_password=SOURCE_ADMIN[1],
            queue_url="immediate",
            backups=False,
        )
        settings.ensure_dirs()
        with self.db.session() as session:
            account_service.ensure_admin(session, *SOURCE_ADMIN)
        config = uvicorn.Config(
            create_app(settings, self.db), host="127.0.0.1", port=self.port, log_level="warning"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        wait_for_port(self.port, timeout=30)
        self.url = f"http://127.0.0.1:{self.port}"
        self.api = httpx.Client(base_url=self.url, timeout=60)
        login = {"username": SOURCE_ADMIN[0], "password": SOURCE_ADMIN[1]}
        assert self.api.post("/api/auth/login", json=login).status_code == 200
        self.api.headers["X-CSRFToken"] = self.api.cookies["csrftoken"]

    def stop(self) -> None:
        self.api.close()
        self.server.should_exit = True
        self.thread.join(timeout=15)
        self.db.dispose()


@pytest.fixture
def source(tmp_path: Path) -> Iterator[Source]:
    server = Source(tmp_path / "source")
    yield server
    server.stop()


def _task(api: httpx.Client, frames: int, **fields: object) -> dict:
    spec = {"name": "task", "labels": [] if "project_id" in fields else LABELS, **fields}
    reply = api.post("/api/tasks", json=spec)
    assert reply.status_code == 201, reply.text
    task = reply.json()
    assert upload_images(api, task["id"], frames)["status"] == "finished"  # type: ignore[arg-type]
    return api.get(f"/api/tasks/{task['id']}").json()


def _populate(source: Source) -> None:
    """Two projects (one with two tasks, split in jobs), a task outside projects, three
    users assigned to tasks and jobs, annotations everywhere."""
    api = source.api
    for name in ("alice", "bob"):
        body = {"username": name, "password": f"{name}-password", "role": "user"}
        assert api.post("/api/users", json=body).status_code == 201
    users = {u["username"]: u["id"] for u in api.get("/api/users").json()["results"]}
    cars = api.post("/api/projects", json={"name": "Cars", "labels": LABELS}).json()
    roads = api.post("/api/projects", json={"name": "Roads", "labels": LABELS}).json()
    tasks = [
        _task(api, 4, project_id=cars["id"], name="day", segment_size=2),
        _task(api, 3, project_id=cars["id"], name="night"),
        _task(api, 2, project_id=roads["id"], name="north"),
        _task(api, 3, name="loose"),
    ]
    for task in tasks:
        data = sample_annotations(label_ids(api, task), task["size"])  # type: ignore[arg-type]
        assert api.put(f"/api/tasks/{task['id']}/annotations", json=data).status_code == 200
    patch = api.patch(f"/api/tasks/{tasks[1]['id']}", json={"assignee_id": users["alice"]})
    assert patch.status_code == 200, patch.text
    day_jobs = api.get("/api/jobs", params={"task_id": tasks[0]["id"]}).json()["results"]
    day_jobs.sort(key=lambda j: j["start_frame"])
    assert len(day_jobs) == 2
    for job, who in zip(day_jobs, ("bob", "alice"), strict=True):
        reply = api.patch(f"/api/jobs/{job['id']}", json={"assignee": users[who]})
        assert reply.status_code == 200, reply.text
    loose_job = api.get("/api/jobs", params={"task_id": tasks[3]["id"]}).json()["results"][0]
    api.patch(f"/api/jobs/{loose_job['id']}", json={"assignee": users["bob"]})


def _state(client) -> dict:  # type: ignore[no-untyped-def]
    """Project -> its tasks (name, size, shapes, tags, tracks, task assignee, job assignees
    by start frame); "" holds tasks outside projects."""
    projects = {p["id"]: p["name"] for p in client.get("/api/projects").json()["results"]}
    out: dict[str, list] = {}
    for task in sorted(client.get("/api/tasks").json()["results"], key=lambda t: t["name"]):
        data = client.get(f"/api/tasks/{task['id']}/annotations").json()
        jobs = client.get("/api/jobs", params={"task_id": task["id"]}).json()["results"]
        assignees = [
            (j["start_frame"], (j["assignee"] or {}).get("username"))
            for j in sorted(jobs, key=lambda j: j["start_frame"])
        ]
        row = (
            task["name"],
            task["size"],
            len(data["shapes"]),
            len(data["tags"]),
            len(data["tracks"]),
            (task["assignee"] or {}).get("username"),
            assignees,
        )
        out.setdefault(projects.get(task["project_id"], ""), []).append(row)
    return out


class Interrupted(BaseException):
    """Stands for Ctrl-C (a BaseException, as KeyboardInterrupt is)."""


def test_migrate_from_cvat_resumes_and_adds_nothing_twice(  # type: ignore[no-untyped-def]
    admin, database, settings, source: Source
) -> None:
    _populate(source)
    expected = _state(source.api)
    assert expected[""][0][0] == "loose" and len(expected["Cars"]) == 2
    token = source.api.post("/api/auth/access_tokens", json={"name": "migrate"})
    assert token.status_code == 201, token.text
    key = token.json()["value"]

    # An interrupted run: the second item is cut off while it is being restored.
    client = CvatClient(source.url, token=key, poll_seconds=0.05)
    items = migrate_cvat.survey(database, client)
    assert [(i.kind, i.name, len(i.tasks)) for i in items] == [
        ("project", "Cars", 2),
        ("project", "Roads", 1),
        ("task", "loose", 1),
    ]
    with database.session() as session:
        owner_id = account_service.get_by_username(session, "admin").id
    first = migrate_cvat.migrate_one(database, settings, client, items[0], owner_id)
    assert (first.tasks, first.frames, first.assigned) == (2, 7, 3)
    assert sorted(first.users_created) == ["alice", "bob", "cvatadmin"]  # owner too

    def cut(fraction: float, _message: str) -> None:
        if fraction > 0.5:
            raise Interrupted

    with pytest.raises(Interrupted):
        migrate_cvat.migrate_one(database, settings, client, items[1], owner_id, cut)
    client.close()
    partial = _state(admin)
    assert partial == {"Cars": expected["Cars"]}  # nothing of Roads half-written

    # Run again (as a user would, from the command line, signing in with a password):
    # what came in before is not taken again, the rest comes in.
    url = database.engine.url.render_as_string(hide_password=False)
    args = [
        "migrate-from-cvat",
        "--url",
        source.url,
        "--username",
        SOURCE_ADMIN[0],
        "--password",
        SOURCE_ADMIN[1],
        "--data-dir",
        str(settings.data_dir),
        "--database-url",
        url,
    ]
    runner = CliRunner()
    dry = runner.invoke(main, [*args, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "project 1 Cars: 2 task(s), already here" in dry.output
    assert "Roads: 1 task(s), would come in" in dry.output
    second = runner.invoke(main, args)
    assert second.exit_code == 0, second.output
    assert "project 'Cars' (CVAT 1): already here as project" in second.output
    assert "project 'Roads' (CVAT 2): now project" in second.output
    assert "with 1 task(s), 2 frame(s)" in second.output
    assert "2 of 2 item(s) brought in; 1 there before." in second.output
    assert _state(admin) == expected

    # Migrated users exist but cannot sign in until a password is set.
    bad = admin.post("/api/auth/login", json={"username": "alice", "password": ""})
    assert bad.status_code >= 400

    third = runner.invoke(main, args)
    assert third.exit_code == 0, third.output
    assert "0 of 0 item(s) brought in; 3 there before." in third.output
    assert _state(admin) == expected
    assert admin.get("/api/projects").json()["count"] == 2


def test_migrate_from_cvat_says_what_is_wrong(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    args = ["migrate-from-cvat", "--url", f"http://127.0.0.1:{free_port()}", "--token", "x"]
    args += ["--data-dir", str(tmp_path / "d")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1
    assert "cannot reach CVAT" in result.output
    result = CliRunner().invoke(main, ["migrate-from-cvat", "--url", "http://127.0.0.1:1"])
    assert result.exit_code == 1
    assert "give --token, or --username and --password" in result.output
