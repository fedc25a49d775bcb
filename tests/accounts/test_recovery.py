"""CVAT's /api/auth/register and password reset: off by default, the link mailed or logged."""

from __future__ import annotations

import email
from collections.abc import Iterator
from urllib.parse import parse_qs, urlparse

import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient

from labelvault.accounts import recovery
from labelvault.accounts.models import User
from tests.helpers.net import free_port

REGISTER = {
    "username": "newcomer",
    "email": "new@example.org",
    "password1": "fresh-pass-123",
    "password2": "fresh-pass-123",
    "first_name": "Nia",
    "last_name": "Comer",
}


class _Sink:
    def __init__(self) -> None:
        self.messages: list[email.message.Message] = []

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]  # noqa: N802
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[_Sink, int]]:
    sink, port = _Sink(), free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    yield sink, port
    controller.stop()


def test_register_is_closed_by_default_and_signs_in_when_open(app, settings) -> None:  # type: ignore[no-untyped-def]
    client = TestClient(app)
    closed = client.post("/api/auth/register", json=REGISTER)
    assert closed.status_code == 403
    assert "LABELVAULT_ALLOW_REGISTRATION" in closed.json()["detail"]

    settings.allow_registration = True
    mismatch = client.post("/api/auth/register", json={**REGISTER, "password2": "other-pass-1"})
    assert mismatch.status_code == 400 and "password2" in mismatch.text
    short = client.post("/api/auth/register", json={**REGISTER, "username": "abc"})
    assert short.status_code == 400  # CVAT: usernames of at least 5 characters
    made = client.post("/api/auth/register", json=REGISTER)
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["username"] == "newcomer" and body["email_verification_required"] is False
    assert len(body["key"]) <= 40
    client.headers["X-CSRFToken"] = client.cookies["csrftoken"]
    me = client.get("/api/users/self").json()
    assert (me["username"], me["first_name"], me["is_staff"]) == ("newcomer", "Nia", False)
    again = TestClient(app).post("/api/auth/register", json={**REGISTER, "username": "other1"})
    assert again.status_code == 400 and "email" in again.json()["detail"]
    login = {"username": "newcomer", "password": "fresh-pass-123"}
    assert TestClient(app).post("/api/auth/login", json=login).status_code == 200


def _make(admin, name: str) -> None:  # type: ignore[no-untyped-def]
    body = {"username": name, "password": f"{name}-old-pass", "email": f"{name}@example.org"}
    assert admin.post("/api/users", json=body).status_code == 201


def _confirm(client: TestClient, link: str, password: str) -> int:
    query = parse_qs(urlparse(link).query)
    body = {
        "uid": query["uid"][0],
        "token": query["token"][0],
        "new_password1": password,
        "new_password2": password,
    }
    return client.post("/api/auth/password/reset/confirm", json=body).status_code


def test_password_reset_without_smtp_leaves_the_link_to_admins(app, admin) -> None:  # type: ignore[no-untyped-def]
    _make(admin, "rita")
    client = TestClient(app)
    sent = client.post("/api/auth/password/reset", json={"email": "rita@example.org"})
    unknown = client.post("/api/auth/password/reset", json={"email": "nobody@example.org"})
    assert sent.status_code == unknown.status_code == 200
    assert sent.json() == unknown.json()  # says nothing about who has an account
    events = admin.get("/api/audit", params={"kind": "password.reset_requested"}).json()
    assert [e["username"] for e in events["results"]] == ["rita"]
    detail = events["results"][0]["detail"]
    link = detail.split("pass this link on: ")[1]
    assert "/auth/password/reset/confirm?uid=" in link

    # A wrong token and a wrong uid are refused, naming the field.
    forged = link[:-1] + ("0" if link[-1] != "0" else "1")
    assert _confirm(client, forged, "brand-new-pass-1") == 400
    other = link.replace("uid=", "uid=x")
    assert _confirm(client, other, "brand-new-pass-1") == 400
    assert _confirm(client, link, "brand-new-pass-1") == 200
    new = {"username": "rita", "password": "brand-new-pass-1"}
    assert client.post("/api/auth/login", json=new).status_code == 200
    # Used once: the password (and the login) changed what the token was made of.
    assert _confirm(client, link, "another-pass-12") == 400
    old = {"username": "rita", "password": "rita-old-pass"}
    assert client.post("/api/auth/login", json=old).status_code == 400


def test_password_reset_token_expires(app, admin, database) -> None:  # type: ignore[no-untyped-def]
    _make(admin, "otto")
    with database.session() as session:
        user = session.query(User).filter_by(username="otto").one()
        old = recovery.make_token(user, now=1_000_000)
        uid = recovery.uid_of(user)
        fresh = recovery.make_token(user, now=1_000_000 + recovery.RESET_SECONDS - 60)
        with pytest.raises(recovery.AccountError):
            recovery.confirm(
                session,
                uid,
                old,
                "x-new-pass-1",
                "x-new-pass-1",
                now=1_000_000 + recovery.RESET_SECONDS + 1,
            )
        recovery.confirm(
            session,
            uid,
            fresh,
            "x-new-pass-1",
            "x-new-pass-1",
            now=1_000_000 + recovery.RESET_SECONDS,
        )


def test_password_reset_mails_the_link(app, admin, settings, smtp) -> None:  # type: ignore[no-untyped-def]
    sink, port = smtp
    settings.smtp_host, settings.smtp_port = "127.0.0.1", port
    settings.mail_from = "vault@example.org"
    _make(admin, "mona")
    client = TestClient(app)
    assert (
        client.post("/api/auth/password/reset", json={"email": "mona@example.org"}).status_code
        == 200
    )
    assert len(sink.messages) == 1
    message = sink.messages[0]
    assert message["To"] == "mona@example.org" and message["From"] == "vault@example.org"
    text = message.get_payload(decode=True).decode()
    link = next(word for word in text.split() if "reset/confirm" in word)
    assert _confirm(client, link, "mailed-new-pass-1") == 200
    login = {"username": "mona", "password": "mailed-new-pass-1"}
    assert client.post("/api/auth/login", json=login).status_code == 200


def test_password_change_as_cvat_sdk_sends_it(admin, make_user) -> None:  # type: ignore[no-untyped-def]
    user = make_user("pavel")
    body = {"old_password": "wrong", "new_password1": "pavel-new-1", "new_password2": "pavel-new-1"}
    assert user.post("/api/auth/password/change", json=body).status_code == 400
    body["old_password"] = "pavel-password"
    changed = user.post("/api/auth/password/change", json=body)
    assert changed.status_code == 200 and "detail" in changed.json()
