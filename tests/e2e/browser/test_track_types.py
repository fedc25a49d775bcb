"""Browser tests of skeleton and cuboid tracks (drawn with Track on, keyed on a later frame, the
frames between interpolated as the exporter does) and of masks, which stay shapes as in CVAT."""

from __future__ import annotations

import random
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from labelvault.formats.base import track_shape_at
from tests.e2e.browser.conftest import first_job, make_task, shot
from tests.e2e.browser.test_skeleton_cuboid import LABELS, cvat_cuboid
from tests.e2e.browser.test_tracks import go_to, tracks
from tests.e2e.browser.test_workspace import click, drag, open_job, save

TYPES = [*LABELS, {"name": "blob", "color": "#aa44ff", "type": "mask", "attributes": []}]


@pytest.fixture
def job(api: httpx.Client) -> dict:
    task = make_task(api, f"Track types {random.randrange(10**6)}", frames=6, labels=TYPES)
    return first_job(api, task["id"])


def exported(track: dict, frame: int) -> dict | None:
    """The exporter's shape of a stored track on `frame` (labels named by id)."""
    named = {**track, "label": str(track["label_id"]), "attributes": []}
    named["elements"] = [
        {**e, "label": str(e["label_id"]), "attributes": []} for e in track.get("elements") or []
    ]
    return track_shape_at(named, frame)


def shown(page: Any, frame: int, type_: str) -> dict:
    (o,) = page.evaluate(
        f"window.labelvault.store.onFrame({frame}).filter((o) => o.track && o.type === '{type_}')"
    )
    return o


def test_a_skeleton_track_keys_its_points_and_interpolates_each(
    page: Any, api: httpx.Client, job: dict
) -> None:
    labels = api.get("/api/labels", params={"job_id": job["id"]}).json()["results"]
    person = next(x for x in labels if x["name"] == "person")
    ids = {s["name"]: s["id"] for s in person["sublabels"]}
    open_job(page, job)
    page.get_by_role("button", name="Track", exact=True).click()
    page.get_by_role("button", name="Skeleton").click()
    drag(page, (100, 100), (300, 300))
    page.keyboard.press("Escape")  # the select tool; the new track stays selected
    save(page)
    [track] = tracks(api, job)
    assert track["label_id"] == person["id"] and [k["type"] for k in track["shapes"]] == [
        "skeleton"
    ]
    start = {e["label_id"]: e["shapes"] for e in track["elements"]}
    assert set(start) == set(ids.values())
    assert start[ids["head"]][0]["points"] == pytest.approx([200, 100], abs=1.5)

    go_to(page, 4)  # still selected there: drag the head point alone
    drag(page, (200, 100), (240, 140))
    save(page)
    [track] = tracks(api, job)
    assert [k["frame"] for k in track["shapes"]] == [0, 4]
    by = {e["label_id"]: e["shapes"] for e in track["elements"]}
    assert [k["frame"] for k in by[ids["head"]]] == [0, 4]
    assert by[ids["head"]][1]["points"] == pytest.approx([240, 140], abs=1.5)
    assert by[ids["left"]][1]["points"] == pytest.approx([100, 300], abs=1.5)

    # On frame 5 the left point goes outside: a keyframe of that point only says so.
    go_to(page, 5)
    page.get_by_label("left outside").check()
    save(page)
    [track] = tracks(api, job)
    by = {e["label_id"]: e["shapes"] for e in track["elements"]}
    assert [(k["frame"], k["outside"]) for k in by[ids["left"]]] == [
        (0, False),
        (4, False),
        (5, True),
    ]
    assert not by[ids["head"]][-1]["outside"]

    # Frame 2 is halfway for the head, in the workspace and in the exporter, point for point.
    go_to(page, 2)
    mine = shown(page, 2, "skeleton")
    head = next(e for e in mine["elements"] if e["label_id"] == ids["head"])
    assert head["points"] == pytest.approx([220, 120], abs=1.5)
    for frame in range(6):
        go_to(page, frame)
        ours = {e["label_id"]: e for e in shown(page, frame, "skeleton")["elements"]}
        theirs = exported(track, frame)
        assert theirs is not None
        for e in theirs["elements"]:
            lid = int(e["label"])
            assert ours[lid]["points"] == pytest.approx(e["points"], abs=1e-6), frame
            assert ours[lid]["outside"] == e["outside"], frame
    # For the README: frame 3, the left point about to go outside; toasts gone.
    go_to(page, 3)
    page.wait_for_function("!document.querySelector('#toasts .toast')", timeout=10000)
    shot(page, "workspace-skeleton-track")


