"""Input a user can send that the database cannot hold is a 400 naming the field, not a 500."""

from __future__ import annotations

from sqlalchemy import func, select

from labelvault.projects.models import Label, Project


def _rows(database, model) -> int:  # type: ignore[no-untyped-def]
    with database.session() as session:
        return session.execute(select(func.count()).select_from(model)).scalar_one()


PROJECT_INPUT_LIMITS_CASES = [
    ({"name": "p" * 257}, "name"),
    ({"name": "p", "bug_tracker": "https://b/" + "x" * 2000}, "bug_tracker"),
    ({"name": "p", "owner_id": 99999}, "99999"),
    ({"name": "p", "labels": [{"name": "car"}, {"name": " car "}]}, "car"),
    (
        {
            "name": "p",
            "labels": [
                {
                    "name": "car",
                    "attributes": [{"name": "a" * 65, "input_type": "text", "mutable": False}],
                }
            ],
        },
        "attribute",
    ),
    (
        {
            "name": "p",
            "labels": [
                {
                    "name": "car",
                    "attributes": [
                        {
                            "name": "note",
                            "input_type": "text",
                            "mutable": False,
                            "default_value": "x" * 200,
                        }
                    ],
                }
            ],
        },
        "note",
    ),
]


def test_project_input_limits(admin, database) -> None:  # type: ignore[no-untyped-def]
    for body, word in PROJECT_INPUT_LIMITS_CASES:
        response = admin.post("/api/projects", json=body)
        assert response.status_code == 400, response.text
        assert word in str(response.json()["detail"])
        assert _rows(database, Project) == 0
        assert _rows(database, Label) == 0


LABEL_RENAME_LIMITS_CASES = [
    ({"name": ""}, "name"),
    ({"name": "   "}, "name"),
    ({"name": "x" * 65}, "64"),
]


def test_label_rename_limits(admin) -> None:  # type: ignore[no-untyped-def]
    for patch, word in LABEL_RENAME_LIMITS_CASES:
        project = admin.post(
            "/api/projects", json={"name": "p", "labels": [{"name": "car"}]}
        ).json()
        label = admin.get("/api/labels", params={"project_id": project["id"]}).json()["results"][0]
        response = admin.patch(f"/api/labels/{label['id']}", json=patch)
        assert response.status_code == 400, response.text
        assert word in response.json()["detail"]
        assert admin.get(f"/api/labels/{label['id']}").json()["name"] == "car"


def test_project_rename_limits(admin) -> None:  # type: ignore[no-untyped-def]
    project = admin.post("/api/projects", json={"name": "p"}).json()
    response = admin.patch(f"/api/projects/{project['id']}", json={"name": "p" * 257})
    assert response.status_code == 400
    assert "name" in response.json()["detail"]
    response = admin.patch(f"/api/projects/{project['id']}", json={"owner_id": 99999})
    assert response.status_code == 400
    assert admin.get(f"/api/projects/{project['id']}").json()["name"] == "p"


ACCOUNT_INPUT_LIMITS_CASES = [
    ("/api/users", {"username": "u1", "password": "long-pass-1", "email": "e" * 300}, "email"),
    (
        "/api/users",
        {"username": "u2", "password": "long-pass-1", "first_name": "f" * 151},
        "first_name",
    ),
    ("/api/groups", {"name": "g" * 151}, "name"),
    ("/api/auth/access_tokens", {"name": "t" * 151}, "name"),
]


def test_account_input_limits(admin) -> None:  # type: ignore[no-untyped-def]
    for path, body, word in ACCOUNT_INPUT_LIMITS_CASES:
        before = admin.get(path).json()["count"]
        response = admin.post(path, json=body)
        assert response.status_code == 400, response.text
        assert word in str(response.json()["detail"])
        assert admin.get(path).json()["count"] == before
