"""The door: login throttling and lockout, constant-work failed logins, CSRF on logout,
trusted proxies, and the audit log of security events with its admin API."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from labelvault.accounts import passwords
from labelvault.config import Settings
from tests.conftest import ADMIN

PROXY = ("10.1.2.3", 4000)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    settings.login_max_failures_per_user = 3
    settings.login_max_failures_per_address = 6
    settings.trusted_proxies = "10.0.0.0/8, ::1"
    return settings


def _login(client: TestClient, username: str, password: str, **headers: str):  # type: ignore[no-untyped-def]
    return client.post(
        "/api/auth/login", json={"username": username, "password": password}, headers=headers
    )


def _audit(admin, **query: str) -> list[dict]:  # type: ignore[no-untyped-def]
    response = admin.get("/api/audit", params={"page_size": 100, **query})
    assert response.status_code == 200, response.text
    return response.json()["results"]


def test_account_lockout_then_address_lockout(app, admin) -> None:  # type: ignore[no-untyped-def]
    assert admin.post("/api/users", json={"username": "ann", "password": "ann-pass-1"}).is_success
    client = TestClient(app)
    for _ in range(3):
        assert _login(client, "ann", "wrong-password").status_code == 400
    # Locked: even the right password is refused, with a clear 429 and Retry-After.
    locked = _login(client, "ann", "ann-pass-1")
    assert locked.status_code == 429, locked.text
    assert "Too many failed logins for this account" in locked.json()["detail"]
    assert 1 <= int(locked.headers["Retry-After"]) <= 900
    assert locked.json()["retry_after"] == int(locked.headers["Retry-After"])
    # Another account from the same address still gets in.
    assert _login(client, *ADMIN).status_code == 200

    # A successful login clears the account's count: two more failures do not lock it.
    for _ in range(2):
        assert _login(client, ADMIN[0], "wrong-password").status_code == 400
    # The address has now failed 5 times; one more (a missing user) reaches its limit of 6.
    assert _login(client, "nobody", "whatever-1").status_code == 400
    blocked = _login(client, "someone-else", "whatever-1")
    assert blocked.status_code == 429
    assert "your address" in blocked.json()["detail"]

    # Behind a trusted proxy, X-Forwarded-For names the client: a fresh address gets in.
    proxied = TestClient(app, client=PROXY)
    ok = _login(proxied, *ADMIN, **{"X-Forwarded-For": "203.0.113.9, 10.1.2.3"})
    assert ok.status_code == 200, ok.text
    # An untrusted client cannot choose its address that way.
    spoofed = _login(client, *ADMIN, **{"X-Forwarded-For": "198.51.100.7"})
    assert spoofed.status_code == 429

    events = _audit(admin, kind="login")
    kinds = [e["kind"] for e in events]
    assert kinds.count("login.failed") == 6
    assert kinds.count("login.locked") == 3
    failed = [e for e in events if e["kind"] == "login.failed"]
    assert {e["username"] for e in failed} == {"ann", ADMIN[0], "nobody"}
    assert {e["address"] for e in failed} == {"testclient"}
    succeeded = [e for e in events if e["kind"] == "login.succeeded"]
    assert "203.0.113.9" in {e["address"] for e in succeeded}
    assert _audit(admin, username="ann", kind="login.locked")[0]["username"] == "ann"
    assert admin.get("/api/audit", params={"kind": "nonsense"}).status_code == 400


class CountingHasher(PasswordHasher):
    """The real argon2 hasher, counting the work each login does."""

    calls: list[str]

    def hash(self, *args, **kwargs):  # type: ignore[no-untyped-def,override]
        self.calls.append("hash")
        return super().hash(*args, **kwargs)

    def verify(self, *args, **kwargs):  # type: ignore[no-untyped-def,override]
        self.calls.append("verify")
        return super().verify(*args, **kwargs)


def test_failed_logins_do_the_same_work(app, admin, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    hasher = CountingHasher()
    hasher.calls = []
    monkeypatch.setattr(passwords, "_hasher", hasher)
    passwords._dummy_hash()  # made once per process, before any timing matters
    client = TestClient(app)
    work = {}
    for username in (ADMIN[0], "no-such-user"):
        hasher.calls.clear()
        assert _login(client, username, "wrong-password").status_code == 400
        work[username] = list(hasher.calls)
    assert work[ADMIN[0]] == work["no-such-user"] == ["verify"]


def test_logout_needs_the_csrf_token(app, login) -> None:  # type: ignore[no-untyped-def]
    user = login()
    csrf = user.headers.pop("X-CSRFToken")
    refused = user.post("/api/auth/logout")
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]
    assert user.get("/api/users/self").status_code == 200  # still signed in
    assert user.post("/api/auth/logout", headers={"X-CSRFToken": csrf}).status_code == 200
    assert user.get("/api/users/self").status_code == 401


def test_forwarded_host_only_from_trusted_proxies(app, admin) -> None:  # type: ignore[no-untyped-def]
    for name in ("a", "b"):
        assert admin.post("/api/projects", json={"name": name}).status_code == 201
    spoof = {"X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https"}
    page = admin.get("/api/projects", params={"page_size": 1}, headers=spoof).json()
    assert page["next"].startswith("http://testserver/"), page["next"]

    proxied = TestClient(app, client=PROXY)
    proxied.cookies = admin.cookies
    proxied.headers["X-CSRFToken"] = admin.headers["X-CSRFToken"]
    page = proxied.get(
        "/api/projects", params={"page_size": 1}, headers={**spoof, "X-Forwarded-For": "1.2.3.4"}
    ).json()
    assert page["next"].startswith("https://evil.example/"), page["next"]


def test_audit_log_records_tokens_roles_and_deletes(app, admin, login) -> None:  # type: ignore[no-untyped-def]
    created = admin.post("/api/users", json={"username": "bob", "password": "bob-pass-1"})
    bob_id = created.json()["id"]
    assert admin.patch(f"/api/users/{bob_id}", json={"role": "worker"}).status_code == 200
    token = admin.post("/api/auth/access_tokens", json={"name": "ci"}).json()
    assert admin.delete(f"/api/auth/access_tokens/{token['id']}").status_code == 204
    project = admin.post("/api/projects", json={"name": "gone"}).json()
    assert admin.delete(f"/api/projects/{project['id']}").status_code == 204
    assert admin.delete(f"/api/users/{bob_id}").status_code == 204

    events = {e["kind"]: e for e in _audit(admin)}
    assert events["user.role_changed"]["detail"] == "user -> worker"
    assert events["user.role_changed"]["target"] == f"user {bob_id} bob"
    assert events["token.created"]["target"] == f"token {token['id']} ci"
    assert events["token.revoked"]["username"] == ADMIN[0]
    assert events["project.deleted"]["target"] == f"project {project['id']} gone"
    assert events["user.deleted"]["target"] == f"user {bob_id} bob"
    # Bob is gone; his trail is not. And only an admin reads the log.
    assert events["user.created"]["target"] == f"user {bob_id} bob"
    worker = admin.post("/api/users", json={"username": "carl", "password": "carl-pass-1"})
    assert worker.status_code == 201
    assert login("carl", "carl-pass-1").get("/api/audit").status_code == 403
