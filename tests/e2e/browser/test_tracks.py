"""Browser tests of tracks: draw one, move it on a later frame, the frames between interpolate."""

from __future__ import annotations

import random
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from labelvault.formats.base import track_shape_at
from tests.e2e.browser.conftest import first_job, make_task, shot
from tests.e2e.browser.test_saving import status, wait_for
from tests.e2e.browser.test_workspace import click, drag, open_job, save

LABELS = [{"name": "car", "color": "#ff6037", "type": "any", "attributes": []}]


@pytest.fixture
def job(api: httpx.Client) -> dict:
    task = make_task(api, f"Tracks {random.randrange(10**6)}", frames=6, labels=LABELS)
    return first_job(api, task["id"])


def tracks(api: httpx.Client, job: dict) -> list[dict]:
    return api.get(f"/api/jobs/{job['id']}/annotations").json()["tracks"]


def go_to(page: Any, frame: int) -> None:
    page.get_by_label("Frame number").fill(str(frame))
    page.get_by_label("Frame number").press("Enter")
    page.wait_for_function(
        f"window.labelvault.frame === {frame} && window.labelvault.renderer.image"
    )


def test_a_track_moved_on_frame_4_has_keyframes_0_and_4_and_the_midpoint_on_2(
    page: Any, api: httpx.Client, job: dict
) -> None:
    open_job(page, job)
    page.get_by_role("button", name="Track", exact=True).click()
    expect(page.get_by_role("button", name="Track", exact=True)).to_have_attribute(
        "aria-pressed", "true"
    )
    page.get_by_role("button", name="Rectangle").click()
    drag(page, (100, 100), (200, 180))
    page.keyboard.press("Escape")  # back to the select tool
    save(page)
    expect(status(page)).to_have_text("Saved", timeout=10000)
    [track] = wait_for(lambda: tracks(api, job), "the new track on the server")
    assert [k["frame"] for k in track["shapes"]] == [0]
    assert api.get(f"/api/jobs/{job['id']}/annotations").json()["shapes"] == []

    go_to(page, 4)  # the track is still there (held from its only keyframe): move it
    click(page, 150, 140)
    drag(page, (150, 140), (190, 160))
    save(page)
    expect(status(page)).to_have_text("Saved", timeout=10000)
    track = wait_for(
        lambda: next((t for t in tracks(api, job) if len(t["shapes"]) == 2), None),
        "the keyframe on frame 4",
    )
    k0, k4 = track["shapes"]
    assert (k0["frame"], k4["frame"]) == (0, 4)
    assert k0["points"] == pytest.approx([100, 100, 200, 180], abs=1.5)
    assert k4["points"] == pytest.approx([140, 120, 240, 200], abs=1.5)
    assert all(k.get("keyframe", True) for k in track["shapes"])  # every stored shape is one

    # Frame 2 is the linear midpoint, in the workspace and in the server's own interpolation.
    go_to(page, 2)
    shown = page.evaluate(
        "window.labelvault.store.onFrame(2).filter((o) => o.track).map((o) => o.points)"
    )
    assert len(shown) == 1 and shown[0] == pytest.approx([120, 110, 220, 190], abs=1.5)
    server = track_shape_at({**track, "label": "car"}, 2)
    assert server is not None
    assert list(server["points"]) == pytest.approx([120, 110, 220, 190], abs=1.5)
    click(page, 170, 150)
    shot(page, "workspace-track-interpolated")

    # O on frame 5 hides it from there on (an outside keyframe); frame 2 is unchanged.
    go_to(page, 5)
    click(page, 190, 160)
    page.keyboard.press("o")
    save(page)
    track = wait_for(
        lambda: next((t for t in tracks(api, job) if len(t["shapes"]) == 3), None),
        "the outside keyframe on frame 5",
    )
    assert [(k["frame"], k["outside"]) for k in track["shapes"]] == [
        (0, False),
        (4, False),
        (5, True),
    ]
    assert page.evaluate("window.labelvault.store.onFrame(5).length") == 0
    page.keyboard.press("e")  # previous keyframe
    page.wait_for_function("window.labelvault.frame === 4")
