"""Browser tests of groups, filters, frame finding, hide/lock all, image adjustments, label keys."""

from __future__ import annotations

import random
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.e2e.browser.conftest import first_job, job_shapes, make_task
from tests.e2e.browser.test_workspace import click, drag, open_job, save


def box(label: int, x: float, frame: int, **kw: Any) -> dict:
    return {"type": "rectangle", "frame": frame, "label_id": label, "points": [x, 100, x + 80, 180]}


@pytest.fixture
def job(api: httpx.Client) -> dict:
    task = make_task(api, f"Tools {random.randrange(10**6)}", frames=5)
    job = first_job(api, task["id"])
    labels = api.get("/api/labels", params={"job_id": job["id"]}).json()["results"]
    car, person = (next(x for x in labels if x["name"] == n) for n in ("car", "person"))
    spec = car["attributes"][0]["id"]
    shapes = [
        {
            **box(car["id"], 100, 0),
            "occluded": True,
            "attributes": [{"spec_id": spec, "value": "blue"}],
        },
        box(person["id"], 300, 0),
        # frame 1 is empty
        {
            **box(car["id"], 100, 2),
            "source": "auto",
            "attributes": [{"spec_id": spec, "value": "red"}],
        },
        box(person["id"], 200, 3),
        box(person["id"], 200, 4),
    ]
    api.put(f"/api/jobs/{job['id']}/annotations", json={"shapes": shapes}).raise_for_status()
    return {**job, "car": car, "person": person, "spec": spec}


def frame(page: Any) -> int:
    return page.evaluate("window.labelvault.frame")


def test_groups_filters_frame_finding_hide_lock_adjust_and_label_keys(
    page: Any, api: httpx.Client, job: dict
) -> None:
    open_job(page, job)
    # G, click the two boxes, G: one group. Shift+G on the car: it leaves the group.
    click(page, 140, 140)
    page.keyboard.press("g")
    click(page, 340, 140)
    page.keyboard.press("g")
    save(page)
    groups = {s["label_id"]: s["group"] for s in job_shapes(api, job["id"]) if s["frame"] == 0}
    assert groups[job["car"]["id"]] == groups[job["person"]["id"]] > 0
    click(page, 140, 140)
    page.keyboard.press("Shift+g")
    save(page)
    groups = {s["label_id"]: s["group"] for s in job_shapes(api, job["id"]) if s["frame"] == 0}
    assert groups[job["car"]["id"]] == 0 and groups[job["person"]["id"]] > 0
    expect(page.locator(".vrow", has_text="person")).to_contain_text("group")

    # Filters: an attribute value, then next/previous frame matching it.
    page.get_by_label("Filter by attribute value").select_option(label="car: colour = red")
    expect(page.locator(".ws-panel .row strong + span").first).to_have_text("0")
    page.get_by_role("button", name="Next matching frame").click()
    page.wait_for_function("window.labelvault.frame === 2")
    expect(page.locator(".vrow")).to_have_count(1)
    page.get_by_label("Filter by attribute value").select_option("")
    page.get_by_label("Filter by source").select_option("manual")
    page.get_by_role("button", name="Previous matching frame").click()
    page.wait_for_function("window.labelvault.frame === 0")
    page.get_by_label("Filter by source").select_option("")
    page.get_by_label("Filter by occluded").select_option("yes")
    expect(page.locator(".vrow")).to_have_count(1)
    page.get_by_label("Filter by occluded").select_option("")
    person_id = next(s["id"] for s in job_shapes(api, job["id"]) if s["frame"] == 3)
    page.get_by_label("Filter by id").fill(str(person_id))
    page.get_by_label("Filter by id").press("Enter")
    page.get_by_role("button", name="Next matching frame").click()
    page.wait_for_function("window.labelvault.frame === 3")
    expect(page.locator(".vrow")).to_have_count(1)
    page.get_by_label("Filter by id").fill("")
    page.get_by_label("Filter by id").press("Enter")

    # Frames by file name, next with / without objects.
    page.locator("summary", has_text="Go").click()
    page.get_by_label("Find frame by file name").fill("frame_001")
    page.get_by_label("Find frame by file name").press("Enter")
    page.wait_for_function("window.labelvault.frame === 1")
    page.get_by_role("button", name="Next frame with objects").click()
    page.wait_for_function("window.labelvault.frame === 2")
    page.evaluate("window.labelvault.goTo(0)")
    page.get_by_role("button", name="Next frame without objects").click()
    page.wait_for_function("window.labelvault.frame === 1")
    page.locator("summary", has_text="Go").click()

    # Hide all / lock all on frame 4 (two objects after drawing one more below).
    page.evaluate("window.labelvault.goTo(4)")
    page.wait_for_function("window.labelvault.frame === 4 && window.labelvault.renderer.image")
    # Key 2 picks the second label for drawing.
    page.get_by_label("Annotation canvas").focus()
    page.keyboard.press("2")
    page.get_by_role("button", name="Rectangle").click()
    drag(page, (400, 300), (480, 380))
    page.keyboard.press("Escape")
    save(page)
    drawn = [s for s in job_shapes(api, job["id"]) if s["frame"] == 4]
    assert sorted(s["label_id"] for s in drawn) == [job["person"]["id"]] * 2
    page.get_by_role("button", name="Hide all").click()
    hidden = (
        "window.labelvault.store.onFrame(4)"
        ".map((o) => !!window.labelvault.store.ui.get(o.cid)?.hidden)"
    )
    assert page.evaluate(hidden) == [True, True]
    page.wait_for_function("window.labelvault.renderer.stats.staticCount === 0")
    page.get_by_role("button", name="Hide all").click()
    assert page.evaluate(hidden) == [False, False]
    page.get_by_role("button", name="Lock all").click()
    drag(page, (440, 340), (500, 400))  # locked: the box stays where it is
    save(page)
    assert sorted(
        tuple(s["points"]) for s in job_shapes(api, job["id"]) if s["frame"] == 4
    ) == sorted(tuple(s["points"]) for s in drawn)

    # Brightness, contrast, saturation, gamma.
    page.locator("summary", has_text="Image").click()
    page.get_by_label("Saturation").fill("40")
    page.get_by_label("Gamma").fill("180")
    style = page.evaluate("window.labelvault.renderer.imageCanvas.style.filter")
    assert "saturate(40%)" in style and "url(" in style
    page.locator("summary", has_text="Image").click()

    page.get_by_role("button", name="Fullscreen").click()
    page.wait_for_function("!!document.fullscreenElement")
    page.get_by_role("button", name="Fullscreen").click()
    page.wait_for_function("!document.fullscreenElement")
