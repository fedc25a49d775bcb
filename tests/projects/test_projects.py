"""/api/projects: create, read (CVAT's ProjectRead), list filters and sorting, update, delete."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from labelvault.accounts import service as account_service
from labelvault.app import create_app
from labelvault.projects.models import AttributeSpec, Label, Project
from labelvault.tasks.models import Job, Task
from labelvault.tasks.service import task_media_dir
from tests.conftest import ADMIN, LABELS, _empty
from tests.helpers.sdk import sdk_validate


def _project(client, name: str = "p", **fields) -> dict:  # type: ignore[no-untyped-def]
    response = client.post("/api/projects", json={"name": name, **fields})
    assert response.status_code == 201, response.text
    return response.json()


def _count(database, model) -> int:  # type: ignore[no-untyped-def]
    with database.session() as session:
        return session.execute(select(func.count()).select_from(model)).scalar_one()


def test_create_project_returns_project_read(admin) -> None:  # type: ignore[no-untyped-def]
    project = _project(admin, "Cars", labels=LABELS, bug_tracker="https://bugs.example.org/1")
    sdk_validate(project, "ProjectRead")
    assert isinstance(project["id"], int)
    assert project["name"] == "Cars"
    assert project["owner"]["username"] == "admin"
    assert project["assignee"] is None
    assert project["bug_tracker"] == "https://bugs.example.org/1"
    assert project["tasks"]["count"] == 0
    assert project["task_subsets"] == []
    assert project["url"].startswith("http") and project["url"].endswith(f"/{project['id']}")
    assert project["labels"]["url"].endswith(f"/api/labels?project_id={project['id']}")
    fetched = admin.get(f"/api/projects/{project['id']}")
    assert fetched.status_code == 200
    assert fetched.json()["name"] == "Cars"
    labels = admin.get(project["labels"]["url"]).json()
    assert sorted(lbl["name"] for lbl in labels["results"]) == sorted(lbl["name"] for lbl in LABELS)


def test_project_needs_a_name(admin, database) -> None:  # type: ignore[no-untyped-def]
    for body in ({"name": "   "}, {"labels": []}):
        response = admin.post("/api/projects", json=body)
        assert response.status_code == 400
        assert "name" in response.json()["detail"]
    assert _count(database, Project) == 0


def test_rejected_labels_write_nothing(admin, database) -> None:  # type: ignore[no-untyped-def]
    labels = [*LABELS, {"name": "broken", "attributes": [{"name": "a", "input_type": "select"}]}]
    response = admin.post("/api/projects", json={"name": "p", "labels": labels})
    assert response.status_code == 400
    assert "broken" in response.json()["detail"]
    assert _count(database, Project) == 0
    assert _count(database, Label) == 0
    assert _count(database, AttributeSpec) == 0


def test_project_with_unknown_assignee_is_400(admin, database) -> None:  # type: ignore[no-untyped-def]
    response = admin.post("/api/projects", json={"name": "p", "assignee_id": 99999})
    assert response.status_code == 400
    assert "99999" in response.text
    assert _count(database, Project) == 0


def test_list_projects_filters_and_sorting(admin, make_user) -> None:  # type: ignore[no-untyped-def]
    alice = make_user("alice")
    cats = _project(admin, "alpha cats")
    dogs = _project(admin, "beta dogs")
    more_cats = _project(admin, "gamma cats")
    hers = _project(alice, "delta birds")
    everything = [cats["id"], dogs["id"], more_cats["id"], hers["id"]]

    def names(**params) -> list[str]:  # type: ignore[no-untyped-def]
        response = admin.get("/api/projects", params=params)
        assert response.status_code == 200, response.text
        return [p["name"] for p in response.json()["results"]]

    body = admin.get("/api/projects").json()
    sdk_validate(body, "PaginatedProjectReadList")
    assert body["count"] == 4
    # Newest first by default, as CVAT lists them.
    assert [p["id"] for p in body["results"]] == sorted(everything, reverse=True)
    assert sorted(names(name="cats")) == ["alpha cats", "gamma cats"]
    assert names(search="dogs") == ["beta dogs"]
    assert names(search="alice") == ["delta birds"]  # search also matches the owner
    assert names(owner="alice") == ["delta birds"]
    assert sorted(names(owner="admin")) == ["alpha cats", "beta dogs", "gamma cats"]
    assert names(sort="name") == ["alpha cats", "beta dogs", "delta birds", "gamma cats"]
    assert names(sort="-name")[0] == "gamma cats"
    ids = [p["id"] for p in admin.get("/api/projects", params={"sort": "-id"}).json()["results"]]
    assert ids == sorted(everything, reverse=True)
    ids = [p["id"] for p in admin.get("/api/projects", params={"sort": "id"}).json()["results"]]
    assert ids == sorted(everything)
    assert names(id=dogs["id"]) == ["beta dogs"]
    assert names(name="nothing-like-this") == []

    response = admin.get("/api/projects", params={"sort": "secret_column"})
    assert response.status_code == 400
    assert "secret_column" in response.json()["detail"]

    page = admin.get("/api/projects", params={"page_size": 3}).json()
    assert page["count"] == 4 and len(page["results"]) == 3 and page["next"]
    page2 = admin.get("/api/projects", params={"page_size": 3, "page": 2}).json()
    assert len(page2["results"]) == 1 and page2["next"] is None and page2["previous"]
    assert {p["id"] for p in page["results"] + page2["results"]} == set(everything)


def test_project_read_counts_tasks_and_subsets(admin) -> None:  # type: ignore[no-untyped-def]
    project = _project(admin, "p", labels=LABELS)
    for name, subset in (("t1", "train"), ("t2", "val"), ("t3", "train"), ("t4", "")):
        response = admin.post(
            "/api/tasks", json={"name": name, "project_id": project["id"], "subset": subset}
        )
        assert response.status_code == 201, response.text
    _project(admin, "other")
    body = admin.get(f"/api/projects/{project['id']}").json()
    sdk_validate(body, "ProjectRead")
    assert body["tasks"]["count"] == 4
    assert sorted(body["task_subsets"]) == ["train", "val"]
    tasks = admin.get(body["tasks"]["url"]).json()
    assert sorted(t["name"] for t in tasks["results"]) == ["t1", "t2", "t3", "t4"]
    listed = {p["id"]: p for p in admin.get("/api/projects").json()["results"]}
    assert listed[project["id"]]["tasks"]["count"] == 4
    assert [p["tasks"]["count"] for i, p in listed.items() if i != project["id"]] == [0]


def test_update_project_fields(admin, make_user) -> None:  # type: ignore[no-untyped-def]
    alice = make_user("alice")
    project = _project(admin, "old")
    response = admin.patch(
        f"/api/projects/{project['id']}",
        json={"name": "new", "bug_tracker": "https://b", "assignee_id": alice.user_id},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    sdk_validate(body, "ProjectRead")
    assert (body["name"], body["bug_tracker"]) == ("new", "https://b")
    assert body["assignee"]["username"] == "alice"
    assert body["assignee_updated_date"]
    assert body["updated_date"] >= project["updated_date"]
    assert admin.get(f"/api/projects/{project['id']}").json()["name"] == "new"

    response = admin.patch(f"/api/projects/{project['id']}", json={"name": " "})
    assert response.status_code == 400
    response = admin.patch(f"/api/projects/{project['id']}", json={"assignee_id": 99999})
    assert response.status_code == 400
    after = admin.get(f"/api/projects/{project['id']}").json()
    assert after["name"] == "new"
    assert after["assignee"]["username"] == "alice"

    response = admin.patch(f"/api/projects/{project['id']}", json={"assignee_id": None})
    assert response.json()["assignee"] is None
    assert admin.get("/api/projects/99999").status_code == 404
    assert admin.patch("/api/projects/99999", json={"name": "x"}).status_code == 404


def test_admin_may_create_a_project_for_another_owner(admin, make_user) -> None:  # type: ignore[no-untyped-def]
    alice = make_user("alice")
    project = _project(admin, "for alice", owner_id=alice.user_id)
    assert project["owner"]["username"] == "alice"
    assert [p["id"] for p in alice.get("/api/projects").json()["results"]] == [project["id"]]
    # A user cannot create projects in someone else's name.
    mine = _project(alice, "mine", owner_id=admin.user_id)
    assert mine["owner"]["username"] == "alice"


def test_delete_project_deletes_tasks_labels_and_media(  # type: ignore[no-untyped-def]
    admin, task_with_data, settings, database
) -> None:
    project = _project(admin, "doomed", labels=LABELS)
    keep = _project(admin, "kept", labels=LABELS)
    task = task_with_data(project_id=project["id"], frames=2)
    other = task_with_data(project_id=keep["id"], frames=2)
    folder = task_media_dir(settings, task["id"])
    other_folder = task_media_dir(settings, other["id"])
    assert folder.is_dir() and any(folder.rglob("*"))
    labels_before = _count(database, Label)

    response = admin.delete(f"/api/projects/{project['id']}")
    assert response.status_code == 204
    assert admin.get(f"/api/projects/{project['id']}").status_code == 404
    assert admin.get(f"/api/tasks/{task['id']}").status_code == 404
    assert admin.get("/api/jobs", params={"task_id": task["id"]}).json()["count"] == 0
    assert not folder.exists()
    with database.session() as session:
        assert session.scalars(select(Task).where(Task.id == task["id"])).first() is None
        assert session.scalars(select(Job).where(Job.task_id == task["id"])).first() is None
        assert session.scalars(select(Label).where(Label.project_id == project["id"])).all() == []
    assert _count(database, Label) == labels_before // 2
    # The other project is untouched.
    assert admin.get(f"/api/tasks/{other['id']}").status_code == 200
    assert other_folder.is_dir()
    assert admin.delete(f"/api/projects/{project['id']}").status_code == 404


def test_only_owner_deletes_project(admin, make_user) -> None:  # type: ignore[no-untyped-def]
    alice = make_user("alice")
    bob = make_user("bob")
    project = _project(alice, "hers", assignee_id=bob.user_id)
    assert bob.delete(f"/api/projects/{project['id']}").status_code == 403
    assert alice.get(f"/api/projects/{project['id']}").status_code == 200
    assert alice.delete(f"/api/projects/{project['id']}").status_code == 204
    assert admin.get("/api/projects").json()["count"] == 0


@pytest.fixture
def proxied_admin(database, settings):  # type: ignore[no-untyped-def]
    """An admin client whose requests come from a proxy in LABELVAULT_TRUSTED_PROXIES."""
    settings.trusted_proxies = "10.0.0.0/8"
    _empty(database)
    settings.ensure_dirs()
    with database.session() as session:
        account_service.ensure_admin(session, *ADMIN)
    with TestClient(create_app(settings, database), client=("10.0.0.2", 1)) as client:
        client.post("/api/auth/login", json={"username": ADMIN[0], "password": ADMIN[1]})
        client.headers["X-CSRFToken"] = client.cookies["csrftoken"]
        yield client


def test_urls_follow_the_address_the_client_used(proxied_admin) -> None:  # type: ignore[no-untyped-def]
    """Behind a trusted reverse proxy every returned URL, paging links included, uses its host."""
    admin = proxied_admin
    for name in ("a", "b"):
        _project(admin, name)
    headers = {"X-Forwarded-Host": "annotate.example.org", "X-Forwarded-Proto": "https"}
    body = admin.get("/api/projects", params={"page_size": 1}, headers=headers).json()
    base = "https://annotate.example.org/"
    assert body["results"][0]["url"].startswith(base)
    assert body["results"][0]["tasks"]["url"].startswith(base)
    assert body["next"].startswith(base + "api/projects?")
    assert "page=2" in body["next"] and "page_size=1" in body["next"]
    second = admin.get("/api/projects", params={"page_size": 1, "page": 2}, headers=headers)
    assert second.json()["previous"].startswith(base + "api/projects?")
