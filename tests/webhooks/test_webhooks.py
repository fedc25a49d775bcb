"""Webhooks against a real HTTP receiver on 127.0.0.1: signatures, counts, retries, ping."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient

from tests.conftest import ADMIN, LABELS, upload_images
from tests.helpers.net import free_port
from tests.organizations.conftest import join, login, make_user, settings_for, start_app

SECRET = "s3cret"
LAB = {"X-Organization": "lab"}


class Receiver:
    """Records every POST; can be stopped and started again on the same port."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.received: list[SimpleNamespace] = []
        self.server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> None:
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append(SimpleNamespace(headers=dict(self.headers), body=body))
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def events(self) -> list[str]:
        return [json.loads(r.body)["event"] for r in self.received]


def signed_right(request: SimpleNamespace, secret: str = SECRET) -> bool:
    expected = "sha256=" + hmac.new(secret.encode(), request.body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(request.headers.get("X-Signature-256", ""), expected)


def wait_for(predicate, timeout: float = 30.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out waiting")


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    r = Receiver(free_port())
    r.start()
    yield r
    r.stop()


@pytest.fixture(scope="module")
def hooks(database, tmp_path_factory) -> Iterator[SimpleNamespace]:  # type: ignore[no-untyped-def]
    settings = settings_for(
        tmp_path_factory.mktemp("hooks"),
        queue_url="embedded",
        remote_allowed_hosts="127.0.0.1",
        webhook_retry_seconds=0.3,
        webhook_attempts=6,
    )
    app = start_app(database, settings)
    with TestClient(app):
        admin = login(app, *ADMIN)
        owner = make_user(admin, "olga")
        worker = make_user(admin, "wim")
        org = owner.post("/api/organizations", json={"slug": "lab"}).json()
        join(owner, org, worker, "worker")
        project = owner.post(
            "/api/projects", json={"name": "p", "labels": LABELS}, headers=LAB
        ).json()
        yield SimpleNamespace(app=app, owner=owner, worker=worker, org=org, project=project)


def _deliveries(client, hook_id: int) -> list[dict]:  # type: ignore[no-untyped-def]
    response = client.get(f"/api/webhooks/{hook_id}/deliveries", params={"page_size": 100})
    assert response.status_code == 200, response.text
    return response.json()["results"]


def test_events_catalog(hooks) -> None:  # type: ignore[no-untyped-def]
    everything = hooks.owner.get("/api/webhooks/events").json()
    keys = {e["key"] for e in everything["events"]}
    assert {"create:task", "update:job", "delete:project", "create:invitation"} <= keys
    project = hooks.owner.get("/api/webhooks/events", params={"type": "project"}).json()
    assert "create:project" not in {e["key"] for e in project["events"]}
    assert hooks.owner.get("/api/webhooks/events", params={"type": "x"}).status_code == 400


def test_org_and_project_webhooks_signed_and_counted(hooks, receiver) -> None:  # type: ignore[no-untyped-def]
    owner = hooks.owner
    org_hook = owner.post(
        "/api/webhooks",
        json={
            "target_url": receiver.url,
            "type": "organization",
            "events": ["create:task", "update:task", "delete:task"],
            "secret": SECRET,
        },
        headers=LAB,
    )
    assert org_hook.status_code == 201, org_hook.text
    org_hook = org_hook.json()
    assert org_hook["organization"] == hooks.org["id"] and org_hook["project_id"] is None
    project_hook = owner.post(
        "/api/webhooks",
        json={
            "target_url": receiver.url,
            "type": "project",
            "project_id": hooks.project["id"],
            "events": ["create:task", "update:job"],
        },
    ).json()
    assert project_hook["events"] == ["create:task", "update:job"]
    # A worker may not subscribe to the organization's events.
    refused = hooks.worker.post(
        "/api/webhooks",
        json={"target_url": receiver.url, "type": "organization", "events": ["create:task"]},
        headers=LAB,
    )
    assert refused.status_code == 403
    bad = owner.post(
        "/api/webhooks",
        json={
            "target_url": receiver.url,
            "type": "project",
            "project_id": hooks.project["id"],
            "events": ["create:project"],
        },
    )
    assert bad.status_code == 400 and "create:project" in str(bad.json()["detail"])

    before = len(receiver.received)
    task = owner.post("/api/tasks", json={"name": "hooked", "project_id": hooks.project["id"]})
    assert task.status_code == 201
    task = task.json()
    wait_for(lambda: len(receiver.received) >= before + 2)
    new = receiver.received[before:]
    assert sorted(json.loads(r.body)["event"] for r in new) == ["create:task", "create:task"]
    by_hook = {json.loads(r.body)["webhook_id"]: r for r in new}
    assert set(by_hook) == {org_hook["id"], project_hook["id"]}
    signed = by_hook[org_hook["id"]]
    assert signed_right(signed)
    assert not signed_right(signed, "another secret")
    assert "X-Signature-256" not in by_hook[project_hook["id"]].headers  # no secret, no signature
    payload = json.loads(signed.body)
    assert payload["task"]["id"] == task["id"] and payload["task"]["name"] == "hooked"
    assert payload["sender"]["username"] == "olga"

    owner.patch(f"/api/tasks/{task['id']}", json={"name": "renamed"})
    update = wait_for(
        lambda: [r for r in receiver.received if json.loads(r.body)["event"] == "update:task"]
    )
    body = json.loads(update[0].body)
    assert body["before_update"]["name"] == "hooked" and body["task"]["name"] == "renamed"
    deliveries = wait_for(
        lambda: (
            [d for d in _deliveries(owner, org_hook["id"]) if d["status_code"] == 200]
            if len(_deliveries(owner, org_hook["id"])) == 2
            else None
        )
    )
    assert sorted(d["event"] for d in deliveries) == ["create:task", "update:task"]
    assert {d["changed_fields"] for d in deliveries} >= {"name,updated_date"}
    listed = owner.get(f"/api/webhooks/{org_hook['id']}").json()
    assert listed["last_status"] == 200

    # An annotation save reaches the project's webhook as update:job.
    upload_images(owner, task["id"], 1)
    job = owner.get("/api/jobs", params={"task_id": task["id"]}).json()["results"][0]
    seen = len([e for e in receiver.events() if e == "update:job"])
    shape = {
        "type": "rectangle",
        "frame": 0,
        "label_id": _label(owner, task),
        "points": [1, 2, 3, 4],
    }
    saved = owner.patch(
        f"/api/jobs/{job['id']}/annotations",
        params={"action": "create"},
        json={"version": 0, "tags": [], "shapes": [shape], "tracks": []},
    )
    assert saved.status_code == 200, saved.text
    wait_for(lambda: len([e for e in receiver.events() if e == "update:job"]) > seen)


def _label(client, task: dict) -> int:  # type: ignore[no-untyped-def]
    return client.get("/api/labels", params={"task_id": task["id"]}).json()["results"][0]["id"]


def test_down_receiver_retried_when_back(hooks) -> None:  # type: ignore[no-untyped-def]
    owner = hooks.owner
    down = Receiver(free_port())  # nothing listens yet
    hook = owner.post(
        "/api/webhooks",
        json={
            "target_url": down.url,
            "type": "organization",
            "events": ["update:project"],
            "secret": SECRET,
        },
        headers=LAB,
    ).json()
    try:
        patched = owner.patch(f"/api/projects/{hooks.project['id']}", json={"name": "p2"})
        assert patched.status_code == 200  # the save does not wait for the receiver
        first = wait_for(
            lambda: [d for d in _deliveries(owner, hook["id"]) if (d["attempt"] or 0) >= 1]
        )
        assert first[0]["status_code"] == 502 and len(down.received) == 0
        down.start()
        delivered = wait_for(
            lambda: [d for d in _deliveries(owner, hook["id"]) if d["status_code"] == 200]
        )
        assert delivered[0]["attempt"] >= 2
        assert len(down.received) == 1 and signed_right(down.received[0])
        assert json.loads(down.received[0].body)["project"]["name"] == "p2"

        # Redelivery sends the same payload again, marked as such.
        again = owner.post(f"/api/webhooks/{hook['id']}/deliveries/{delivered[0]['id']}/redelivery")
        assert again.status_code == 200
        wait_for(lambda: len(down.received) == 2)
        assert json.loads(down.received[1].body) == json.loads(down.received[0].body)
        assert any(d["redelivery"] for d in _deliveries(owner, hook["id"]))

        ping = owner.post(f"/api/webhooks/{hook['id']}/ping")
        assert ping.status_code == 200 and ping.json()["status_code"] == 200
        assert json.loads(down.received[-1].body)["event"] == "ping"
        assert owner.delete(f"/api/webhooks/{hook['id']}").status_code == 204
        assert owner.get(f"/api/webhooks/{hook['id']}").status_code == 404
    finally:
        down.stop()


def test_issue_and_comment_events(hooks, receiver) -> None:  # type: ignore[no-untyped-def]
    """CVAT's six review events reach a project webhook, signed, with CVAT's payload shape."""
    owner = hooks.owner
    keys = [f"{a}:{r}" for r in ("issue", "comment") for a in ("create", "update", "delete")]
    catalog = owner.get("/api/webhooks/events", params={"type": "project"}).json()
    assert set(keys) <= {e["key"] for e in catalog["events"]}
    hook = owner.post(
        "/api/webhooks",
        json={
            "target_url": receiver.url,
            "type": "project",
            "project_id": hooks.project["id"],
            "events": keys,
            "secret": SECRET,
        },
    )
    assert hook.status_code == 201, hook.text
    hook = hook.json()
    start = len(receiver.received)  # the receiver is shared by both databases' runs
    task = owner.post("/api/tasks", json={"name": "reviewed", "project_id": hooks.project["id"]})
    task = task.json()
    upload_images(owner, task["id"], 2)
    job = owner.get("/api/jobs", params={"task_id": task["id"]}).json()["results"][0]

    def mine() -> list[dict]:
        out = []
        for r in receiver.received[start:]:
            body = json.loads(r.body)
            if body.get("webhook_id") == hook["id"]:
                assert signed_right(r), "every delivery carries the HMAC of its exact body"
                out.append(body)
        return out

    position = [1.0, 2.0, 30.0, 40.0]
    issue = owner.post(
        "/api/issues",
        json={"job": job["id"], "frame": 1, "position": position, "message": "too loose"},
    ).json()
    created = wait_for(lambda: len(mine()) >= 2 and mine())
    by_event = {b["event"]: b for b in created}
    assert set(by_event) == {"create:issue", "create:comment"}
    sent = by_event["create:issue"]["issue"]
    assert (sent["id"], sent["job"], sent["frame"]) == (issue["id"], job["id"], 1)
    assert sent["position"] == position and sent["resolved"] is False
    assert sent["owner"]["username"] == "olga" and sent["comments"]["count"] == 1
    comment = by_event["create:comment"]["comment"]
    assert comment["issue"] == issue["id"] and comment["message"] == "too loose"
    assert by_event["create:issue"]["sender"]["username"] == "olga"

    assert owner.patch(f"/api/issues/{issue['id']}", json={"resolved": True}).status_code == 200
    update = wait_for(lambda: [b for b in mine() if b["event"] == "update:issue"])[0]
    assert update["issue"]["resolved"] is True and update["before_update"]["resolved"] is False

    r = owner.patch(f"/api/comments/{comment['id']}", json={"message": "fixed now?"})
    assert r.status_code == 200, r.text
    update = wait_for(lambda: [b for b in mine() if b["event"] == "update:comment"])[0]
    assert update["comment"]["message"] == "fixed now?"
    assert update["before_update"]["message"] == "too loose"

    assert owner.delete(f"/api/comments/{comment['id']}").status_code == 204
    gone = wait_for(lambda: [b for b in mine() if b["event"] == "delete:comment"])[0]
    assert gone["comment"]["id"] == comment["id"]
    assert owner.delete(f"/api/issues/{issue['id']}").status_code == 204
    gone = wait_for(lambda: [b for b in mine() if b["event"] == "delete:issue"])[0]
    assert gone["issue"]["id"] == issue["id"] and gone["issue"]["resolved"] is True
    assert sorted(b["event"] for b in mine()) == sorted(keys)
    recorded = wait_for(lambda: (d := _deliveries(owner, hook["id"])) and len(d) == len(keys) and d)
    assert {d["status_code"] for d in recorded} == {200}
