"""The cached shapes layer repaints only around an edit: after edits it equals a full render."""

from __future__ import annotations

import random
from typing import Any

import httpx
import pytest

from tests.e2e.browser.conftest import first_job, job_shapes, make_task
from tests.e2e.browser.test_workspace import click, drag, open_job, save

# Compares the cached layer with a full render of the same view, pixel by pixel (in the page).
SAME_AS_FULL = """async () => {
  const r = window.labelvault.renderer;
  while (r.job) await new Promise((res) => requestAnimationFrame(res));
  r.draw();
  const w = r.cache.width;
  const grab = () => r.cache.getContext('2d').getImageData(0, 0, w, r.cache.height).data;
  const incremental = grab();
  r.invalidate('statics');
  r.draw();
  while (r.job) { r.draw(); await new Promise((res) => requestAnimationFrame(res)); }
  const full = grab();
  let differ = 0, painted = 0;
  const where = [];
  for (let i = 0; i < full.length; i += 4) {
    if (full[i + 3]) painted++;
    for (let c = 0; c < 4; c++) {
      if (Math.abs(full[i + c] - incremental[i + c]) > 1) {
        differ++;
        if (where.length < 12) where.push([(i / 4) % w, Math.floor(i / 4 / w)]);
        break;
      }
    }
  }
  return { differ, painted, where };
}"""


@pytest.fixture
def crowded_job(api: httpx.Client) -> dict:
    task = make_task(api, f"Layers {random.randrange(10**6)}", frames=1)
    job = first_job(api, task["id"])
    labels = api.get("/api/labels", params={"job_id": job["id"]}).json()["results"]
    rng = random.Random(3)
    shapes = []
    # Overlapping boxes of two colours on three z levels. (Not occluded ones: Skia culls dashes to
    # the clip, which moves a dash edge by a pixel here and there.)
    for i in range(400):
        x, y = rng.uniform(0, 560), rng.uniform(0, 420)
        w, h = rng.uniform(10, 80), rng.uniform(10, 60)
        shapes.append(
            {
                "type": "rectangle",
                "frame": 0,
                "label_id": labels[i % 2]["id"],
                "points": [x, y, x + w, y + h],
                "z_order": i % 3,
            }
        )
    api.put(f"/api/jobs/{job['id']}/annotations", json={"shapes": shapes}).raise_for_status()
    return job


def test_edits_repaint_only_their_region_and_match_a_full_render(
    page: Any, api: httpx.Client, crowded_job: dict
) -> None:
    job = crowded_job
    open_job(page, job)
    page.evaluate("window.labelvault.renderer.showText = false")
    before = {tuple(s["points"]): s["id"] for s in job_shapes(api, job["id"])}
    # Draw a box, move one, delete one, change an attribute: each repaints a region only.
    page.get_by_role("button", name="Rectangle").click()
    drag(page, (300, 200), (380, 260))
    new_cid = page.evaluate("window.labelvault.renderer.selected")
    assert new_cid is not None, "a newly drawn shape is selected"
    page.get_by_label("Attribute colour").select_option("blue")
    page.keyboard.press("Escape")
    cx, cy = 150.0, 150.0
    target = page.evaluate(
        """([x, y]) => { const ws = window.labelvault; const o = ws.tools.select.hitAt(x, y);
           return { id: ws.store.serverId.get(o.cid), points: o.points }; }""",
        [cx, cy],
    )
    p = target["points"]
    drag(page, (cx, cy), (cx + 25, cy + 15))
    regions = page.evaluate("window.labelvault.renderer.stats.regionMs")
    assert regions is not None, "the move was repainted as a region"
    page.evaluate("(cid) => window.labelvault.select(cid)", new_cid)
    page.keyboard.press("Delete")
    result = page.evaluate(SAME_AS_FULL)
    assert result["painted"] > 10000
    assert result["differ"] == 0, result

    save(page)
    after = {s["id"]: s for s in job_shapes(api, job["id"])}
    assert len(after) == len(before)  # drawn, then deleted
    moved = after[target["id"]]["points"]
    assert moved[0] - p[0] == pytest.approx(25, abs=1.5)
    assert moved[1] - p[1] == pytest.approx(15, abs=1.5)


