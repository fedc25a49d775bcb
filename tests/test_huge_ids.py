"""Ids no row can have (above 2**31, above 2**63) are a 404 in a path and a 400 in a query."""

from __future__ import annotations

import pytest

HUGE = [str(2**31), str(2**63), str(2**64 + 5), "9" * 40]

PATHS = [
    ("DELETE", "/api/projects/{id}"),
    ("GET", "/api/projects/{id}"),
    ("DELETE", "/api/labels/{id}"),
    ("PATCH", "/api/labels/{id}"),
    ("GET", "/api/tasks/{id}"),
    ("DELETE", "/api/tasks/{id}"),
    ("GET", "/api/jobs/{id}/annotations"),
    ("PUT", "/api/jobs/{id}/annotations"),
    ("GET", "/api/users/{id}"),
    ("DELETE", "/api/backups/{id}"),
    ("GET", "/api/backups/{id}/download"),
    ("DELETE", "/api/cloudstorages/{id}"),
    ("GET", "/api/cloudstorages/{id}/status"),
]


@pytest.mark.parametrize("huge", HUGE)
def test_huge_path_ids_are_not_found(admin, huge: str) -> None:  # type: ignore[no-untyped-def]
    for method, path in PATHS:
        response = admin.request(method, path.format(id=huge), json={})
        assert response.status_code == 404, (method, path, response.text)
        assert "not found" in response.json()["detail"]


def test_huge_query_ids_are_a_clear_400(admin) -> None:  # type: ignore[no-untyped-def]
    for path, name in (
        ("/api/tasks", "project_id"),
        ("/api/jobs", "task_id"),
        ("/api/labels", "job_id"),
    ):
        response = admin.get(path, params={name: str(2**63)})
        assert response.status_code == 400, (path, response.text)
        assert name in response.json()["detail"]


def test_a_huge_number_in_a_body_is_a_clear_400(admin) -> None:  # type: ignore[no-untyped-def]
    for body in ({"name": "t", "segment_size": 2**63}, {"name": "t", "overlap": 2**70}):
        response = admin.post("/api/tasks", json={**body, "labels": [{"name": "a"}]})
        assert response.status_code == 400, response.text
        assert "out of range" in response.json()["detail"], response.text
    assert admin.get("/api/tasks").json()["count"] == 0


@pytest.mark.parametrize("odd", ["¹", "²³", "٣"])
def test_unicode_digits_in_a_path_are_not_a_server_error(admin, odd: str) -> None:  # type: ignore[no-untyped-def]
    # str.isdigit() admits superscripts that int() refuses; found by the schema fuzzer
    for method, path in [*PATHS, ("PATCH", "/api/tasks/backup/{id}")]:
        response = admin.request(method, path.format(id=odd), json={})
        assert response.status_code in (400, 404, 422), (method, path, odd, response.text)
