"""Browser tests of track editing: every shape type, occluded and attributes per frame, outside,
the keyframe timeline, split (Alt+M), merge (M), playback speed; the workspace's interpolated
frames equal the server's (formats/interpolation.py) for each stored track."""

from __future__ import annotations

import random
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from labelvault.formats.interpolation import tracked_at
from tests.e2e.browser.conftest import first_job, job_shapes, make_task, shot
from tests.e2e.browser.test_tracks import go_to
from tests.e2e.browser.test_workspace import click, drag, open_job, save

LABELS = [
    {
        "name": "car",
        "color": "#ff6037",
        "type": "any",
        "attributes": [
            {
                "name": "moving",
                "input_type": "checkbox",
                "mutable": True,
                "values": ["false"],
                "default_value": "false",
            }
        ],
    }
]
FRAMES = 6
# A stored track as the workspace shows it on one frame (null where it is not drawn).
VIEW = """([id, f]) => {
  const st = window.labelvault.store;
  const v = st.view(st.cidOf(id), f);
  if (v.outside) return null;
  return { points: v.points, rotation: v.rotation, occluded: v.occluded, keyframe: v.keyframe,
    attributes: v.attributes };
}"""


@pytest.fixture
def job(api: httpx.Client) -> dict:
    task = make_task(api, f"Track editing {random.randrange(10**6)}", frames=FRAMES, labels=LABELS)
    return first_job(api, task["id"])


def tracks(api: httpx.Client, job: dict) -> list[dict]:
    return sorted(
        api.get(f"/api/jobs/{job['id']}/annotations").json()["tracks"], key=lambda t: t["id"]
    )


def keys(track: dict) -> list[tuple[int, bool]]:
    return [(k["frame"], k["outside"]) for k in track["shapes"]]


def test_track_editing_and_the_same_interpolation_as_the_server(
    page: Any, api: httpx.Client, job: dict
) -> None:
    open_job(page, job)
    spec = api.get("/api/labels", params={"job_id": job["id"]}).json()["results"][0]
    spec_id = spec["attributes"][0]["id"]
    page.get_by_role("button", name="Track", exact=True).click()
    page.get_by_role("button", name="Rectangle").click()
    drag(page, (100, 100), (200, 180))
    page.keyboard.press("Escape")
    go_to(page, 4)
    click(page, 150, 140)
    drag(page, (150, 140), (190, 160))
    # Frame 2: occluded from here (Q), and the mutable attribute changes here only.
    go_to(page, 2)
    click(page, 170, 150)
    page.keyboard.press("q")
    page.get_by_label("Attribute moving").check()
    go_to(page, 5)
    click(page, 190, 160)
    page.keyboard.press("o")  # outside from frame 5
    save(page)
    [track] = tracks(api, job)
    assert keys(track) == [(0, False), (2, False), (4, False), (5, True)]
    by_frame = {k["frame"]: k for k in track["shapes"]}
    assert by_frame[2]["occluded"] and not by_frame[0]["occluded"]
    assert by_frame[2]["attributes"] == [{"spec_id": spec_id, "value": "true"}]
    assert all(a["spec_id"] != spec_id for a in track["attributes"])  # not a track attribute

    # The timeline lists the keyframes; clicking one goes there.
    go_to(page, 2)
    click(page, 170, 150)
    timeline = page.get_by_role("group", name="Track timeline")
    expect(timeline.get_by_role("button")).to_have_count(4)
    timeline.get_by_role("button", name="Keyframe 4", exact=True).click()
    page.wait_for_function("window.labelvault.frame === 4")
    shot(page, "workspace-track-editing")

    # Split at frame 4: the first part goes outside there, the second starts there.
    page.keyboard.press("Alt+m")
    save(page)
    first, second = tracks(api, job)
    assert keys(first) == [(0, False), (2, False), (4, True)]
    assert keys(second) == [(4, False), (5, True)]
    assert second["shapes"][0]["points"] == pytest.approx(by_frame[4]["points"], abs=1e-6)

    # Tracks of the other types: drawn on frame 0, moved on frame 3.
    go_to(page, 0)
    draws = {
        "polygon": [(300, 40), (380, 50), (350, 120)],
        "polyline": [(420, 40), (500, 60), (560, 40)],
        "points": [(450, 300), (500, 320)],
    }
    for tool, pts in draws.items():
        page.get_by_role("button", name=tool.capitalize()).click()
        for x, y in pts:
            click(page, x, y)
        page.keyboard.press("n")
    page.get_by_role("button", name="Ellipse").click()
    drag(page, (80, 300), (180, 380))
    page.keyboard.press("Escape")
    go_to(page, 3)
    for a, b in (((330, 70), (360, 90)), ((500, 60), (510, 90)), ((130, 340), (170, 300))):
        click(page, *a)
        drag(page, a, b)
    click(page, 450, 300)  # a point: dragging a vertex moves that point
    drag(page, (450, 300), (420, 260))
    save(page)
    stored = tracks(api, job)
    types = sorted(t["shapes"][0]["type"] for t in stored)
    assert types == ["ellipse", "points", "polygon", "polyline", "rectangle", "rectangle"]
    assert all(len(t["shapes"]) >= 2 for t in stored)

    # Every frame of every track: the workspace's interpolation is the server's.
    for t in stored:
        for f in range(FRAMES):
            server = tracked_at(t["shapes"], f)
            browser = page.evaluate(VIEW, [t["id"], f])
            if server is None or server["outside"]:
                assert browser is None, (t["id"], f)
                continue
            assert browser is not None, (t["id"], f)
            assert browser["points"] == pytest.approx(server["points"], abs=1e-9), (t["id"], f)
            assert browser["rotation"] == pytest.approx(server["rotation"], abs=1e-9)
            assert browser["occluded"] == server["occluded"], (t["id"], f)
            assert browser["keyframe"] == server["keyframe"], (t["id"], f)
            mutable = {a["spec_id"]: a["value"] for a in server["attributes"]}
            assert {int(k): v for k, v in browser["attributes"].items() if int(k) in mutable} == (
                mutable
            )

    # Merge (M): a box on frame 0 and one on frame 3 become one track.
    page.get_by_role("button", name="Track", exact=True).click()  # shapes again
    go_to(page, 0)
    page.get_by_role("button", name="Rectangle").click()
    drag(page, (500, 380), (560, 440))
    go_to(page, 3)
    drag(page, (520, 380), (600, 450))
    page.keyboard.press("Escape")
    save(page)
    assert len(job_shapes(api, job["id"])) == 2
    before = len(tracks(api, job))
    click(page, 560, 415)
    page.keyboard.press("m")
    go_to(page, 0)
    click(page, 530, 410)
    page.keyboard.press("m")
    save(page)
    assert job_shapes(api, job["id"]) == []
    merged = tracks(api, job)
    assert len(merged) == before + 1
    assert keys(merged[-1]) == [(0, False), (1, True), (3, False), (4, True)]

    # Playback at a chosen speed (Space) runs to the last frame.
    page.get_by_label("Playback speed").select_option("30")
    page.get_by_label("Annotation canvas").focus()
    page.keyboard.press("Space")
    page.wait_for_function(f"window.labelvault.frame === {FRAMES - 1}")
    page.wait_for_function("!window.labelvault.player.playing")
