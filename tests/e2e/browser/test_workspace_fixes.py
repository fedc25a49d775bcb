"""Small workspace fixes: a long save error, checkbox attributes, tag rows, new shapes selected."""

from __future__ import annotations

import json
import random
from typing import Any

import httpx
from playwright.sync_api import expect

from tests.e2e.browser.conftest import first_job, job_shapes, make_task
from tests.e2e.browser.test_workspace import drag, open_job, save

LABELS = [
    {
        "name": "car",
        "color": "#ff6037",
        "type": "any",
        "attributes": [
            {
                "name": "parked",
                "input_type": "checkbox",
                "mutable": False,
                "values": ["false"],
                "default_value": "false",
            }
        ],
    }
]


def test_save_error_checkbox_tag_row_and_new_shape_selected(page: Any, api: httpx.Client) -> None:
    task = make_task(api, f"Fixes {random.randrange(10**6)}", frames=1, labels=LABELS)
    job = first_job(api, task["id"])
    open_job(page, job)
    top = page.locator(".ws-top")
    height = top.bounding_box()["height"]

    # A newly drawn box is selected at once: its checkbox attribute is set without a click.
    page.get_by_role("button", name="Rectangle").click()
    drag(page, (100, 100), (200, 180))
    box = page.get_by_label("Attribute parked")
    name = page.locator(".attr-check", has_text="parked")
    a, b = box.bounding_box(), name.bounding_box()
    # The box sits on the line of its name, at the left (not centred above it).
    assert abs((a["y"] + a["height"] / 2) - (b["y"] + b["height"] / 2)) < 4
    assert a["x"] - b["x"] < 8
    box.check()
    save(page)
    (shape,) = job_shapes(api, job["id"])
    assert [a["value"] for a in shape["attributes"]] == ["true"]

    # A tag row reads "car tag (new)", then "#id" once saved.
    page.get_by_role("button", name="Tag").click()
    page.get_by_role("dialog").get_by_role("button", name="car").click()
    row = page.locator(".vrow", has_text="tag")
    expect(row).to_have_text("car tag (new)")
    save(page)
    tag = api.get(f"/api/jobs/{job['id']}/annotations").json()["tags"][0]
    expect(row).to_have_text(f"car tag #{tag['id']}")

    # A long save error stays on one line: the toolbar keeps its height, the text is in a tooltip.
    detail = "The storage refused the write: " + "quota exceeded on the annotations volume " * 6

    def refuse(route: Any) -> None:
        if route.request.method == "GET":
            route.continue_()
        else:
            route.fulfill(status=500, body=json.dumps({"detail": detail}))

    page.route("**/api/jobs/*/annotations**", refuse)
    drag(page, (150, 140), (170, 150))
    page.keyboard.press("Control+s")
    state = page.get_by_role("status", name="Save status")
    expect(state).to_contain_text("Save failed")
    assert top.bounding_box()["height"] <= height + 1
    assert "quota exceeded" in state.get_attribute("title")
