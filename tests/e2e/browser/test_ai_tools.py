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
    shot(page, "interactive-segmentation")
    page.get_by_role("button", name="Done").click()
    save(page)
    (polygon,) = [s for s in job_shapes(api, job["id"]) if s["type"] == "polygon"]
    xs, ys = polygon["points"][0::2], polygon["points"][1::2]
    assert min(xs) == pytest.approx(160, abs=10) and max(xs) == pytest.approx(320, abs=10)
    assert min(ys) == pytest.approx(120, abs=10) and max(ys) == pytest.approx(240, abs=10)
