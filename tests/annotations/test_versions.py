"""Saving safely: If-Match versions, one id range across kinds, ETags."""

from __future__ import annotations


def _labels(admin, task_id: int) -> dict[str, dict]:  # type: ignore[no-untyped-def]
    results = admin.get("/api/labels", params={"task_id": task_id}).json()["results"]
    return {label["name"]: label for label in results}


def _job(admin, task_id: int) -> dict:  # type: ignore[no-untyped-def]
    return admin.get("/api/jobs", params={"task_id": task_id}).json()["results"][0]


def test_stale_save_is_refused_and_writes_nothing(admin, task_with_data) -> None:  # type: ignore[no-untyped-def]
    task = task_with_data()
    person = _labels(admin, task["id"])["person"]
    job = _job(admin, task["id"])
    url = f"/api/jobs/{job['id']}/annotations"
    first = admin.get(url)
    version = first.json()["version"]
    assert first.headers["ETag"] == f'"{version}"'
    box = {"type": "rectangle", "frame": 0, "label_id": person["id"], "points": [1, 2, 3, 4]}
    saved = admin.patch(
        url,
        params={"action": "create"},
        json={"shapes": [box]},
        headers={"If-Match": f'"{version}"'},
    )
    assert saved.status_code == 200, saved.text
    assert saved.json()["version"] == version + 1
    assert admin.get(f"/api/jobs/{job['id']}").json()["annotation_version"] == version + 1
    # A second session still holding the old version must not overwrite the newer work.
    stale = admin.put(url, json={"shapes": []}, headers={"If-Match": f'"{version}"'})
    assert stale.status_code == 412
    assert "reload" in stale.json()["detail"]
    after = admin.get(url).json()
    assert len(after["shapes"]) == 1 and after["version"] == version + 1


def test_ids_are_unique_across_tags_shapes_and_tracks(admin, task_with_data) -> None:  # type: ignore[no-untyped-def]
    task = task_with_data()
    labels = _labels(admin, task["id"])
    job = _job(admin, task["id"])
    url = f"/api/jobs/{job['id']}/annotations"
    box = {
        "type": "rectangle",
        "frame": 0,
        "label_id": labels["person"]["id"],
        "points": [1, 2, 3, 4],
    }
    payload = {
        "tags": [{"frame": 0, "label_id": labels["weather"]["id"]}],
        "shapes": [box, box],
        "tracks": [
            {
                "frame": 0,
                "label_id": labels["person"]["id"],
                "shapes": [{"type": "rectangle", "frame": 0, "points": [1, 2, 3, 4]}],
            }
        ],
    }
    assert admin.put(url, json=payload).status_code == 200
    assert admin.patch(url, params={"action": "create"}, json=payload).status_code == 200
    data = admin.get(url).json()
    ids = [o["id"] for kind in ("tags", "shapes", "tracks") for o in data[kind]]
    assert len(ids) == 8 and len(set(ids)) == 8
    # What cvat-sdk's remove_annotations(ids=[shape id]) sends: only that shape goes.
    victim = data["shapes"][0]
    response = admin.patch(url, params={"action": "delete"}, json={"shapes": [victim]})
    assert response.status_code == 200
    left = admin.get(url).json()
    assert len(left["tags"]) == 2 and len(left["tracks"]) == 2 and len(left["shapes"]) == 3
    assert victim["id"] not in {s["id"] for s in left["shapes"]}


def test_put_reply_carries_new_ids_and_elements(admin, task_with_data) -> None:  # type: ignore[no-untyped-def]
    task = task_with_data()
    labels = _labels(admin, task["id"])
    body = labels["body"]
    job = _job(admin, task["id"])
    url = f"/api/jobs/{job['id']}/annotations"
    skeleton = {
        "type": "skeleton",
        "frame": 1,
        "label_id": body["id"],
        "points": [],
        "elements": [
            {"type": "points", "label_id": sub["id"], "points": [5, 6]} for sub in body["sublabels"]
        ],
    }
    reply = admin.put(url, json={"shapes": [skeleton]}).json()
    stored = admin.get(url).json()
    assert reply["shapes"] == stored["shapes"]
    assert [e["label_id"] for e in reply["shapes"][0]["elements"]] == [
        s["id"] for s in body["sublabels"]
    ]


def test_cached_attribute_checks_keep_types_apart(admin, task_with_data) -> None:  # type: ignore[no-untyped-def]
    """True == 1 in Python; a checkbox must still refuse 1 after accepting true."""
    task = task_with_data()
    car = _labels(admin, task["id"])["car"]
    parked = next(a for a in car["attributes"] if a["name"] == "parked")
    job = _job(admin, task["id"])

    def box(value: object) -> dict:
        return {
            "type": "rectangle",
            "frame": 0,
            "label_id": car["id"],
            "points": [1, 2, 3, 4],
            "attributes": [{"spec_id": parked["id"], "value": value}],
        }

    response = admin.put(f"/api/jobs/{job['id']}/annotations", json={"shapes": [box(True), box(1)]})
    assert response.status_code == 400
    assert "shapes[1].attributes[0].value" in response.json()["detail"]


def test_restored_ids_keep_the_shared_range(admin, database, task_with_data) -> None:  # type: ignore[no-untyped-def]
    """After a snapshot restore loads rows with their ids, new objects of any kind get ids
    above every existing tag, shape and track (what the per-table sequence resets miss)."""
    from sqlalchemy import insert

    from labelvault.annotations.models import LabeledImage
    from labelvault.annotations.store import allocate_ids
    from labelvault.backups.dbdump import reset_sequences
    from labelvault.db import Base

    task = task_with_data()
    weather = _labels(admin, task["id"])["weather"]
    job = _job(admin, task["id"])
    with database.engine.begin() as conn:
        # A restored tag with a high id, as a snapshot of another instance would bring.
        conn.execute(
            insert(LabeledImage),
            [
                {
                    "id": 5000,
                    "job_id": job["id"],
                    "frame": 0,
                    "label_id": weather["id"],
                    "body": "{}",
                }
            ],
        )
        if not database.is_sqlite:  # SQLite reads the maxima at every allocation
            reset_sequences(conn, list(Base.metadata.sorted_tables))
        assert allocate_ids(conn, 1)[0] > 5000


def test_a_stale_update_of_a_deleted_object_is_412_not_400(admin, task_with_data) -> None:  # type: ignore[no-untyped-def]
    task = task_with_data()
    person = _labels(admin, task["id"])["person"]
    job = _job(admin, task["id"])
    url = f"/api/jobs/{job['id']}/annotations"
    box = {"type": "rectangle", "frame": 0, "label_id": person["id"], "points": [1, 2, 3, 4]}
    made = admin.patch(url, params={"action": "create"}, json={"shapes": [box]}).json()
    shape, version = made["shapes"][0], made["version"]
    # Client one deletes the box; client two, still at `version`, moves it and deletes it.
    gone = admin.put(url, json={"shapes": []}, headers={"If-Match": f'"{version}"'})
    assert gone.status_code == 200, gone.text
    for action in ("update", "delete"):
        stale = admin.patch(
            url,
            params={"action": action},
            json={"shapes": [{**shape, "points": [5, 6, 7, 8]}]},
            headers={"If-Match": f'"{version}"'},
        )
        assert stale.status_code == 412, (action, stale.text)
        assert "reload" in stale.json()["detail"]
    # Without If-Match the client asked for no check: the missing object is a plain 400.
    plain = admin.patch(url, params={"action": "update"}, json={"shapes": [shape]})
    assert plain.status_code == 400
