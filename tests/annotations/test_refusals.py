"""A refused save names each refused object in a structured body, and writes nothing."""

from __future__ import annotations


def _labels(admin, task_id: int) -> dict[str, dict]:  # type: ignore[no-untyped-def]
    results = admin.get("/api/labels", params={"task_id": task_id}).json()["results"]
    return {label["name"]: label for label in results}


def _job_url(admin, task_id: int) -> str:  # type: ignore[no-untyped-def]
    job = admin.get("/api/jobs", params={"task_id": task_id}).json()["results"][0]
    return f"/api/jobs/{job['id']}/annotations"


def test_each_refused_object_is_listed_and_nothing_is_written(admin, task_with_data) -> None:  # type: ignore[no-untyped-def]
    task = task_with_data()
    labels = _labels(admin, task["id"])
    url = _job_url(admin, task["id"])
    person, weather = labels["person"]["id"], labels["weather"]["id"]
    box = {"type": "rectangle", "frame": 0, "label_id": person, "points": [1, 2, 3, 4]}
    payload = {
        "tags": [
            {"frame": 0, "label_id": weather, "client_id": "t-ok"},
            {"frame": 0, "label_id": person, "client_id": 7},
        ],
        "shapes": [
            dict(box, client_id="a"),
            dict(box, frame=99, client_id="b"),
            dict(box),
            dict(box, label_id=424242, id=55),
        ],
        "tracks": [{"frame": 0, "label_id": person, "shapes": [], "client_id": "tr"}],
    }
    before = admin.get(url).json()
    reply = admin.put(url, json=payload)
    assert reply.status_code == 400, reply.text
    body = reply.json()
    assert body["detail"].startswith("Annotations were not saved: ")
    errors = body["errors"]
    assert [(e["kind"], e["index"]) for e in errors] == [
        ("tags", 1),
        ("shapes", 1),
        ("shapes", 3),
        ("tracks", 0),
    ]
    tag, far, unknown, track = errors
    assert tag["client_id"] == 7 and tag["id"] is None and tag["field"] == "label_id"
    # A tag refused for its label says which labels can be tags.
    assert "'weather'" in tag["reason"] and "'person'" not in tag["reason"].split("(")[1]
    assert far == {
        "kind": "shapes",
        "index": 1,
        "id": None,
        "client_id": "b",
        "field": "frame",
        "reason": far["reason"],
    }
    assert "frame 99" in far["reason"]
    assert unknown["id"] == 55 and unknown["client_id"] is None
    assert unknown["field"] == "label_id"
    assert track["client_id"] == "tr" and track["field"] == "shapes"
    # The joined text is the same lines, in the same order.
    lines = [f"{e['kind']}[{e['index']}].{e['field']}: {e['reason']}" for e in errors]
    assert body["detail"] == "Annotations were not saved: " + "; ".join(lines)
    after = admin.get(url).json()
    assert after["shapes"] == before["shapes"] and after["tags"] == before["tags"]
    assert after["version"] == before["version"]


def test_client_id_is_accepted_but_not_stored(admin, task_with_data) -> None:  # type: ignore[no-untyped-def]
    task = task_with_data()
    person = _labels(admin, task["id"])["person"]["id"]
    url = _job_url(admin, task["id"])
    box = {"type": "rectangle", "frame": 0, "label_id": person, "points": [1, 2, 3, 4]}
    saved = admin.put(url, json={"shapes": [dict(box, client_id="c1")]})
    assert saved.status_code == 200, saved.text
    assert "client_id" not in saved.json()["shapes"][0]
    assert "client_id" not in admin.get(url).json()["shapes"][0]


def test_patch_refusals_name_missing_ids(admin, task_with_data) -> None:  # type: ignore[no-untyped-def]
    task = task_with_data()
    url = _job_url(admin, task["id"])
    reply = admin.patch(
        url,
        params={"action": "delete"},
        json={"shapes": [{"id": 987654, "client_id": "x"}, {"client_id": "y"}]},
    )
    assert reply.status_code == 400, reply.text
    errors = reply.json()["errors"]
    assert {(e["index"], e["id"], e["client_id"], e["field"]) for e in errors} == {
        (0, 987654, "x", "id"),
        (1, None, "y", "id"),
    }


def test_a_bad_body_is_one_refusal_without_an_object(admin, task_with_data) -> None:  # type: ignore[no-untyped-def]
    task = task_with_data()
    url = _job_url(admin, task["id"])
    reply = admin.put(url, content=b"{not json", headers={"Content-Type": "application/json"})
    assert reply.status_code == 400
    (error,) = reply.json()["errors"]
    assert error["kind"] is None and error["index"] is None and error["field"] == "body"
