"""Tasks over the API: create, read (TaskRead fields), list filters, update, delete."""

from __future__ import annotations

from datetime import datetime

from tests.conftest import LABELS, upload_images


def _task(client, **fields) -> dict:  # type: ignore[no-untyped-def]
    spec = {"name": "t", "labels": [{"name": "car"}], **fields}
    response = client.post("/api/tasks", json=spec)
    assert response.status_code == 201, response.text
    return response.json()


def _project(client, name: str = "p") -> dict:  # type: ignore[no-untyped-def]
    response = client.post("/api/projects", json={"name": name, "labels": [{"name": "dog"}]})
    assert response.status_code == 201, response.text
    return response.json()


def test_create_with_own_labels(admin) -> None:  # type: ignore[no-untyped-def]
    task = _task(admin, name="  cars  ", labels=LABELS, bug_tracker="http://bt", subset="Train")
    assert task["name"] == "cars"
    assert task["project_id"] is None
    assert task["owner"]["username"] == "admin"
    assert task["bug_tracker"] == "http://bt"
    assert task["subset"] == "Train"
    labels = admin.get("/api/labels", params={"task_id": task["id"]}).json()["results"]
    assert sorted(lbl["name"] for lbl in labels) == sorted(lbl["name"] for lbl in LABELS)
    assert all(lbl["task_id"] == task["id"] and isinstance(lbl["id"], int) for lbl in labels)


def test_create_in_project_with_empty_labels(admin) -> None:  # type: ignore[no-untyped-def]
    project = _project(admin, "proj")
    task = _task(admin, labels=[], project_id=project["id"])
    assert task["project_id"] == project["id"]
    assert task["project_name"] == "proj"
    labels = admin.get("/api/labels", params={"task_id": task["id"]}).json()["results"]
    assert [lbl["name"] for lbl in labels] == ["dog"]


def test_create_without_labels_is_allowed(admin) -> None:  # type: ignore[no-untyped-def]
    # CVAT allows a task without labels; they can be added later by PATCH.
    for body in ({"name": "x"}, {"name": "y", "labels": []}):
        response = admin.post("/api/tasks", json=body)
        assert response.status_code == 201, response.text
    task_id = response.json()["id"]
    response = admin.patch(f"/api/tasks/{task_id}", json={"labels": [{"name": "car"}]})
    assert response.status_code == 200, response.text
    labels = admin.get("/api/labels", params={"task_id": task_id}).json()["results"]
    assert [lbl["name"] for lbl in labels] == ["car"]


def test_create_with_unknown_project_is_400(admin) -> None:  # type: ignore[no-untyped-def]
    response = admin.post("/api/tasks", json={"name": "x", "labels": [], "project_id": 9999})
    assert response.status_code == 400
    assert "9999" in response.text
    assert admin.get("/api/tasks").json()["count"] == 0


def test_create_needs_name(admin) -> None:  # type: ignore[no-untyped-def]
    response = admin.post("/api/tasks", json={"name": "   ", "labels": [{"name": "a"}]})
    assert response.status_code == 400
    assert admin.get("/api/tasks").json()["count"] == 0


STR, INT = str, int
NULL = type(None)
TASK_FIELDS = {
    "url": (STR,),
    "id": (INT,),
    "name": (STR,),
    "project_id": (INT, NULL),
    "project_name": (STR, NULL),
    "mode": (STR,),
    "owner": (dict, NULL),
    "assignee": (dict, NULL),
    "bug_tracker": (STR,),
    "created_date": (STR,),
    "updated_date": (STR,),
    "overlap": (INT, NULL),
    "segment_size": (INT,),
    "status": (STR,),
    "size": (INT,),
    "image_quality": (INT,),
    "data": (INT, NULL),
    "data_chunk_size": (INT, NULL),
    "data_original_chunk_type": (STR, NULL),
    "data_compressed_chunk_type": (STR, NULL),
    "data_cloud_storage_id": (INT, NULL),
    "guide_id": (INT, NULL),
    "dimension": (STR,),
    "media_type": (STR,),
    "subset": (STR,),
    "organization": (INT, NULL),
    "organization_id": (INT, NULL),
    "target_storage": (dict, NULL),
    "source_storage": (dict, NULL),
    "assignee_updated_date": (STR, NULL),
    "validation_mode": (STR, NULL),
    "initial_replicas": (INT,),
    "jobs": (dict,),
    "labels": (dict,),
}


def _check_task_read(task: dict) -> None:
    missing = set(TASK_FIELDS) - set(task)
    assert not missing, missing
    for key, types in TASK_FIELDS.items():
        value = task[key]
        # bool is an int subclass in Python; the SDK would reject it for an int field.
        assert type(value) in types, (key, value)
    for key in ("created_date", "updated_date"):
        datetime.fromisoformat(task[key])
    jobs = task["jobs"]
    for key in ("count", "completed", "validation"):
        assert type(jobs[key]) is int, (key, jobs)
    assert jobs["url"].startswith("http")
    assert task["labels"]["url"].startswith("http")
    assert task["url"].startswith("http")
    if task["owner"] is not None:
        assert isinstance(task["owner"]["username"], str)


