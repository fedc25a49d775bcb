"""Organizations, memberships and invitations over CVAT's endpoints; emails to a real SMTP sink."""

from __future__ import annotations

import email
from collections.abc import Iterator

import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient

from tests.helpers.net import free_port
from tests.organizations.conftest import login, make_user, settings_for, start_app

LAB = {"X-Organization": "lab"}


def test_organization_fields_and_membership(team) -> None:  # type: ignore[no-untyped-def]
    owner = team.people["owner"]
    org = team.org
    assert set(org) == {
        "id",
        "slug",
        "name",
        "description",
        "created_date",
        "updated_date",
        "contact",
        "owner",
    }
    assert org["owner"]["username"] == "olga" and org["name"] == "The Lab"
    members = owner.get("/api/memberships", headers=LAB, params={"page_size": 50}).json()
    roles = {m["user"]["username"]: m["role"] for m in members["results"]}
    assert roles == {"olga": "owner", "mara": "maintainer", "sven": "supervisor", "wim": "worker"}
    assert all(m["is_active"] and m["organization"] == org["id"] for m in members["results"])
    owner_row = next(m for m in members["results"] if m["role"] == "owner")
    assert owner_row["invitation"] is None
    # A worker sees the organization and its members; an outsider sees neither.
    worker = team.people["worker"]
    assert [o["slug"] for o in worker.get("/api/organizations").json()["results"]] == ["lab"]
    outsider = team.people["outsider"]
    assert outsider.get("/api/organizations").json()["count"] == 0
    assert outsider.get(f"/api/organizations/{org['id']}").status_code == 404
    refused = outsider.get("/api/projects", headers=LAB)
    assert refused.status_code == 403 and "not a member" in refused.json()["detail"]
    assert owner.get("/api/projects", headers={"X-Organization": "nope"}).status_code == 404


def test_slug_rules(team) -> None:  # type: ignore[no-untyped-def]
    owner = team.people["owner"]
    assert owner.post("/api/organizations", json={"slug": "lab"}).status_code == 409
    bad = owner.post("/api/organizations", json={"slug": "no spaces please"})
    assert bad.status_code == 400 and "slug" in bad.json()["detail"]
    made = owner.post("/api/organizations", json={"slug": "tmp1"}).json()
    assert made["name"] == "tmp1"  # CVAT: the name defaults to the slug
    assert team.people["worker"].delete(f"/api/organizations/{made['id']}").status_code == 404
    assert owner.delete(f"/api/organizations/{made['id']}").status_code == 204
    assert owner.get(f"/api/organizations/{made['id']}").status_code == 404


def test_context_selects_and_scopes(team) -> None:  # type: ignore[no-untyped-def]
    owner = team.people["owner"]
    in_org = owner.post("/api/projects", json={"name": "org-p"}, headers=LAB).json()
    assert in_org["organization"] == team.org["id"] == in_org["organization_id"]
    mine = owner.post("/api/projects", json={"name": "own-p"}).json()
    assert mine["organization"] is None

    def names(**kw):  # type: ignore[no-untyped-def]
        return {p["name"] for p in owner.get("/api/projects", **kw).json()["results"]}

    assert {"org-p"} <= names(headers=LAB) and "own-p" not in names(headers=LAB)
    assert "own-p" in names(params={"org": ""}) and "org-p" not in names(params={"org": ""})
    assert {"org-p", "own-p"} <= names(params={"org": "lab"}) | names(params={"org": ""})
    assert "org-p" in names(params={"org_id": team.org["id"]})
    assert {"org-p", "own-p"} <= names()  # no context: everything the user may see
    clash = owner.get("/api/projects", params={"org_id": team.org["id"]}, headers=LAB)
    assert clash.status_code == 400
    # A task made in an organization's project belongs to the organization; its jobs too.
    task = owner.post("/api/tasks", json={"name": "t", "project_id": in_org["id"]}).json()
    assert task["organization"] == team.org["id"]
    # The maintainer sees the org's project, the worker does not (not assigned).
    assert team.people["maintainer"].get(f"/api/projects/{in_org['id']}").status_code == 200
    assert team.people["worker"].get(f"/api/projects/{in_org['id']}").status_code == 404


def test_roles_change_and_leave(team, org_app) -> None:  # type: ignore[no-untyped-def]
    owner, maintainer = team.people["owner"], team.people["maintainer"]
    temp = make_user(team.admin, "tina")
    from tests.organizations.conftest import join

    join(maintainer, team.org, temp, "worker")
    row = next(
        m
        for m in owner.get("/api/memberships", headers=LAB, params={"user": "tina"}).json()[
            "results"
        ]
    )
    assert row["invitation"]  # members who came by invitation keep its key
    assert (
        maintainer.patch(f"/api/memberships/{row['id']}", json={"role": "supervisor"}).json()[
            "role"
        ]
        == "supervisor"
    )
    assert (
        maintainer.patch(f"/api/memberships/{row['id']}", json={"role": "maintainer"}).status_code
        == 403
    )
    assert owner.patch(f"/api/memberships/{row['id']}", json={"role": "owner"}).status_code == 400
    assert temp.get("/api/projects", headers=LAB).status_code == 200
    assert temp.delete(f"/api/memberships/{row['id']}").status_code == 204  # leaves
    assert temp.get("/api/projects", headers=LAB).status_code == 403
    owner_row = owner.get("/api/memberships", headers=LAB, params={"role": "owner"}).json()
    assert owner.delete(f"/api/memberships/{owner_row['results'][0]['id']}").status_code == 403


