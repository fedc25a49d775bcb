"""The admin ensured at every start, and the `labelvault user|token` commands."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from labelvault.accounts import service
from labelvault.accounts.models import User
from labelvault.cli import main


def _hash_of(database, username: str) -> str:  # type: ignore[no-untyped-def]
    with database.session() as session:
        return session.scalars(select(User).where(User.username == username)).one().password_hash


def _login_status(app, username: str, password: str) -> int:  # type: ignore[no-untyped-def]
    response = TestClient(app).post(
        "/api/auth/login", json={"username": username, "password": password}
    )
    return response.status_code


def test_first_start_generates_a_password_and_stores_its_hash(app, database) -> None:  # type: ignore[no-untyped-def]
    with database.session() as session:
        generated = service.ensure_admin(session, "root", None)
    assert generated and len(generated) >= 12
    stored = _hash_of(database, "root")
    assert stored.startswith("$argon2")
    assert generated not in stored
    assert _login_status(app, "root", generated) == 200
    with database.session() as session:
        user = session.scalars(select(User).where(User.username == "root")).one()
        assert user.role == "admin" and user.is_active

    # The next start without a password changes nothing and prints nothing.
    with database.session() as session:
        assert service.ensure_admin(session, "root", None) is None
    assert _hash_of(database, "root") == stored
    assert _login_status(app, "root", generated) == 200


def test_every_start_is_idempotent_and_updates_a_changed_password(app, database, admin) -> None:  # type: ignore[no-untyped-def]
    before = _hash_of(database, "admin")
    with database.session() as session:
        assert service.ensure_admin(session, "admin", "admin-pass-1") is None
    assert _hash_of(database, "admin") == before  # same password: not even re-hashed
    assert admin.get("/api/users/self").status_code == 200  # sessions survive

    with database.session() as session:
        assert service.ensure_admin(session, "admin", "a-changed-pass") is None
    after = _hash_of(database, "admin")
    assert after != before and after.startswith("$argon2")
    assert _login_status(app, "admin", "a-changed-pass") == 200
    assert _login_status(app, "admin", "admin-pass-1") == 400
    with database.session() as session:
        assert len(session.scalars(select(User).where(User.username == "admin")).all()) == 1


def test_start_restores_a_demoted_or_deactivated_admin(app, database, admin) -> None:  # type: ignore[no-untyped-def]
    patch = admin.patch(f"/api/users/{admin.user_id}", json={"role": "user", "is_active": False})
    assert patch.status_code == 200
    assert _login_status(app, "admin", "admin-pass-1") == 400
    with database.session() as session:
        service.ensure_admin(session, "admin", "admin-pass-1")
    client = TestClient(app)
    response = client.post(
        "/api/auth/login", json={"username": "admin", "password": "admin-pass-1"}
    )
    assert response.status_code == 200
    assert client.get("/api/users/self").json()["groups"] == ["admin"]


# ---- CLI ---------------------------------------------------------------------------------


def _cli(database, tmp_path, *args: str):  # type: ignore[no-untyped-def]
    from click.testing import CliRunner

    common = ["--data-dir", str(tmp_path / "cli-data"), "--database-url", database.url]
    return CliRunner().invoke(main, [*args, *common], catch_exceptions=False)


def test_cli_user_lifecycle(app, admin, database, tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = _cli(
        database,
        tmp_path,
        "user",
        "create",
        "carol",
        "--password",
        "carol-pass-1",
        "--role",
        "worker",
        "--email",
        "carol@example.org",
    )
    assert result.exit_code == 0, result.output
    assert "carol" in result.output
    assert _hash_of(database, "carol").startswith("$argon2")
    users = {u["username"]: u for u in admin.get("/api/users").json()["results"]}
    assert users["carol"]["groups"] == ["worker"]
    assert users["carol"]["email"] == "carol@example.org"
    assert _login_status(app, "carol", "carol-pass-1") == 200

    result = _cli(database, tmp_path, "user", "create", "carol", "--password", "carol-pass-2")
    assert result.exit_code == 1
    assert "already exists" in result.output

    result = _cli(database, tmp_path, "user", "list")
    assert result.exit_code == 0
    lines = {line.split()[1]: line.split() for line in result.output.splitlines()[1:]}
    assert set(lines) == {"admin", "carol"}
    assert lines["carol"][2] == "worker"

    result = _cli(database, tmp_path, "user", "passwd", "carol", "--password", "carol-new-pass")
    assert result.exit_code == 0, result.output
    assert _login_status(app, "carol", "carol-new-pass") == 200
    assert _login_status(app, "carol", "carol-pass-1") == 400

    result = _cli(database, tmp_path, "user", "passwd", "nobody", "--password", "whatever-1")
    assert result.exit_code == 1
    assert "nobody" in result.output

    result = _cli(database, tmp_path, "user", "delete", "carol", "--yes")
    assert result.exit_code == 0, result.output
    assert "carol" not in [u["username"] for u in admin.get("/api/users").json()["results"]]
    assert _login_status(app, "carol", "carol-new-pass") == 400


def test_cli_rejects_bad_input(app, admin, database, tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = _cli(database, tmp_path, "user", "create", "dan", "--password", "x", "--role", "boss")
    assert result.exit_code == 2  # click rejects the role before anything runs
    result = _cli(database, tmp_path, "user", "create", "dan", "--password", "short")
    assert result.exit_code == 1
    assert "password" in result.output
    result = _cli(database, tmp_path, "user", "delete", "nobody", "--yes")
    assert result.exit_code == 1
    assert [u["username"] for u in admin.get("/api/users").json()["results"]] == ["admin"]


def test_cli_token_works_over_the_api(app, database, tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = _cli(database, tmp_path, "token", "create", "admin", "--name", "pipeline")
    assert result.exit_code == 0, result.output
    value = result.output.strip().splitlines()[-1]
    client = TestClient(app)
    headers = {"Authorization": f"Bearer {value}"}
    assert client.get("/api/users/self", headers=headers).json()["username"] == "admin"
    assert client.get("/api/auth/access_tokens/self", headers=headers).json()["name"] == "pipeline"
    assert client.post("/api/projects", json={"name": "p"}, headers=headers).status_code == 201

    result = _cli(database, tmp_path, "token", "create", "nobody")
    assert result.exit_code == 1
