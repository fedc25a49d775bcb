"""Label schemas: defaults, attribute rules, skeletons, /api/labels and CVAT's update rules."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from labelvault.projects.models import AttributeSpec, Label
from tests.conftest import LABELS
from tests.helpers.sdk import sdk_validate


def _project(client, labels, name: str = "p") -> dict:  # type: ignore[no-untyped-def]
    response = client.post("/api/projects", json={"name": name, "labels": labels})
    assert response.status_code == 201, response.text
    return response.json()


def _labels(client, **params) -> dict[str, dict]:  # type: ignore[no-untyped-def]
    response = client.get("/api/labels", params={"page_size": 100, **params})
    assert response.status_code == 200, response.text
    body = response.json()
    sdk_validate(body, "PaginatedLabelList")
    return {lbl["name"]: lbl for lbl in body["results"]}


def _attr(label: dict, name: str) -> dict:
    return next(a for a in label["attributes"] if a["name"] == name)


def _label_rows(database) -> int:  # type: ignore[no-untyped-def]
    with database.session() as session:
        return session.execute(select(func.count()).select_from(Label)).scalar_one()


def test_defaults_are_filled(admin) -> None:  # type: ignore[no-untyped-def]
    project = _project(admin, [{"name": "plain"}, {"name": "boxed", "type": "rectangle"}])
    labels = _labels(admin, project_id=project["id"])
    assert set(labels) == {"plain", "boxed"}
    plain = labels["plain"]
    assert isinstance(plain["id"], int)
    assert re.fullmatch(r"#[0-9a-fA-F]{6}", plain["color"])
    assert plain["color"] != labels["boxed"]["color"]  # distinct default colours
    assert plain["type"] == "any"
    assert plain["attributes"] == []
    assert plain["sublabels"] == []
    assert plain["project_id"] == project["id"]
    assert plain["task_id"] is None
    assert plain["has_parent"] is False
    assert labels["boxed"]["type"] == "rectangle"
    assert labels["plain"]["id"] != labels["boxed"]["id"]
    for label in labels.values():
        sdk_validate(label, "Label")


def test_attributes_from_conftest_labels(admin) -> None:  # type: ignore[no-untyped-def]
    project = _project(admin, LABELS)
    car = _labels(admin, project_id=project["id"])["car"]
    assert car["color"] == "#ff0000"
    color = _attr(car, "color")
    assert (color["input_type"], color["values"], color["default_value"]) == (
        "select",
        ["red", "blue"],
        "red",
    )
    assert color["mutable"] is False
    parked = _attr(car, "parked")
    assert (parked["values"], parked["default_value"], parked["mutable"]) == (
        ["false"],
        "false",
        True,
    )
    speed = _attr(car, "speed")
    assert speed["values"] == ["0", "100", "1"]
    assert speed["default_value"] == "0"
    assert len({a["id"] for a in car["attributes"]}) == 3


VALID_ATTRIBUTES_CASES = [
    ({"input_type": "select", "values": ["a", "b"]}, ["a", "b"], "a"),
    ({"input_type": "radio", "values": ["x", "y"], "default_value": "y"}, ["x", "y"], "y"),
    ({"input_type": "checkbox", "values": ["true"]}, ["true"], "true"),
    ({"input_type": "checkbox", "values": []}, ["false"], "false"),
    ({"input_type": "number", "values": ["1;10;1"]}, ["1", "10", "1"], "1"),
    ({"input_type": "number", "values": ["0", "1", "0.5"], "default_value": "1"}, None, "1"),
    ({"input_type": "text", "values": [], "default_value": "n/a"}, ["n/a"], "n/a"),
    ({"input_type": "text", "values": []}, [], ""),
]


def test_valid_attributes(admin) -> None:  # type: ignore[no-untyped-def]
    for attribute, values, default in VALID_ATTRIBUTES_CASES:
        spec = {"name": "attr", "mutable": False, **attribute}
        project = _project(admin, [{"name": "thing", "attributes": [spec]}])
        stored = _attr(_labels(admin, project_id=project["id"])["thing"], "attr")
        assert stored["input_type"] == attribute["input_type"]
        if values is not None:
            assert stored["values"] == values
        assert stored["default_value"] == default


INVALID_ATTRIBUTES_ARE_400_CASES = [
    ({"input_type": "select", "values": []}, ["value"]),
    ({"input_type": "radio", "values": [""]}, ["value"]),
    ({"input_type": "select", "values": ["a", "a"]}, ["unique"]),
    ({"input_type": "select", "values": ["a", "b"], "default_value": "c"}, ["'c'"]),
    ({"input_type": "checkbox", "values": ["maybe"]}, ["true", "false"]),
    ({"input_type": "checkbox", "values": ["false"], "default_value": "yes"}, ["true"]),
    ({"input_type": "number", "values": ["0", "10"]}, ["min", "max", "step"]),
    ({"input_type": "number", "values": ["a", "b", "c"]}, ["min", "max", "step"]),
    ({"input_type": "number", "values": ["10", "0", "1"]}, ["min < max"]),
    ({"input_type": "number", "values": ["0", "10", "0"]}, ["step"]),
    ({"input_type": "number", "values": ["0", "10", "1"], "default_value": "11"}, ["11"]),
    ({"input_type": "number", "values": ["0;10;1"], "default_value": "x"}, ["number"]),
    ({"input_type": "slider", "values": []}, ["input_type"]),
]


def test_invalid_attributes_are_400(admin, database) -> None:  # type: ignore[no-untyped-def]
    for attribute, words in INVALID_ATTRIBUTES_ARE_400_CASES:
        spec = {"name": "attr", "mutable": False, **attribute}
        response = admin.post(
            "/api/projects", json={"name": "p", "labels": [{"name": "thing", "attributes": [spec]}]}
        )
        assert response.status_code == 400, response.text
        detail = response.json()["detail"]
        assert isinstance(detail, str)
        assert "thing" in detail and "attr" in detail
        for word in words:
            assert word in detail
        assert admin.get("/api/projects").json()["count"] == 0
        assert _label_rows(database) == 0


INVALID_LABELS_ARE_400_CASES = [
    ([{"name": "car"}, {"name": "car"}], ["car", "unique"]),
    ([{"name": "car", "type": "blob"}], ["car", "type"]),
    ([{"name": "car", "color": "red"}], ["car", "color"]),
    ([{"name": ""}], ["name"]),
    ([{"name": "x" * 65}], ["64"]),
    ([{"name": "car", "sublabels": [{"name": "wheel"}]}], ["car", "skeleton"]),
    ([{"name": "body", "type": "skeleton", "sublabels": []}], ["body"]),
    (
        [{"name": "body", "type": "skeleton", "sublabels": [{"name": "a"}, {"name": "a"}]}],
        ["body", "a"],
    ),
    (
        [
            {
                "name": "car",
                "attributes": [
                    {"name": "a", "input_type": "text", "mutable": False, "values": []},
                    {"name": "a", "input_type": "text", "mutable": False, "values": []},
                ],
            }
        ],
        ["car", "unique"],
    ),
]


def test_invalid_labels_are_400(admin, database) -> None:  # type: ignore[no-untyped-def]
    for labels, words in INVALID_LABELS_ARE_400_CASES:
        response = admin.post("/api/projects", json={"name": "p", "labels": labels})
        assert response.status_code == 400, response.text
        detail = response.json()["detail"]
        for word in words:
            assert word in detail
        assert admin.get("/api/projects").json()["count"] == 0
        assert _label_rows(database) == 0


def test_skeleton_svg_refers_to_new_sublabel_ids(admin) -> None:  # type: ignore[no-untyped-def]
    project = _project(admin, LABELS)
    body = _labels(admin, project_id=project["id"])["body"]
    assert body["type"] == "skeleton"
    subs = {s["name"]: s for s in body["sublabels"]}
    assert set(subs) == {"head", "foot"}
    for sub in subs.values():
        assert sub["type"] == "points"
        assert sub["has_parent"] is True
        assert isinstance(sub["id"], int)
    assert "data-label-name" not in body["svg"]
    assert f'data-label-id="{subs["head"]["id"]}"' in body["svg"]
    assert f'data-label-id="{subs["foot"]["id"]}"' in body["svg"]
    assert 'data-node-id="1"' in body["svg"]
    # Sublabels are reachable by id but are not top-level labels of the project.
    sub = admin.get(f"/api/labels/{subs['head']['id']}")
    assert sub.status_code == 200
    assert sub.json()["parent_id"] == body["id"]
    assert sub.json()["has_parent"] is True
    assert "head" not in _labels(admin, project_id=project["id"])


def test_skeleton_svg_with_client_side_ids(admin) -> None:  # type: ignore[no-untyped-def]
    """The UI names skeleton points by temporary ids; they become the new label ids."""
    svg = '<circle r="1" cx="1" cy="1" data-label-id="-5" data-node-id="1"/>'
    labels = [{"name": "s", "type": "skeleton", "svg": svg, "sublabels": [{"id": -5, "name": "p"}]}]
    project = _project(admin, labels)
    skeleton = _labels(admin, project_id=project["id"])["s"]
    point = skeleton["sublabels"][0]
    assert point["id"] > 0
    assert f'data-label-id="{point["id"]}"' in skeleton["svg"]
    assert 'data-label-id="-5"' not in skeleton["svg"]


def test_labels_by_task_and_job(admin, task_with_data) -> None:  # type: ignore[no-untyped-def]
    project = _project(admin, LABELS)
    in_project = task_with_data(project_id=project["id"], frames=2)
    own = task_with_data(frames=2, labels=[{"name": "solo"}])
    project_labels = _labels(admin, project_id=project["id"])
    by_task = _labels(admin, task_id=in_project["id"])
    assert {n: lbl["id"] for n, lbl in by_task.items()} == {
        n: lbl["id"] for n, lbl in project_labels.items()
    }
    job = admin.get("/api/jobs", params={"task_id": in_project["id"]}).json()["results"][0]
    by_job = _labels(admin, job_id=job["id"])
    assert {lbl["id"] for lbl in by_job.values()} == {lbl["id"] for lbl in project_labels.values()}
    own_labels = _labels(admin, task_id=own["id"])
    assert list(own_labels) == ["solo"]
    assert own_labels["solo"]["task_id"] == own["id"]
    assert own_labels["solo"]["project_id"] is None
    own_job = admin.get("/api/jobs", params={"task_id": own["id"]}).json()["results"][0]
    assert list(_labels(admin, job_id=own_job["id"])) == ["solo"]
    # Unfiltered: every top-level label the user can see, each once.
    everything = admin.get("/api/labels", params={"page_size": 100}).json()
    assert everything["count"] == len(LABELS) + 1
    assert _labels(admin, project_id=project["id"], name="car").keys() == {"car"}
    assert set(_labels(admin, project_id=project["id"], type="skeleton")) == {"body"}
    for missing in ({"project_id": 99999}, {"task_id": 99999}, {"job_id": 99999}):
        assert admin.get("/api/labels", params=missing).status_code == 404


def test_patch_project_labels(admin) -> None:  # type: ignore[no-untyped-def]
    project = _project(admin, LABELS)
    before = _labels(admin, project_id=project["id"])
    car, person, weather = before["car"], before["person"], before["weather"]
    color = _attr(car, "color")
    response = admin.patch(
        f"/api/projects/{project['id']}",
        json={
            "labels": [
                {"name": "bike", "type": "rectangle"},
                {"id": person["id"], "name": "pedestrian", "color": "#00ff00"},
                {"id": weather["id"], "name": weather["name"], "deleted": True},
                {
                    "id": car["id"],
                    "name": "car",
                    "attributes": [
                        {**color, "values": ["red", "blue", "green"], "default_value": "blue"},
                        {
                            "name": "doors",
                            "input_type": "number",
                            "mutable": False,
                            "values": ["2", "5", "1"],
                        },
                    ],
                },
            ]
        },
    )
    assert response.status_code == 200, response.text
    after = _labels(admin, project_id=project["id"])
    assert set(after) == {"car", "pedestrian", "body", "bike"}
    assert after["pedestrian"]["id"] == person["id"]
    assert after["pedestrian"]["color"] == "#00ff00"
    assert after["bike"]["type"] == "rectangle"
    assert admin.get(f"/api/labels/{weather['id']}").status_code == 404
    new_color = _attr(after["car"], "color")
    assert new_color["id"] == color["id"]
    assert new_color["values"] == ["red", "blue", "green"]
    assert new_color["default_value"] == "blue"
    assert _attr(after["car"], "doors")["values"] == ["2", "5", "1"]
    assert {a["name"] for a in after["car"]["attributes"]} == {"color", "parked", "speed", "doors"}
    # The skeleton was not mentioned and is unchanged.
    assert after["body"] == before["body"]


PATCH_ATTRIBUTE_RULES_CASES = [
    ({"values": ["blue", "red"]}, ["appended"]),
    ({"values": ["red"]}, ["appended"]),
    ({"input_type": "radio"}, ["input_type"]),
    ({"mutable": True}, ["mutable"]),
]


def test_patch_attribute_rules(admin) -> None:  # type: ignore[no-untyped-def]
    for change, words in PATCH_ATTRIBUTE_RULES_CASES:
        project = _project(admin, LABELS)
        car = _labels(admin, project_id=project["id"])["car"]
        color = _attr(car, "color")
        response = admin.patch(
            f"/api/projects/{project['id']}",
            json={
                "labels": [{"id": car["id"], "name": "car", "attributes": [{**color, **change}]}]
            },
        )
        assert response.status_code == 400, response.text
        detail = response.json()["detail"]
        assert "car" in detail and "color" in detail
        for word in words:
            assert word in detail
        assert _attr(_labels(admin, project_id=project["id"])["car"], "color") == color


def test_number_range_cannot_change(admin) -> None:  # type: ignore[no-untyped-def]
    project = _project(admin, LABELS)
    car = _labels(admin, project_id=project["id"])["car"]
    speed = _attr(car, "speed")
    response = admin.patch(
        f"/api/projects/{project['id']}",
        json={
            "labels": [{"id": car["id"], "attributes": [{**speed, "values": ["0", "200", "1"]}]}]
        },
    )
    assert response.status_code == 400
    assert "speed" in response.json()["detail"]
    assert _attr(_labels(admin, project_id=project["id"])["car"], "speed")["values"] == [
        "0",
        "100",
        "1",
    ]


def test_patch_labels_name_clashes(admin) -> None:  # type: ignore[no-untyped-def]
    project = _project(admin, LABELS)
    before = _labels(admin, project_id=project["id"])
    for labels in (
        [{"name": "car"}],
        [{"id": before["person"]["id"], "name": "car"}],
        [{"name": "new"}, {"name": "new"}],
    ):
        response = admin.patch(f"/api/projects/{project['id']}", json={"labels": labels})
        assert response.status_code == 400, labels
        assert "car" in response.json()["detail"] or "new" in response.json()["detail"]
    assert _labels(admin, project_id=project["id"]) == before
    response = admin.patch(f"/api/projects/{project['id']}", json={"labels": [{"id": 99999}]})
    assert response.status_code == 400
    assert "99999" in response.json()["detail"]


def test_patch_and_delete_label_by_id(admin, database) -> None:  # type: ignore[no-untyped-def]
    project = _project(admin, LABELS)
    labels = _labels(admin, project_id=project["id"])
    person = labels["person"]
    response = admin.patch(
        f"/api/labels/{person['id']}", json={"name": "human", "color": "#123456"}
    )
    assert response.status_code == 200, response.text
    assert (response.json()["name"], response.json()["color"]) == ("human", "#123456")
    sdk_validate(response.json(), "Label")
    assert admin.get(f"/api/labels/{person['id']}").json()["name"] == "human"

    response = admin.patch(f"/api/labels/{person['id']}", json={"name": "car"})
    assert response.status_code == 400
    assert "car" in response.json()["detail"]
    response = admin.patch(f"/api/labels/{person['id']}", json={"color": "blue"})
    assert response.status_code == 400
    assert admin.get(f"/api/labels/{person['id']}").json()["color"] == "#123456"

    body = labels["body"]
    rows_before = _label_rows(database)
    assert admin.delete(f"/api/labels/{body['id']}").status_code == 204
    assert admin.get(f"/api/labels/{body['id']}").status_code == 404
    for sub in body["sublabels"]:
        assert admin.get(f"/api/labels/{sub['id']}").status_code == 404
    assert _label_rows(database) == rows_before - 3
    assert set(_labels(admin, project_id=project["id"])) == {"car", "human", "weather"}

    car = labels["car"]
    assert admin.delete(f"/api/labels/{car['id']}").status_code == 204
    with database.session() as session:
        left = session.scalars(select(AttributeSpec).where(AttributeSpec.label_id == car["id"]))
        assert left.all() == []
    assert admin.get("/api/labels/99999").status_code == 404
    assert admin.delete("/api/labels/99999").status_code == 404


def test_label_type_changes(admin) -> None:  # type: ignore[no-untyped-def]
    project = _project(admin, LABELS)
    labels = _labels(admin, project_id=project["id"])
    person = labels["person"]
    response = admin.patch(f"/api/labels/{person['id']}", json={"type": "polygon"})
    assert response.status_code == 200
    assert response.json()["type"] == "polygon"
    for label_id, kind in ((person["id"], "skeleton"), (labels["body"]["id"], "any")):
        response = admin.patch(f"/api/labels/{label_id}", json={"type": kind})
        assert response.status_code == 400
        assert "type" in response.json()["detail"]
    assert admin.get(f"/api/labels/{labels['body']['id']}").json()["type"] == "skeleton"


def test_task_own_labels_patch(admin) -> None:  # type: ignore[no-untyped-def]
    response = admin.post("/api/tasks", json={"name": "t", "labels": [{"name": "a"}]})
    assert response.status_code == 201, response.text
    task = response.json()
    response = admin.patch(f"/api/tasks/{task['id']}", json={"labels": [{"name": "b"}]})
    assert response.status_code == 200, response.text
    assert set(_labels(admin, task_id=task["id"])) == {"a", "b"}
    label = _labels(admin, task_id=task["id"])["a"]
    assert admin.patch(f"/api/labels/{label['id']}", json={"name": "c"}).status_code == 200
    assert set(_labels(admin, task_id=task["id"])) == {"c", "b"}


def test_sublabel_patch_by_id(admin) -> None:  # type: ignore[no-untyped-def]
    project = _project(admin, LABELS)
    body = _labels(admin, project_id=project["id"])["body"]
    head = next(s for s in body["sublabels"] if s["name"] == "head")
    response = admin.patch(f"/api/labels/{head['id']}", json={"name": "skull"})
    assert response.status_code == 200, response.text
    assert response.json()["name"] == "skull"
    assert response.json()["parent_id"] == body["id"]
    after = _labels(admin, project_id=project["id"])["body"]
    assert sorted(s["name"] for s in after["sublabels"]) == ["foot", "skull"]
    response = admin.patch(f"/api/labels/{head['id']}", json={"name": "foot"})
    assert response.status_code == 400
    assert "foot" in response.json()["detail"]


def test_delete_and_recreate_a_name_in_one_patch(admin) -> None:  # type: ignore[no-untyped-def]
    project = _project(admin, LABELS)
    weather = _labels(admin, project_id=project["id"])["weather"]
    response = admin.patch(
        f"/api/projects/{project['id']}",
        json={
            "labels": [
                {"id": weather["id"], "deleted": True},
                {"name": "weather", "type": "rectangle"},
            ]
        },
    )
    assert response.status_code == 200, response.text
    again = _labels(admin, project_id=project["id"])["weather"]
    assert again["id"] != weather["id"]
    assert again["type"] == "rectangle"


def test_deleting_a_label_deletes_its_annotations(admin, task_with_data) -> None:  # type: ignore[no-untyped-def]
    project = _project(admin, LABELS)
    task = task_with_data(project_id=project["id"], frames=2)
    job = admin.get("/api/jobs", params={"task_id": task["id"]}).json()["results"][0]
    labels = _labels(admin, project_id=project["id"])
    shapes = [
        {
            "type": kind,
            "frame": 0,
            "label_id": labels[name]["id"],
            "group": 0,
            "source": "manual",
            "occluded": False,
            "outside": False,
            "z_order": 0,
            "rotation": 0,
            "points": points,
            "attributes": [],
        }
        for name, kind, points in (
            ("person", "rectangle", [1, 2, 10, 20]),
            ("car", "polygon", [1, 1, 5, 1, 5, 5]),
        )
    ]
    tag = {"frame": 0, "label_id": labels["weather"]["id"], "group": 0, "source": "manual"}
    body = {"version": 0, "tags": [{**tag, "attributes": []}], "shapes": shapes, "tracks": []}
    response = admin.put(f"/api/jobs/{job['id']}/annotations", json=body)
    assert response.status_code == 200, response.text
    assert admin.delete(f"/api/labels/{labels['weather']['id']}").status_code == 204
    left = admin.get(f"/api/jobs/{job['id']}/annotations").json()
    assert left["tags"] == []
    assert len(left["shapes"]) == 2
    assert {s["label_id"] for s in left["shapes"]} == {labels["person"]["id"], labels["car"]["id"]}
    # Deleting through the project's PATCH does the same.
    response = admin.patch(
        f"/api/projects/{project['id']}",
        json={"labels": [{"id": labels["car"]["id"], "deleted": True}]},
    )
    assert response.status_code == 200
    left = admin.get(f"/api/jobs/{job['id']}/annotations").json()
    assert [s["label_id"] for s in left["shapes"]] == [labels["person"]["id"]]


def test_attribute_ids_and_names_stay_unique_on_patch(admin) -> None:  # type: ignore[no-untyped-def]
    project = _project(admin, LABELS)
    labels = _labels(admin, project_id=project["id"])
    car, person = labels["car"], labels["person"]
    speed = _attr(car, "speed")
    foreign = {**speed, "id": 99999}
    for label, attribute, word in (
        (person, speed, str(speed["id"])),  # another label's attribute
        (car, foreign, "99999"),
        (car, {**_attr(car, "parked"), "id": None, "name": "speed"}, "speed"),
    ):
        response = admin.patch(
            f"/api/projects/{project['id']}",
            json={"labels": [{"id": label["id"], "attributes": [attribute]}]},
        )
        assert response.status_code == 400, (attribute, response.text)
        assert word in response.json()["detail"]
    after = _labels(admin, project_id=project["id"])
    assert after["car"]["attributes"] == car["attributes"]
    assert after["person"]["attributes"] == []
