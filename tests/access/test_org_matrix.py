"""The permission matrix of organizations and the team endpoints: every (role x endpoint x
method) with its expected answer, 0 leaks.

Roles: `admin`; the four roles of organization 'lab' — `owner` (owns project P with task T
of two jobs, issues I1 on J1 and I2 on J2, a quality report, webhooks), `maintainer`,
`supervisor`, `worker` (assigned job J1 only) — and `outsider` (no member; owns a sandbox
project SP with a task, an issue SI and a webhook SW). Expected answers follow CVAT's rules
(cvat/apps/*/rules/*.rego): organizations, memberships, invitations; issues/comments by job
and issue staff, all for maintainers; quality for task staff and maintainers (not a job's
assignee); webhooks for the webhook's or project's owner and maintainers; lambda functions
for everyone in their context, lambda requests for their owner; the audit log for admins.
A row's answers are in role order; None = not tried. A leak is a 2xx where the row expects
a 4xx (or a list showing what it must not); any other difference fails too.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient

from labelvault.background.models import Request as BgRequest
from labelvault.db.base import utcnow
from labelvault.models_ai.handlers import OPERATION
from labelvault.models_ai.models import Model
from labelvault.review.models import AnnotationConflict, QualityReport
from labelvault.webhooks.models import Webhook, WebhookDelivery
from tests.conftest import ADMIN, LABELS, Api, upload_images
from tests.organizations.conftest import join, login, make_user, settings_for, start_app

ROLES = ("admin", "owner", "maintainer", "supervisor", "worker", "outsider")
LAB = {"X-Organization": "lab"}
SANDBOX = {"X-Organization": ""}
Expect = tuple[int | None, int | None, int | None, int | None, int | None, int | None]


@dataclass(frozen=True)
class Row:
    method: str
    path: str
    expect: Expect
    body: Any = None
    params: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Listed:
    """A list call: whether each role finds the id `wanted` in it."""

    path: str
    wanted: Any
    sees: tuple[bool, bool, bool, bool, bool, bool]
    headers: dict[str, str] = field(default_factory=dict)
    key: str = "id"


@pytest.fixture(scope="module")
def app(database, tmp_path_factory) -> Iterator:  # type: ignore[no-untyped-def]
    # Webhook receivers on 127.0.0.1 are allowed by name, as an admin would.
    settings = settings_for(tmp_path_factory.mktemp("orgmatrix"), remote_allowed_hosts="127.0.0.1")
    application = start_app(database, settings)
    with TestClient(application):
        yield application


def _task(client: Api, project_id: int | None, headers: dict[str, str], name: str) -> int:
    body: dict[str, Any] = {"name": name, "segment_size": 2}
    if project_id is None:
        body["labels"] = LABELS
    else:
        body["project_id"] = project_id
    task = client.post("/api/tasks", json=body, headers=headers)
    assert task.status_code == 201, task.text
    upload_images(client, task.json()["id"], 4)
    return task.json()["id"]


def _ok(response: Any, status: int = 201) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return response.json()


@pytest.fixture(scope="module")
def world(app) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    admin = login(app, *ADMIN)
    owner = make_user(admin, "olga")
    org = _ok(owner.post("/api/organizations", json={"slug": "lab", "name": "Lab"}))
    clients = {"admin": admin, "owner": owner, "outsider": make_user(admin, "xavier")}
    for role, name in (("maintainer", "mara"), ("supervisor", "sven"), ("worker", "wim")):
        clients[role] = make_user(admin, name)
        join(owner, org, clients[role], role)
    invitee = make_user(admin, "ivy")
    worker, outsider = clients["worker"], clients["outsider"]

    P = _ok(owner.post("/api/projects", json={"name": "P", "labels": LABELS}, headers=LAB))["id"]  # noqa: N806
    T = _task(owner, P, LAB, "T")  # noqa: N806
    J1, J2 = sorted(
        j["id"] for j in owner.get("/api/jobs", params={"task_id": T}).json()["results"]
    )  # noqa: N806
    _ok(owner.patch(f"/api/jobs/{J1}", json={"assignee": worker.user_id}), 200)
    SP = _ok(outsider.post("/api/projects", json={"name": "SP", "labels": LABELS}))["id"]  # noqa: N806
    ST = _task(outsider, SP, {}, "ST")  # noqa: N806
    SJ = outsider.get("/api/jobs", params={"task_id": ST}).json()["results"][0]["id"]  # noqa: N806

    def issue(client: Api, job: int, message: str) -> int:
        frame = client.get(f"/api/jobs/{job}").json()["start_frame"]
        body = {"job": job, "frame": frame, "position": [1, 1, 5, 5], "message": message}
        return _ok(client.post("/api/issues", json=body))["id"]

    I1, I2, SI = issue(owner, J1, "i1"), issue(owner, J2, "i2"), issue(outsider, SJ, "si")  # noqa: N806
    C1 = owner.get("/api/comments", params={"issue_id": I1}).json()["results"][0]["id"]  # noqa: N806
    # Saves for the activity export: the worker in J1, the owner in J2.
    shape = {"type": "rectangle", "frame": 0, "label_id": None, "points": [1, 1, 9, 9]}
    label = owner.get("/api/labels", params={"project_id": P}).json()["results"][0]["id"]
    _ok(
        worker.put(f"/api/jobs/{J1}/annotations", json={"shapes": [shape | {"label_id": label}]}),
        200,
    )
    _ok(
        owner.put(
            f"/api/jobs/{J2}/annotations",
            json={"shapes": [shape | {"frame": 2, "label_id": label}]},
        ),
        200,
    )
    QS = _ok(owner.get("/api/quality/settings", params={"task_id": T}), 200)["results"][0]["id"]  # noqa: N806
    hook = {"target_url": "http://127.0.0.1:9/hook", "events": ["update:job"]}
    PW = _ok(owner.post("/api/webhooks", json={**hook, "type": "project", "project_id": P}))["id"]  # noqa: N806
    OW = _ok(owner.post("/api/webhooks", json={**hook, "type": "organization"}, headers=LAB))["id"]  # noqa: N806
    SW = _ok(outsider.post("/api/webhooks", json={**hook, "type": "project", "project_id": SP}))[
        "id"
    ]  # noqa: N806
    MO = _ok(  # noqa: N806
        admin.post(
            "/api/models",
            json={"name": "lab-det", "kind": "function", "config": {"module": "x.y"}},
            headers=LAB,
        )
    )["id"]
    invitation = owner.post(
        "/api/invitations", json={"role": "worker", "email": "ivy@example.org"}, headers=LAB
    )
    IK = _ok(invitation)["key"]  # noqa: N806
    members = {
        m["user"]["username"]: m["id"]
        for m in owner.get("/api/memberships", headers=LAB).json()["results"]
    }
    with app.state.db.session() as session:
        # Rows made directly: a ground-truth comparison, a delivery and a model run are not
        # what is tested here, only who may reach them.
        now = utcnow()
        report = QualityReport(
            task_id=T,
            target="task",
            summary={},
            data={"x": 1},
            target_last_updated=now,
            gt_last_updated=now,
        )
        session.add(report)
        session.flush()
        conflict = AnnotationConflict(
            report_id=report.id,
            frame=0,
            type="missing_annotation",
            severity="error",
            annotation_ids=[],
        )
        delivery = WebhookDelivery(
            webhook_id=PW, event="update:job", state="delivered", request={"event": "update:job"}
        )
        model = Model(name="global-det", kind="function", config={"module": "x.y"})
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
        session.add_all([conflict, delivery, model, run])
        session.flush()
        ids = {"R": report.id, "CF": conflict.id, "D": delivery.id, "M": model.id}
    return {
        "clients": clients,
        "invitee": invitee,
        "ids": {
            "O": org["id"],
            "P": P,
            "T": T,
            "J1": J1,
            "J2": J2,
            "SP": SP,
            "ST": ST,
            "SJ": SJ,
            "I1": I1,
            "I2": I2,
            "SI": SI,
            "C1": C1,
            "QS": QS,
            "PW": PW,
            "OW": OW,
            "SW": SW,
            "MO": MO,
            "IK": IK,
            "LR": "lambda-rq-1",
            "m_owner": members["olga"],
            "m_maint": members["mara"],
            "m_worker": members["wim"],
            **ids,
        },
    }


def _rows(w: dict[str, Any]) -> list[Row]:
    """The table; `w` holds the ids of the world."""
    ORG, P, T, J1, J2 = w["O"], w["P"], w["T"], w["J1"], w["J2"]  # noqa: N806
    I1, I2, SI, C1 = w["I1"], w["I2"], w["SI"], w["C1"]  # noqa: N806
    R, QS, PW, OW, SW, D = w["R"], w["QS"], w["PW"], w["OW"], w["SW"], w["D"]  # noqa: N806
    IK, LR = w["IK"], w["LR"]  # noqa: N806
    hook = {"target_url": "http://127.0.0.1:9/h", "events": ["update:job"]}
    return [
        # --- organizations (organizations.rego) ------------------------------------------
        Row("GET", f"/api/organizations/{ORG}", (200, 200, 200, 200, 200, 404)),
        Row("PATCH", f"/api/organizations/{ORG}", (200, 200, 200, 403, 403, 404), {"name": "L"}),
        # --- memberships (memberships.rego) ----------------------------------------------
        Row("GET", f"/api/memberships/{w['m_worker']}", (200, 200, 200, 200, 200, 404)),
        Row(
            "PATCH",
            f"/api/memberships/{w['m_worker']}",
            (200, 200, 200, 403, 403, 404),
            {"role": "worker"},
        ),
        Row(
            "PATCH",
            f"/api/memberships/{w['m_maint']}",
            (200, 200, 403, 403, 403, 404),
            {"role": "maintainer"},
        ),
        Row(
            "PATCH",
            f"/api/memberships/{w['m_owner']}",
            (None, 403, 403, 403, 403, 404),
            {"role": "worker"},
        ),
        Row("DELETE", f"/api/memberships/{w['m_owner']}", (None, 403, 403, 403, 403, 404)),
        # A maintainer's membership: not removed by lower roles (its owner may leave).
        Row("DELETE", f"/api/memberships/{w['m_maint']}", (None, None, None, 403, 403, 404)),
        # --- invitations (invitations.rego) ----------------------------------------------
        Row("GET", f"/api/invitations/{IK}", (200, 200, 200, 404, 404, 404)),
        Row("POST", f"/api/invitations/{IK}/accept", (None, 403, 403, 404, 404, 404)),
        Row("POST", f"/api/invitations/{IK}/decline", (None, 403, 403, 404, 404, 404)),
        # No SMTP server: the allowed roles hear what to do instead (400), the rest 403/404.
        Row("POST", f"/api/invitations/{IK}/resend", (400, 400, 400, 404, 404, 404)),
        Row(
            "POST",
            "/api/invitations",
            (None, None, 403, 403, 403, 403),
            {"role": "maintainer", "email": "m2@example.org"},
            headers=LAB,
        ),
        Row(
            "POST",
            "/api/invitations",
            (None, None, None, 403, 403, 403),
            {"role": "worker", "email": "w2@example.org"},
            headers=LAB,
        ),
        # --- issues and comments (issues.rego, comments.rego) ----------------------------
        Row("GET", f"/api/issues/{I1}", (200, 200, 200, 404, 200, 404)),
        Row("GET", f"/api/issues/{I2}", (200, 200, 200, 404, 404, 404)),
        Row("GET", f"/api/issues/{SI}", (200, 404, 404, 404, 404, 200)),
        Row("PATCH", f"/api/issues/{I1}", (200, 200, 200, 404, 200, 404), {"resolved": False}),
        Row("PATCH", f"/api/issues/{I2}", (200, 200, 200, 404, 404, 404), {"resolved": False}),
        Row(
            "POST",
            "/api/issues",
            (None, None, None, 400, 400, 400),
            {"job": J2, "frame": 2, "position": [1, 1, 2, 2], "message": "m"},
        ),
        Row("GET", f"/api/comments/{C1}", (200, 200, 200, 404, 200, 404)),
        Row("PATCH", f"/api/comments/{C1}", (200, 200, 200, 404, 200, 404), {"message": "x"}),
        Row(
            "POST",
            "/api/comments",
            (None, None, None, 400, None, 400),
            {"issue": I2, "message": "c"},
        ),
        Row("GET", f"/api/jobs/{J1}/issues", (200, 200, 200, 404, 200, 404)),
        Row("GET", f"/api/jobs/{J2}/issues", (200, 200, 200, 404, 404, 404)),
        # Job stages: changed by task staff and maintainers, not by the job's assignee.
        Row(
            "PATCH",
            f"/api/jobs/{J1}",
            (200, 200, 200, 404, 403, 404),
            {"stage": "annotation", "state": "in progress"},
        ),
        Row("PATCH", f"/api/jobs/{J1}", (200, 200, 200, 404, 200, 404), {"state": "new"}),
        # --- quality (quality_reports.rego, quality_settings.rego, conflicts.rego) --------
        Row("GET", f"/api/quality/reports/{R}", (200, 200, 200, 404, 404, 404)),
        Row("GET", f"/api/quality/reports/{R}/data", (200, 200, 200, 404, 404, 404)),
        Row("GET", f"/api/quality/settings/{QS}", (200, 200, 200, 404, 404, 404)),
        Row(
            "PATCH",
            f"/api/quality/settings/{QS}",
            (200, 200, 200, 404, 404, 404),
            {"iou_threshold": 0.5},
        ),
        # No ground-truth job: the task's staff hear what to make first (400).
        Row("POST", "/api/quality/reports", (400, 400, 400, 404, 403, 404), {"task_id": T}),
        Row(
            "GET",
            "/api/quality/conflicts",
            (200, 200, 200, 404, 404, 404),
            params={"report_id": R},
        ),
        # --- webhooks (webhooks.rego) ----------------------------------------------------
        Row("GET", f"/api/webhooks/{PW}", (200, 200, 200, 404, 404, 404)),
        Row("GET", f"/api/webhooks/{OW}", (200, 200, 200, 404, 404, 404)),
        Row("GET", f"/api/webhooks/{SW}", (200, 404, 404, 404, 404, 200)),
        Row("PATCH", f"/api/webhooks/{PW}", (200, 200, 200, 404, 404, 404), {"description": "d"}),
        Row("PATCH", f"/api/webhooks/{OW}", (200, 200, 200, 404, 404, 404), {"description": "d"}),
        Row("GET", f"/api/webhooks/{PW}/deliveries", (200, 200, 200, 404, 404, 404)),
        Row("GET", f"/api/webhooks/{PW}/deliveries/{D}", (200, 200, 200, 404, 404, 404)),
        Row("POST", f"/api/webhooks/{PW}/ping", (200, 200, 200, 404, 404, 404)),
        Row(
            "POST",
            f"/api/webhooks/{PW}/deliveries/{D}/redelivery",
            (200, 200, 200, 404, 404, 404),
        ),
        Row(
            "POST",
            "/api/webhooks",
            (201, 201, 201, 404, 403, 404),
            {**hook, "type": "project", "project_id": P},
        ),
        Row(
            "POST",
            "/api/webhooks",
            (201, 201, 201, 403, 403, 403),
            {**hook, "type": "organization"},
            headers=LAB,
        ),
        Row("GET", "/api/webhooks", (200, 200, 200, 200, 200, 403), headers=LAB),
        # --- models registry and lambda (lambda.rego, lambda_requests.rego) --------------
        Row("GET", "/api/models", (200, 403, 403, 403, 403, 403)),
        Row("GET", f"/api/models/{w['MO']}", (200, 403, 403, 403, 403, 403)),
        Row("GET", f"/api/models/{w['MO']}", (404, None, None, None, None, None), headers=SANDBOX),
        Row("GET", f"/api/models/{w['M']}", (404, None, None, None, None, None), headers=LAB),
        Row("PATCH", f"/api/models/{w['MO']}", (200, 403, 403, 403, 403, 403), {"enabled": True}),
        Row("GET", "/api/lambda/functions", (200, 200, 200, 200, 200, 200)),
        Row("GET", "/api/lambda/functions/lab-det", (200, 200, 200, 200, 200, 404)),
        Row("GET", "/api/lambda/functions/global-det", (200, 200, 200, 200, 200, 200)),
        Row("GET", f"/api/lambda/requests/{LR}", (200, 404, 404, 404, 200, 404)),
        # An organization's model never runs on data outside it (here: a sandbox task).
        Row(
            "POST",
            "/api/lambda/requests",
            (404, None, None, None, None, 404),
            {"function": "lab-det", "task": w["ST"]},
        ),
        Row(
            "POST",
            "/api/lambda/functions/lab-det",
            (404, None, None, None, None, 404),
            {"task": w["ST"], "frame": 0},
        ),
        Row("GET", "/api/lambda/requests", (200, 200, 200, 200, 200, 403), headers=LAB),
        # --- audit and activity (events.rego) --------------------------------------------
        Row("GET", "/api/audit", (200, 403, 403, 403, 403, 403)),
        Row("GET", "/api/events", (200, 200, 200, 200, 200, 200), params={"project_id": P}),
        Row("GET", f"/api/projects/{P}/activity", (200, 200, 200, 404, 200, 404)),
        Row("GET", f"/api/tasks/{T}/activity", (200, 200, 200, 404, 200, 404)),
        Row("GET", "/api/users", (200, 200, 200, 200, 200, 403), headers=LAB),
        # --- deletes last: each by the roles that may not, then one that may --------------
        Row("DELETE", f"/api/lambda/requests/{LR}", (None, 404, 404, 404, 204, 404)),
        Row("DELETE", f"/api/comments/{C1}", (None, None, None, 404, 204, 404)),
        Row("DELETE", f"/api/issues/{I1}", (None, None, 204, 404, 403, 404)),
        Row("DELETE", f"/api/webhooks/{OW}", (None, None, 204, 404, 404, 404)),
        Row("DELETE", f"/api/invitations/{IK}", (None, None, 204, 404, 404, 404)),
        Row("DELETE", f"/api/models/{w['MO']}", (204, 403, 403, 403, 403, 403)),
        Row("DELETE", f"/api/organizations/{ORG}", (None, None, 403, 403, 403, 404)),
        # A member leaves an organization by deleting its own membership.
        Row("DELETE", f"/api/memberships/{w['m_worker']}", (None, None, None, 403, 204, 404)),
    ]


def _lists(w: dict[str, Any]) -> list[Listed]:
    """Which role finds which id in which list, in which context."""
    staff = (True, True, True, False, False, False)
    return [
        Listed("/api/issues", w["I1"], (True, True, True, False, True, False), LAB),
        Listed("/api/issues", w["I2"], staff, LAB),
        # The org's issues stay out of the sandbox, and the sandbox's out of the org.
        Listed("/api/issues", w["I1"], (False,) * 6, SANDBOX),
        Listed("/api/issues", w["SI"], (True, False, False, False, False, True), SANDBOX),
        Listed("/api/issues", w["SI"], (False, False, False, False, False, False), LAB),
        Listed("/api/comments", w["C1"], (True, True, True, False, True, False), LAB),
        Listed("/api/comments", w["C1"], (False,) * 6, SANDBOX),
        Listed("/api/quality/reports", w["R"], staff, LAB),
        Listed("/api/quality/reports", w["R"], (False,) * 6, SANDBOX),
        Listed("/api/quality/conflicts", w["CF"], staff, LAB),
        Listed("/api/quality/settings", w["QS"], staff, LAB),
        Listed("/api/quality/settings", w["QS"], (False,) * 6, SANDBOX),
        Listed("/api/webhooks", w["PW"], staff, LAB),
        Listed("/api/webhooks", w["OW"], staff, LAB),
        Listed("/api/webhooks", w["PW"], (False,) * 6, SANDBOX),
        Listed("/api/webhooks", w["SW"], (True, False, False, False, False, True), SANDBOX),
        Listed("/api/models", w["MO"], (True, False, False, False, False, False), LAB),
        Listed("/api/models", w["M"], (False,) * 6, LAB),
        Listed("/api/models", w["MO"], (False,) * 6, SANDBOX),
        Listed("/api/models", w["M"], (True, False, False, False, False, False), SANDBOX),
        Listed("/api/lambda/functions", "lab-det", (True, True, True, True, True, False), LAB),
        Listed("/api/lambda/functions", "lab-det", (False,) * 6, SANDBOX),
        Listed("/api/lambda/functions", "global-det", (True,) * 6, SANDBOX),
        Listed("/api/lambda/functions", "lab-det", (True, True, True, True, True, False)),
        Listed("/api/lambda/requests", w["LR"], (True, False, False, False, True, False), LAB),
        Listed("/api/lambda/requests", w["LR"], (False,) * 6, SANDBOX),
        Listed("/api/memberships", w["m_worker"], (True, True, True, True, True, False), LAB),
        Listed("/api/memberships", w["m_worker"], (True, True, True, True, True, False)),
        Listed("/api/organizations", w["O"], (True, True, True, True, True, False)),
        Listed(
            "/api/invitations", w["IK"], (True, True, True, False, False, False), LAB, key="key"
        ),
        # In an organization the users list is its members.
        Listed("/api/users", w["outsider_id"], (False, False, False, False, False, False), LAB),
        Listed("/api/users", w["worker_id"], (True, True, True, True, True, False), LAB),
        Listed("/api/users", w["outsider_id"], (True,) * 6),
    ]


def _found(client: Api, listed: Listed) -> bool | None:
    """Whether the list shows the id; None when the list itself is refused."""
    response = client.get(listed.path, params={"page_size": 100}, headers=listed.headers)
    if response.status_code in (403, 404):
        return None
    assert response.status_code == 200, f"{listed.path}: {response.text}"
    body = response.json()
    items = body["results"] if isinstance(body, dict) else body
    return any(item.get(listed.key) == listed.wanted for item in items)


def _events_rows(client: Api, project_id: int) -> int:
    reply = client.get("/api/events", params={"project_id": project_id})
    assert reply.status_code == 200, reply.text
    return len(list(csv.DictReader(io.StringIO(reply.text))))


def _body(row: Row, role: str) -> Any:
    return row.body(role) if isinstance(row.body, Callable) else row.body  # type: ignore[arg-type]


def test_issue_and_comment_lists_take_filters(world) -> None:  # type: ignore[no-untyped-def]
    """CVAT's `filter=` JSON logic and `field__in=` narrow /api/issues and /api/comments,
    inside what the user may see; an unknown term is a 400 naming it."""
    owner, ids = world["clients"]["owner"], world["ids"]

    def issue_ids(**params: Any) -> set[int]:
        reply = owner.get("/api/issues", params=params, headers=LAB)
        assert reply.status_code == 200, reply.text
        return {i["id"] for i in reply.json()["results"]}

    I1, I2, SI = ids["I1"], ids["I2"], ids["SI"]  # noqa: N806
    assert issue_ids() == {I1, I2}
    assert issue_ids(filter=json.dumps({"==": [{"var": "job_id"}, ids["J2"]]})) == {I2}
    assert issue_ids(id__in=f"{I1},{SI}") == {I1}  # SI is the outsider's, in the sandbox
    assert issue_ids(filter=json.dumps({"in": [{"var": "id"}, [I1, I2, SI]]})) == {I1, I2}
    assert issue_ids(filter=json.dumps({"==": [{"var": "owner"}, "olga"]})) == {I1, I2}
    assert issue_ids(frame_id__in="2,3") == {I2}
    assert issue_ids(task_id__in=str(ids["T"]), resolved="false") == {I1, I2}
    bad = owner.get("/api/issues", params={"filter": json.dumps({"==": [{"var": "x"}, 1]})})
    assert bad.status_code == 400 and "x" in bad.text
    comments = owner.get("/api/comments", params={"issue_id__in": f"{I1},{I2}"}, headers=LAB)
    assert comments.status_code == 200
    assert {c["issue"] for c in comments.json()["results"]} == {I1, I2}
    by_job = {"filter": json.dumps({"==": [{"var": "job_id"}, ids["J1"]]})}
    assert [c["id"] for c in owner.get("/api/comments", params=by_job).json()["results"]] == [
        ids["C1"]
    ]
    assert owner.get("/api/comments", params={"owner__in": "nobody"}).json()["count"] == 0


def test_org_permission_matrix_has_no_leaks(world) -> None:  # type: ignore[no-untyped-def]
    clients, ids = world["clients"], dict(world["ids"])
    ids["outsider_id"] = clients["outsider"].user_id
    ids["worker_id"] = clients["worker"].user_id
    pairs = leaks = 0
    wrong: list[str] = []
    for listed in _lists(ids):
        for index, role in enumerate(ROLES):
            pairs += 1
            found = _found(clients[role], listed)
            if bool(found) != listed.sees[index]:
                where = listed.headers.get("X-Organization", "unspecified") or "sandbox"
                wrong.append(
                    f"{role} GET {listed.path} [{where}]: lists {listed.wanted}={found}, "
                    f"expected {listed.sees[index]}"
                )
                leaks += bool(found)
    # Activity: maintainers see everyone's saves in the organization, a worker its own,
    # a supervisor (no task staff) and the outsider none.
    expected_events = {"admin": 2, "owner": 2, "maintainer": 2, "supervisor": 0, "worker": 1}
    for role, count in expected_events.items():
        pairs += 1
        got = _events_rows(clients[role], ids["P"])
        if got != count:
            wrong.append(f"{role} GET /api/events: {got} saves, expected {count}")
            leaks += got > count
    for row in _rows(ids):
        order = sorted(range(len(ROLES)), key=lambda i: (row.expect[i] or 0) < 400)
        for index in order:
            expected = row.expect[index]
            if expected is None:
                continue
            role = ROLES[index]
            pairs += 1
            kwargs: dict[str, Any] = {"params": row.params, "headers": row.headers}
            body = _body(row, role)
            if body is not None:
                kwargs["json"] = body
            got = clients[role].request(row.method, row.path, **kwargs).status_code
            if got != expected:
                wrong.append(f"{role} {row.method} {row.path} {row.headers}: {got}, not {expected}")
                leaks += expected >= 400 and got < 400
    print(f"\norg permission matrix: {pairs} pairs, {leaks} leaks, {len(wrong)} differences")
    assert not wrong, "\n".join(wrong)
    assert pairs >= 400


def test_deleting_a_project_deletes_its_webhooks(world) -> None:  # type: ignore[no-untyped-def]
    """A project's webhooks are the project's (CVAT): deleting it leaves none behind,
    whoever made them, and no later event of the project reaches a receiver."""
    clients, ids = world["clients"], world["ids"]
    owner, maintainer, admin = clients["owner"], clients["maintainer"], clients["admin"]
    extra = maintainer.post(
        "/api/webhooks",
        json={
            "target_url": "http://127.0.0.1:9/m",
            "events": ["update:job"],
            "type": "project",
            "project_id": ids["P"],
        },
    )
    assert extra.status_code == 201, extra.text
    assert owner.delete(f"/api/projects/{ids['P']}").status_code == 204
    for hook in (ids["PW"], extra.json()["id"]):
        assert admin.get(f"/api/webhooks/{hook}").status_code == 404
    with admin.app.state.db.session() as session:
        left = session.query(Webhook).filter(Webhook.project_id == ids["P"]).count()
        deliveries = session.query(WebhookDelivery).filter(WebhookDelivery.webhook_id == ids["PW"])
        assert (left, deliveries.count()) == (0, 0)
