"""Test harness: every API test runs on SQLite and on PostgreSQL, against a real app."""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import text

from labelvault.accounts import service as account_service
from labelvault.app import create_app
from labelvault.config import Settings
from labelvault.db import Base, Database
from labelvault.db.migrate import upgrade
from tests.helpers.pg import per_worker

POSTGRES_URL = per_worker(
    os.environ.get(
        "LABELVAULT_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/labelvault_test"
    )
)
ADMIN = ("admin", "admin-pass-1")


def _postgres_available() -> bool:
    try:
        db = Database(POSTGRES_URL)
        with db.engine.connect() as conn:
            conn.execute(text("select 1"))
        db.dispose()
        return True
    except Exception:  # noqa: BLE001
        return False


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Database]:
    """A migrated database per backend, shared by the session and emptied per test."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("sqlite") / "test.db"
        db = Database(f"sqlite:///{path}")
    else:
        if not _postgres_available():
            if os.environ.get("CI") or os.environ.get("LABELVAULT_REQUIRE_POSTGRES"):
                pytest.fail(f"PostgreSQL is not reachable at {POSTGRES_URL}; run `make services`")
            pytest.skip("PostgreSQL is not reachable; `make test` starts it")
        db = Database(POSTGRES_URL)
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    upgrade(db.engine)
    yield db
    db.dispose()


def _empty(db: Database) -> None:
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with db.engine.begin() as conn:
        if db.is_sqlite:
            for name in tables:
                conn.execute(text(f'DELETE FROM "{name}"'))
        else:
            joined = ", ".join(f'"{n}"' for n in tables)
            conn.execute(text(f"TRUNCATE {joined} RESTART IDENTITY CASCADE"))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        admin_user=ADMIN[0],
        admin_password=ADMIN[1],
        queue_url="immediate",
        backups=False,
        # moto and the other fake clouds listen on 127.0.0.1: allowed by name, as an admin would.
        cloud_allowed_hosts="127.0.0.1",
    )


@pytest.fixture
def app(database: Database, settings: Settings):  # type: ignore[no-untyped-def]
    _empty(database)
    settings.ensure_dirs()
    with database.session() as session:
        account_service.ensure_admin(session, ADMIN[0], ADMIN[1])
    application = create_app(settings, database)
    with TestClient(application):  # runs the lifespan (queue, recovery)
        yield application


class Api(TestClient):
    """A client logged in as one user, sending the CSRF header as cvat-sdk does."""

    user_id: int
    username: str


@pytest.fixture
def login(app) -> Callable[..., Api]:  # type: ignore[no-untyped-def]
    def _login(username: str = ADMIN[0], password: str = ADMIN[1]) -> Api:
        client = Api(app)
        response = client.post("/api/auth/login", json={"username": username, "password": password})
        assert response.status_code == 200, response.text
        client.headers["X-CSRFToken"] = client.cookies["csrftoken"]
        me = client.get("/api/users/self").json()
        client.user_id = me["id"]
        client.username = me["username"]
        return client

    return _login


@pytest.fixture
def admin(login) -> Api:  # type: ignore[no-untyped-def]
    return login()


@pytest.fixture
def make_user(admin) -> Callable[..., Api]:  # type: ignore[no-untyped-def]
    """Create a user with a role through the API and return a client logged in as them."""

    def _make(username: str, role: str = "user") -> Api:
        password = f"{username}-password"
        response = admin.post(
            "/api/users", json={"username": username, "password": password, "role": role}
        )
        assert response.status_code == 201, response.text
        client = Api(admin.app)
        response = client.post("/api/auth/login", json={"username": username, "password": password})
        assert response.status_code == 200, response.text
        client.headers["X-CSRFToken"] = client.cookies["csrftoken"]
        client.user_id = response.status_code and client.get("/api/users/self").json()["id"]
        client.username = username
        return client

    return _make


def png_bytes(
    width: int = 64, height: int = 48, color: tuple[int, int, int] = (10, 20, 30)
) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, "PNG")
    return buffer.getvalue()


LABELS = [
    {
        "name": "car",
        "color": "#ff0000",
        "type": "any",
        "attributes": [
            {
                "name": "color",
                "mutable": False,
                "input_type": "select",
                "values": ["red", "blue"],
                "default_value": "red",
            },
            {"name": "parked", "mutable": True, "input_type": "checkbox", "values": ["false"]},
            {"name": "speed", "mutable": True, "input_type": "number", "values": ["0", "100", "1"]},
        ],
    },
    {"name": "person", "type": "rectangle"},
    {"name": "weather", "type": "tag"},
    {
        "name": "body",
        "type": "skeleton",
        "sublabels": [{"name": "head"}, {"name": "foot"}],
        "svg": '<line x1="1" y1="1" x2="2" y2="2" data-node-from="1" data-node-to="2"/>'
        '<circle r="1" cx="1" cy="1" data-label-name="head" data-node-id="1"/>'
        '<circle r="1" cx="2" cy="2" data-label-name="foot" data-node-id="2"/>',
    },
]


def upload_images(
    client: TestClient,
    task_id: int,
    count: int = 3,
    *,
    params: dict | None = None,
    names: list[str] | None = None,
) -> dict:
    """Attach images to a task the way cvat-sdk does: Upload-Start/Multiple/Finish."""
    names = names or [f"img{i}.png" for i in range(count)]
    assert (
        client.post(f"/api/tasks/{task_id}/data/", headers={"Upload-Start": ""}).status_code == 202
    )
    files = [
        (f"client_files[{i}]", (f"/abs/path/{name}", png_bytes(64 + i, 48), "image/png"))
        for i, name in enumerate(names)
    ]
    response = client.post(
        f"/api/tasks/{task_id}/data/",
        headers={"Upload-Multiple": ""},
        files=files,
        data={"image_quality": "70"},
    )
    assert response.status_code == 200, response.text
    body = {"image_quality": 70, "sorting_method": "lexicographical", **(params or {})}
    response = client.post(f"/api/tasks/{task_id}/data/", headers={"Upload-Finish": ""}, json=body)
    assert response.status_code == 202, response.text
    rq_id = response.json()["rq_id"]
    return client.get(f"/api/requests/{rq_id}").json()


@pytest.fixture
def task_with_data(admin) -> Callable[..., dict]:  # type: ignore[no-untyped-def]
    """Create a task with LABELS and images; returns the task JSON after data is ready."""

    def _make(client: TestClient | None = None, frames: int = 3, **task_fields) -> dict:
        client = client or admin
        spec = {"name": "task", "labels": LABELS, **task_fields}
        if "project_id" in task_fields:
            spec["labels"] = []
        response = client.post("/api/tasks", json=spec)
        assert response.status_code == 201, response.text
        task = response.json()
        status = upload_images(client, task["id"], frames)
        assert status["status"] == "finished", status
        return client.get(f"/api/tasks/{task['id']}").json()

    return _make
