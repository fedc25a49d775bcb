"""Browser: the Automatic annotation dialog, the detector tool and GrabCut, checked by the API."""

from __future__ import annotations

import random
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.e2e.browser.conftest import first_job, job_shapes, login, make_task, shot
from tests.e2e.browser.test_workspace import click, save
from tests.models_ai.conftest import build_bright_onnx

OUTLINE_PAINTED = """() => {
  const r = window.labelvault.renderer;
  const outline = r.aiOutline();
  const [x, y] = outline.reduce((a, b) => (b[0] < a[0] ? b : a));
  const [sx, sy] = r.toScreen(x, y).map((v) => Math.round(v * r.dpr));
  const pixels = r.overlay.getContext('2d').getImageData(sx - 3, sy - 3, 7, 7).data;
  return outline.length >= 3 && pixels.some((v, i) => i % 4 === 3 && v > 0);
}"""

SQUARE = """
import cvat_sdk.auto_annotation as cvataa

spec = cvataa.InteractionFunctionSpec(min_pos_points=1, min_neg_points=0)


def detect(context, image, prompts):
    x, y = prompts.pos_points[-1]
    points = [x - 20, y - 20, x + 20, y - 20, x + 20, y + 20, x - 20, y + 20]
    return [cvataa.InteractionResultShape(type="polygon", points=points)]
"""


def test_automatic_annotation_dialog_detector_and_grabcut(
    page: Any, api: httpx.Client, tmp_path_factory: pytest.TempPathFactory
) -> None:
    pytest.importorskip("onnxruntime")
    path = build_bright_onnx(tmp_path_factory.mktemp("onnx") / "bright.onnx")
    name = f"bright-{random.randrange(10**6)}"
    model = {
        "name": name,
        "kind": "onnx",
        "labels": [{"name": "Car"}],
        "config": {"path": str(path), "input_size": [32, 32], "output": "detection"},
    }
    assert api.post("/api/models", json=model).status_code == 201
    task = make_task(api, f"AI {name}", frames=2)

    login(page)
    page.goto(f"/tasks/{task['id']}")
    page.get_by_role("button", name="Automatic annotation").click()
    page.get_by_label("Model", exact=True).select_option(name)
    expect(page.get_by_label("Task label for Car")).to_have_value("car")  # suggested by name
    page.get_by_label("Threshold").fill("0")
    page.get_by_role("button", name="Annotate").click()
    expect(page.get_by_text("100% finished")).to_be_visible()
    shot(page, "automatic-annotation")
    shapes = api.get(f"/api/tasks/{task['id']}/annotations").json()["shapes"]
    assert sorted(s["frame"] for s in shapes) == [0, 1]
    assert {s["source"] for s in shapes} == {"auto"} and all(0 < s["score"] <= 1 for s in shapes)

    # The workspace: the detector on the current frame, its proposal accepted.
    job = first_job(api, task["id"])
    page.goto(f"/tasks/{task['id']}/jobs/{job['id']}")
    page.wait_for_function("window.labelvault && window.labelvault.renderer.image")
    before = len(job_shapes(api, job["id"]))
    page.get_by_role("button", name="Detect objects").click()
    page.get_by_label("Detector").select_option(name)
    page.get_by_label("Threshold").fill("0")
    page.get_by_role("button", name="Detect", exact=True).click()
    proposals = page.get_by_role("list", name="Proposals")
    expect(proposals.get_by_role("button", name="Accept")).to_have_count(1)
    proposals.get_by_role("button", name="Accept").click()
    page.get_by_role("dialog").get_by_role("button", name="Close").click()
    save(page)
    assert len(job_shapes(api, job["id"])) == before + 1

    # GrabCut: a click inside the yellow ellipse (160..320 x 120..240), one outside it.
    page.get_by_role("button", name="Interactive segmentation").click()
    click(page, 240, 180)
    status = page.get_by_role("status", name="Segmentation status")
    expect(status).to_contain_text("outline of")
    page.keyboard.down("Shift")
    click(page, 40, 40)
    page.keyboard.up("Shift")
    expect(status).to_contain_text("1 outside")
    # Before Done, the outline is on the canvas: the overlay is painted at its leftmost point.
    assert page.evaluate(OUTLINE_PAINTED) is True
    shot(page, "interactive-segmentation")
    page.get_by_role("button", name="Done").click()
    save(page)
    (polygon,) = [s for s in job_shapes(api, job["id"]) if s["type"] == "polygon"]
    xs, ys = polygon["points"][0::2], polygon["points"][1::2]
    assert min(xs) == pytest.approx(160, abs=10) and max(xs) == pytest.approx(320, abs=10)
    assert min(ys) == pytest.approx(120, abs=10) and max(ys) == pytest.approx(240, abs=10)
    assert page.evaluate("window.labelvault.renderer.aiOutline") is None  # gone after Done

    # A registered interactor (a cvat-sdk interaction function run by the server) beside
    # GrabCut: its square follows the click.
    function = tmp_path_factory.mktemp("interactor") / "square.py"
    function.write_text(SQUARE)
    square = {"name": f"square-{name}", "kind": "function", "function_kind": "interactor"}
    assert (
        api.post("/api/models", json={**square, "config": {"file": str(function)}}).status_code
        == 201
    )
    page.get_by_role("button", name="Interactive segmentation").click()
    page.get_by_label("Interactor").select_option(square["name"])
    click(page, 500, 300)
    expect(status).to_contain_text("outline of 4 points")
    page.get_by_role("button", name="Done").click()
    save(page)
    (added,) = [s for s in job_shapes(api, job["id"]) if s["type"] == "polygon" and s != polygon]
    assert added["points"] == pytest.approx([480, 280, 520, 280, 520, 320, 480, 320], abs=1.5)


