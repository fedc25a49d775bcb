"""One app and one set of users per test module: review tests share them to stay cheap."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from labelvault.accounts import service as account_service
from labelvault.app import create_app
from labelvault.config import Settings
from labelvault.db import Database
from tests.conftest import ADMIN, LABELS, Api, _empty, upload_images


@dataclass
class Team:
    admin: Api
    owner: Api
    annotator: Api
    outsider: Api
    make_task: Callable[..., tuple[dict, list[dict]]]


def _client(app, username: str, password: str) -> Api:  # type: ignore[no-untyped-def]
    client = Api(app)
    r = client.post("/api/auth/login", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    client.headers["X-CSRFToken"] = client.cookies["csrftoken"]
    client.user_id = client.get("/api/users/self").json()["id"]
    client.username = username
    return client


@pytest.fixture(scope="module")
def team(database: Database, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Team]:
    """An owner (user role), an annotator and an outsider (workers), on a fresh database."""
    _empty(database)
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("review") / "data",
        admin_user=ADMIN[0],
        admin_password=ADMIN[1],
        queue_url="immediate",
        backups=False,
    )
    settings.ensure_dirs()
    with database.session() as session:
        account_service.ensure_admin(session, *ADMIN)
    app = create_app(settings, database)
    with TestClient(app):
        admin = _client(app, *ADMIN)
        users = {}
        for name, role in (("owner", "user"), ("anna", "worker"), ("otto", "worker")):
            password = f"{name}-password"
            r = admin.post(
                "/api/users", json={"username": name, "password": password, "role": role}
            )
            assert r.status_code == 201, r.text
            users[name] = _client(app, name, password)

        def make_task(frames: int = 3, segment_size: int = 2, labels: list | None = None):  # type: ignore[no-untyped-def]
            """A task of the owner's; its first job is assigned to the annotator."""
            owner = users["owner"]
            spec = {"name": "review", "labels": labels or LABELS, "segment_size": segment_size}
            task = owner.post("/api/tasks", json=spec).json()
            assert upload_images(owner, task["id"], frames)["status"] == "finished"
            jobs = owner.get("/api/jobs", params={"task_id": task["id"], "sort": "id"})
            jobs = jobs.json()["results"]
            r = owner.patch(f"/api/jobs/{jobs[0]['id']}", json={"assignee": users["anna"].user_id})
            assert r.status_code == 200, r.text
            return owner.get(f"/api/tasks/{task['id']}").json(), jobs

        yield Team(admin, users["owner"], users["anna"], users["otto"], make_task)
