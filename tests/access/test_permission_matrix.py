"""The permission matrix: every (role x endpoint x method) with its expected answer, 0 leaks.

Roles: `admin`; `owner` (a user owning the project P with task T of two jobs, a standalone
task S, a cloud storage, a backup, a token, and a member of group G); `other` (a user with
nothing); `worker` (a worker assigned job J1 of T only). CVAT's sandbox rules
(cvat-reference.md §4): admins see all, owners manage theirs, others see nothing (404, never
403), a job's assignee sees its job, the task and project around it, reads only its job's
frames and annotations, and exports nothing bigger than its job. Issues and comments are
for job and issue staff; quality data and webhooks for the task's or project's owners (not
a job's assignee); a lambda request for its owner; the audit log and models for admins.

A row's answers are in role order (admin, owner, other, worker); None = not tried (a delete
that would take the fixture away from the rows after it). A leak is a 2xx where the row
expects 403/404; any other difference fails too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from labelvault.background.models import Request as BgRequest
from labelvault.backups.models import BackupRecord
from labelvault.cloudstorages.models import CloudStorage
from labelvault.models_ai.handlers import OPERATION
from labelvault.projects.models import Project
from labelvault.webhooks.models import Webhook
from tests.conftest import LABELS

ROLES = ("admin", "owner", "other", "worker")
CVAT_XML = "CVAT for images 1.1"


@dataclass(frozen=True)
class Row:
    method: str
    path: str
    expect: tuple[int | None, int | None, int | None, int | None]
    body: Any = None
    params: dict[str, Any] | None = None


def _rows(w: dict[str, Any]) -> list[Row]:
    """The table. `w` holds the ids of the world; the paths are filled from it."""
    P, T, S, J1, J2, L = w["P"], w["T"], w["S"], w["J1"], w["J2"], w["L"]  # noqa: N806
    G, C, B, K, RQ = w["G"], w["C"], w["B"], w["K"], w["RQ"]  # noqa: N806
    fmt = {"format": CVAT_XML}
    return [
        # --- projects ----------------------------------------------------------------
        Row("GET", f"/api/projects/{P}", (200, 200, 404, 200)),
        Row("PATCH", f"/api/projects/{P}", (200, 200, 404, 403), {"name": "P"}),
        Row("GET", f"/api/projects/{P}/preview", (200, 200, 404, 200)),
        Row("POST", f"/api/projects/{P}/dataset/export", (202, 202, 404, 403), params=fmt),
        Row("GET", f"/api/projects/{P}/dataset/download", (400, 400, 404, 403)),
        Row("POST", f"/api/projects/{P}/backup/export", (202, 202, 404, 403)),
        Row("GET", f"/api/projects/{P}/backup/download", (400, 400, 404, 403)),
        Row("POST", f"/api/projects/{P}/dataset", (400, 400, 404, 403), params=fmt),
        Row("GET", f"/api/projects/{P}/rollback/points", (200, 200, 404, 403)),
        # --- labels ------------------------------------------------------------------
        Row("GET", f"/api/labels/{L}", (200, 200, 404, 200)),
        Row("PATCH", f"/api/labels/{L}", (200, 200, 404, 403), {"color": "#00ff00"}),
        Row("GET", "/api/labels", (200, 200, 404, 200), params={"project_id": P}),
        # --- tasks -------------------------------------------------------------------
        Row("GET", f"/api/tasks/{T}", (200, 200, 404, 200)),
        Row("PATCH", f"/api/tasks/{T}", (200, 200, 404, 403), {"name": "T"}),
        Row("GET", f"/api/tasks/{T}/data/meta", (200, 200, 404, 200)),
        Row("GET", f"/api/tasks/{T}/preview", (200, 200, 404, 200)),
        Row("GET", f"/api/tasks/{T}/data", (200, 200, 404, 200), params={"number": 0}),
        Row("GET", f"/api/tasks/{T}/data", (200, 200, 404, 403), params={"number": 2}),
        Row(
            "GET",
            f"/api/tasks/{T}/data",
            (200, 200, 404, 403),
            params={"type": "chunk", "number": 0},
        ),
        Row("POST", f"/api/tasks/{T}/data", (400, 400, 404, 403), {}),
        Row("GET", f"/api/tasks/{T}/annotations", (200, 200, 404, 403)),
        Row("PUT", f"/api/tasks/{T}/annotations", (200, 200, 404, 403), {"shapes": []}),
        Row("PATCH", f"/api/tasks/{T}/annotations", (200, 200, 404, 403), {"shapes": []}),
        Row("POST", f"/api/tasks/{T}/annotations", (400, 400, 404, 403), params=fmt),
        Row("POST", f"/api/tasks/{T}/dataset/export", (202, 202, 404, 403), params=fmt),
        Row("GET", f"/api/tasks/{T}/dataset/download", (400, 400, 404, 403)),
        Row("POST", f"/api/tasks/{T}/backup/export", (202, 202, 404, 403)),
        Row("GET", f"/api/tasks/{T}/backup/download", (400, 400, 404, 403)),
        Row("GET", f"/api/tasks/{S}", (200, 200, 404, 404)),
        Row("GET", f"/api/tasks/{S}/annotations", (200, 200, 404, 404)),
        Row("GET", f"/api/tasks/{S}/data", (200, 200, 404, 404), params={"number": 0}),
        Row("GET", "/api/tasks", (200, 200, 200, 200)),
        # --- jobs --------------------------------------------------------------------
        Row("GET", f"/api/jobs/{J1}", (200, 200, 404, 200)),
        Row("GET", f"/api/jobs/{J2}", (200, 200, 404, 404)),
        Row("PATCH", f"/api/jobs/{J1}", (200, 200, 404, 200), {"state": "in progress"}),
        Row("PATCH", f"/api/jobs/{J1}", (200, 200, 404, 403), {"stage": "annotation"}),
        Row("GET", f"/api/jobs/{J1}/annotations", (200, 200, 404, 200)),
        Row("PUT", f"/api/jobs/{J1}/annotations", (200, 200, 404, 200), {"shapes": []}),
        Row("PATCH", f"/api/jobs/{J1}/annotations", (200, 200, 404, 200), {"shapes": []}),
        Row("GET", f"/api/jobs/{J2}/annotations", (200, 200, 404, 404)),
        Row("PUT", f"/api/jobs/{J2}/annotations", (200, 200, 404, 404), {"shapes": []}),
        Row("DELETE", f"/api/jobs/{J2}/annotations", (204, 204, 404, 404)),
        Row("GET", f"/api/jobs/{J1}/data", (200, 200, 404, 200), params={"number": 0}),
        Row("GET", f"/api/jobs/{J2}/data", (200, 200, 404, 404), params={"number": 2}),
        Row("GET", f"/api/jobs/{J1}/data/meta", (200, 200, 404, 200)),
        Row("GET", f"/api/jobs/{J2}/data/meta", (200, 200, 404, 404)),
        Row("GET", f"/api/jobs/{J1}/preview", (200, 200, 404, 200)),
        Row("POST", f"/api/jobs/{J1}/dataset/export", (202, 202, 404, 202), params=fmt),
        Row("POST", f"/api/jobs/{J2}/dataset/export", (202, 202, 404, 404), params=fmt),
        Row("GET", f"/api/jobs/{J2}/dataset/download", (400, 400, 404, 404)),
        Row("GET", f"/api/jobs/{J2}/issues", (200, 200, 404, 404)),
        # --- background requests -----------------------------------------------------
        Row("GET", f"/api/requests/{RQ}", (200, 200, 404, 404)),
        Row("POST", f"/api/requests/{RQ}/cancel", (200, 200, 404, 404)),
        # --- users, groups, tokens ---------------------------------------------------
        Row("GET", f"/api/users/{w['owner_id']}", (200, 200, 200, 200)),
        Row("PATCH", f"/api/users/{w['owner_id']}", (200, 200, 403, 403), {"first_name": "O"}),
        Row("GET", f"/api/groups/{G}", (200, 200, 404, 404)),
        Row("PATCH", f"/api/groups/{G}", (200, 403, 403, 403), {"description": "g"}),
        Row("POST", "/api/groups", (201, 403, 403, 403), {"name": f"g-{w['n']}"}),
        Row("GET", f"/api/auth/access_tokens/{K}", (200, 200, 404, 404)),
        Row("PATCH", f"/api/auth/access_tokens/{K}", (200, 200, 404, 404), {"name": "k2"}),
        Row(
            "POST",
            "/api/users",
            (201, 403, 403, 403),
            {"username": f"u{w['n']}", "password": "pw-x-12345678"},
        ),
        # --- cloud storages ----------------------------------------------------------
        Row("GET", f"/api/cloudstorages/{C}", (200, 200, 404, 404)),
        Row("PATCH", f"/api/cloudstorages/{C}", (None, None, 404, 404), {"description": "x"}),
        Row("DELETE", f"/api/cloudstorages/{C}", (None, None, 404, 404)),
        # --- backups and snapshots ---------------------------------------------------
        Row("GET", f"/api/backups/{B}", (200, 200, 404, 404)),
        Row("POST", f"/api/backups/{B}/restore", (None, None, 404, 404), {"mode": "new"}),
        Row("DELETE", f"/api/backups/{B}", (None, None, 404, 404)),
        Row("POST", "/api/backups", (None, None, 404, 404), {"project_id": P}),
        Row("GET", "/api/snapshots", (None, 403, 403, 403)),
        Row("POST", "/api/snapshots", (None, 403, 403, 403)),
        Row("POST", f"/api/projects/{P}/rollback", (None, None, 404, 403), {"to": "2020-01-01"}),
        # --- review, quality, webhooks, lambda, audit, activity (CVAT's .rego rules) ---
        Row("GET", f"/api/issues/{w['I1']}", (200, 200, 404, 200)),
        Row("GET", f"/api/issues/{w['I2']}", (200, 200, 404, 404)),
        Row("PATCH", f"/api/issues/{w['I1']}", (200, 200, 404, 200), {"resolved": False}),
        Row("PATCH", f"/api/issues/{w['I2']}", (200, 200, 404, 404), {"resolved": False}),
        Row("GET", f"/api/comments/{w['C2']}", (200, 200, 404, 404)),
        Row("PATCH", f"/api/comments/{w['C2']}", (200, 200, 404, 404), {"message": "m"}),
        Row(
            "POST",
            "/api/issues",
            (201, 201, 400, 201),
            {"job": J1, "frame": 0, "position": [1, 1, 2, 2], "message": "m"},
        ),
        Row("POST", "/api/comments", (201, 201, 400, 400), {"issue": w["I2"], "message": "c"}),
        Row("GET", f"/api/quality/settings/{w['QS']}", (200, 200, 404, 404)),
        Row(
            "PATCH",
            f"/api/quality/settings/{w['QS']}",
            (200, 200, 404, 404),
            {"iou_threshold": 0.5},
        ),
        Row("POST", "/api/quality/reports", (400, 400, 404, 403), {"task_id": T}),
        Row("GET", "/api/quality/settings", (200, 200, 404, 200), params={"task_id": T}),
        Row("GET", f"/api/webhooks/{w['W']}", (200, 200, 404, 404)),
        Row("PATCH", f"/api/webhooks/{w['W']}", (200, 200, 404, 404), {"description": "d"}),
        Row("GET", f"/api/webhooks/{w['W']}/deliveries", (200, 200, 404, 404)),
        Row(
            "POST",
            "/api/webhooks",
            (None, None, 404, 403),
            {"target_url": "http://127.0.0.1:9/h", "type": "project", "project_id": P},
        ),
        Row("GET", f"/api/lambda/requests/{w['LR']}", (200, 404, 404, 200)),
        Row("GET", "/api/models", (200, 403, 403, 403)),
        Row("GET", "/api/audit", (200, 403, 403, 403)),
        Row("GET", f"/api/projects/{P}/activity", (200, 200, 404, 200)),
        Row("GET", f"/api/tasks/{T}/activity", (200, 200, 404, 200)),
        Row("GET", "/api/events", (200, 200, 200, 200), params={"task_id": T}),
        # --- the share ---------------------------------------------------------------
        Row("GET", "/api/server/share", (200, 200, 200, 200)),
        # --- deletes last: each by a role that may not, then its owner ---------------
        Row("DELETE", f"/api/comments/{w['C2']}", (None, 204, 404, 404)),
        Row("DELETE", f"/api/issues/{w['I1']}", (None, 204, 404, 403)),
        Row("DELETE", f"/api/webhooks/{w['W']}", (None, 204, 404, 404)),
        Row("DELETE", f"/api/lambda/requests/{w['LR']}", (None, 404, 404, 204)),
        Row("DELETE", f"/api/labels/{L}", (None, 204, 404, 403)),
        Row("DELETE", f"/api/tasks/{S}", (None, 204, 404, 404)),
        Row("DELETE", f"/api/auth/access_tokens/{K}", (None, 204, 404, 404)),
        Row("DELETE", f"/api/groups/{G}", (204, 403, 403, 403)),
        Row("DELETE", f"/api/projects/{P}", (None, 204, 404, 403)),
    ]


# The lists a role calls: which ids of the world each one must (and must not) find.
LISTS = {
    "/api/projects": ("P", {"admin": True, "owner": True, "other": False, "worker": True}),
    "/api/tasks": ("S", {"admin": True, "owner": True, "other": False, "worker": False}),
    "/api/jobs": ("J2", {"admin": True, "owner": True, "other": False, "worker": False}),
    "/api/groups": ("G", {"admin": True, "owner": True, "other": False, "worker": False}),
    "/api/cloudstorages": ("C", {"admin": True, "owner": True, "other": False, "worker": False}),
    "/api/backups": ("B", {"admin": True, "owner": True, "other": False, "worker": False}),
    "/api/requests": ("RQ", {"admin": True, "owner": True, "other": False, "worker": False}),
    "/api/issues": ("I2", {"admin": True, "owner": True, "other": False, "worker": False}),
    "/api/comments": ("C2", {"admin": True, "owner": True, "other": False, "worker": False}),
    "/api/quality/settings": (
        "QS",
        {"admin": True, "owner": True, "other": False, "worker": False},
    ),
    "/api/webhooks": ("W", {"admin": True, "owner": True, "other": False, "worker": False}),
}


@pytest.fixture
def world(app, admin, make_user, task_with_data):  # type: ignore[no-untyped-def]
    owner, other = make_user("owner"), make_user("other")
    worker = make_user("worker", "worker")
    project = owner.post("/api/projects", json={"name": "P", "labels": LABELS})
    assert project.status_code == 201, project.text
    P = project.json()["id"]  # noqa: N806
    T = task_with_data(owner, frames=4, segment_size=2, project_id=P, name="T")["id"]  # noqa: N806
    S = task_with_data(owner, frames=1, name="S")["id"]  # noqa: N806
    jobs = owner.get("/api/jobs", params={"task_id": T}).json()["results"]
    J1, J2 = sorted(j["id"] for j in jobs)  # noqa: N806
    assert owner.patch(f"/api/jobs/{J1}", json={"assignee": worker.user_id}).status_code == 200
    label = owner.get("/api/labels", params={"project_id": P}).json()["results"][0]["id"]
    group = admin.post("/api/groups", json={"name": "G", "members": [owner.user_id]})
    assert group.status_code == 201, group.text
    token = owner.post("/api/auth/access_tokens", json={"name": "k"})
    assert token.status_code == 201, token.text
    issues = {}
    for key, job, frame in (("I1", J1, 0), ("I2", J2, 2)):
        body = {"job": job, "frame": frame, "position": [1, 1, 5, 5], "message": key}
        made = owner.post("/api/issues", json=body)
        assert made.status_code == 201, made.text
        issues[key] = made.json()["id"]
    comments = owner.get("/api/comments", params={"issue_id": issues["I2"]}).json()
    settings = owner.get("/api/quality/settings", params={"task_id": T})
    assert settings.status_code == 200, settings.text
    export = owner.post(f"/api/tasks/{T}/dataset/export", params={"format": CVAT_XML})
    assert export.status_code == 202, export.text
    with app.state.db.session() as session:
        # Rows made directly: a reachable bucket and a stored backup are not what is tested.
        cloud = CloudStorage(
            provider_type="AWS_S3_BUCKET",
            resource="bucket",
            display_name="C",
            credentials_type="ANONYMOUS_ACCESS",
            credentials="{}",
            specific_attributes="",
            description="",
            owner_id=owner.user_id,
        )
        backup = BackupRecord(
            target_type="project",
            target_id=P,
            target_uid=session.get(Project, P).uid,
            target_name="P",
            owner_id=owner.user_id,
            kind="annotations",
            path="project-x/annotations/x.zip",
            sha256="0" * 64,
        )
        # A webhook to a receiver the URL guard would refuse, and a model run of the worker.
        hook = Webhook(
            target_url="http://127.0.0.1:9/h",
            type="project",
            project_id=P,
            owner_id=owner.user_id,
            events="update:job",
        )
        run = BgRequest(
            id="lambda-rq-1",
            operation=OPERATION,
            target="job",
            owner_id=worker.user_id,
            task_id=T,
            job_id=J1,
            status="finished",
            params={},
        )
        session.add_all([cloud, backup, hook, run])
        session.flush()
        ids = {"C": cloud.id, "B": backup.id, "W": hook.id, "LR": run.id}
    return {
        "clients": {"admin": admin, "owner": owner, "other": other, "worker": worker},
        "ids": {
            "P": P,
            "T": T,
            "S": S,
            "J1": J1,
            "J2": J2,
            "L": label,
            "G": group.json()["id"],
            "K": token.json()["id"],
            "RQ": export.json()["rq_id"],
            "owner_id": owner.user_id,
            "n": 0,
            **issues,
            "C2": comments["results"][0]["id"],
            "QS": settings.json()["results"][0]["id"],
            **ids,
        },
    }


def _found(client, path: str, wanted: Any) -> bool:  # type: ignore[no-untyped-def]
    body = client.get(path, params={"page_size": 100}).json()
    return any(item.get("id") == wanted for item in body["results"])


def test_permission_matrix_has_no_leaks(world) -> None:  # type: ignore[no-untyped-def]
    clients, ids = world["clients"], world["ids"]
    rows = _rows(ids)
    pairs = leaks = 0
    wrong: list[str] = []
    for path, (key, sees) in LISTS.items():
        for role in ROLES:
            pairs += 1
            found = _found(clients[role], path, ids[key])
            if found != sees[role]:
                wrong.append(f"{role} GET {path}: lists {key}={found}, expected {sees[role]}")
                leaks += found
    for row in rows:
        # Denied roles first: an allowed write must not hide a leak behind it.
        order = sorted(range(len(ROLES)), key=lambda i: (row.expect[i] or 0) < 400)
        for index in order:
            expected = row.expect[index]
            if expected is None:
                continue
            role = ROLES[index]
            pairs += 1
            kwargs: dict[str, Any] = {"params": row.params}
            if row.body is not None:
                kwargs["json"] = row.body
            got = clients[role].request(row.method, row.path, **kwargs).status_code
            if got != expected:
                wrong.append(f"{role} {row.method} {row.path} {row.params}: {got}, not {expected}")
                leaks += expected >= 400 and got < 400
    print(f"\npermission matrix: {pairs} pairs, {leaks} leaks, {len(wrong)} differences")
    assert not wrong, "\n".join(wrong)
    assert pairs >= 250
