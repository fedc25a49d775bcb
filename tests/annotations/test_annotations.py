"""Annotations over the API: every object type, defaults, versions, PATCH actions, task
splitting across jobs, and validation that rejects a payload without writing any of it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest


@dataclass
class Setup:
    task_id: int
    jobs: list[dict]  # sorted by start_frame
    labels: dict[str, int]  # name → id; sublabels as "body.head"
    attrs: dict[str, int]  # "car.color" → spec id


@pytest.fixture
def setup(admin, task_with_data) -> Callable[..., Setup]:  # type: ignore[no-untyped-def]
    def _make(frames: int = 3, **fields) -> Setup:  # type: ignore[no-untyped-def]
        task = task_with_data(frames=frames, **fields)
        jobs = admin.get("/api/jobs", params={"task_id": task["id"]}).json()["results"]
        labels: dict[str, int] = {}
        attrs: dict[str, int] = {}
        for label in admin.get("/api/labels", params={"task_id": task["id"]}).json()["results"]:
            labels[label["name"]] = label["id"]
            for attr in label["attributes"]:
                attrs[f"{label['name']}.{attr['name']}"] = attr["id"]
            for sub in label["sublabels"]:
                labels[f"{label['name']}.{sub['name']}"] = sub["id"]
        return Setup(task["id"], sorted(jobs, key=lambda j: j["start_frame"]), labels, attrs)

    return _make


def _url(job: dict) -> str:
    return f"/api/jobs/{job['id']}/annotations/"


def _get(client, url: str) -> dict:  # type: ignore[no-untyped-def]
    response = client.get(url)
    assert response.status_code == 200, response.text
    return response.json()


def _put(client, url: str, data: dict) -> dict:  # type: ignore[no-untyped-def]
    response = client.put(url, json={"version": 0, "tags": [], "shapes": [], "tracks": [], **data})
    assert response.status_code == 200, response.text
    return response.json()


def _strip(obj):  # type: ignore[no-untyped-def]
    """An object without server ids, for comparing what was sent with what came back."""
    if isinstance(obj, dict):
        return {k: _strip(v) for k, v in obj.items() if k != "id"}
    if isinstance(obj, list):
        return [_strip(v) for v in obj]
    return obj


def _all_shapes(s: Setup) -> list[dict]:
    car, person, body = s.labels["car"], s.labels["person"], s.labels["body"]
    return [
        {"type": "rectangle", "frame": 0, "label_id": person, "points": [1, 2, 30, 40]},
        {"type": "polygon", "frame": 1, "label_id": car, "points": [0, 0, 10, 0, 10, 10]},
        {"type": "polyline", "frame": 1, "label_id": car, "points": [0, 0, 5, 5]},
        {"type": "points", "frame": 2, "label_id": car, "points": [3, 4]},
        {"type": "ellipse", "frame": 0, "label_id": car, "points": [10, 10, 15, 5]},
        {"type": "cuboid", "frame": 0, "label_id": car, "points": [float(i) for i in range(16)]},
        {
            "type": "mask",
            "frame": 2,
            "label_id": car,
            "points": [0, 2, 2, 0, 10, 10, 11, 11],
        },
        {
            "type": "skeleton",
            "frame": 1,
            "label_id": body,
            "points": [],
            "elements": [
                {"type": "points", "frame": 1, "label_id": s.labels["body.head"], "points": [1, 1]},
                {
                    "type": "points",
                    "frame": 1,
                    "label_id": s.labels["body.foot"],
                    "points": [2, 8],
                    "outside": True,
                },
            ],
        },
    ]


def test_put_get_round_trip_of_every_type(admin, setup) -> None:  # type: ignore[no-untyped-def]
    s = setup(frames=3)
    job = s.jobs[0]
    attrs = [
        {"spec_id": s.attrs["car.color"], "value": "blue"},
        {"spec_id": s.attrs["car.parked"], "value": "true"},
        {"spec_id": s.attrs["car.speed"], "value": "42"},
    ]
    shapes = _all_shapes(s)
    shapes[1]["attributes"] = attrs
    tags = [{"frame": 2, "label_id": s.labels["weather"]}]
    tracks = [
        {
            "frame": 0,
            "label_id": s.labels["car"],
            "attributes": [{"spec_id": s.attrs["car.color"], "value": "red"}],
            "shapes": [
                {"type": "rectangle", "frame": 0, "points": [0, 0, 5, 5]},
                {
                    "type": "rectangle",
                    "frame": 2,
                    "points": [1, 1, 6, 6],
                    "outside": True,
                    "attributes": [{"spec_id": s.attrs["car.speed"], "value": "7"}],
                },
            ],
        }
    ]
    before = _get(admin, _url(job))["version"]
    _put(admin, _url(job), {"shapes": shapes, "tags": tags, "tracks": tracks})
    got = _get(admin, _url(job))
    assert got["version"] == before + 1
    assert len(got["shapes"]) == len(shapes)
    ids = [x["id"] for x in got["shapes"] + got["tags"] + got["tracks"]]
    assert all(isinstance(i, int) for i in ids) and len(set(ids) & {None}) == 0
    for sent, back in zip(shapes, got["shapes"], strict=True):
        assert back["type"] == sent["type"]
        assert back["frame"] == sent["frame"]
        assert back["label_id"] == sent["label_id"]
        assert back["points"] == [float(p) for p in sent["points"]]
        # defaults filled
        assert back["occluded"] is False
        assert back["z_order"] == 0
        assert back["source"] == "manual"
        assert back["group"] == 0
        assert back["score"] == 1
        assert back["rotation"] == 0
        assert back["outside"] is False
    assert {(a["spec_id"], a["value"]) for a in got["shapes"][1]["attributes"]} == {
        (a["spec_id"], a["value"]) for a in attrs
    }
    skeleton = got["shapes"][-1]
    assert [(e["label_id"], e["points"], e["outside"]) for e in skeleton["elements"]] == [
        (s.labels["body.head"], [1.0, 1.0], False),
        (s.labels["body.foot"], [2.0, 8.0], True),
    ]
    assert all(isinstance(e["id"], int) for e in skeleton["elements"])
    assert [(t["frame"], t["label_id"], t["source"], t["group"]) for t in got["tags"]] == [
        (2, s.labels["weather"], "manual", 0)
    ]
    track = got["tracks"][0]
    assert [(k["frame"], k["points"], k["outside"]) for k in track["shapes"]] == [
        (0, [0.0, 0.0, 5.0, 5.0], False),
        (2, [1.0, 1.0, 6.0, 6.0], True),
    ]
    assert track["shapes"][1]["attributes"] == [{"spec_id": s.attrs["car.speed"], "value": "7"}]
    assert track["attributes"] == [{"spec_id": s.attrs["car.color"], "value": "red"}]
    assert all(isinstance(k["id"], int) for k in track["shapes"])
    # a second PUT of what we read back is idempotent in content and bumps the version
    again = _put(admin, _url(job), got)
    assert again["version"] == got["version"] + 1
    assert _strip(_get(admin, _url(job))["shapes"]) == _strip(got["shapes"])


def test_put_accepts_floats_for_ints_and_keeps_given_fields(admin, setup) -> None:  # type: ignore[no-untyped-def]
    s = setup(frames=2)
    shape = {
        "type": "rectangle",
        "frame": 1.0,
        "label_id": float(s.labels["person"]),
        "points": [1.0, 2.0, 3.0, 4.0],
        "z_order": 2.0,
        "group": 3.0,
        "occluded": True,
        "rotation": 45.5,
        "score": 0.5,
        "source": "auto",
    }
    tag = {
        "frame": 0.0,
        "label_id": float(s.labels["car"]),
        "attributes": [{"spec_id": float(s.attrs["car.speed"]), "value": "3"}],
    }
    _put(admin, _url(s.jobs[0]), {"shapes": [shape], "tags": [tag], "version": 0.0})
    back = _get(admin, _url(s.jobs[0]))
    got = back["shapes"][0]
    assert (got["frame"], got["label_id"], got["z_order"], got["group"]) == (
        1,
        s.labels["person"],
        2,
        3,
    )
    assert type(got["frame"]) is int and type(got["z_order"]) is int
    assert (got["occluded"], got["rotation"], got["score"], got["source"]) == (
        True,
        45.5,
        0.5,
        "auto",
    )
    assert back["tags"][0]["attributes"] == [{"spec_id": s.attrs["car.speed"], "value": "3"}]


def test_version_increments_on_every_write(admin, setup) -> None:  # type: ignore[no-untyped-def]
    s = setup(frames=2)
    url = _url(s.jobs[0])
    versions = [_get(admin, url)["version"]]
    rect = {"type": "rectangle", "frame": 0, "label_id": s.labels["person"], "points": [0, 0, 1, 1]}
    _put(admin, url, {"shapes": [rect]})
    versions.append(_get(admin, url)["version"])
    created = admin.patch(url + "?action=create", json={"shapes": [rect]}).json()
    versions.append(_get(admin, url)["version"])
    admin.patch(url + "?action=delete", json={"shapes": created["shapes"]})
    versions.append(_get(admin, url)["version"])
    assert admin.delete(url).status_code == 204
    versions.append(_get(admin, url)["version"])
    assert versions == list(range(versions[0], versions[0] + 5))
    # a rejected write does not bump it
    bad = admin.put(url, json={"shapes": [{**rect, "points": [1]}]})
    assert bad.status_code == 400
    assert _get(admin, url)["version"] == versions[-1]


def test_patch_create_update_delete(admin, setup) -> None:  # type: ignore[no-untyped-def]
    s = setup(frames=3)
    url = _url(s.jobs[0])
    person, car = s.labels["person"], s.labels["car"]
    _put(
        admin,
        url,
        {"shapes": [{"type": "rectangle", "frame": 0, "label_id": person, "points": [0, 0, 1, 1]}]},
    )
    existing = _get(admin, url)["shapes"][0]
    response = admin.patch(
        url + "?action=create",
        json={
            "shapes": [
                {"type": "points", "frame": 1, "label_id": car, "points": [5, 5]},
                _all_shapes(s)[-1],
            ],
            "tags": [{"frame": 0, "label_id": s.labels["weather"]}],
        },
    )
    assert response.status_code == 200, response.text
    created = response.json()
    assert len(created["shapes"]) == 2 and len(created["tags"]) == 1
    assert all(isinstance(x["id"], int) for x in created["shapes"] + created["tags"])
    assert existing["id"] not in {x["id"] for x in created["shapes"]}
    assert len(created["shapes"][1]["elements"]) == 2
    state = _get(admin, url)
    assert len(state["shapes"]) == 3 and len(state["tags"]) == 1

    # update replaces an object whole, keeping its id
    skeleton = created["shapes"][1]
    changed = {
        **skeleton,
        "frame": 2,
        "elements": [{**skeleton["elements"][0], "points": [9, 9], "frame": 2}],
    }
    moved = {**existing, "points": [2, 2, 8, 8], "occluded": True}
    response = admin.patch(url + "?action=update", json={"shapes": [moved, changed]})
    assert response.status_code == 200, response.text
    state = _get(admin, url)
    by_id = {x["id"]: x for x in state["shapes"]}
    assert set(by_id) == {existing["id"], skeleton["id"], created["shapes"][0]["id"]}
    assert by_id[existing["id"]]["points"] == [2.0, 2.0, 8.0, 8.0]
    assert by_id[existing["id"]]["occluded"] is True
    assert by_id[skeleton["id"]]["frame"] == 2
    assert [e["points"] for e in by_id[skeleton["id"]]["elements"]] == [[9.0, 9.0]]

    # delete with full objects, as the SDK's remove_annotations(ids=...) sends them
    response = admin.patch(
        url + "?action=delete", json={"shapes": [by_id[skeleton["id"]]], "tags": state["tags"]}
    )
    assert response.status_code == 200, response.text
    assert isinstance(response.json(), dict)
    state = _get(admin, url)
    assert {x["id"] for x in state["shapes"]} == {existing["id"], created["shapes"][0]["id"]}
    assert state["tags"] == []


def test_patch_tracks_update_and_delete(admin, setup) -> None:  # type: ignore[no-untyped-def]
    s = setup(frames=3)
    url = _url(s.jobs[0])
    track = {
        "frame": 0,
        "label_id": s.labels["person"],
        "shapes": [
            {"type": "rectangle", "frame": 0, "points": [0, 0, 1, 1]},
            {"type": "rectangle", "frame": 1, "points": [0, 0, 2, 2]},
        ],
    }
    created = admin.patch(url + "?action=create", json={"tracks": [track]}).json()["tracks"][0]
    updated = {**created, "shapes": [{**created["shapes"][0], "points": [5, 5, 6, 6]}]}
    assert admin.patch(url + "?action=update", json={"tracks": [updated]}).status_code == 200
    state = _get(admin, url)
    assert [t["id"] for t in state["tracks"]] == [created["id"]]
    assert [k["points"] for k in state["tracks"][0]["shapes"]] == [[5.0, 5.0, 6.0, 6.0]]
    assert admin.patch(url + "?action=delete", json={"tracks": state["tracks"]}).status_code == 200
    assert _get(admin, url)["tracks"] == []


def test_delete_clears(admin, setup) -> None:  # type: ignore[no-untyped-def]
    s = setup(frames=3)
    url = _url(s.jobs[0])
    _put(
        admin,
        url,
        {"shapes": _all_shapes(s), "tags": [{"frame": 0, "label_id": s.labels["weather"]}]},
    )
    assert admin.delete(url).status_code == 204
    state = _get(admin, url)
    assert (state["shapes"], state["tags"], state["tracks"]) == ([], [], [])


def test_task_level_splits_objects_into_jobs(admin, setup) -> None:  # type: ignore[no-untyped-def]
    s = setup(frames=5, segment_size=2)  # jobs: 0-1, 2-3, 4
    assert [(j["start_frame"], j["stop_frame"]) for j in s.jobs] == [(0, 1), (2, 3), (4, 4)]
    task_url = f"/api/tasks/{s.task_id}/annotations/"
    person = s.labels["person"]
    shapes = [
        {"type": "rectangle", "frame": f, "label_id": person, "points": [f, 0, f + 1, 1]}
        for f in range(5)
    ]
    response = admin.put(
        task_url, json={"shapes": shapes, "tags": [{"frame": 3, "label_id": s.labels["weather"]}]}
    )
    assert response.status_code == 200, response.text
    frames_of = [sorted(x["frame"] for x in _get(admin, _url(j))["shapes"]) for j in s.jobs]
    assert frames_of == [[0, 1], [2, 3], [4]]
    assert [len(_get(admin, _url(j))["tags"]) for j in s.jobs] == [0, 1, 0]
    whole = _get(admin, task_url)
    assert sorted(x["frame"] for x in whole["shapes"]) == [0, 1, 2, 3, 4]

    # task PATCH returns a JSON object and also lands in the right job
    response = admin.patch(
        task_url + "?action=create",
        json={
            "shapes": [
                {"type": "points", "frame": 4, "label_id": s.labels["car"], "points": [1, 1]}
            ]
        },
    )
    assert response.status_code == 200
    body = response.json()
    assert isinstance(body, dict) and len(body["shapes"]) == 1
    assert len(_get(admin, _url(s.jobs[2]))["shapes"]) == 2
    # task PATCH delete also answers with an object
    response = admin.patch(task_url + "?action=delete", json={"shapes": body["shapes"]})
    assert response.status_code == 200 and isinstance(response.json(), dict)
    assert len(_get(admin, _url(s.jobs[2]))["shapes"]) == 1
    # a job PUT only touches its own job
    _put(admin, _url(s.jobs[0]), {})
    assert sorted(x["frame"] for x in _get(admin, task_url)["shapes"]) == [2, 3, 4]
    # task DELETE clears every job
    assert admin.delete(task_url).status_code == 204
    assert _get(admin, task_url)["shapes"] == []


def test_job_cannot_update_objects_of_another_job(admin, setup) -> None:  # type: ignore[no-untyped-def]
    s = setup(frames=4, segment_size=2)
    rect = {"type": "rectangle", "frame": 2, "label_id": s.labels["person"], "points": [0, 0, 1, 1]}
    other = admin.patch(_url(s.jobs[1]) + "?action=create", json={"shapes": [rect]}).json()
    shape = other["shapes"][0]
    response = admin.patch(_url(s.jobs[0]) + "?action=delete", json={"shapes": [shape]})
    assert response.status_code == 400
    assert len(_get(admin, _url(s.jobs[1]))["shapes"]) == 1


# ---- validation ----------------------------------------------------------------------------


def _rect(s: Setup, **over) -> dict:  # type: ignore[no-untyped-def]
    return {
        "type": "rectangle",
        "frame": 0,
        "label_id": s.labels["car"],
        "points": [0, 0, 1, 1],
        **over,
    }


BAD_PAYLOADS: dict[str, Callable[[Setup], tuple[dict, str]]] = {
    "rectangle-3-points": lambda s: ({"shapes": [_rect(s, points=[0, 0, 1])]}, "shapes[0].points"),
    "rectangle-6-points": lambda s: ({"shapes": [_rect(s, points=[0] * 6)]}, "shapes[0].points"),
    "polygon-4-points": lambda s: (
        {"shapes": [_rect(s), _rect(s, type="polygon", points=[0, 0, 1, 1])]},
        "shapes[1].points",
    ),
    "polygon-odd": lambda s: (
        {"shapes": [_rect(s, type="polygon", points=[0] * 7)]},
        "shapes[0].points",
    ),
    "polyline-2": lambda s: (
        {"shapes": [_rect(s, type="polyline", points=[0, 0])]},
        "shapes[0].points",
    ),
    "points-empty": lambda s: (
        {"shapes": [_rect(s, type="points", points=[])]},
        "shapes[0].points",
    ),
    "cuboid-8": lambda s: (
        {"shapes": [_rect(s, type="cuboid", points=[0] * 8)]},
        "shapes[0].points",
    ),
    "ellipse-2": lambda s: (
        {"shapes": [_rect(s, type="ellipse", points=[0, 0])]},
        "shapes[0].points",
    ),
    "mask-4": lambda s: (
        {"shapes": [_rect(s, type="mask", points=[0, 0, 1, 1])]},
        "shapes[0].points",
    ),
    "unknown-type": lambda s: ({"shapes": [_rect(s, type="circle")]}, "shapes[0].type"),
    "label-not-in-task": lambda s: ({"shapes": [_rect(s, label_id=99999)]}, "shapes[0].label_id"),
    "sublabel-top-level": lambda s: (
        {"shapes": [_rect(s, type="points", points=[1, 1], label_id=s.labels["body.head"])]},
        "shapes[0].label_id",
    ),
    "tag-with-rectangle-label": lambda s: (
        {"tags": [{"frame": 0, "label_id": s.labels["person"]}]},
        "tags[0].label_id",
    ),
    "rectangle-with-tag-label": lambda s: (
        {"shapes": [_rect(s, label_id=s.labels["weather"])]},
        "shapes[0].type",
    ),
    "polygon-with-rectangle-label": lambda s: (
        {"shapes": [_rect(s, type="polygon", points=[0] * 6, label_id=s.labels["person"])]},
        "shapes[0].type",
    ),
    "foreign-attribute": lambda s: (
        {
            "shapes": [
                _rect(
                    s,
                    label_id=s.labels["person"],
                    attributes=[{"spec_id": s.attrs["car.color"], "value": "red"}],
                )
            ]
        },
        "shapes[0].attributes[0].spec_id",
    ),
    "select-value": lambda s: (
        {"shapes": [_rect(s, attributes=[{"spec_id": s.attrs["car.color"], "value": "green"}])]},
        "shapes[0].attributes[0].value",
    ),
    "number-range": lambda s: (
        {"shapes": [_rect(s, attributes=[{"spec_id": s.attrs["car.speed"], "value": "101"}])]},
        "shapes[0].attributes[0].value",
    ),
    "number-not-number": lambda s: (
        {"shapes": [_rect(s, attributes=[{"spec_id": s.attrs["car.speed"], "value": "fast"}])]},
        "shapes[0].attributes[0].value",
    ),
    "checkbox-value": lambda s: (
        {"shapes": [_rect(s, attributes=[{"spec_id": s.attrs["car.parked"], "value": "yes"}])]},
        "shapes[0].attributes[0].value",
    ),
    "frame-outside-job": lambda s: ({"shapes": [_rect(s, frame=2)]}, "shapes[0].frame"),
    "tag-frame-outside-job": lambda s: (
        {"tags": [{"frame": 50, "label_id": s.labels["weather"]}]},
        "tags[0].frame",
    ),
    "track-keyframe-outside": lambda s: (
        {
            "tracks": [
                {
                    "frame": 0,
                    "label_id": s.labels["car"],
                    "shapes": [{"type": "rectangle", "frame": 3, "points": [0, 0, 1, 1]}],
                }
            ]
        },
        "tracks[0].shapes[0].frame",
    ),
    "rotation-over-360": lambda s: ({"shapes": [_rect(s, rotation=361)]}, "shapes[0].rotation"),
    "score-over-1": lambda s: ({"shapes": [_rect(s, score=1.5)]}, "shapes[0].score"),
    "negative-frame": lambda s: ({"shapes": [_rect(s, frame=-1)]}, "shapes[0].frame"),
    "empty-source": lambda s: ({"shapes": [_rect(s, source="")]}, "shapes[0].source"),
    "skeleton-element-foreign": lambda s: (
        {
            "shapes": [
                {
                    "type": "skeleton",
                    "frame": 0,
                    "label_id": s.labels["body"],
                    "points": [],
                    "elements": [
                        {
                            "type": "points",
                            "frame": 0,
                            "label_id": s.labels["car"],
                            "points": [1, 1],
                        }
                    ],
                }
            ]
        },
        "shapes[0].elements[0].label_id",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_PAYLOADS))
def test_rejected_payload_writes_nothing(admin, setup, case: str) -> None:  # type: ignore[no-untyped-def]
    s = setup(frames=4, segment_size=2)
    url = _url(s.jobs[0])
    _put(admin, url, {"shapes": [_rect(s, points=[5, 5, 6, 6])]})
    before = _get(admin, url)
    payload, where = BAD_PAYLOADS[case](s)
    for response in (
        admin.put(url, json=payload),
        admin.patch(url + "?action=create", json=payload),
        admin.patch(
            url + "?action=update",
            json={"shapes": [{**before["shapes"][0], **p} for p in payload.get("shapes", [])]},
        )
        if payload.get("shapes")
        else None,
    ):
        if response is None:
            continue
        assert response.status_code == 400, response.text
        assert isinstance(response.json()["detail"], str)
        assert where in response.text, response.text
    assert _get(admin, url) == before


@pytest.mark.parametrize("action", ["update", "delete"])
def test_update_or_delete_of_unknown_id(admin, setup, action: str) -> None:  # type: ignore[no-untyped-def]
    s = setup(frames=2)
    url = _url(s.jobs[0])
    _put(admin, url, {"shapes": [_rect(s), _rect(s, frame=1)]})
    before = _get(admin, url)
    real = before["shapes"][0]
    payload = {"shapes": [{**real, "points": [7, 7, 8, 8]}, {**_rect(s), "id": 987654}]}
    response = admin.patch(url + f"?action={action}", json=payload)
    assert response.status_code == 400
    assert "shapes[1].id" in response.text and "987654" in response.text
    assert _get(admin, url) == before
    response = admin.patch(url + f"?action={action}", json={"shapes": [_rect(s)]})
    if action == "delete":  # a delete must name what it removes
        assert response.status_code == 400 and "shapes[0].id" in response.text
        assert _get(admin, url) == before
    else:  # CVAT's update is delete-by-id then create: an object without an id is new
        assert response.status_code == 200, response.text
        created = response.json()["shapes"]
        assert len(created) == 1 and created[0]["id"] not in {x["id"] for x in before["shapes"]}
        assert len(_get(admin, url)["shapes"]) == 3


def test_task_level_rejection_writes_nothing(admin, setup) -> None:  # type: ignore[no-untyped-def]
    s = setup(frames=4, segment_size=2)
    task_url = f"/api/tasks/{s.task_id}/annotations/"
    admin.put(task_url, json={"shapes": [_rect(s), _rect(s, frame=3)]})
    before = _get(admin, task_url)
    bad = {"shapes": [_rect(s, frame=1), _rect(s, frame=9)]}
    for response in (
        admin.put(task_url, json=bad),
        admin.patch(task_url + "?action=create", json=bad),
    ):
        assert response.status_code == 400
        assert "shapes[1].frame" in response.text
    assert _get(admin, task_url) == before


@pytest.mark.parametrize(
    "raw",
    [b"{not json", b"[1, 2]", b'{"shapes": "nope"}', b'{"shapes": [{"type": "rectangle"}]}'],
)
def test_invalid_json_is_400(admin, setup, raw: bytes) -> None:  # type: ignore[no-untyped-def]
    s = setup(frames=1)
    url = _url(s.jobs[0])
    _put(admin, url, {"shapes": [_rect(s)]})
    before = _get(admin, url)
    for method in ("PUT", "PATCH"):
        response = admin.request(
            method, url, content=raw, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 400, (method, raw, response.text)
        assert isinstance(response.json()["detail"], str)
    assert _get(admin, url) == before


def test_unknown_action_is_400(admin, setup) -> None:  # type: ignore[no-untyped-def]
    s = setup(frames=1)
    url = _url(s.jobs[0])
    response = admin.patch(url + "?action=merge", json={"shapes": [_rect(s)]})
    assert response.status_code == 400
    assert "action" in response.text
    assert _get(admin, url)["shapes"] == []


def test_permissions(admin, make_user, setup) -> None:  # type: ignore[no-untyped-def]
    s = setup(frames=2)
    bob = make_user("bob")
    url = _url(s.jobs[0])
    assert bob.get(url).status_code == 404
    assert bob.put(url, json={"shapes": [_rect(s)]}).status_code == 404
    admin.patch(f"/api/jobs/{s.jobs[0]['id']}", json={"assignee": bob.user_id})
    response = bob.put(url, json={"shapes": [_rect(s)]})
    assert response.status_code == 200, response.text
    assert len(_get(admin, url)["shapes"]) == 1
    # a job assignee may not rewrite the whole task
    task_url = f"/api/tasks/{s.task_id}/annotations/"
    assert bob.put(task_url, json={}).status_code in (403, 404)
    assert len(_get(admin, url)["shapes"]) == 1
