"""Registered models end to end: a real DEEPaaS server, a real ONNX model, CVAT's lambda API."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import LABELS
from tests.helpers.net import free_port
from tests.models_ai.conftest import bright_box_image

BOXES = [(10, 5, 30, 20), (4, 8, 40, 30), (20, 10, 50, 40)]


def _task_with(admin, images: list[bytes]) -> dict:  # type: ignore[no-untyped-def]
    task = admin.post("/api/tasks", json={"name": "t", "labels": LABELS, "segment_size": 2})
    assert task.status_code == 201, task.text
    task_id = task.json()["id"]
    assert (
        admin.post(f"/api/tasks/{task_id}/data/", headers={"Upload-Start": ""}).status_code == 202
    )
    files = [
        (f"client_files[{i}]", (f"f{i}.png", data, "image/png")) for i, data in enumerate(images)
    ]
    reply = admin.post(f"/api/tasks/{task_id}/data/", headers={"Upload-Multiple": ""}, files=files)
    assert reply.status_code == 200, reply.text
    reply = admin.post(
        f"/api/tasks/{task_id}/data/",
        headers={"Upload-Finish": ""},
        json={"image_quality": 70, "sorting_method": "lexicographical"},
    )
    assert reply.status_code == 202, reply.text
    return admin.get(f"/api/tasks/{task_id}").json()


def _register(admin, name: str, kind: str, config: dict, labels=("person",)) -> dict:  # type: ignore[no-untyped-def]
    reply = admin.post(
        "/api/models",
        json={
            "name": name,
            "kind": kind,
            "labels": [{"name": n} for n in labels],
            "config": config,
        },
    )
    assert reply.status_code == 201, reply.text
    return reply.json()


def _run(admin, body: dict) -> dict:  # type: ignore[no-untyped-def]
    reply = admin.post("/api/lambda/requests", json=body)
    assert reply.status_code == 200, reply.text
    return admin.get(f"/api/lambda/requests/{reply.json()['id']}").json()


def _label_id(task: dict, admin, name: str) -> int:  # type: ignore[no-untyped-def]
    labels = admin.get(f"/api/labels?task_id={task['id']}").json()["results"]
    return next(label["id"] for label in labels if label["name"] == name)


@pytest.fixture
def boxes_task(admin) -> dict:  # type: ignore[no-untyped-def]
    return _task_with(admin, [bright_box_image(b) for b in BOXES])


def test_registry_is_for_admins_and_checks_health(admin, make_user, deepaas_url) -> None:
    up = _register(admin, "yolo", "deepaas", {"url": deepaas_url, "model": "lv-yolo-stub"})
    down = _register(admin, "gone", "deepaas", {"url": f"http://127.0.0.1:{free_port()}"})
    user = make_user("ann")
    assert user.get("/api/models").status_code == 403
    assert user.post("/api/models", json={"name": "x", "kind": "onnx"}).status_code == 403
    assert (
        admin.post("/api/models", json={"name": "x", "kind": "onnx", "config": {}}).json()["detail"]
        == "a onnx model needs config path"
    )
    assert admin.post(f"/api/models/{up['id']}/check").json()["ok"] is True
    health = admin.post(f"/api/models/{down['id']}/check").json()
    assert health["ok"] is False and "gone" in health["message"]
    # CVAT's view: an annotator sees the functions, not their config.
    functions = {f["id"]: f for f in user.get("/api/lambda/functions").json()}
    assert functions["yolo"]["kind"] == "detector"
    assert functions["yolo"]["labels_v2"] == [{"name": "person", "type": "any", "attributes": []}]
    assert functions["labelvault.grabcut"]["kind"] == "interactor"
    assert admin.get("/api/server/plugins").json()["MODELS"] is True
    assert (
        admin.patch(f"/api/models/{up['id']}", json={"enabled": False}).json()["enabled"] is False
    )
    assert "yolo" not in {f["id"] for f in user.get("/api/lambda/functions").json()}
    assert admin.delete(f"/api/models/{down['id']}").status_code == 204
    assert [m["name"] for m in admin.get("/api/models").json()] == ["yolo"]


def test_deepaas_run_writes_auto_shapes_with_scores(admin, deepaas_url, boxes_task) -> None:
    _register(admin, "yolo", "deepaas", {"url": deepaas_url, "model": "lv-yolo-stub"})
    task = boxes_task
    done = _run(
        admin,
        {
            "function": "yolo",
            "task": task["id"],
            "threshold": 0.5,
            "cleanup": True,
            "mapping": {"person": {"name": "person"}},
        },
    )
    assert done["status"] == "finished", done
    assert done["progress"] == 100 and done["function"]["id"] == "yolo"
    shapes = admin.get(f"/api/tasks/{task['id']}/annotations").json()["shapes"]
    person = _label_id(task, admin, "person")
    got = sorted((s["frame"], tuple(s["points"])) for s in shapes)
    assert got == [(i, tuple(float(v) for v in box)) for i, box in enumerate(BOXES)]
    assert {(s["source"], s["score"], s["label_id"], s["type"]) for s in shapes} == {
        ("auto", 0.87, person, "rectangle")
    }
    # One frame, as an interactive detector tool calls it: nothing is saved.
    one = admin.post(
        "/api/lambda/functions/yolo", json={"task": task["id"], "frame": 1, "threshold": 0.0}
    ).json()
    assert sorted(tuple(s["points"]) for s in one["shapes"]) == [(0, 0, 2, 2), (4, 8, 40, 30)]


def _job_annotations(admin, task: dict) -> dict[int, list]:  # type: ignore[no-untyped-def]
    jobs = admin.get(f"/api/jobs?task_id={task['id']}").json()["results"]
    return {j["id"]: admin.get(f"/api/jobs/{j['id']}/annotations").json()["shapes"] for j in jobs}


BAD_MODELS = {
    "down": ({"url": "DOWN"}, "cannot reach"),
    "timeout": ({"params": {"mode": "slow"}, "timeout": 1}, "no answer"),
    "garbage": ({"params": {"mode": "garbage"}}, "not JSON"),
    "unknown-label": ({"params": {"mode": "unknown"}}, "label 'zebra'"),
    "100k-boxes": ({"params": {"mode": "flood"}}, "100000 objects"),
}


def test_a_bad_model_fails_the_request_and_writes_nothing(admin, deepaas_url, boxes_task) -> None:
    task = boxes_task
    person = _label_id(task, admin, "person")
    # One shape a person drew on frame 0 beforehand; a failed run keeps it, adds nothing.
    drawn = {"type": "rectangle", "frame": 0, "label_id": person, "points": [1, 1, 5, 5]}
    assert (
        admin.patch(
            f"/api/tasks/{task['id']}/annotations?action=create", json={"shapes": [drawn]}
        ).status_code
        == 200
    )
    before = _job_annotations(admin, task)
    for case, (config, says) in BAD_MODELS.items():
        url = f"http://127.0.0.1:{free_port()}" if config.get("url") == "DOWN" else deepaas_url
        _register(admin, case, "deepaas", {"model": "lv-yolo-stub", **config, "url": url})
        done = _run(admin, {"function": case, "task": task["id"], "cleanup": True})
        assert done["status"] == "failed", (case, done)
        assert f"model '{case}'" in done["exc_info"], case
        assert "frame 0 (f0.png)" in done["exc_info"] and says in done["exc_info"], case
        assert _job_annotations(admin, task) == before, case


def test_onnx_model_on_the_workers(admin, onnx_detector: Path) -> None:
    dim = bright_box_image((0, 0, 8, 8))  # mostly dark: a small box
    bright = bright_box_image((0, 0, 60, 44))  # mostly white: a big one
    task = _task_with(admin, [dim, bright])
    _register(
        admin,
        "bright",
        "onnx",
        {"path": str(onnx_detector), "input_size": [32, 32], "output": "detection"},
        labels=("car",),
    )
    done = _run(admin, {"function": "bright", "job": _first_job(admin, task), "cleanup": True})
    assert done["status"] == "finished", done
    shapes = sorted(
        admin.get(f"/api/tasks/{task['id']}/annotations").json()["shapes"], key=lambda s: s["frame"]
    )
    assert [s["frame"] for s in shapes] == [0, 1]
    small, big = shapes
    assert small["points"][2] < 20 < big["points"][2]  # the box follows the image
    assert 0 < small["score"] < big["score"] <= 1 and small["source"] == "auto"
    assert abs(big["points"][3] / 48 - big["score"]) < 0.01  # scaled back to image pixels


def _first_job(admin, task: dict) -> int:  # type: ignore[no-untyped-def]
    return admin.get(f"/api/jobs?task_id={task['id']}").json()["results"][0]["id"]


def test_cancel_bad_calls_and_grabcut(admin, onnx_detector: Path, boxes_task) -> None:
    _register(
        admin,
        "bright",
        "onnx",
        {"path": str(onnx_detector), "input_size": [32, 32]},
        labels=("car",),
    )
    task = boxes_task
    no_match = admin.post(
        "/api/lambda/requests",
        json={"function": "bright", "task": task["id"], "mapping": {"car": {"name": "nope"}}},
    )
    assert no_match.status_code == 400 and "no label 'nope'" in no_match.json()["detail"]
    missing = admin.post("/api/lambda/requests", json={"function": "nope", "task": task["id"]})
    assert missing.status_code == 404
    rq = _run(admin, {"function": "bright", "task": task["id"]})
    assert admin.delete(f"/api/lambda/requests/{rq['id']}").status_code == 204
    assert rq["id"] in {r["id"] for r in admin.get("/api/lambda/requests").json()}
    # GrabCut outlines the clicked object.
    task = _task_with(admin, [bright_box_image((16, 12, 48, 36))])
    reply = admin.post(
        "/api/lambda/functions/labelvault.grabcut",
        json={"task": task["id"], "frame": 0, "pos_points": [[30, 24]], "neg_points": [[2, 2]]},
    )
    assert reply.status_code == 200, reply.text
    points = reply.json()["points"]
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    assert 14 <= min(xs) <= 18 and 45 <= max(xs) <= 49
    assert 10 <= min(ys) <= 14 and 33 <= max(ys) <= 37
    refused = admin.post(
        "/api/lambda/functions/labelvault.grabcut", json={"task": task["id"], "frame": 0}
    )
    assert refused.status_code == 400


FUNCTION = """
import cvat_sdk.auto_annotation as cvataa
from PIL import ImageOps