def test_models_admin_screen(
    page: Any, api: httpx.Client, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Register a model on the admin screen, check it, disable it, remove it; the API agrees."""
    pytest.importorskip("onnxruntime")
    path = build_bright_onnx(tmp_path_factory.mktemp("onnx-admin") / "bright.onnx")
    name = f"screen-{random.randrange(10**6)}"
    login(page)
    page.get_by_role("link", name="Admin").click()
    page.get_by_role("navigation", name="Admin sections").get_by_role("link", name="Models").click()
    page.wait_for_url("**/admin/models")
    form = page.get_by_role("form", name="Add model")
    form.get_by_label("Name").fill(name)
    form.get_by_label("Kind").select_option("onnx")
    form.get_by_label("Labels").fill("Car:rectangle, person")
    form.get_by_label("Config (JSON)").fill('{"path": "nowhere.onnx"')
    form.get_by_role("button", name="Add model").click()
    expect(form.get_by_role("alert")).to_contain_text("not JSON")
    form.get_by_label("Config (JSON)").fill(f'{{"path": "{path}", "input_size": [32, 32]}}')
    form.get_by_role("button", name="Add model").click()
    table = page.get_by_role("table", name="Models")
    expect(table.get_by_role("row").filter(has_text=name)).to_contain_text("Car (rectangle)")
    (stored,) = [m for m in api.get("/api/models").json() if m["name"] == name]
    assert stored["kind"] == "onnx" and stored["config"]["path"] == str(path)
    assert [label["name"] for label in stored["labels"]] == ["Car", "person"]

    page.get_by_role("button", name=f"Check {name}").click()
    health = page.get_by_role("status", name=f"Health of {name}")
    expect(health).to_contain_text("ok: ONNX model bright.onnx")
    expect(health).to_contain_text(" ms)")
    shot(page, "models-admin")
    # The file gone, the check says so.
    path.unlink()
    api.patch(f"/api/models/{stored['id']}", json={"description": "moved"})  # a fresh adapter
    page.reload()
    page.get_by_role("button", name=f"Check {name}").click()
    expect(health).to_contain_text("does not exist")

    page.get_by_label(f"Enabled: {name}").uncheck()
    expect(page.get_by_text(f"{name} disabled")).to_be_visible()
    assert api.get(f"/api/models/{stored['id']}").json()["enabled"] is False
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name=f"Remove {name}").click()
    expect(table.get_by_role("row").filter(has_text=name)).to_have_count(0)
    assert api.get(f"/api/models/{stored['id']}").status_code == 404
