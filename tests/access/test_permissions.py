"""CVAT's sandbox rules: who sees and changes which projects, tasks, jobs and labels."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient

from tests.conftest import LABELS

PUBLIC = {
    ("GET", "/api/server/about"),
    ("GET", "/api/server/plugins"),
    ("GET", "/api/server/health"),
    # Readiness is for the orchestrator's probes, like health: it says which part is down.
    ("GET", "/api/server/ready"),
    # The list of format names is static, like /about: nothing of a user in it.
    ("GET", "/api/server/annotation/formats"),
    ("POST", "/api/auth/login"),
    ("POST", "/api/auth/logout"),
    # Single sign-on: the login page asks which provider there is, then goes through it.
    ("GET", "/api/auth/oidc"),
    ("GET", "/api/auth/oidc/login"),
    ("GET", "/api/auth/oidc/callback"),
    # Sign-up (off unless enabled) and the forgotten-password flow come before any login.
    ("POST", "/api/auth/register"),
    ("POST", "/api/auth/password/reset"),
    ("POST", "/api/auth/password/reset/confirm"),
}


@pytest.fixture
def world(admin, make_user, task_with_data):  # type: ignore[no-untyped-def]
    """alice owns a project with a 2-job task; bob owns another; wendy is a worker."""
    alice = make_user("alice")
    bob = make_user("bob")
    wendy = make_user("wendy", "worker")
    project = alice.post("/api/projects", json={"name": "alice-p", "labels": LABELS})
    assert project.status_code == 201, project.text
    project = project.json()
    task = task_with_data(alice, frames=4, segment_size=2, project_id=project["id"], name="a-t")
    jobs = alice.get("/api/jobs", params={"task_id": task["id"]}).json()["results"]
    assert len(jobs) == 2
    bob_project = bob.post("/api/projects", json={"name": "bob-p", "labels": LABELS}).json()
    bob_task = task_with_data(bob, frames=2, name="bob-t")
    bob_job = bob.get("/api/jobs", params={"task_id": bob_task["id"]}).json()["results"][0]
    bob_label = bob.get("/api/labels", params={"task_id": bob_task["id"]}).json()["results"][0]
    return SimpleNamespace(
        admin=admin,
        alice=alice,
        bob=bob,
        wendy=wendy,
        project=project,
        task=task,
        jobs=jobs,
        bob_project=bob_project,
        bob_task=bob_task,
        bob_job=bob_job,
        bob_label=bob_label,
    )


def _ids(client, path: str, **params) -> list[int]:  # type: ignore[no-untyped-def]
    response = client.get(path, params={"page_size": 100, **params})
    assert response.status_code == 200, response.text
    return sorted(item["id"] for item in response.json()["results"])


def _tag(job: dict, label_id: int) -> dict:
    return {
        "version": 0,
        "tags": [
            {
                "frame": job["start_frame"],
                "label_id": label_id,
                "group": 0,
                "source": "manual",
                "attributes": [],
            }
        ],
        "shapes": [],
        "tracks": [],
    }


def test_admin_sees_everything(world) -> None:  # type: ignore[no-untyped-def]
    admin = world.admin
    assert _ids(admin, "/api/projects") == sorted([world.project["id"], world.bob_project["id"]])
    assert _ids(admin, "/api/tasks") == sorted([world.task["id"], world.bob_task["id"]])
    assert len(_ids(admin, "/api/jobs")) == 3
    assert admin.get(f"/api/jobs/{world.bob_job['id']}").status_code == 200
    response = admin.patch(f"/api/projects/{world.bob_project['id']}", json={"name": "by-admin"})
    assert response.status_code == 200
    assert world.bob.get(f"/api/projects/{world.bob_project['id']}").json()["name"] == "by-admin"


def test_user_sees_only_own_objects(world) -> None:  # type: ignore[no-untyped-def]
    alice = world.alice
    assert _ids(alice, "/api/projects") == [world.project["id"]]
    assert _ids(alice, "/api/tasks") == [world.task["id"]]
    assert _ids(alice, "/api/jobs") == sorted(j["id"] for j in world.jobs)
    label_ids = _ids(alice, "/api/labels")
    assert world.bob_label["id"] not in label_ids
    assert len(label_ids) == len(LABELS)
    assert _ids(world.bob, "/api/projects") == [world.bob_project["id"]]
    assert _ids(world.bob, "/api/tasks") == [world.bob_task["id"]]


def test_other_users_objects_are_404(world) -> None:  # type: ignore[no-untyped-def]
    alice = world.alice
    project_id, task_id, job_id = (
        world.bob_project["id"],
        world.bob_task["id"],
        world.bob_job["id"],
    )
    label_id = world.bob_label["id"]
    for method, path, body in [
        ("GET", f"/api/projects/{project_id}", None),
        ("PATCH", f"/api/projects/{project_id}", {"name": "stolen"}),
        ("DELETE", f"/api/projects/{project_id}", None),
        ("GET", f"/api/tasks/{task_id}", None),
        ("PATCH", f"/api/tasks/{task_id}", {"name": "stolen"}),
        ("DELETE", f"/api/tasks/{task_id}", None),
        ("GET", f"/api/jobs/{job_id}", None),
        ("PATCH", f"/api/jobs/{job_id}", {"state": "completed"}),
        ("GET", f"/api/jobs/{job_id}/annotations", None),
        ("PUT", f"/api/jobs/{job_id}/annotations", _tag(world.bob_job, label_id)),
        ("GET", f"/api/tasks/{task_id}/annotations", None),
        ("GET", f"/api/labels/{label_id}", None),
        ("PATCH", f"/api/labels/{label_id}", {"name": "stolen"}),
        ("DELETE", f"/api/labels/{label_id}", None),
        ("GET", f"/api/labels?task_id={task_id}", None),
        ("GET", f"/api/labels?project_id={project_id}", None),
        ("GET", f"/api/labels?job_id={job_id}", None),
    ]:
        response = alice.request(method, path, json=body)
        assert response.status_code == 404, (method, path, response.text)
        assert "not found" in response.json()["detail"]
    # None of it touched bob's objects.
    bob = world.bob
    assert bob.get(f"/api/projects/{project_id}").json()["name"] == "bob-p"
    assert bob.get(f"/api/tasks/{task_id}").json()["name"] == "bob-t"
    assert bob.get(f"/api/jobs/{job_id}").json()["state"] == "new"
    assert bob.get(f"/api/labels/{label_id}").json()["name"] == world.bob_label["name"]
    assert bob.get(f"/api/jobs/{job_id}/annotations").json()["tags"] == []
    # Not even by adding a task to it.
    response = alice.post("/api/tasks", json={"name": "t", "project_id": project_id})
    assert response.status_code in (400, 404)
    assert _ids(bob, "/api/tasks", project_id=project_id) == []


def test_worker_cannot_create_projects_or_tasks(world) -> None:  # type: ignore[no-untyped-def]
    wendy = world.wendy
    response = wendy.post("/api/projects", json={"name": "w", "labels": LABELS})
    assert response.status_code == 403
    assert "orker" in response.json()["detail"]
    response = wendy.post("/api/tasks", json={"name": "w", "labels": LABELS})
    assert response.status_code == 403
    assert "orker" in response.json()["detail"]
    assert _ids(wendy, "/api/projects") == []
    assert _ids(wendy, "/api/tasks") == []
    assert len(_ids(world.admin, "/api/projects")) == 2
    assert len(_ids(world.admin, "/api/tasks")) == 2


def test_worker_sees_assigned_job_and_its_task_read_only(world) -> None:  # type: ignore[no-untyped-def]
    alice, wendy = world.alice, world.wendy
    job, other = world.jobs
    assert _ids(wendy, "/api/jobs") == []
    response = alice.patch(f"/api/jobs/{job['id']}", json={"assignee": wendy.user_id})
    assert response.status_code == 200
    assert response.json()["assignee"]["id"] == wendy.user_id

    assert _ids(wendy, "/api/jobs") == [job["id"]]
    assert wendy.get(f"/api/jobs/{job['id']}").status_code == 200
    assert wendy.get(f"/api/jobs/{other['id']}").status_code == 404
    assert _ids(wendy, "/api/tasks") == [world.task["id"]]
    assert _ids(wendy, "/api/projects") == [world.project["id"]]
    assert wendy.get(f"/api/tasks/{world.task['id']}").status_code == 200
    assert wendy.get(f"/api/projects/{world.project['id']}").status_code == 200
    labels = _ids(wendy, "/api/labels", job_id=job["id"])
    assert labels == _ids(alice, "/api/labels", project_id=world.project["id"])

    for method, path, body in [
        ("PATCH", f"/api/tasks/{world.task['id']}", {"name": "mine"}),
        ("PATCH", f"/api/projects/{world.project['id']}", {"name": "mine"}),
        ("DELETE", f"/api/tasks/{world.task['id']}", None),
        ("DELETE", f"/api/projects/{world.project['id']}", None),
        ("PATCH", f"/api/labels/{labels[0]}", {"name": "mine"}),
        ("DELETE", f"/api/labels/{labels[0]}", None),
    ]:
        response = wendy.request(method, path, json=body)
        assert response.status_code == 403, (method, path, response.text)
        assert response.json()["detail"]
    assert alice.get(f"/api/tasks/{world.task['id']}").json()["name"] == "a-t"
    assert alice.get(f"/api/projects/{world.project['id']}").json()["name"] == "alice-p"
    assert len(_ids(alice, "/api/labels", project_id=world.project["id"])) == len(LABELS)
    # Other users' things stay invisible.
    assert wendy.get(f"/api/tasks/{world.bob_task['id']}").status_code == 404


def test_job_assignee_changes_state_and_annotations_only(world) -> None:  # type: ignore[no-untyped-def]
    alice, wendy = world.alice, world.wendy
    job, other = world.jobs
    alice.patch(f"/api/jobs/{job['id']}", json={"assignee": wendy.user_id})
    label_id = _ids(alice, "/api/labels", project_id=world.project["id"])[0]

    response = wendy.patch(f"/api/jobs/{job['id']}", json={"state": "in progress"})
    assert response.status_code == 200, response.text
    assert response.json()["state"] == "in progress"

    response = wendy.put(f"/api/jobs/{job['id']}/annotations", json=_tag(job, label_id))
    assert response.status_code == 200, response.text
    tags = alice.get(f"/api/jobs/{job['id']}/annotations").json()["tags"]
    assert [t["label_id"] for t in tags] == [label_id]
    response = wendy.put(f"/api/jobs/{other['id']}/annotations", json=_tag(other, label_id))
    assert response.status_code == 404
    assert alice.get(f"/api/jobs/{other['id']}/annotations").json()["tags"] == []

    for body in ({"stage": "validation"}, {"assignee": None}, {"assignee": world.bob.user_id}):
        response = wendy.patch(f"/api/jobs/{job['id']}", json=body)
        assert response.status_code == 403, body
        assert "stage" in response.json()["detail"]
    after = alice.get(f"/api/jobs/{job['id']}").json()
    assert after["stage"] == "annotation"
    assert after["assignee"]["id"] == wendy.user_id
    assert after["state"] == "in progress"
    # An unassigned worker cannot change state of a job it cannot see.
    assert wendy.patch(f"/api/jobs/{other['id']}", json={"state": "completed"}).status_code == 404


def test_owner_changes_stage_and_status_is_derived(world) -> None:  # type: ignore[no-untyped-def]
    alice = world.alice
    job, other = world.jobs
    task_id = world.task["id"]
    assert alice.get(f"/api/tasks/{task_id}").json()["status"] == "annotation"

    def patch(job_id: int, **body) -> dict:  # type: ignore[no-untyped-def]
        response = alice.patch(f"/api/jobs/{job_id}", json=body)
        assert response.status_code == 200, response.text
        return response.json()

    assert patch(job["id"], state="in progress")["status"] == "annotation"
    moved = patch(job["id"], stage="validation")
    assert (moved["stage"], moved["state"], moved["status"]) == ("validation", "new", "validation")
    assert alice.get(f"/api/tasks/{task_id}").json()["status"] == "annotation"  # other job

    both = patch(job["id"], stage="acceptance", state="completed")
    assert (both["stage"], both["state"], both["status"]) == (
        "acceptance",
        "completed",
        "completed",
    )
    accepted = patch(job["id"], stage="acceptance", state="rejected")
    assert accepted["status"] == "validation"
    patch(job["id"], state="completed")

    patch(other["id"], stage="validation")
    task = alice.get(f"/api/tasks/{task_id}").json()
    assert task["status"] == "validation"
    assert (task["jobs"]["completed"], task["jobs"]["validation"]) == (1, 1)
    patch(other["id"], stage="acceptance", state="completed")
    task = alice.get(f"/api/tasks/{task_id}").json()
    assert task["status"] == "completed"
    assert task["jobs"]["completed"] == 2
    patch(other["id"], stage="annotation")
    assert alice.get(f"/api/tasks/{task_id}").json()["status"] == "annotation"

    for body in ({"stage": "review"}, {"state": "done"}):
        response = alice.patch(f"/api/jobs/{job['id']}", json=body)
        assert response.status_code == 400
        assert next(iter(body)) in response.json()["detail"]
    assert alice.get(f"/api/jobs/{job['id']}").json()["state"] == "completed"

    # The owner assigns and unassigns.
    assert patch(job["id"], assignee=world.bob.user_id)["assignee"]["id"] == world.bob.user_id
    assert patch(job["id"], assignee=None)["assignee"] is None
    response = alice.patch(f"/api/jobs/{job['id']}", json={"assignee": 99999})
    assert response.status_code == 400


def test_user_assigned_a_job_sees_task_and_project(world) -> None:  # type: ignore[no-untyped-def]
    alice, bob = world.alice, world.bob
    job = world.jobs[1]
    alice.patch(f"/api/jobs/{job['id']}", json={"assignee": bob.user_id})
    assert world.task["id"] in _ids(bob, "/api/tasks")
    assert world.project["id"] in _ids(bob, "/api/projects")
    assert _ids(bob, "/api/jobs", task_id=world.task["id"]) == [job["id"]]
    assert bob.patch(f"/api/tasks/{world.task['id']}", json={"name": "x"}).status_code == 403
    assert bob.patch(f"/api/jobs/{job['id']}", json={"stage": "validation"}).status_code == 403
    # Unassigned again, it all disappears.
    alice.patch(f"/api/jobs/{job['id']}", json={"assignee": None})
    assert world.task["id"] not in _ids(bob, "/api/tasks")
    assert world.project["id"] not in _ids(bob, "/api/projects")
    assert bob.get(f"/api/jobs/{job['id']}").status_code == 404


def test_project_assignee_manages_but_does_not_delete(world) -> None:  # type: ignore[no-untyped-def]
    alice, bob = world.alice, world.bob
    project_id = world.project["id"]
    response = alice.patch(f"/api/projects/{project_id}", json={"assignee_id": bob.user_id})
    assert response.status_code == 200
    assert response.json()["assignee"]["id"] == bob.user_id
    assert project_id in _ids(bob, "/api/projects")
    assert world.task["id"] in _ids(bob, "/api/tasks")
    assert len(_ids(bob, "/api/jobs", task_id=world.task["id"])) == 2
    assert bob.patch(f"/api/projects/{project_id}", json={"name": "renamed"}).status_code == 200
    job = world.jobs[0]
    assert bob.patch(f"/api/jobs/{job['id']}", json={"stage": "validation"}).status_code == 200
    response = bob.patch(f"/api/projects/{project_id}", json={"owner_id": bob.user_id})
    assert response.status_code == 403
    response = bob.delete(f"/api/projects/{project_id}")
    assert response.status_code == 403
    project = alice.get(f"/api/projects/{project_id}").json()
    assert project["name"] == "renamed"
    assert project["owner"]["id"] == alice.user_id


def test_owner_hands_project_over(world) -> None:  # type: ignore[no-untyped-def]
    alice, bob = world.alice, world.bob
    project_id = world.project["id"]
    response = alice.patch(f"/api/projects/{project_id}", json={"owner_id": bob.user_id})
    assert response.status_code == 200
    assert response.json()["owner"]["id"] == bob.user_id
    assert project_id in _ids(bob, "/api/projects")


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def test_every_endpoint_needs_credentials(app, world) -> None:  # type: ignore[no-untyped-def]
    anonymous = TestClient(app)
    checked = 0
    for path, operations in app.openapi()["paths"].items():
        for method in operations:
            method = method.upper()
            if (method, path) in PUBLIC:
                continue
            body = {} if method in ("POST", "PUT", "PATCH") else None
            response = anonymous.request(method, _concrete(path), json=body)
            assert response.status_code == 401, (method, path, response.status_code)
            if method != "HEAD":
                assert response.json()["detail"]
            checked += 1
    assert checked >= 40
    # And nothing was changed by those anonymous requests.
    assert len(_ids(world.admin, "/api/projects")) == 2
    assert len(_ids(world.admin, "/api/users")) == 4
