"""CVAT's permission table, row by row: (role × resource × action) → allowed or not.

The roles are those of organization 'lab' (owner, maintainer, supervisor, worker), plus a
user who is not a member and the system admin. Every row states its expected answer, as
CVAT's rules (cvat/apps/*/rules/tests/configs/*.csv) give it for a resource owned by the
organization's owner, with nobody else assigned, unless the row says "assigned": then the
worker is the assignee of the job. A refusal is a 403 or a 404 (what one may not see).
"""

from __future__ import annotations

import itertools
from types import SimpleNamespace

import pytest

from labelvault.cloudstorages.models import CloudStorage

LAB = {"X-Organization": "lab"}
SANDBOX = {"X-Organization": ""}
WHO = ("owner", "maintainer", "supervisor", "worker", "outsider", "admin")


def _allowed(*roles: str) -> dict[str, bool]:
    return {who: who in roles for who in WHO}


STAFF = ("owner", "maintainer", "admin")
CREATORS = ("owner", "maintainer", "supervisor", "admin")
MEMBERS = ("owner", "maintainer", "supervisor", "worker", "admin")

# (resource, action, expected per role)
TABLE: list[tuple[str, str, dict[str, bool]]] = [
    ("organization", "view", _allowed(*MEMBERS)),
    ("organization", "update", _allowed(*STAFF)),
    ("membership", "list", _allowed(*MEMBERS)),
    ("membership", "change:role of a worker", _allowed(*STAFF)),
    ("membership", "change:role of a maintainer", _allowed("owner", "admin")),
    ("invitation", "create worker", _allowed(*STAFF)),
    ("invitation", "create maintainer", _allowed("owner", "admin")),
    ("project", "list", _allowed(*STAFF)),
    ("project", "view", _allowed(*STAFF)),
    ("project", "update", _allowed(*STAFF)),
    ("project", "create", _allowed(*CREATORS)),
    ("project", "delete", _allowed(*STAFF)),
    ("project", "view in the sandbox (the outsider owns it)", _allowed("outsider", "admin")),
    ("task", "list", _allowed(*STAFF)),
    ("task", "view", _allowed(*STAFF)),
    ("task", "update", _allowed(*STAFF)),
    ("task", "create", _allowed(*CREATORS)),
    ("task", "delete", _allowed(*STAFF)),
    ("task", "view assigned", _allowed(*STAFF, "worker")),
    ("job", "list", _allowed(*STAFF)),
    ("job", "view", _allowed(*STAFF)),
    ("job", "update:state", _allowed(*STAFF)),
    ("job", "update:stage", _allowed(*STAFF)),
    ("job", "update:annotations", _allowed(*STAFF)),
    ("job", "view assigned", _allowed(*STAFF, "worker")),
    ("job", "update:state assigned", _allowed(*STAFF, "worker")),
    ("job", "update:stage assigned", _allowed(*STAFF)),
    ("job", "update:annotations assigned", _allowed(*STAFF, "worker")),
    ("cloudstorage", "list", _allowed(*CREATORS)),
    ("cloudstorage", "view", _allowed(*CREATORS)),
    ("cloudstorage", "create", _allowed(*STAFF)),
    ("cloudstorage", "delete", _allowed(*STAFF)),
]


@pytest.fixture(scope="module")
def world(team, org_app) -> SimpleNamespace:  # type: ignore[no-untyped-def]
    owner = team.people["owner"]
    project = owner.post(
        "/api/projects", json={"name": "p", "labels": team.labels}, headers=LAB
    ).json()
    task = owner.post("/api/tasks", json={"name": "t", "project_id": project["id"]}).json()
    from tests.conftest import upload_images

    upload_images(owner, task["id"], 2)
    job = owner.get("/api/jobs", params={"task_id": task["id"]}).json()["results"][0]
    assigned_task = owner.post(
        "/api/tasks", json={"name": "t2", "labels": team.labels}, headers=LAB
    ).json()
    upload_images(owner, assigned_task["id"], 2)
    assigned = owner.get("/api/jobs", params={"task_id": assigned_task["id"]}).json()["results"]
    patched = owner.patch(
        f"/api/jobs/{assigned[0]['id']}", json={"assignee": team.people["worker"].user_id}
    )
    assert patched.status_code == 200, patched.text
    sandbox = team.people["outsider"].post("/api/projects", json={"name": "mine"}).json()
    memberships = owner.get("/api/memberships", headers=LAB).json()["results"]
    by_role = {m["role"]: m for m in memberships}
    with org_app.state.db.session() as session:
        storage = _storage(session, owner.user_id, team.org["id"])
    return SimpleNamespace(
        project=project,
        task=task,
        job=job,
        assigned_task=assigned_task,
        assigned_job=assigned[0],
        sandbox=sandbox,
        memberships=by_role,
        storage=storage,
        counter=itertools.count(),
    )


def _storage(session, owner_id: int, org_id: int | None) -> int:  # type: ignore[no-untyped-def]
    """A cloud storage row as the API would store it (creating one checks a real bucket)."""
    row = CloudStorage(
        provider_type="AWS_S3_BUCKET",
        resource="bucket",
        display_name="s",
        credentials_type="ANONYMOUS_ACCESS",
        owner_id=owner_id,
        organization_id=org_id,
    )
    session.add(row)
    session.flush()
    return row.id


