"""Browser tests of never losing work: refused objects, two sessions on one job, stale journals."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.e2e.browser.conftest import first_job, job_shapes, make_task, shot
from tests.e2e.browser.test_workspace import drag, open_job

LABELS = [
    {"name": "car", "color": "#ff6037", "type": "rectangle", "attributes": []},
    {"name": "person", "color": "#33ddff", "type": "any", "attributes": []},
]
BOX_A = [50.0, 50.0, 150.0, 150.0]
BOX_B = [300.0, 50.0, 400.0, 150.0]


@pytest.fixture
def job(api: httpx.Client) -> dict:
    task = make_task(api, f"Saving {random.randrange(10**6)}", frames=2, labels=LABELS)
    job = first_job(api, task["id"])
    car = label_id(api, job, "car")
    boxes = [
        {"type": "rectangle", "frame": job["start_frame"], "label_id": car, "points": p}
        for p in (BOX_A, BOX_B)
    ]
    r = api.put(f"/api/jobs/{job['id']}/annotations", json={"shapes": boxes})
    assert r.status_code == 200, r.text
    return job


@pytest.fixture
def other_page(browser: Any, server: str) -> Iterator[Any]:
    """A second, separate browser session (another tab elsewhere, or another annotator)."""
    context = browser.new_context(base_url=server, viewport={"width": 1440, "height": 900})
    pg = context.new_page()
    pg.set_default_timeout(15000)
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    yield pg
    context.close()
    assert not errors, f"JavaScript errors on the second page: {errors}"


def label_id(api: httpx.Client, job: dict, name: str) -> int:
    labels = api.get("/api/labels", params={"job_id": job["id"]}).json()["results"]
    return next(x["id"] for x in labels if x["name"] == name)


def points_by_id(api: httpx.Client, job: dict) -> dict[int, list[float]]:
    return {s["id"]: s["points"] for s in job_shapes(api, job["id"])}


def wait_for(check: Any, what: str, timeout: float = 20) -> Any:
    """Poll the REST API until `check()` is truthy (the save runs in the page, on its own time)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.2)


def status(page: Any) -> Any:
    return page.get_by_role("status", name="Save status")


def save_now(page: Any) -> None:
    page.get_by_label("Annotation canvas").focus()
    page.keyboard.press("Control+s")


def moved(points: list[float], dx: float, dy: float) -> list[float]:
    return [points[0] + dx, points[1] + dy, points[2] + dx, points[3] + dy]


def test_tag_tool_offers_only_tag_labels_and_a_refused_tag_blocks_nothing(
    page: Any, api: httpx.Client, job: dict
) -> None:
    open_job(page, job)
    page.get_by_role("button", name="Tag").click()
    choices = page.get_by_role("group", name="Tag labels").get_by_role("button")
    expect(choices).to_have_text(["person"])  # 'car' is for rectangles only
    page.keyboard.press("Escape")

    # A tag the server refuses (as one made before its label became rectangle-only would be).
    car = label_id(api, job, "car")
    page.evaluate(
        """(car) => window.labelvault.store.commit('Tag', [{ after: { kind: 'tag', type: 'tag',
        frame: window.labelvault.frame, label_id: car, attributes: {}, group: 0,
        source: 'manual' } }])""",
        car,
    )
    save_now(page)
    expect(status(page)).to_contain_text("Saved, except", timeout=10000)
    assert api.get(f"/api/jobs/{job['id']}/annotations").json()["tags"] == []

    # Later edits still reach the server while the refused tag waits, marked, in the list.
    drag(page, (100, 100), (120, 130))
    save_now(page)
    box_a = wait_for(
        lambda: [p for p in points_by_id(api, job).values() if p[0] == pytest.approx(70, abs=1.5)],
        "the moved box on the server",
    )
    assert box_a[0] == pytest.approx(moved(BOX_A, 20, 30), abs=1.5)
    objects = page.get_by_role("listbox", name="Objects on this frame")
    refused = objects.get_by_role("option", name="not saved")
    expect(refused).to_have_count(1)
    # The server's reason names the labels that can be tags.
    expect(refused).to_have_attribute(
        "aria-label",
        "car tag new, not saved: label 'car' is for rectangle, not tags "
        "(labels for tags: 'person')",
    )
    assert api.get(f"/api/jobs/{job['id']}/annotations").json()["tags"] == []

    # The annotator fixes it: another label, and it is saved.
    refused.click()
    expect(
        page.get_by_role("alert").filter(has_text="The server refused this object")
    ).to_be_visible()
    shot(page, "workspace-refused-object")
    page.get_by_label("Object label").select_option(label="person")
    save_now(page)
    person = label_id(api, job, "person")
    wait_for(
        lambda: (
            [t["label_id"] for t in api.get(f"/api/jobs/{job['id']}/annotations").json()["tags"]]
            == [person]
        ),
        "the fixed tag on the server",
    )
    expect(objects.get_by_role("option", name="not saved")).to_have_count(0)
    expect(status(page)).to_have_text("Saved")


