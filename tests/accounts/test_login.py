"""Password login, cookie sessions with CSRF, logout and `Token <key>` authentication."""

from __future__ import annotations

from http.cookies import SimpleCookie

from fastapi.testclient import TestClient

from tests.conftest import ADMIN
from tests.helpers.sdk import sdk_validate


def _login(app, username: str = ADMIN[0], password: str = ADMIN[1]):  # type: ignore[no-untyped-def]
    client = TestClient(app)
    response = client.post("/api/auth/login", json={"username": username, "password": password})
    return client, response


def test_login_returns_short_key_and_both_cookies(app) -> None:  # type: ignore[no-untyped-def]
    client, response = _login(app)
    assert response.status_code == 200, response.text
    key = response.json()["key"]
    assert isinstance(key, str) and 0 < len(key) <= 40
    sdk_validate(response.json(), "Token")
    assert client.cookies.get("sessionid")
    assert client.cookies.get("csrftoken")
    # The session cookie is not the CSRF token.
    assert client.cookies["sessionid"] != client.cookies["csrftoken"]


def test_set_cookie_headers_survive_the_sdk_join(app) -> None:  # type: ignore[no-untyped-def]
    """urllib3 joins Set-Cookie headers with ', ' and the SDK parses that with SimpleCookie."""
    client, response = _login(app)
    headers = response.headers.get_list("set-cookie")
    assert len(headers) >= 2
    for forward in (headers, list(reversed(headers))):
        jar = SimpleCookie()
        jar.load(", ".join(forward))
        assert "sessionid" in jar and "csrftoken" in jar, forward
        assert jar["sessionid"].value == client.cookies["sessionid"]
        assert jar["csrftoken"].value == client.cookies["csrftoken"]
        for morsel in jar.values():
            assert "," not in morsel.value and ";" not in morsel.value
            assert morsel["path"] == "/"
    # The session cookie must not be readable by page scripts; the CSRF one must be.
    session_header = next(h for h in headers if h.startswith("sessionid="))
    csrf_header = next(h for h in headers if h.startswith("csrftoken="))
    assert "httponly" in session_header.lower()
    assert "httponly" not in csrf_header.lower()


def test_cookie_session_authenticates(app) -> None:  # type: ignore[no-untyped-def]
    client, _ = _login(app)
    me = client.get("/api/users/self")
    assert me.status_code == 200
    assert me.json()["username"] == ADMIN[0]


def test_csrf_token_is_not_rotated_after_login(admin) -> None:  # type: ignore[no-untyped-def]
    """The SDK copies csrftoken into X-CSRFToken once; a new cookie would break it."""
    before = admin.cookies["csrftoken"]
    for response in (
        admin.get("/api/users/self"),
        admin.post("/api/projects", json={"name": "p"}),
        admin.get("/api/projects"),
    ):
        assert response.status_code in (200, 201)
        assert not any(h.startswith("csrftoken=") for h in response.headers.get_list("set-cookie"))
    assert admin.cookies["csrftoken"] == before


def test_bad_password_is_400_with_message(app) -> None:  # type: ignore[no-untyped-def]
    client, response = _login(app, ADMIN[0], "wrong-password")
    assert response.status_code == 400
    assert "credentials" in response.text.lower()
    assert "sessionid" not in client.cookies
    _, response = _login(app, "nobody", "whatever-pass")
    assert response.status_code == 400
    assert "credentials" in response.text.lower()


def test_login_without_password_is_400(app) -> None:  # type: ignore[no-untyped-def]
    response = TestClient(app).post("/api/auth/login", json={"username": "admin"})
    assert response.status_code == 400
    assert "password" in response.text


def test_login_by_email(admin, app) -> None:  # type: ignore[no-untyped-def]
    response = admin.post(
        "/api/users",
        json={"username": "eve", "password": "eve-password", "email": "eve@example.org"},
    )
    assert response.status_code == 201
    client = TestClient(app)
    response = client.post(
        "/api/auth/login", json={"email": "eve@example.org", "password": "eve-password"}
    )
    assert response.status_code == 200, response.text
    assert client.get("/api/users/self").json()["username"] == "eve"


