"""One app per module with an organization 'lab' (owner, maintainer, supervisor, worker)."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient

from labelvault.accounts import service as account_service
from labelvault.app import create_app
from labelvault.config import Settings
from labelvault.db import Database
from tests.conftest import ADMIN, LABELS, Api, _empty

ROLES = ("owner", "maintainer", "supervisor", "worker")


def settings_for(tmp: object, **extra: object) -> Settings:
    fields: dict = {"queue_url": "immediate", "backups": False, **extra}
    return Settings(
        data_dir=tmp / "data",  # type: ignore[operator]
        admin_user=ADMIN[0],
        admin_password=ADMIN[1],
        **fields,
    )


def login(app, username: str, password: str) -> Api:  # type: ignore[no-untyped-def]
    client = Api(app)
    response = client.post("/api/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    client.headers["X-CSRFToken"] = client.cookies["csrftoken"]
    me = client.get("/api/users/self").json()
    client.user_id = me["id"]
    client.username = me["username"]
    return client


def make_user(admin: Api, username: str, role: str = "user") -> Api:
    password = f"{username}-password"
    response = admin.post(
        "/api/users",
        json={
            "username": username,
            "password": password,
            "role": role,
            "email": f"{username}@example.org",
        },
    )
    assert response.status_code == 201, response.text
    return login(admin.app, username, password)


def start_app(database: Database, settings: Settings):  # type: ignore[no-untyped-def]
    _empty(database)
    settings.ensure_dirs()
    with database.session() as session:
        account_service.ensure_admin(session, ADMIN[0], ADMIN[1])
    return create_app(settings, database)


def join(owner: Api, org: dict, member: Api, role: str) -> None:
    """Invite by email and accept, as a person would through the link."""
    response = owner.post(
        "/api/invitations",
        json={"role": role, "email": f"{member.username}@example.org"},
        headers={"X-Organization": org["slug"]},
    )
    assert response.status_code == 201, response.text
    key = response.json()["key"]
    accepted = member.post(f"/api/invitations/{key}/accept")
    assert accepted.status_code == 200, accepted.text
    assert accepted.json() == {"organization_slug": org["slug"]}


@pytest.fixture(scope="module")
def org_app(database: Database, tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    app = start_app(database, settings_for(tmp_path_factory.mktemp("orgs")))
    with TestClient(app):
        yield app


@pytest.fixture(scope="module")
def team(org_app) -> SimpleNamespace:  # type: ignore[no-untyped-def]
    """admin, the four roles of 'lab', an outsider; clients keyed by role name."""
    admin = login(org_app, *ADMIN)
    owner = make_user(admin, "olga")
    org = owner.post("/api/organizations", json={"slug": "lab", "name": "The Lab"})
    assert org.status_code == 201, org.text
    org = org.json()
    people = {"owner": owner, "admin": admin, "outsider": make_user(admin, "xavier")}
    for role, name in (("maintainer", "mara"), ("supervisor", "sven"), ("worker", "wim")):
        people[role] = make_user(admin, name)
        join(owner, org, people[role], role)
    return SimpleNamespace(org=org, admin=admin, people=people, labels=LABELS)