def test_task_read_fields_before_and_after_data(admin, task_with_data) -> None:  # type: ignore[no-untyped-def]
    bare = _task(admin)
    _check_task_read(bare)
    assert bare["data"] is None
    assert bare["size"] == 0
    assert bare["mode"] == ""
    assert bare["jobs"]["count"] == 0
    assert bare["segment_size"] == 0
    assert bare["bug_tracker"] == ""
    fetched = admin.get(f"/api/tasks/{bare['id']}").json()
    _check_task_read(fetched)

    task = task_with_data(frames=4, segment_size=2)
    _check_task_read(task)
    assert task["size"] == 4
    assert task["mode"] == "annotation"
    assert task["media_type"] == "image"
    assert task["data_original_chunk_type"] == "imageset"
    assert task["data_chunk_size"] >= 1
    assert task["jobs"]["count"] == 2
    assert task["jobs"]["completed"] == 0
    assert task["dimension"] == "2d"
    listed = admin.get("/api/tasks").json()["results"]
    for item in listed:
        _check_task_read(item)


def test_list_paging(admin) -> None:  # type: ignore[no-untyped-def]
    ids = [_task(admin, name=f"t{i}")["id"] for i in range(5)]
    page1 = admin.get("/api/tasks", params={"page_size": 2}).json()
    assert page1["count"] == 5
    assert page1["previous"] is None and page1["next"]
    seen = []
    page = 1
    while True:
        body = admin.get("/api/tasks", params={"page": page, "page_size": 2}).json()
        seen += [t["id"] for t in body["results"]]
        if not body["next"]:
            break
        page += 1
    assert page == 3
    assert sorted(seen) == sorted(ids)
    assert len(seen) == 5


def test_list_filters(admin, make_user) -> None:  # type: ignore[no-untyped-def]
    bob = make_user("bob")
    project = _project(admin, "zoo")
    a = _task(admin, name="alpha cats")
    b = _task(admin, name="beta dogs", labels=[], project_id=project["id"])
    c = _task(bob, name="gamma birds")

    def ids(**params) -> set[int]:  # type: ignore[no-untyped-def]
        response = admin.get("/api/tasks", params=params)
        assert response.status_code == 200, response.text
        return {t["id"] for t in response.json()["results"]}

    assert ids() == {a["id"], b["id"], c["id"]}
    assert ids(name="beta") == {b["id"]}
    assert ids(project_id=project["id"]) == {b["id"]}
    assert ids(owner="bob") == {c["id"]}
    assert ids(search="bob") == {c["id"]}
    assert ids(search="cats") == {a["id"]}
    assert ids(status="annotation") == {a["id"], b["id"], c["id"]}
    assert ids(status="completed") == set()
    names = [t["name"] for t in admin.get("/api/tasks", params={"sort": "name"}).json()["results"]]
    assert names == sorted(names)
    names = [t["name"] for t in admin.get("/api/tasks", params={"sort": "-name"}).json()["results"]]
    assert names == sorted(names, reverse=True)
    assert admin.get("/api/tasks", params={"sort": "nonsense"}).status_code == 400
    assert admin.get("/api/tasks", params={"status": "bogus"}).status_code == 400
    # bob sees only his own task
    assert {t["id"] for t in bob.get("/api/tasks").json()["results"]} == {c["id"]}


def test_status_filter_follows_jobs(admin, task_with_data) -> None:  # type: ignore[no-untyped-def]
    done = task_with_data(frames=2)
    busy = task_with_data(frames=2)
    job = admin.get("/api/jobs", params={"task_id": done["id"]}).json()["results"][0]
    response = admin.patch(
        f"/api/jobs/{job['id']}", json={"stage": "acceptance", "state": "completed"}
    )
    assert response.status_code == 200, response.text
    completed = admin.get("/api/tasks", params={"status": "completed"}).json()["results"]
    assert [t["id"] for t in completed] == [done["id"]]
    assert completed[0]["status"] == "completed"
    assert completed[0]["jobs"]["completed"] == 1
    annotating = admin.get("/api/tasks", params={"status": "annotation"}).json()["results"]
    assert [t["id"] for t in annotating] == [busy["id"]]