def test_invitation_link_without_email(team) -> None:  # type: ignore[no-untyped-def]
    owner = team.people["owner"]
    newcomer = make_user(team.admin, "nina")
    made = owner.post(
        "/api/invitations", json={"role": "worker", "email": "NINA@example.org"}, headers=LAB
    )
    assert made.status_code == 201, made.text
    body = made.json()
    assert set(body) == {
        "key",
        "created_date",
        "owner",
        "role",
        "user",
        "organization",
        "expired",
        "accepted",
        "organization_info",
    }
    assert body["user"]["username"] == "nina" and body["accepted"] is False
    assert body["expired"] is None  # never sent by mail
    assert body["organization_info"] == {"id": team.org["id"], "slug": "lab"}
    # Not yet a member: no access until the invitation is accepted.
    assert newcomer.get("/api/projects", headers=LAB).status_code == 403
    assert team.people["worker"].get(f"/api/invitations/{body['key']}").status_code == 404
    assert newcomer.get(f"/api/invitations/{body['key']}").json()["role"] == "worker"
    listed = newcomer.get("/api/invitations").json()["results"]
    assert [i["key"] for i in listed] == [body["key"]]
    resend = owner.post(f"/api/invitations/{body['key']}/resend")
    assert resend.status_code == 400 and "SMTP" in resend.json()["detail"]
    assert team.people["outsider"].post(f"/api/invitations/{body['key']}/accept").status_code == 404
    assert newcomer.post(f"/api/invitations/{body['key']}/decline").status_code == 204
    assert newcomer.get(f"/api/invitations/{body['key']}").status_code == 404
    again = owner.post(
        "/api/invitations", json={"role": "worker", "email": "nina@example.org"}, headers=LAB
    ).json()
    assert newcomer.post(f"/api/invitations/{again['key']}/accept").status_code == 200
    assert newcomer.post(f"/api/invitations/{again['key']}/accept").status_code == 400
    assert newcomer.get("/api/projects", headers=LAB).status_code == 200
    twice = owner.post(
        "/api/invitations", json={"role": "worker", "email": "nina@example.org"}, headers=LAB
    )
    assert twice.status_code == 400 and "already" in twice.json()["detail"]
    nowhere = owner.post("/api/invitations", json={"role": "worker", "email": "z@example.org"})
    assert nowhere.status_code == 400 and "X-Organization" in nowhere.json()["detail"]


def test_backup_restored_into_the_organization(team) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import upload_images
    from tests.datasets.test_backup import backup, restore

    owner = team.people["owner"]
    made = owner.post("/api/tasks", json={"name": "kept", "labels": team.labels})
    assert made.status_code == 201, made.text
    task = made.json()
    upload_images(owner, task["id"], 1)
    data = backup(owner, f"/api/tasks/{task['id']}")
    owner.headers["X-Organization"] = "lab"
    try:
        restored = restore(owner, "task", data)
    finally:
        del owner.headers["X-Organization"]
    assert owner.get(f"/api/tasks/{restored}").json()["organization"] == team.org["id"]
    assert task["organization"] is None


# Last in the module: its own app empties the database the module's app shares.
class _Sink:
    def __init__(self) -> None:
        self.messages: list[email.message.Message] = []

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]  # noqa: N802
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture(scope="module")
def smtp() -> Iterator[tuple[_Sink, int]]:
    sink = _Sink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    yield sink, port
    controller.stop()


def test_invitation_email_through_smtp(database, smtp, tmp_path_factory) -> None:  # type: ignore[no-untyped-def]
    sink, port = smtp
    sink.messages.clear()  # the sink is the module's: the other database's run used it too
    settings = settings_for(
        tmp_path_factory.mktemp("mail"),
        smtp_host="127.0.0.1",
        smtp_port=port,
        mail_from="vault@example.org",
    )
    app = start_app(database, settings)
    with TestClient(app):
        from tests.conftest import ADMIN

        admin = login(app, *ADMIN)
        owner = make_user(admin, "omar")
        guest = make_user(admin, "gina")
        owner.post("/api/organizations", json={"slug": "mailers"})
        made = owner.post(
            "/api/invitations",
            json={"role": "supervisor", "email": "gina@example.org"},
            headers={"X-Organization": "mailers"},
        ).json()
        assert made["expired"] is False  # sent now, valid for a week
        assert len(sink.messages) == 1
        message = sink.messages[0]
        assert message["To"] == "gina@example.org" and message["From"] == "vault@example.org"
        text = message.get_payload(decode=True).decode()
        link = next(word for word in text.split() if "/invitations/" in word)
        assert link.endswith(f"/invitations/{made['key']}")
        assert owner.post(f"/api/invitations/{made['key']}/resend").status_code == 204
        assert len(sink.messages) == 2
        key = link.rsplit("/", 1)[1]
        assert guest.post(f"/api/invitations/{key}/accept").json() == {
            "organization_slug": "mailers"
        }
