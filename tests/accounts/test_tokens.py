"""Personal access tokens: shown once, stored hashed, Bearer auth, revoke, expiry, read-only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from labelvault.accounts.models import AccessToken
from tests.helpers.sdk import sdk_validate


def _bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


def _create(client, **body):  # type: ignore[no-untyped-def]
    response = client.post("/api/auth/access_tokens", json={"name": "ci", **body})
    assert response.status_code == 201, response.text
    return response.json()


def test_token_is_shown_once_and_stored_hashed(admin, database) -> None:  # type: ignore[no-untyped-def]
    created = _create(admin)
    value = created["value"]
    assert isinstance(value, str) and len(value) >= 20
    assert created["name"] == "ci"
    assert created["owner"]["username"] == "admin"
    with database.session() as session:
        rows = session.scalars(select(AccessToken)).all()
        assert len(rows) == 1
        stored = [str(v) for v in vars(rows[0]).values()]
    assert value not in stored
    assert not any(value in s for s in stored)

    listing = admin.get("/api/auth/access_tokens")
    assert listing.status_code == 200
    body = listing.json()
    sdk_validate(body, "PaginatedAccessTokenReadList")
    assert body["count"] == 1
    assert [t["id"] for t in body["results"]] == [created["id"]]
    assert value not in listing.text
    one = admin.get(f"/api/auth/access_tokens/{created['id']}")
    assert one.status_code == 200
    assert value not in one.text


def test_bearer_token_and_self(admin, app) -> None:  # type: ignore[no-untyped-def]
    created = _create(admin, name="my laptop")
    client = TestClient(app)
    me = client.get("/api/users/self", headers=_bearer(created["value"]))
    assert me.status_code == 200
    assert me.json()["username"] == "admin"
    this = client.get("/api/auth/access_tokens/self", headers=_bearer(created["value"]))
    assert this.status_code == 200
    assert this.json()["name"] == "my laptop"
    assert this.json()["id"] == created["id"]
    sdk_validate(this.json(), "AccessTokenRead")
    # Use is recorded.
    assert admin.get(f"/api/auth/access_tokens/{created['id']}").json()["last_used_date"]
    # Bearer needs no CSRF header for writes.
    response = client.post("/api/projects", json={"name": "p"}, headers=_bearer(created["value"]))
    assert response.status_code == 201


def test_tokens_self_needs_a_bearer_token(admin) -> None:  # type: ignore[no-untyped-def]
    response = admin.get("/api/auth/access_tokens/self")
    assert response.status_code == 400
    assert "access token" in response.json()["detail"]


def test_revoked_token_stops_working(admin, app) -> None:  # type: ignore[no-untyped-def]
    created = _create(admin)
    client = TestClient(app)
    assert client.get("/api/users/self", headers=_bearer(created["value"])).status_code == 200
    assert admin.delete(f"/api/auth/access_tokens/{created['id']}").status_code == 204
    response = client.get("/api/users/self", headers=_bearer(created["value"]))
    assert response.status_code == 401
    assert response.json()["detail"]
    assert admin.get("/api/auth/access_tokens").json()["count"] == 0
    assert admin.get(f"/api/auth/access_tokens/{created['id']}").status_code == 404


def test_expired_token_is_401(admin, app, database) -> None:  # type: ignore[no-untyped-def]
    created = _create(admin, expiry_date=(datetime.now(UTC) + timedelta(days=1)).isoformat())
    client = TestClient(app)
    assert client.get("/api/users/self", headers=_bearer(created["value"])).status_code == 200
    with database.session() as session:
        session.execute(
            update(AccessToken)
            .where(AccessToken.id == created["id"])
            .values(expiry_date=datetime.now(UTC) - timedelta(minutes=1))
        )
    response = client.get("/api/users/self", headers=_bearer(created["value"]))
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]


def test_expiry_in_the_past_is_rejected(admin) -> None:  # type: ignore[no-untyped-def]
    past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    response = admin.post("/api/auth/access_tokens", json={"name": "old", "expiry_date": past})
    assert response.status_code == 400
    assert "expiry_date" in response.text
    assert admin.get("/api/auth/access_tokens").json()["count"] == 0


def test_read_only_token_cannot_write(admin, app) -> None:  # type: ignore[no-untyped-def]
    created = _create(admin, read_only=True)
    assert created["read_only"] is True
    client = TestClient(app)
    headers = _bearer(created["value"])
    assert client.get("/api/projects", headers=headers).status_code == 200
    response = client.post("/api/projects", json={"name": "nope"}, headers=headers)
    assert response.status_code == 403
    assert "read-only" in response.json()["detail"]
    assert admin.get("/api/projects").json()["count"] == 0


def test_tokens_are_private_to_their_owner(admin, make_user, app) -> None:  # type: ignore[no-untyped-def]
    mine = _create(admin)
    alice = make_user("alice")
    theirs = _create(alice, name="alice-token")
    listing = alice.get("/api/auth/access_tokens").json()
    assert [t["id"] for t in listing["results"]] == [theirs["id"]]
    assert alice.get(f"/api/auth/access_tokens/{mine['id']}").status_code == 404
    assert alice.delete(f"/api/auth/access_tokens/{mine['id']}").status_code == 404
    # The admin's token still works.
    response = TestClient(app).get("/api/users/self", headers=_bearer(mine["value"]))
    assert response.json()["username"] == "admin"
    # A token authenticates as its own user.
    response = TestClient(app).get("/api/users/self", headers=_bearer(theirs["value"]))
    assert response.json()["username"] == "alice"


def test_patch_changes_only_what_is_sent(admin, app) -> None:  # type: ignore[no-untyped-def]
    created = _create(admin, name="old name")
    url = f"/api/auth/access_tokens/{created['id']}"
    later = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    renamed = admin.patch(url, json={"name": "new name", "expiry_date": later})
    assert renamed.status_code == 200, renamed.text
    sdk_validate(renamed.json(), "AccessTokenRead")
    assert renamed.json()["name"] == "new name"
    assert renamed.json()["read_only"] is False
    assert renamed.json()["expiry_date"] is not None
    assert renamed.json()["updated_date"] >= created["updated_date"]
    made_read_only = admin.patch(url, json={"read_only": True})
    assert made_read_only.json()["read_only"] is True
    assert made_read_only.json()["name"] == "new name"  # not sent: kept
    never = admin.patch(url, json={"expiry_date": None})
    assert never.status_code == 200 and never.json()["expiry_date"] is None
    # the token still works, now read-only: it reads but cannot change itself back
    client = TestClient(app)
    assert client.get("/api/users/self", headers=_bearer(created["value"])).status_code == 200
    refused = client.patch(url, json={"read_only": False}, headers=_bearer(created["value"]))
    assert refused.status_code == 403
    assert admin.get(url).json()["read_only"] is True


def test_patch_refuses_bad_values_and_changes_nothing(admin) -> None:  # type: ignore[no-untyped-def]
    created = _create(admin, name="keep")
    url = f"/api/auth/access_tokens/{created['id']}"
    past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    for body, field in (
        ({"name": "x", "expiry_date": past}, "expiry_date"),
        ({"name": ""}, "name"),
        ({"name": None}, "name"),
        ({"read_only": None}, "read_only"),
    ):
        response = admin.patch(url, json=body)
        assert response.status_code == 400, (body, response.text)
        assert field in response.text
    after = admin.get(url).json()
    assert after["name"] == "keep" and after["expiry_date"] is None
    assert admin.patch("/api/auth/access_tokens/999999", json={"name": "x"}).status_code == 404