def test_a_cuboid_track_moves_its_8_points_linearly_and_masks_stay_shapes(
    page: Any, api: httpx.Client, job: dict
) -> None:
    open_job(page, job)
    page.get_by_role("button", name="Track", exact=True).click()
    page.get_by_role("button", name="Cuboid").click()
    drag(page, (350, 50), (450, 150))
    page.keyboard.press("Escape")
    save(page)
    [track] = tracks(api, job)
    assert track["shapes"][0]["type"] == "cuboid"
    assert track["shapes"][0]["points"] == pytest.approx(cvat_cuboid(350, 50, 450, 150), abs=1.5)

    go_to(page, 4)
    drag(page, (400, 100), (420, 110))  # the whole cuboid, by its front face
    save(page)
    [track] = tracks(api, job)
    k0, k4 = track["shapes"]
    assert k4["frame"] == 4
    assert k4["points"] == pytest.approx(
        [p + (20 if i % 2 == 0 else 10) for i, p in enumerate(k0["points"])], abs=1.5
    )
    go_to(page, 1)
    ours = shown(page, 1, "cuboid")["points"]
    theirs = exported(track, 1)
    assert theirs is not None and ours == pytest.approx(theirs["points"], abs=1e-6)
    assert ours == pytest.approx(
        [p + (5 if i % 2 == 0 else 2.5) for i, p in enumerate(k0["points"])], abs=1.5
    )

    # A mask drawn with Track on is a shape (CVAT has no mask tracks), and says so.
    page.get_by_role("button", name="Brush").click()
    drag(page, (100, 300), (160, 320))
    page.keyboard.press("n")
    expect(page.get_by_text("there are no mask tracks")).to_be_visible()
    save(page)
    data = api.get(f"/api/jobs/{job['id']}/annotations").json()
    assert [s["type"] for s in data["shapes"]] == ["mask"]
    assert [t["shapes"][0]["type"] for t in data["tracks"]] == ["cuboid"]


def test_keyframe_outside_and_split_of_a_skeleton_track_key_its_points_too(
    page: Any, api: httpx.Client, job: dict
) -> None:
    labels = api.get("/api/labels", params={"job_id": job["id"]}).json()["results"]
    person = next(x for x in labels if x["name"] == "person")
    at = {"head": (200, 100), "left": (100, 300), "right": (300, 300)}

    def key(name: str) -> dict:
        return {"frame": 0, "type": "points", "points": list(at[name]), "outside": False}

    body = {
        "tracks": [
            {
                "frame": 0,
                "label_id": person["id"],
                "shapes": [{"frame": 0, "type": "skeleton", "points": [], "outside": False}],
                "elements": [
                    {"frame": 0, "label_id": s["id"], "shapes": [key(s["name"])]}
                    for s in person["sublabels"]
                ],
            }
        ]
    }
    api.put(f"/api/jobs/{job['id']}/annotations", json=body).raise_for_status()
    open_job(page, job)
    go_to(page, 2)
    click(page, 300, 300)  # a person clicks a point: the skeleton is selected
    page.wait_for_function("window.labelvault.renderer.selected != null")
    page.keyboard.press("k")  # a keyframe here, for the skeleton and each point
    go_to(page, 4)
    page.get_by_label("Annotation canvas").focus()  # back from the frame number box
    page.keyboard.press("o")  # the whole skeleton leaves the view from frame 4
    save(page)
    [track] = tracks(api, job)
    assert [(k["frame"], k["outside"]) for k in track["shapes"]] == [
        (0, False),
        (2, False),
        (4, True),
    ]
    assert all([k["frame"] for k in e["shapes"]] == [0, 2] for e in track["elements"])
    assert exported(track, 4) is None and exported(track, 3) is not None

    go_to(page, 3)
    page.get_by_label("Annotation canvas").focus()
    page.keyboard.press("Alt+m")  # split here
    save(page)
    first, second = sorted(tracks(api, job), key=lambda t: t["frame"])
    assert [(k["frame"], k["outside"]) for k in first["shapes"]] == [
        (0, False),
        (2, False),
        (3, True),
    ]
    assert all(
        e["shapes"][-1]["frame"] == 3 and e["shapes"][-1]["outside"] for e in first["elements"]
    )
    assert second["frame"] == 3 and [k["frame"] for k in second["shapes"]] == [3, 4]
    by = {e["label_id"]: e["shapes"] for e in second["elements"]}
    left = next(s["id"] for s in person["sublabels"] if s["name"] == "left")
    assert by[left][0]["frame"] == 3 and by[left][0]["points"] == pytest.approx([100, 300])
    assert exported(first, 3) is None and exported(second, 3) is not None
