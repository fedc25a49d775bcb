"""Browser tests of the annotation workspace: drawing, editing, undo/redo, autosave, navigation."""

from __future__ import annotations

import random
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.e2e.browser.conftest import first_job, job_shapes, login, make_task, shot


@pytest.fixture
def job(api: httpx.Client) -> dict:
    task = make_task(api, f"Workspace {random.randrange(10**6)}", frames=3)
    return first_job(api, task["id"])


def open_job(page: Any, job: dict) -> None:
    login(page)
    page.goto(f"/tasks/{job['task_id']}/jobs/{job['id']}")
    page.wait_for_function("window.labelvault && window.labelvault.renderer.image")


def screen(page: Any, x: float, y: float) -> tuple[float, float]:
    """Page coordinates of image point (x, y)."""
    box = page.get_by_label("Annotation canvas").bounding_box()
    sx, sy = page.evaluate(f"window.labelvault.renderer.toScreen({x}, {y})")
    return box["x"] + sx, box["y"] + sy


def drag(page: Any, a: tuple[float, float], b: tuple[float, float]) -> None:
    page.mouse.move(*screen(page, *a))
    page.mouse.down()
    page.mouse.move(*screen(page, *b), steps=5)
    page.mouse.up()


def click(page: Any, x: float, y: float, **kw: Any) -> None:
    page.mouse.click(*screen(page, x, y), **kw)


def save(page: Any) -> None:
    page.keyboard.press("Control+s")
    expect(page.get_by_role("status", name="Save status")).to_have_text("Saved")
    page.wait_for_function("!window.labelvault.store.hasUnsaved")


def test_draw_rectangles_and_polygon(page: Any, api: httpx.Client, job: dict) -> None:
    open_job(page, job)
    page.get_by_role("button", name="Rectangle").click()
    drag(page, (100, 100), (200, 180))  # by dragging
    click(page, 300, 200)  # by two clicks, as in CVAT
    click(page, 360, 260)
    page.get_by_role("button", name="Polygon").click()
    for x, y in ((400, 50), (500, 60), (480, 150)):
        click(page, x, y)
    page.keyboard.press("n")  # N finishes the polygon
    save(page)
    shapes = sorted(job_shapes(api, job["id"]), key=lambda s: s["id"])
    assert [s["type"] for s in shapes] == ["rectangle", "rectangle", "polygon"]
    assert shapes[0]["points"] == pytest.approx([100, 100, 200, 180], abs=1.5)
    assert shapes[1]["points"] == pytest.approx([300, 200, 360, 260], abs=1.5)
    assert shapes[2]["points"] == pytest.approx([400, 50, 500, 60, 480, 150], abs=1.5)
    assert all(s["frame"] == job["start_frame"] for s in shapes)


def test_change_label_and_attribute_then_undo_redo(page: Any, api: httpx.Client, job: dict) -> None:
    open_job(page, job)
    page.get_by_role("button", name="Rectangle").click()
    drag(page, (50, 50), (150, 150))
    page.get_by_role("button", name="Select").click()
    click(page, 100, 100)
    page.get_by_label("Attribute colour").select_option("blue")
    save(page)
    (shape,) = job_shapes(api, job["id"])
    labels = {
        x["name"]: x for x in api.get("/api/labels", params={"job_id": job["id"]}).json()["results"]
    }
    spec = labels["car"]["attributes"][0]["id"]
    assert shape["label_id"] == labels["car"]["id"]
    assert {"spec_id": spec, "value": "blue"} in shape["attributes"]

    page.get_by_label("Object label").select_option(label="person")
    save(page)
    assert job_shapes(api, job["id"])[0]["label_id"] == labels["person"]["id"]

    page.get_by_label("Annotation canvas").focus()
    page.keyboard.press("Control+z")  # back to car
    save(page)
    assert job_shapes(api, job["id"])[0]["label_id"] == labels["car"]["id"]
    page.keyboard.press("Control+Shift+z")  # person again
    save(page)
    assert job_shapes(api, job["id"])[0]["label_id"] == labels["person"]["id"]

    # undo everything: the box disappears; redo brings it back
    for _ in range(3):
        page.keyboard.press("Control+z")
    save(page)
    assert job_shapes(api, job["id"]) == []
    page.keyboard.press("Control+y")
    save(page)
    assert len(job_shapes(api, job["id"])) == 1


def test_move_and_delete_with_mouse_and_keys(page: Any, api: httpx.Client, job: dict) -> None:
    open_job(page, job)
    page.get_by_role("button", name="Rectangle").click()
    drag(page, (50, 50), (150, 150))
    page.keyboard.press("Escape")
    drag(page, (100, 100), (140, 120))  # the select tool moves the box by 40, 20
    save(page)
    assert job_shapes(api, job["id"])[0]["points"] == pytest.approx([90, 70, 190, 170], abs=1.5)
    page.keyboard.press("Delete")
    save(page)
    assert job_shapes(api, job["id"]) == []


