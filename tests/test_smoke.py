"""The server answers its public endpoint and a login on both databases."""


def test_about_is_public(app, admin) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    body = TestClient(app).get("/api/server/about").json()
    assert body["version"] == "2.80.0"
    assert set(body) >= {"name", "description", "version", "logo_url", "subtitle"}


def test_task_with_data(task_with_data, admin) -> None:  # type: ignore[no-untyped-def]
    task = task_with_data(frames=5, segment_size=2)
    assert task["size"] == 5
    jobs = admin.get("/api/jobs", params={"task_id": task["id"]}).json()
    assert [(j["start_frame"], j["stop_frame"]) for j in jobs["results"]] == [
        (0, 1),
        (2, 3),
        (4, 4),
    ]