spec = cvataa.DetectionFunctionSpec(labels=[cvataa.label_spec("person", 0)])


def detect(context, image):
    box = ImageOps.grayscale(image).point(lambda v: 255 if v > 200 else 0).getbbox()
    return [cvataa.rectangle(0, list(box))] if box else []
"""


def test_cvat_sdk_function_module_runs_server_side(admin, boxes_task, tmp_path: Path) -> None:
    """The file `cvat-cli task auto-annotate --function-file` runs, here run by the server."""
    from tests.helpers.sdk import sdk_validate

    function = tmp_path / "bright.py"
    function.write_text(FUNCTION)
    _register(admin, "bright-fn", "function", {"file": str(function)})
    done = _run(admin, {"function": "bright-fn", "task": boxes_task["id"]})
    sdk_validate(done, "FunctionCall")
    assert done["status"] == "finished", done
    shapes = admin.get(f"/api/tasks/{boxes_task['id']}/annotations").json()["shapes"]
    assert sorted((s["frame"], tuple(s["points"])) for s in shapes) == [
        (i, tuple(float(v) for v in box)) for i, box in enumerate(BOXES)
    ]
    assert {s["source"] for s in shapes} == {"auto"}


def test_model_cli(tmp_path: Path, onnx_detector: Path) -> None:
    from click.testing import CliRunner

    from labelvault.cli import main

    runner = CliRunner()
    where = ["--data-dir", str(tmp_path / "data")]
    added = runner.invoke(
        main,
        [
            "model",
            "add",
            "bright",
            "--kind",
            "onnx",
            "--path",
            str(onnx_detector),
            "--labels",
            "car",
            *where,
        ],
    )
    assert added.exit_code == 0, added.output
    listed = runner.invoke(main, ["model", "list", *where])
    assert "bright" in listed.output and "car" in listed.output
    checked = runner.invoke(main, ["model", "check", "bright", *where])
    assert checked.exit_code == 0 and "bright.onnx" in checked.output, checked.output
    onnx_detector_copy = tmp_path / "gone.onnx"
    runner.invoke(
        main, ["model", "add", "gone", "--kind", "onnx", "--path", str(onnx_detector_copy), *where]
    )
    failed = runner.invoke(main, ["model", "check", "gone", *where])
    assert failed.exit_code == 1 and "does not exist" in failed.output
    assert runner.invoke(main, ["model", "remove", "gone", *where]).exit_code == 0
    assert "gone" not in runner.invoke(main, ["model", "list", *where]).output
