"""Browser tests of skeletons (placed from the label's template, points moved, per-point outside)
and of CVAT's 2D cuboid (8 points from a drawn front face, vertex drag, orientation)."""

from __future__ import annotations

import random
from typing import Any

import httpx
import pytest

from tests.e2e.browser.conftest import first_job, job_shapes, make_task, shot
from tests.e2e.browser.test_workspace import drag, open_job, save

SVG = (
    '<line x1="50" y1="10" x2="20" y2="90" data-type="edge" data-node-from="1" data-node-to="2">'
    '</line><line x1="50" y1="10" x2="80" y2="90" data-type="edge" data-node-from="1" '
    'data-node-to="3"></line>'
    '<circle r="1.5" cx="50" cy="10" data-type="element node" data-element-id="1" '
    'data-node-id="1" data-label-name="head"></circle>'
    '<circle r="1.5" cx="20" cy="90" data-type="element node" data-element-id="2" '
    'data-node-id="2" data-label-name="left"></circle>'
    '<circle r="1.5" cx="80" cy="90" data-type="element node" data-element-id="3" '
    'data-node-id="3" data-label-name="right"></circle>'
)
LABELS = [
    {
        "name": "person",
        "color": "#33ddff",
        "type": "skeleton",
        "svg": SVG,
        "sublabels": [{"name": n, "type": "points"} for n in ("head", "left", "right")],
    },
    {"name": "box", "color": "#ff6037", "type": "cuboid", "attributes": []},
]


def cvat_cuboid(xtl: float, ytl: float, xbr: float, ybr: float) -> list[float]:
    """cvat-canvas's cuboidFrom4Points for a front face drawn as a rectangle, worked out by hand."""
    dx, dy = (xbr - xtl) * 0.1, (ybr - ytl) * 0.1
    return [xtl, ytl + 0.1, xtl, ybr, xbr, ytl, xbr, ybr,
            xbr + dx, ytl - dy + 0.1, xbr + dx, ybr - dy - 0.1,
            xtl + dx, ytl - dy + 0.1, xtl + dx, ybr - dy - 0.1]  # fmt: skip


def test_skeleton_from_its_template_and_a_cuboid(page: Any, api: httpx.Client) -> None:
    task = make_task(api, f"Skeleton {random.randrange(10**6)}", frames=1, labels=LABELS)
    job = first_job(api, task["id"])
    labels = api.get("/api/labels", params={"job_id": job["id"]}).json()["results"]
    person = next(x for x in labels if x["name"] == "person")
    points = {s["name"]: s["id"] for s in person["sublabels"]}
    open_job(page, job)

    page.get_by_role("button", name="Skeleton").click()
    drag(page, (100, 100), (300, 300))
    page.keyboard.press("Escape")  # the select tool; the new skeleton stays selected
    save(page)
    (skeleton,) = job_shapes(api, job["id"])
    assert skeleton["type"] == "skeleton" and skeleton["label_id"] == person["id"]
    at = {e["label_id"]: e["points"] for e in skeleton["elements"]}
    assert at[points["head"]] == pytest.approx([200, 100], abs=1.5)
    assert at[points["left"]] == pytest.approx([100, 300], abs=1.5)
    assert at[points["right"]] == pytest.approx([300, 300], abs=1.5)
    assert page.evaluate(
        "window.labelvault.renderer.skeletonEdges(window.labelvault.selectedObject()).length"
    ) == 2  # fmt: skip

    drag(page, (200, 100), (210, 120))  # the head point moves alone
    page.get_by_label("left outside").check()
    shot(page, "workspace-skeleton")
    save(page)
    (skeleton,) = job_shapes(api, job["id"])
    by = {e["label_id"]: e for e in skeleton["elements"]}
    assert by[points["head"]]["points"] == pytest.approx([210, 120], abs=1.5)
    assert by[points["left"]]["outside"] and not by[points["right"]]["outside"]

    page.keyboard.press("Escape")  # deselect, then drag the skeleton by a point: all move
    drag(page, (300, 300), (320, 310))
    save(page)
    (skeleton,) = job_shapes(api, job["id"])
    by = {e["label_id"]: e for e in skeleton["elements"]}
    assert by[points["right"]]["points"] == pytest.approx([320, 310], abs=1.5)
    assert by[points["head"]]["points"] == pytest.approx([230, 130], abs=1.5)

    # A cuboid from its front face, as CVAT draws it by rectangle.
    page.get_by_role("button", name="Cuboid").click()
    drag(page, (350, 50), (450, 150))
    page.keyboard.press("Escape")
    save(page)
    cuboid = next(s for s in job_shapes(api, job["id"]) if s["type"] == "cuboid")
    assert cuboid["points"] == pytest.approx(cvat_cuboid(350, 50, 450, 150), abs=1.5)
    assert page.get_by_text("Orientation: left").is_visible()
    # The front-right top corner moves; its vertical edge stays vertical.
    drag(page, (450, 50), (470, 40))
    save(page)
    p = next(s for s in job_shapes(api, job["id"]) if s["type"] == "cuboid")["points"]
    assert p[4:6] == pytest.approx([470, 40], abs=1.5)
    assert p[6] == pytest.approx(470, abs=1.5) and p[7] == pytest.approx(150, abs=1.5)
    page.get_by_role("button", name="Switch orientation").click()
    save(page)
    q = next(s for s in job_shapes(api, job["id"]) if s["type"] == "cuboid")["points"]
    assert q[12] < q[0]  # the back face is now left of the front face
    assert page.get_by_text("Orientation: right").is_visible()