def test_patch_name_assignee_subset(admin, make_user) -> None:  # type: ignore[no-untyped-def]
    bob = make_user("bob")
    task = _task(admin)
    response = admin.patch(
        f"/api/tasks/{task['id']}",
        json={"name": "renamed", "assignee_id": bob.user_id, "subset": "Validation"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["name"] == "renamed"
    assert body["assignee"]["username"] == "bob"
    assert body["assignee_updated_date"] is not None
    assert body["subset"] == "Validation"
    again = admin.get(f"/api/tasks/{task['id']}").json()
    assert (again["name"], again["assignee"]["id"], again["subset"]) == (
        "renamed",
        bob.user_id,
        "Validation",
    )
    # unassign
    body = admin.patch(f"/api/tasks/{task['id']}", json={"assignee_id": None}).json()
    assert body["assignee"] is None
    # bad assignee → 400 and unchanged
    response = admin.patch(f"/api/tasks/{task['id']}", json={"assignee_id": 424242})
    assert response.status_code == 400
    assert admin.get(f"/api/tasks/{task['id']}").json()["assignee"] is None
    # empty name → 400 and unchanged
    assert admin.patch(f"/api/tasks/{task['id']}", json={"name": " "}).status_code == 400
    assert admin.get(f"/api/tasks/{task['id']}").json()["name"] == "renamed"


def test_delete_removes_media_and_jobs(app, admin, task_with_data) -> None:  # type: ignore[no-untyped-def]
    task = task_with_data(frames=3, segment_size=1)
    media = app.state.settings.media_dir / "tasks" / str(task["id"])
    assert media.is_dir() and any(media.rglob("*.png"))
    job_ids = [
        j["id"] for j in admin.get("/api/jobs", params={"task_id": task["id"]}).json()["results"]
    ]
    assert len(job_ids) == 3
    response = admin.delete(f"/api/tasks/{task['id']}")
    assert response.status_code == 204
    assert not media.exists()
    assert admin.get(f"/api/tasks/{task['id']}").status_code == 404
    for job_id in job_ids:
        assert admin.get(f"/api/jobs/{job_id}").status_code == 404
    assert admin.get("/api/jobs", params={"task_id": task["id"]}).json()["count"] == 0
    assert admin.delete(f"/api/tasks/{task['id']}").status_code == 404


def test_other_user_cannot_see_or_delete(admin, make_user) -> None:  # type: ignore[no-untyped-def]
    bob = make_user("bob")
    task = _task(admin)
    assert bob.get(f"/api/tasks/{task['id']}").status_code == 404
    assert bob.delete(f"/api/tasks/{task['id']}").status_code == 404
    assert bob.patch(f"/api/tasks/{task['id']}", json={"name": "x"}).status_code == 404
    assert admin.get(f"/api/tasks/{task['id']}").json()["name"] == "t"


def test_slash_and_no_slash_routes(admin) -> None:  # type: ignore[no-untyped-def]
    for path in ("/api/tasks", "/api/tasks/"):
        response = admin.post(
            path, json={"name": "s", "labels": [{"name": "a"}]}, follow_redirects=False
        )
        assert response.status_code == 201, (path, response.status_code)
    task_id = response.json()["id"]
    for path in (f"/api/tasks/{task_id}", f"/api/tasks/{task_id}/"):
        assert admin.get(path, follow_redirects=False).status_code == 200
        response = admin.patch(path, json={"name": "n"}, follow_redirects=False)
        assert response.status_code == 200
    for path in ("/api/tasks", "/api/tasks/", "/api/jobs", "/api/jobs/"):
        assert admin.get(path, follow_redirects=False).status_code == 200, path
    for path in (f"/api/tasks/{task_id}/data/", f"/api/tasks/{task_id}/data"):
        response = admin.post(path, headers={"Upload-Start": ""}, follow_redirects=False)
        assert response.status_code == 202, path
    status = upload_images(admin, task_id, 2)
    assert status["status"] == "finished"
    for path in (f"/api/tasks/{task_id}/data/meta", f"/api/tasks/{task_id}/data/meta/"):
        assert admin.get(path, follow_redirects=False).status_code == 200, path
    for path in (f"/api/tasks/{task_id}/annotations", f"/api/tasks/{task_id}/annotations/"):
        assert admin.get(path, follow_redirects=False).status_code == 200, path
    assert admin.delete(f"/api/tasks/{task_id}/", follow_redirects=False).status_code == 204


def test_jobs_read_and_update(admin, make_user, task_with_data) -> None:  # type: ignore[no-untyped-def]
    bob = make_user("bob")
    task = task_with_data(frames=3, segment_size=2)
    jobs = admin.get("/api/jobs", params={"task_id": task["id"], "org": ""}).json()
    assert jobs["count"] == 2
    job = jobs["results"][0]
    for key in ("issues", "labels", "frame_count", "start_frame", "stop_frame", "task_id"):
        assert key in job
    assert job["frame_count"] == 2
    response = admin.patch(f"/api/jobs/{job['id']}", json={"assignee": bob.user_id})
    assert response.status_code == 200
    assert response.json()["assignee"]["username"] == "bob"
    assert bob.get(f"/api/jobs/{job['id']}").status_code == 200
    # bob (assignee) may set state but not stage
    assert bob.patch(f"/api/jobs/{job['id']}", json={"state": "in progress"}).status_code == 200
    assert bob.patch(f"/api/jobs/{job['id']}", json={"stage": "acceptance"}).status_code == 403
    assert admin.get(f"/api/jobs/{job['id']}").json()["stage"] == "annotation"
    assert admin.patch(f"/api/jobs/{job['id']}", json={"stage": "nope"}).status_code == 400