def test_two_sessions_editing_different_shapes_both_keep_their_work(
    page: Any, other_page: Any, api: httpx.Client, job: dict
) -> None:
    open_job(page, job)
    open_job(other_page, job)
    drag(page, (100, 100), (120, 100))  # A moves right in the first session
    save_now(page)
    expect(status(page)).to_have_text("Saved")
    drag(other_page, (350, 100), (350, 140))  # B moves down in the second, from the old version
    save_now(other_page)
    expect(status(other_page)).to_have_text("Saved", timeout=15000)
    expect(other_page.get_by_role("dialog")).to_have_count(0)  # nothing to choose
    points = sorted(points_by_id(api, job).values())
    assert points[0] == pytest.approx(moved(BOX_A, 20, 0), abs=1.5)
    assert points[1] == pytest.approx(moved(BOX_B, 0, 40), abs=1.5)
    # the second session now shows the first one's work too
    shown = other_page.evaluate(
        "[...window.labelvault.store.objects.values()].map((o) => o.points[0])"
        ".sort((a, b) => a - b)"
    )
    assert shown == pytest.approx([70, 300], abs=1.5)


@pytest.mark.parametrize("choice", ["Keep mine", "Take theirs", "Keep both"])
def test_editing_the_same_shape_in_two_sessions_asks_and_each_choice_does_what_it_says(
    page: Any, other_page: Any, api: httpx.Client, job: dict, choice: str
) -> None:
    open_job(page, job)
    open_job(other_page, job)
    drag(page, (100, 100), (120, 100))  # theirs: A moves right
    save_now(page)
    expect(status(page)).to_have_text("Saved")
    drag(other_page, (100, 100), (100, 130))  # mine: A moves down
    save_now(other_page)
    dialog = other_page.get_by_role("dialog", name="Someone else changed the same objects")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("listitem")).to_have_count(1)
    if choice == "Keep both":
        shot(other_page, "workspace-conflict")
    dialog.get_by_role("button", name=choice).click()
    expect(dialog).to_have_count(0)
    expect(status(other_page)).to_have_text("Saved", timeout=15000)

    theirs, mine = moved(BOX_A, 20, 0), moved(BOX_A, 0, 30)
    expected = {"Keep mine": [mine], "Take theirs": [theirs], "Keep both": [theirs, mine]}[choice]
    got = sorted(p for p in points_by_id(api, job).values() if p[0] < 250)
    assert len(got) == len(expected), got
    for g, e in zip(got, sorted(expected), strict=True):
        assert g == pytest.approx(e, abs=1.5), got
    assert len(job_shapes(api, job["id"])) == len(expected) + 1  # B untouched throughout


def test_a_journal_from_before_a_newer_save_is_merged_not_replayed(
    page: Any, api: httpx.Client, job: dict
) -> None:
    open_job(page, job)
    page.context.set_offline(True)
    drag(page, (100, 100), (100, 130))  # mine, kept only in this browser
    expect(status(page)).to_contain_text("Save failed", timeout=10000)
    page.close()  # the tab goes away before it could save

    # Meanwhile someone else moves the same box and saves.
    shapes = api.get(f"/api/jobs/{job['id']}/annotations").json()["shapes"]
    box_a = next(s for s in shapes if s["points"][0] == BOX_A[0])
    theirs = moved(BOX_A, 20, 0)
    r = api.patch(
        f"/api/jobs/{job['id']}/annotations",
        params={"action": "update"},
        json={"shapes": [{**box_a, "points": theirs}], "tags": [], "tracks": []},
    )
    assert r.status_code == 200, r.text

    page.context.set_offline(False)
    again = page.context.new_page()
    again.goto(f"/tasks/{job['task_id']}/jobs/{job['id']}")  # same cookies: no login needed
    dialog = again.get_by_role("dialog", name="Someone else changed the same objects")
    expect(dialog).to_be_visible()
    assert points_by_id(api, job)[box_a["id"]] == pytest.approx(theirs)  # nothing replayed yet
    dialog.get_by_role("button", name="Keep mine").click()
    wait_for(
        lambda: (
            points_by_id(api, job).get(box_a["id"]) == pytest.approx(moved(BOX_A, 0, 30), abs=1.5)
        ),
        "my journaled change, chosen, on the server",
    )


def test_journals_of_two_closed_tabs_of_one_job_are_both_merged(
    page: Any, api: httpx.Client, job: dict
) -> None:
    open_job(page, job)
    second = page.context.new_page()  # same browser, its own tab (own sessionStorage)
    second.set_default_timeout(15000)
    second.goto(f"/tasks/{job['task_id']}/jobs/{job['id']}")
    second.wait_for_function("window.labelvault && window.labelvault.renderer.image")
    page.context.set_offline(True)
    drag(page, (100, 100), (100, 130))  # box A, only in the first tab's journal
    drag(second, (350, 100), (370, 100))  # box B, only in the second tab's journal
    expect(status(page)).to_contain_text("Save failed", timeout=10000)
    expect(status(second)).to_contain_text("Save failed", timeout=10000)
    keys = page.evaluate(
        "Object.keys(localStorage).filter((k) => k.startsWith('labelvault:journal:'))"
    )
    assert len(keys) == 2, keys  # one journal per tab: neither overwrote the other
    page.close()
    second.close()

    page.context.set_offline(False)
    again = page.context.new_page()
    again.goto(f"/tasks/{job['task_id']}/jobs/{job['id']}")
    wait_for(
        lambda: (
            [c for p in sorted(points_by_id(api, job).values()) for c in p]
            == pytest.approx([*moved(BOX_A, 0, 30), *moved(BOX_B, 20, 0)], abs=1.5)
        ),
        "both closed tabs' work on the server",
    )
    expect(status(again)).to_have_text("Saved", timeout=15000)
    left = again.evaluate(
        "Object.keys(localStorage).filter((k) => k.startsWith('labelvault:journal:'))"
    )
    assert left == [], left