def _throwaway(team, world, kind: str) -> int:  # type: ignore[no-untyped-def]
    owner = team.people["owner"]
    if kind == "cloudstorage":
        with owner.app.state.db.session() as session:
            return _storage(session, owner.user_id, team.org["id"])
    name = f"gone-{next(world.counter)}"
    body = {"name": name} if kind == "project" else {"name": name, "labels": team.labels}
    made = owner.post(f"/api/{kind}s", json=body, headers=LAB)
    assert made.status_code == 201, made.text
    return made.json()["id"]


def _do(team, world, who: str, resource: str, action: str):  # type: ignore[no-untyped-def]
    client = team.people[who]
    w = world
    job = w.assigned_job if action.endswith("assigned") else w.job
    action = action.removesuffix(" assigned")
    n = next(w.counter)
    match resource, action:
        case "organization", "view":
            return client.get(f"/api/organizations/{team.org['id']}")
        case "organization", "update":
            return client.patch(f"/api/organizations/{team.org['id']}", json={"description": who})
        case "membership", "list":
            return client.get("/api/memberships", headers=LAB)
        case "membership", "change:role of a worker":
            member = w.memberships["worker"]["id"]
            return client.patch(f"/api/memberships/{member}", json={"role": "worker"})
        case "membership", "change:role of a maintainer":
            member = w.memberships["maintainer"]["id"]
            return client.patch(f"/api/memberships/{member}", json={"role": "maintainer"})
        case "invitation", "create worker" | "create maintainer":
            role = action.split()[1]
            email = f"guest{n}@example.org"
            return client.post("/api/invitations", json={"role": role, "email": email}, headers=LAB)
        case ("project" | "task" | "job") as kind, "list":
            listed = client.get(f"/api/{kind}s", headers=LAB, params={"page_size": 100})
            if listed.status_code != 200:
                return listed
            target = getattr(w, kind)["id"]
            found = any(item["id"] == target for item in listed.json()["results"])
            return SimpleNamespace(status_code=200 if found else 404, text=listed.text)
        case "cloudstorage", "list":
            listed = client.get("/api/cloudstorages", headers=LAB, params={"page_size": 100})
            if listed.status_code != 200:
                return listed
            found = any(item["id"] == w.storage for item in listed.json()["results"])
            return SimpleNamespace(status_code=200 if found else 404, text=listed.text)
        case "project", "view":
            return client.get(f"/api/projects/{w.project['id']}")
        case "project", "view in the sandbox (the outsider owns it)":
            return client.get(f"/api/projects/{w.sandbox['id']}", headers=SANDBOX)
        case "task", "view":
            task = w.assigned_task if job is w.assigned_job else w.task
            return client.get(f"/api/tasks/{task['id']}")
        case "job", "view":
            return client.get(f"/api/jobs/{job['id']}")
        case "cloudstorage", "view":
            return client.get(f"/api/cloudstorages/{w.storage}")
        case "project" | "task", "update":
            target = getattr(w, resource)["id"]
            return client.patch(f"/api/{resource}s/{target}", json={"bug_tracker": f"b{n}"})
        case "project", "create":
            return client.post("/api/projects", json={"name": f"c{n}"}, headers=LAB)
        case "task", "create":
            return client.post(
                "/api/tasks", json={"name": f"c{n}", "labels": team.labels}, headers=LAB
            )
        case "cloudstorage", "create":
            # The role is checked before the body: an allowed caller gets past it to the
            # body's 400 (an empty one), a refused one stops at 403. No bucket is contacted.
            made = client.post("/api/cloudstorages", json={}, headers=LAB)
            if made.status_code == 400:
                return SimpleNamespace(status_code=201, text=made.text)
            return made
        case "project" | "task" | "cloudstorage", "delete":
            target = _throwaway(team, w, resource)
            return client.delete(f"/api/{resource}s/{target}")
        case "job", "update:state":
            return client.patch(f"/api/jobs/{job['id']}", json={"state": "in progress"})
        case "job", "update:stage":
            return client.patch(f"/api/jobs/{job['id']}", json={"stage": "annotation"})
        case "job", "update:annotations":
            empty = {"version": 0, "tags": [], "shapes": [], "tracks": []}
            return client.put(f"/api/jobs/{job['id']}/annotations", json=empty)
    raise AssertionError(f"no request for {resource} {action}")


ROWS = [
    pytest.param(resource, action, who, expected[who], id=f"{who}-{resource}-{action}")
    for resource, action, expected in TABLE
    for who in WHO
]


@pytest.mark.parametrize(("resource", "action", "who", "allowed"), ROWS)
def test_permission(team, world, resource: str, action: str, who: str, allowed: bool) -> None:  # type: ignore[no-untyped-def]
    response = _do(team, world, who, resource, action)
    if allowed:
        assert response.status_code < 300, f"{who} {action} {resource}: {response.text}"
    else:
        assert response.status_code in (403, 404), f"{who} {action} {resource}: {response.text}"