def test_autosave_then_reload(page: Any, api: httpx.Client, job: dict) -> None:
    open_job(page, job)
    page.get_by_role("button", name="Ellipse").click()
    drag(page, (200, 200), (260, 240))
    page.get_by_role("button", name="Polyline").click()
    click(page, 10, 10)
    click(page, 60, 80)
    click(page, 120, 40, click_count=2)
    # no Ctrl+S: autosave within a few seconds
    page.wait_for_function("!window.labelvault.store.hasUnsaved", timeout=10000)
    types = sorted(s["type"] for s in job_shapes(api, job["id"]))
    assert types == ["ellipse", "polyline"]
    page.reload()
    page.wait_for_function("window.labelvault && window.labelvault.renderer.image")
    expect(
        page.get_by_role("listbox", name="Objects on this frame").get_by_role("option")
    ).to_have_count(2)


def test_autosave_survives_a_dropped_connection(page: Any, api: httpx.Client, job: dict) -> None:
    open_job(page, job)
    page.context.set_offline(True)
    page.get_by_role("button", name="Rectangle").click()
    drag(page, (20, 20), (80, 90))
    expect(page.get_by_role("status", name="Save status")).to_contain_text(
        "Save failed", timeout=10000
    )
    assert page.evaluate("localStorage.length") > 0  # kept locally meanwhile
    page.context.set_offline(False)
    page.wait_for_function("!window.labelvault.store.hasUnsaved", timeout=20000)
    assert len(job_shapes(api, job["id"])) == 1


def test_frames_by_keyboard_and_zoom_with_wheel(page: Any, api: httpx.Client, job: dict) -> None:
    open_job(page, job)
    start = job["start_frame"]
    page.get_by_label("Annotation canvas").focus()
    page.keyboard.press("f")
    expect(page.get_by_label("Frame number")).to_have_value(str(start + 1))
    assert page.url.endswith(f"?frame={start + 1}")
    page.keyboard.press("f")
    page.keyboard.press("d")
    expect(page.get_by_label("Frame number")).to_have_value(str(start + 1))
    # a shape drawn here belongs to this frame
    page.get_by_role("button", name="Rectangle").click()
    drag(page, (10, 10), (50, 50))
    save(page)
    assert job_shapes(api, job["id"])[0]["frame"] == start + 1

    before = page.evaluate("window.labelvault.renderer.view")
    x, y = screen(page, 320, 240)
    page.mouse.move(x, y)
    page.mouse.wheel(0, -400)
    page.wait_for_function(f"window.labelvault.renderer.view.scale > {before['scale'] * 1.2}")
    # zoom keeps the image point under the cursor where it was
    box = page.get_by_label("Annotation canvas").bounding_box()
    ix, iy = page.evaluate(f"window.labelvault.renderer.toImage({x - box['x']}, {y - box['y']})")
    assert (ix, iy) == pytest.approx((320, 240), abs=1)


def test_workspace_screenshot_with_shapes(page: Any, api: httpx.Client, job: dict) -> None:
    labels = api.get("/api/labels", params={"job_id": job["id"]}).json()["results"]
    rng = random.Random(7)
    shapes = []
    for i in range(40):
        x, y = rng.uniform(0, 560), rng.uniform(0, 400)
        shapes.append(
            {
                "type": "rectangle",
                "frame": job["start_frame"],
                "label_id": labels[i % 2]["id"],
                "points": [x, y, x + rng.uniform(20, 80), y + rng.uniform(20, 80)],
            }
        )
    shapes.append(
        {
            "type": "polygon",
            "frame": job["start_frame"],
            "label_id": labels[0]["id"],
            "points": [100, 300, 220, 260, 260, 380, 140, 420],
        }
    )
    r = api.put(f"/api/jobs/{job['id']}/annotations", json={"shapes": shapes})
    assert r.status_code == 200, r.text
    open_job(page, job)
    page.get_by_role("button", name="Select").click()
    click(page, 180, 340)
    page.wait_for_function("window.labelvault.renderer.selected != null")
    shot(page, "workspace")


def test_points_tag_and_mask_brush(page: Any, api: httpx.Client, job: dict) -> None:
    open_job(page, job)
    page.get_by_role("button", name="Points").click()
    click(page, 30, 30)
    click(page, 60, 40)
    page.keyboard.press("Enter")
    page.get_by_role("button", name="Tag").click()
    page.get_by_role("dialog", name="Tag this frame").get_by_role("button", name="person").click()
    page.get_by_role("button", name="Brush").click()
    drag(page, (300, 300), (360, 320))
    page.keyboard.press("n")
    save(page)
    data = api.get(f"/api/jobs/{job['id']}/annotations").json()
    assert sorted(s["type"] for s in data["shapes"]) == ["mask", "points"]
    labels = api.get("/api/labels", params={"job_id": job["id"]}).json()["results"]
    person = next(x["id"] for x in labels if x["name"] == "person")
    assert [t["label_id"] for t in data["tags"]] == [person]
    mask = next(s for s in data["shapes"] if s["type"] == "mask")
    left, top, right, bottom = mask["points"][-4:]
    assert 280 <= left <= 300 and 280 <= top <= 300 and 360 <= right <= 380 and bottom <= 340
