"""CVAT's `filter=` JSON logic and `field__lookup=` parameters on every list CVAT filters."""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import LABELS


def _ids(client: Any, path: str, **params: Any) -> list[int]:
    response = client.get(path, params={"page_size": 100, **params})
    assert response.status_code == 200, response.text
    return sorted(r["id"] for r in response.json()["results"])


def _refused(client: Any, path: str, **params: Any) -> str:
    response = client.get(path, params=params)
    assert response.status_code == 400, response.text
    return response.json()["detail"]


def test_filters_on_every_list(admin, make_user) -> None:  # type: ignore[no-untyped-def]
    projects = [
        admin.post("/api/projects", json={"name": n, "labels": LABELS}).json()["id"]
        for n in ("alpha", "beta", "gamma")
    ]
    tasks = [
        admin.post(
            "/api/tasks",
            json={"name": f"t{i}", "labels": [], "project_id": projects[i % 2], "subset": s},
        ).json()["id"]
        for i, s in enumerate(("train", "val", "train", ""))
    ]
    loose = admin.post("/api/tasks", json={"name": "loose", "labels": [{"name": "a"}]}).json()
    all_tasks = sorted([*tasks, loose["id"]])
    # The SDK's list(id__in=[...]) and F.name.contains(...), as it sends them.
    picked = [tasks[0], tasks[2]]
    in_filter = json.dumps({"in": [{"var": "id"}, picked]})
    assert _ids(admin, "/api/tasks", filter=in_filter) == sorted(picked)
    assert _ids(admin, "/api/tasks", id__in=",".join(map(str, picked))) == sorted(picked)
    contains = json.dumps({"in": ["oos", {"var": "name"}]})
    assert _ids(admin, "/api/tasks", filter=contains) == [loose["id"]]
    logic = {
        "and": [
            {"==": [{"var": "project_id"}, projects[0]]},
            {"!": {"==": [{"var": "subset"}, "train"]}},
        ]
    }
    assert _ids(admin, "/api/tasks", filter=json.dumps(logic)) == []
    either = {"or": [{"==": [{"var": "subset"}, "val"]}, {"==": [{"var": "project_id"}, None]}]}
    assert _ids(admin, "/api/tasks", filter=json.dumps(either)) == sorted([tasks[1], loose["id"]])
    between = json.dumps({"<=": [tasks[1], {"var": "id"}, tasks[3]]})
    assert _ids(admin, "/api/tasks", filter=between) == tasks[1:4]
    assert _ids(admin, "/api/tasks", id__gte=tasks[2]) == [tasks[2], tasks[3], loose["id"]]
    assert _ids(admin, "/api/tasks", filter=json.dumps({"var": "project_id"})) == tasks
    assert _ids(admin, "/api/tasks", project_id__isset="false") == [loose["id"]]
    owner = json.dumps({"==": [{"var": "owner"}, "admin"]})
    assert _ids(admin, "/api/tasks", filter=owner) == all_tasks
    status = json.dumps({"==": [{"var": "status"}, "annotation"]})
    assert _ids(admin, "/api/tasks", filter=status) == all_tasks
    later = json.dumps({">": [{"var": "updated_date"}, "2000-01-01T00:00:00Z"]})
    assert _ids(admin, "/api/tasks", filter=later) == all_tasks
    name_of = json.dumps({"==": [{"var": "project_name"}, "beta"]})
    assert _ids(admin, "/api/tasks", filter=name_of) == [tasks[1], tasks[3]]

    # Unknown terms, operations and lookups, bad JSON and bad values are 400s naming them.
    assert "'colour'" in _refused(admin, "/api/tasks", filter='{"==":[{"var":"colour"},1]}')
    assert "'xor'" in _refused(admin, "/api/tasks", filter='{"xor":[1,2]}')
    assert "parse" in _refused(admin, "/api/tasks", filter="{not json")
    assert "shouldn't be empty" in _refused(admin, "/api/tasks", filter="{}")
    assert "'colour'" in _refused(admin, "/api/tasks", colour__in="1,2")
    assert "'like'" in _refused(admin, "/api/tasks", id__like="1")
    assert "'x'" in _refused(admin, "/api/tasks", filter='{"==":[{"var":"id"},"x"]}')

    assert _ids(admin, "/api/projects", name__in="alpha,gamma") == [projects[0], projects[2]]
    assert "'subset'" in _refused(admin, "/api/projects", filter='{"==":[{"var":"subset"},1]}')

    jobs = _ids(admin, "/api/jobs", filter=json.dumps({"in": [{"var": "task_id"}, picked]}))
    assert jobs == []  # tasks without data have no jobs
    assert "'name'" in _refused(admin, "/api/jobs", filter='{"==":[{"var":"name"},"t0"]}')

    labels = admin.get("/api/labels", params={"project_id": projects[0]}).json()["results"]
    by_name = {lbl["name"]: lbl["id"] for lbl in labels}
    tag_filter = json.dumps({"==": [{"var": "type"}, "tag"]})
    params = {"project_id": projects[0], "filter": tag_filter}
    assert _ids(admin, "/api/labels", **params) == [by_name["weather"]]
    assert "'owner'" in _refused(admin, "/api/labels", filter='{"==":[{"var":"owner"},1]}')

    worker = make_user("filtered-worker", "worker")
    users = _ids(admin, "/api/users", filter=json.dumps({"==": [{"var": "username"}, "admin"]}))
    assert users == [admin.user_id]
    assert _ids(admin, "/api/users", id__in=str(worker.user_id)) == [worker.user_id]
    assert "'email'" in _refused(admin, "/api/users", filter='{"==":[{"var":"email"},"a"]}')

    assert _ids(admin, "/api/cloudstorages", filter='{"==":[{"var":"provider_type"},"X"]}') == []
    assert "'bucket'" in _refused(
        admin, "/api/cloudstorages", filter='{"==":[{"var":"bucket"},"a"]}'
    )

    response = admin.get("/api/requests", params={"filter": '{"==":[{"var":"action"},"export"]}'})
    assert response.status_code == 200 and response.json()["count"] == 0
    assert "'id'" in _refused(admin, "/api/requests", filter='{"==":[{"var":"id"},"a"]}')