def test_inactive_user_cannot_log_in(admin, app) -> None:  # type: ignore[no-untyped-def]
    created = admin.post("/api/users", json={"username": "ivan", "password": "ivan-password"})
    assert created.status_code == 201
    assert _login(app, "ivan", "ivan-password")[1].status_code == 200
    response = admin.patch(f"/api/users/{created.json()['id']}", json={"is_active": False})
    assert response.status_code == 200
    assert response.json()["is_active"] is False
    _, response = _login(app, "ivan", "ivan-password")
    assert response.status_code == 400
    assert "credentials" in response.text.lower()


def test_logout_ends_the_session(app) -> None:  # type: ignore[no-untyped-def]
    client, response = _login(app)
    key = response.json()["key"]
    session_cookie = client.cookies["sessionid"]
    # The SDK sends an empty body with Content-Type: application/json.
    response = client.post(
        "/api/auth/logout",
        content=b"",
        headers={"Content-Type": "application/json", "X-CSRFToken": client.cookies["csrftoken"]},
    )
    assert response.status_code == 200, response.text
    assert isinstance(response.json(), dict)
    # The old session id is dead on the server, not just dropped from the client's jar.
    stale = TestClient(app, cookies={"sessionid": session_cookie})
    assert stale.get("/api/users/self").status_code == 401
    assert (
        TestClient(app).get("/api/users/self", headers={"Authorization": f"Token {key}"})
    ).status_code == 401


def test_logout_with_token_header_ends_that_session(app) -> None:  # type: ignore[no-untyped-def]
    _, response = _login(app)
    headers = {"Authorization": f"Token {response.json()['key']}"}
    client = TestClient(app)
    assert client.get("/api/users/self", headers=headers).status_code == 200
    assert client.post("/api/auth/logout", headers=headers).status_code == 200
    assert client.get("/api/users/self", headers=headers).status_code == 401


def test_unsafe_methods_need_the_csrf_header(app) -> None:  # type: ignore[no-untyped-def]
    client, _ = _login(app)
    csrf = client.cookies["csrftoken"]
    created = client.post("/api/projects", json={"name": "x"}, headers={"X-CSRFToken": csrf})
    assert created.status_code == 201
    project_id = created.json()["id"]

    for response in (
        client.post("/api/projects", json={"name": "no-csrf"}),
        client.patch(f"/api/projects/{project_id}", json={"name": "renamed"}),
        client.delete(f"/api/projects/{project_id}"),
        client.post("/api/projects", json={"name": "bad"}, headers={"X-CSRFToken": "forged"}),
    ):
        assert response.status_code == 403, response.text
        detail = response.json()["detail"]
        assert "X-CSRFToken" in detail and "csrftoken" in detail

    # Nothing happened: the project keeps its name and no other project was made.
    listing = client.get("/api/projects")
    assert listing.status_code == 200  # safe methods need no header
    assert [p["name"] for p in listing.json()["results"]] == ["x"]
    assert client.get(f"/api/projects/{project_id}").status_code == 200


def test_token_key_authenticates_without_csrf(app) -> None:  # type: ignore[no-untyped-def]
    _, response = _login(app)
    headers = {"Authorization": f"Token {response.json()['key']}"}
    client = TestClient(app)
    assert client.get("/api/users/self", headers=headers).json()["username"] == ADMIN[0]
    created = client.post("/api/projects", json={"name": "via-token"}, headers=headers)
    assert created.status_code == 201, created.text
    assert client.get("/api/projects", headers=headers).json()["count"] == 1


def test_unknown_session_or_token_is_401(app) -> None:  # type: ignore[no-untyped-def]
    assert (
        TestClient(app, cookies={"sessionid": "0" * 40}).get("/api/users/self").status_code == 401
    )
    client = TestClient(app)
    for header in ("Token nope", "Bearer nope", "Weird thing"):
        response = client.get("/api/users/self", headers={"Authorization": header})
        assert response.status_code == 401, header
        assert response.json()["detail"]


def test_basic_auth(app) -> None:  # type: ignore[no-untyped-def]
    client = TestClient(app)
    assert client.get("/api/users/self", auth=ADMIN).json()["username"] == ADMIN[0]
    assert client.get("/api/users/self", auth=(ADMIN[0], "wrong-pass")).status_code == 401


def test_login_with_empty_json_body_is_400(app) -> None:  # type: ignore[no-untyped-def]
    response = TestClient(app).post(
        "/api/auth/login", content=b"", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["detail"]