# One wheel step and one pan step dispatched in the page, and the layers' state right after them
# (before the pause that draws them again).
GESTURE = """() => {
  const r = window.labelvault.renderer;
  const o = r.overlay; const b = o.getBoundingClientRect();
  const at = { clientX: b.left + b.width / 2, clientY: b.top + b.height / 2, bubbles: true,
               cancelable: true };
  o.dispatchEvent(new WheelEvent('wheel', { ...at, deltaY: -120 }));
  r.panBy(12, 7);
  return { transform: r.imageCanvas.style.transform, shapes: r.shapesCanvas.style.visibility };
}"""
IDLE = """() => { const r = window.labelvault.renderer;
  return !r.job && !r.imageCanvas.style.transform && r.shapesCanvas.style.visibility === ''
    && r.cacheView && r.cacheView.scale === r.view.scale && r.cacheView.x === r.view.x; }"""


def test_pan_and_zoom_move_the_drawn_layers_then_draw_them_sharp(
    page: Any, api: httpx.Client, crowded_job: dict
) -> None:
    open_job(page, crowded_job)
    page.evaluate("window.labelvault.renderer.showText = false")
    page.wait_for_function(IDLE)
    during = page.evaluate(GESTURE)
    # Mid-gesture nothing is redrawn: the image layer (with the shapes drawn onto it) moves.
    assert during["transform"].startswith("translate(") and "scale(" in during["transform"]
    assert during["shapes"] == "hidden"
    # A person's wheel and drag; once they pause, both layers are drawn again for the new view.
    box = page.get_by_label("Annotation canvas").bounding_box()
    page.mouse.move(box["x"] + 300, box["y"] + 300)
    for _ in range(3):
        page.mouse.wheel(0, -100)
    page.wait_for_function(IDLE)
    result = page.evaluate(SAME_AS_FULL)
    assert result["painted"] > 10000 and result["differ"] == 0, result
    # The shapes are where the pointer finds them: a click on one selects it.
    cx, cy = page.evaluate(
        """() => { const ws = window.labelvault; const r = ws.renderer;
           const o = ws.store.onFrame(ws.frame).find((s) => { const [x, y] = r.toScreen(
             (s.points[0] + s.points[2]) / 2, (s.points[1] + s.points[3]) / 2);
             return x > 50 && y > 50 && x < r.width - 50 && y < r.height - 50; });
           return [(o.points[0] + o.points[2]) / 2, (o.points[1] + o.points[3]) / 2]; }"""
    )
    click(page, cx, cy)
    chosen = page.evaluate("window.labelvault.selectedObject().points")
    assert chosen[0] <= cx <= chosen[2] and chosen[1] <= cy <= chosen[3]


def test_playback_draws_shapes_onto_the_image_and_splits_them_again_at_the_pause(
    page: Any, api: httpx.Client
) -> None:
    task = make_task(api, f"Playback {random.randrange(10**6)}", frames=6)
    job = first_job(api, task["id"])
    label = api.get("/api/labels", params={"job_id": job["id"]}).json()["results"][0]["id"]
    keys = [
        {"frame": f, "type": "rectangle", "points": [10 + 40 * f, 10, 60 + 40 * f, 50]}
        for f in (0, 5)
    ]
    body = {"tracks": [{"frame": 0, "label_id": label, "shapes": keys}]}
    api.put(f"/api/jobs/{job['id']}/annotations", json=body).raise_for_status()
    open_job(page, job)
    page.get_by_label("Playback speed").select_option("5")
    page.get_by_label("Annotation canvas").focus()
    page.keyboard.press("Space")
    page.wait_for_function(
        "window.labelvault.player.playing && window.labelvault.renderer.merge"
        " && window.labelvault.renderer.shapesCanvas.style.visibility === 'hidden'"
    )
    page.wait_for_function("!window.labelvault.player.playing && window.labelvault.frame === 5")
    page.wait_for_function(IDLE)
    assert page.evaluate("window.labelvault.renderer.image instanceof ImageBitmap")
    # On the last frame the track is at its second keyframe, drawn in the shapes layer again.
    assert page.evaluate("window.labelvault.store.onFrame(5).map((o) => o.points)") == [
        [210, 10, 260, 50]
    ]
    result = page.evaluate(SAME_AS_FULL)
    assert result["painted"] > 100 and result["differ"] == 0, result
