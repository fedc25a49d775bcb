"""The cached shapes layer repaints only around an edit: after edits it equals a full render."""

from __future__ import annotations

import random
from typing import Any

import httpx
import pytest

from tests.e2e.browser.conftest import first_job, job_shapes, make_task
from tests.e2e.browser.test_workspace import drag, open_job, save

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
