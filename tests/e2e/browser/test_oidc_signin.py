"""OIDC sign-in end to end: a real provider (npm oidc-provider) and a real `labelvault serve`
on 127.0.0.1, Chromium clicking "Sign in with …" and typing into the provider's form; then
roles, groups, the audit log and cvat-sdk/cvat-cli tokens checked through the REST API."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.browser.conftest import CHROMIUM, ROOT
from tests.helpers.net import free_port

TOOLS = ROOT / "tests" / "tools"
PASSWORD = "oidc-admin-Pw1"
CLIENT_ID, CLIENT_SECRET = "labelvault", "oidc-test-secret-123"

pytestmark = pytest.mark.e2e


def _wait_http(url: str, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"{url} did not come up; see {log}: {log.read_text()[-2000:]}")
        time.sleep(0.2)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, chromium: Any) -> Iterator[dict[str, Any]]:
    """The provider and a LabelVault configured to sign in through it."""
    node = shutil.which("node")
    if not node or not (TOOLS / "node_modules" / "oidc-provider").is_dir():
        pytest.skip("oidc-provider is not installed: run scripts/ensure-test-tools.sh")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing")
    tmp = tmp_path_factory.mktemp("oidc")
    idp_port, lv_port = free_port(), free_port()
    lv = f"http://127.0.0.1:{lv_port}"
    idp_log = tmp / "idp.log"
    idp = subprocess.Popen(
        [
            node,
            str(TOOLS / "oidc_provider.mjs"),
            str(idp_port),
            CLIENT_ID,
            CLIENT_SECRET,
            f"{lv}/api/auth/oidc/callback",
        ],
        stdout=idp_log.open("wb"),
        stderr=subprocess.STDOUT,
        cwd=TOOLS,
    )
    issuer = f"http://127.0.0.1:{idp_port}"
    _wait_http(f"{issuer}/.well-known/openid-configuration", idp, idp_log)
    env = {
        **os.environ,
        "LABELVAULT_OIDC_ISSUER": issuer,
        "LABELVAULT_OIDC_CLIENT_ID": CLIENT_ID,
        "LABELVAULT_OIDC_CLIENT_SECRET": CLIENT_SECRET,
        "LABELVAULT_OIDC_NAME": "Test IdP",
        "LABELVAULT_OIDC_SCOPES": "openid email profile groups",
        "LABELVAULT_OIDC_ROLE_MAP": "lab-admins=admin, students=worker",
        "LABELVAULT_OIDC_GROUP_MAP": "annotators=Annotators, students=Students",
        "LABELVAULT_BACKUPS": "false",
    }
    lv_log = tmp / "server.log"
    server = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("labelvault")),
            "serve",
            "--data-dir",
            str(tmp / "data"),
            "--port",
            str(lv_port),
            "--admin-password",
            PASSWORD,
            "--no-snapshot-on-exit",
        ],
        stdout=lv_log.open("wb"),
        stderr=subprocess.STDOUT,
        env=env,
    )
    _wait_http(f"{lv}/api/server/about", server, lv_log)
    admin = httpx.Client(base_url=lv, timeout=30)
    admin.post("/api/auth/login", json={"username": "admin", "password": PASSWORD})
    admin.headers["X-CSRFToken"] = admin.cookies["csrftoken"]
    yield {"url": lv, "port": lv_port, "admin": admin, "browser": chromium}
    admin.close()
    for proc in (server, idp):
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


def _sign_in(stack: dict[str, Any], login: str) -> Any:
    """Click "Sign in with Test IdP" and go through the provider's own pages."""
    context = stack["browser"].new_context(base_url=stack["url"])
    page = context.new_page()
    page.set_default_timeout(20000)
    page.goto("/login?next=/projects")
    page.get_by_role("link", name="Sign in with Test IdP").click()
    page.wait_for_url("http://127.0.0.1:*/interaction/**")
    page.locator("input[name=login]").fill(login)
    page.locator("input[name=password]").fill("anything")
    page.locator("button[type=submit]").click()
    # The provider asks to authorize the client once per account.
    page.locator("button[type=submit]").click()
    page.wait_for_url(f"{stack['url']}/projects")
    return page


def _user(admin: httpx.Client, username: str) -> dict[str, Any]:
    found = admin.get("/api/users", params={"username": username}).json()["results"]
    assert len(found) == 1, found
    return found[0]


def test_sign_in_creates_users_with_mapped_roles_and_groups(stack) -> None:  # type: ignore[no-untyped-def]
    admin = stack["admin"]
    assert admin.get("/api/auth/oidc").json() == {
        "enabled": True,
        "name": "Test IdP",
        "login_url": "/api/auth/oidc/login",
    }
    page = _sign_in(stack, "alice")
    page.get_by_role("button", name="Log out").wait_for()
    alice = _user(admin, "alice")
    assert alice["groups"] == ["admin"]  # lab-admins=admin
    assert alice["email"] == "alice@example.org" and alice["first_name"] == "Alice"
    assert alice["user_groups"] == ["Annotators"]

    # The browser session works for the REST API, and a token made there drives cvat-sdk.
    csrf = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    made = page.context.request.post(
        f"{stack['url']}/api/auth/access_tokens",
        data={"name": "sdk"},
        headers={"X-CSRFToken": csrf},
    )
    assert made.status == 201, made.text()
    token = made.json()["value"]
    assert (
        page.context.request.post(
            f"{stack['url']}/api/projects",
            data={"name": "made by alice"},
            headers={"X-CSRFToken": csrf},
        ).status
        == 201
    )
    page.context.close()

    from cvat_sdk.core.client import AccessTokenCredentials, Client, Config

    client = Client(f"http://127.0.0.1:{stack['port']}", config=Config())
    client.login(AccessTokenCredentials(token))
    with client:
        assert [p.name for p in client.projects.list()] == ["made by alice"]
    cli = subprocess.run(
        [
            str(Path(sys.executable).with_name("cvat-cli")),
            "--server-host",
            "http://127.0.0.1",
            "--server-port",
            str(stack["port"]),
            "project",
            "ls",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "CVAT_ACCESS_TOKEN": token},
    )
    assert cli.returncode == 0, cli.stderr

    # The second sign-in maps bob's "students" to worker and to the Students group.
    _sign_in(stack, "bob").context.close()
    bob = _user(admin, "bob")
    assert bob["groups"] == ["worker"] and bob["user_groups"] == ["Students"]
    # Signing in again finds the same user (by issuer and subject), no duplicate.
    _sign_in(stack, "alice").context.close()
    assert admin.get("/api/users", params={"search": "alice"}).json()["count"] == 1

    events = admin.get("/api/audit", params={"kind": "login.succeeded"}).json()["results"]
    oidc_logins = [e["username"] for e in events if e["detail"] == "oidc"]
    assert sorted(oidc_logins) == ["alice", "alice", "bob"]
    # Local accounts stay: the admin still logs in with a password.
    assert (
        httpx.post(
            f"{stack['url']}/api/auth/login", json={"username": "admin", "password": PASSWORD}
        ).status_code
        == 200
    )


def test_callback_refuses_a_forged_state(stack) -> None:  # type: ignore[no-untyped-def]
    response = httpx.get(
        f"{stack['url']}/api/auth/oidc/callback",
        params={"code": "x", "state": "y"},
        cookies={"lv_oidc": "forged.0000"},
    )
    assert response.status_code == 400
    assert "tampered" in response.json()["detail"]
    away = httpx.get(f"{stack['url']}/api/auth/oidc/login", params={"next": "//evil.example"})
    assert away.status_code == 302 and away.headers["location"].startswith("http://127.0.0.1:")
