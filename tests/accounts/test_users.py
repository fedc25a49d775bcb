"""/api/server/about, /api/users (paging, search, privacy, admin management) and /api/groups."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from labelvault.accounts.models import User
from tests.helpers.sdk import sdk_validate


def _create(admin, username: str, **fields):  # type: ignore[no-untyped-def]
    body = {"username": username, "password": f"{username}-password", **fields}
    response = admin.post("/api/users", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def test_about_is_public_and_complete(app) -> None:  # type: ignore[no-untyped-def]
    response = TestClient(app).get("/api/server/about")
    assert response.status_code == 200
    body = response.json()
    for field in ("name", "description", "version", "logo_url", "subtitle"):
        assert isinstance(body[field], str), field
    assert body["version"] == "2.80.0"
    sdk_validate(body, "About")


def test_users_self(admin) -> None:  # type: ignore[no-untyped-def]
    response = admin.get("/api/users/self")
    assert response.status_code == 200
    me = response.json()
    assert me["username"] == "admin"
    assert me["groups"] == ["admin"]
    assert me["is_superuser"] is True
    assert me["last_login"]
    sdk_validate(me, "MetaUser")
    sdk_validate(me, "User")


def test_admin_creates_users_with_each_role(admin, login) -> None:  # type: ignore[no-untyped-def]
    for role in ("admin", "user", "worker"):
        created = _create(admin, f"u_{role}", role=role, email=f"{role}@example.org")
        assert created["groups"] == [role]
        assert created["email"] == f"{role}@example.org"
        client = login(f"u_{role}", f"u_{role}-password")
        me = client.get("/api/users/self").json()
        assert me["groups"] == [role]
        assert me["is_superuser"] is (role == "admin")
    default = _create(admin, "plain")
    assert default["groups"] == ["user"]


CREATE_USER_REJECTS_BAD_INPUT_CASES = [
    ({"username": "bad name!", "password": "long-enough-1"}, "username"),
    ({"username": "", "password": "long-enough-1"}, "username"),
    ({"username": "x" * 151, "password": "long-enough-1"}, "username"),
    ({"username": "shorty", "password": "short"}, "password"),
    ({"username": "bossy", "password": "long-enough-1", "role": "boss"}, "role"),
    ({"username": "nopass"}, "password"),
]


def test_create_user_rejects_bad_input(admin) -> None:  # type: ignore[no-untyped-def]
    for body, word in CREATE_USER_REJECTS_BAD_INPUT_CASES:
        response = admin.post("/api/users", json=body)
        assert response.status_code == 400, response.text
        assert word in response.text
        assert admin.get("/api/users").json()["count"] == 1


def test_duplicate_username_is_400(admin) -> None:  # type: ignore[no-untyped-def]
    _create(admin, "dup")
    response = admin.post("/api/users", json={"username": "dup", "password": "other-password"})
    assert response.status_code == 400
    assert "already exists" in response.text
    assert admin.get("/api/users", params={"username": "dup"}).json()["count"] == 1


def test_only_admin_creates_users(make_user) -> None:  # type: ignore[no-untyped-def]
    alice = make_user("alice")
    response = alice.post("/api/users", json={"username": "mallory", "password": "long-pass-1"})
    assert response.status_code == 403
    assert alice.get("/api/users", params={"username": "mallory"}).json()["count"] == 0


def test_users_paging(admin) -> None:  # type: ignore[no-untyped-def]
    for name in ("ann", "ben", "cid", "dot"):
        _create(admin, name)
    first = admin.get("/api/users", params={"page_size": 2})
    assert first.status_code == 200
    body = first.json()
    sdk_validate(body, "PaginatedMetaUserList")
    assert body["count"] == 5
    assert body["previous"] is None
    assert body["next"] and body["next"].startswith("http")
    assert len(body["results"]) == 2
    seen = [u["username"] for u in body["results"]]
    page = 2
    while body["next"]:
        body = admin.get("/api/users", params={"page_size": 2, "page": page}).json()
        assert body["previous"]
        seen += [u["username"] for u in body["results"]]
        page += 1
    assert page == 4
    assert sorted(seen) == ["admin", "ann", "ben", "cid", "dot"]
    # The SDK sends only `page`; the default page size still pages.
    assert admin.get("/api/users", params={"page": 1}).json()["count"] == 5
    for params in ({"page": "x"}, {"page_size": 0}, {"page": 0}):
        response = admin.get("/api/users", params=params)
        assert response.status_code == 400, params
        assert "page" in response.json()["detail"]


def test_users_search_and_sort(admin) -> None:  # type: ignore[no-untyped-def]
    _create(admin, "alice", first_name="Alice", email="a@example.org")
    _create(admin, "bob", last_name="Alison")
    _create(admin, "carl")
    names = [u["username"] for u in admin.get("/api/users?search=ali").json()["results"]]
    assert sorted(names) == ["alice", "bob"]
    names = [u["username"] for u in admin.get("/api/users?sort=-username").json()["results"]]
    assert names == ["carl", "bob", "alice", "admin"]
    response = admin.get("/api/users?sort=password_hash")
    assert response.status_code == 400
    assert "password_hash" in response.json()["detail"]


def test_non_admin_does_not_see_other_emails(admin, make_user) -> None:  # type: ignore[no-untyped-def]
    _create(admin, "secretive", email="hidden@example.org")
    admin.patch(f"/api/users/{admin.user_id}", json={"email": "root@example.org"})
    alice = make_user("alice")
    alice.patch(f"/api/users/{alice.user_id}", json={"email": "alice@example.org"})
    listing = alice.get("/api/users")
    assert listing.status_code == 200
    assert listing.json()["count"] == 3
    assert "hidden@example.org" not in listing.text
    assert "root@example.org" not in listing.text
    mine = [u for u in listing.json()["results"] if u["username"] == "alice"]
    assert mine[0]["email"] == "alice@example.org"
    for user in listing.json()["results"]:
        sdk_validate(user, "MetaUser")
    other = alice.get(f"/api/users/{admin.user_id}")
    assert other.status_code == 200
    assert "root@example.org" not in other.text
    assert "hidden@example.org" in admin.get("/api/users").text


def test_deactivated_user_loses_session_and_tokens(admin, make_user, app) -> None:  # type: ignore[no-untyped-def]
    alice = make_user("alice")
    token = alice.post("/api/auth/access_tokens", json={"name": "t"}).json()["value"]
    key = TestClient(app).post(
        "/api/auth/login", json={"username": "alice", "password": "alice-password"}
    )
    key = key.json()["key"]
    bare = TestClient(app)
    assert alice.get("/api/users/self").status_code == 200
    response = admin.patch(f"/api/users/{alice.user_id}", json={"is_active": False})
    assert response.status_code == 200
    assert alice.get("/api/users/self").status_code == 401
    assert (
        bare.get("/api/users/self", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    )
    assert bare.get("/api/users/self", headers={"Authorization": f"Token {key}"}).status_code == 401
    # Reactivated, the same token works again (deactivation is not deletion).
    admin.patch(f"/api/users/{alice.user_id}", json={"is_active": True})
    response = bare.get("/api/users/self", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200


def test_non_admin_cannot_change_roles(admin, make_user) -> None:  # type: ignore[no-untyped-def]
    alice = make_user("alice")
    bob = make_user("bob")
    response = alice.patch(f"/api/users/{alice.user_id}", json={"role": "admin"})
    assert response.status_code == 403
    assert response.json()["detail"]
    assert alice.patch(f"/api/users/{alice.user_id}", json={"is_active": False}).status_code == 403
    assert alice.patch(f"/api/users/{bob.user_id}", json={"first_name": "B"}).status_code == 403
    assert alice.get("/api/users/self").json()["groups"] == ["user"]
    # Own names may change.
    response = alice.patch(f"/api/users/{alice.user_id}", json={"first_name": "Alice"})
    assert response.status_code == 200
    assert alice.get("/api/users/self").json()["first_name"] == "Alice"


def test_admin_changes_role(admin, make_user) -> None:  # type: ignore[no-untyped-def]
    alice = make_user("alice")
    assert alice.post("/api/projects", json={"name": "ok"}).status_code == 201
    response = admin.patch(f"/api/users/{alice.user_id}", json={"role": "worker"})
    assert response.status_code == 200
    assert response.json()["groups"] == ["worker"]
    assert alice.post("/api/projects", json={"name": "no"}).status_code == 403
    response = admin.patch(f"/api/users/{alice.user_id}", json={"role": "emperor"})
    assert response.status_code == 400
    assert "role" in response.text
    assert alice.get("/api/users/self").json()["groups"] == ["worker"]


def test_admin_sets_password(admin, make_user, login) -> None:  # type: ignore[no-untyped-def]
    alice = make_user("alice")
    response = admin.patch(f"/api/users/{alice.user_id}", json={"password": "brand-new-pass"})
    assert response.status_code == 200
    assert alice.get("/api/users/self").status_code == 401  # sessions end with the password
    assert login("alice", "brand-new-pass").username == "alice"
    response = admin.patch(f"/api/users/{alice.user_id}", json={"password": "short"})
    assert response.status_code == 400
    assert "password" in response.text


def test_change_own_password(make_user, login, app) -> None:  # type: ignore[no-untyped-def]
    alice = make_user("alice")
    response = alice.post(
        "/api/auth/password/change",
        json={"old_password": "wrong-one", "new_password1": "alice-new-pass"},
    )
    assert response.status_code == 400
    assert "old_password" in response.text
    response = alice.post(
        "/api/auth/password/change",
        json={"old_password": "alice-password", "new_password1": "alice-new-pass"},
    )
    assert response.status_code == 200
    assert login("alice", "alice-new-pass").username == "alice"
    old = TestClient(app).post(
        "/api/auth/login", json={"username": "alice", "password": "alice-password"}
    )
    assert old.status_code == 400


def test_delete_user(admin, make_user, database) -> None:  # type: ignore[no-untyped-def]
    alice = make_user("alice")
    project = alice.post("/api/projects", json={"name": "kept"}).json()
    assert alice.delete(f"/api/users/{admin.user_id}").status_code == 403
    response = admin.delete(f"/api/users/{admin.user_id}")
    assert response.status_code == 400
    assert response.json()["detail"]
    assert admin.delete(f"/api/users/{alice.user_id}").status_code == 204
    assert admin.get(f"/api/users/{alice.user_id}").status_code == 404
    assert admin.delete(f"/api/users/{alice.user_id}").status_code == 404
    assert [u["username"] for u in admin.get("/api/users").json()["results"]] == ["admin"]
    assert alice.get("/api/users/self").status_code == 401
    with database.session() as session:
        assert session.scalars(select(User).where(User.username == "alice")).first() is None
    # The project stays, without an owner.
    kept = admin.get(f"/api/projects/{project['id']}")
    assert kept.status_code == 200
    assert kept.json()["owner"] is None


# ---- groups ------------------------------------------------------------------------------


def test_group_crud_and_membership(admin, make_user) -> None:  # type: ignore[no-untyped-def]
    alice = make_user("alice")
    bob = make_user("bob")
    response = admin.post(
        "/api/groups",
        json={"name": "night shift", "description": "d", "members": [alice.user_id]},
    )
    assert response.status_code == 201, response.text
    group = response.json()
    assert group["members"] == [alice.user_id]
    assert alice.get("/api/users/self").json()["user_groups"] == ["night shift"]
    assert bob.get("/api/users/self").json()["user_groups"] == []

    response = admin.patch(
        f"/api/groups/{group['id']}",
        json={"name": "day shift", "members": [bob.user_id, alice.user_id, bob.user_id]},
    )
    assert response.status_code == 200
    assert sorted(response.json()["members"]) == sorted([alice.user_id, bob.user_id])
    assert response.json()["name"] == "day shift"
    assert bob.get("/api/users/self").json()["user_groups"] == ["day shift"]

    listing = alice.get("/api/groups")  # anyone may read groups
    assert listing.status_code == 200
    assert [g["name"] for g in listing.json()["results"]] == ["day shift"]
    assert alice.get(f"/api/groups/{group['id']}").json()["name"] == "day shift"

    assert admin.patch(f"/api/groups/{group['id']}", json={"members": []}).status_code == 200
    assert admin.get(f"/api/groups/{group['id']}").json()["members"] == []

    assert admin.delete(f"/api/groups/{group['id']}").status_code == 204
    assert admin.get(f"/api/groups/{group['id']}").status_code == 404
    assert admin.get("/api/groups").json()["count"] == 0


def test_group_rules(admin, make_user) -> None:  # type: ignore[no-untyped-def]
    assert admin.post("/api/groups", json={"name": "team"}).status_code == 201
    response = admin.post("/api/groups", json={"name": "team"})
    assert response.status_code == 400
    assert "already exists" in response.text
    response = admin.post("/api/groups", json={"name": "  "})
    assert response.status_code == 400
    assert "name" in response.text
    response = admin.post("/api/groups", json={"name": "ghosts", "members": [99999]})
    assert response.status_code == 400
    assert "99999" in response.text
    names = [g["name"] for g in admin.get("/api/groups").json()["results"]]
    assert names == ["team"]
    other = admin.post("/api/groups", json={"name": "other"}).json()
    response = admin.patch(f"/api/groups/{other['id']}", json={"name": "team"})
    assert response.status_code == 400
    assert admin.get(f"/api/groups/{other['id']}").json()["name"] == "other"
    assert admin.get("/api/groups/99999").status_code == 404


def test_non_admin_cannot_manage_groups(admin, make_user) -> None:  # type: ignore[no-untyped-def]
    alice = make_user("alice")
    group = admin.post("/api/groups", json={"name": "team"}).json()
    response = alice.post("/api/groups", json={"name": "mine"})
    assert response.status_code == 403
    assert response.json()["detail"]
    patch = alice.patch(f"/api/groups/{group['id']}", json={"members": [alice.user_id]})
    assert patch.status_code == 403
    assert alice.delete(f"/api/groups/{group['id']}").status_code == 403
    assert admin.get(f"/api/groups/{group['id']}").json()["members"] == []
    assert [g["name"] for g in admin.get("/api/groups").json()["results"]] == ["team"]


def test_deleting_a_user_leaves_their_groups(admin, make_user) -> None:  # type: ignore[no-untyped-def]
    alice = make_user("alice")
    bob = make_user("bob")
    group = admin.post(
        "/api/groups", json={"name": "team", "members": [alice.user_id, bob.user_id]}
    ).json()
    assert admin.delete(f"/api/users/{alice.user_id}").status_code == 204
    assert admin.get(f"/api/groups/{group['id']}").json()["members"] == [bob.user_id]
