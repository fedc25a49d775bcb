"""Browser rendering benchmark: a job with 5k/10k/20k boxes in headless Chromium.

Prints frame times for pan/zoom, time to select, the per-frame cost of editing one shape and the
time to first paint.

Usage: .venv/bin/python bench/ui_render.py [--shapes 5000,10000,20000]
Prints numbers only; it never asserts (machines differ).
"""

from __future__ import annotations

import argparse
import io
import random
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "bench-Pw-123"
WIDTH, HEIGHT = 4000, 3000

# Runs inside the page: N animation frames, each doing `step(i)`; returns ms per frame.
FRAME_LOOP = """async ([kind, n]) => {
  const ws = window.labelvault, r = ws.renderer;
  const steps = {
    pan: (i) => r.panBy(i % 60 < 30 ? 4 : -4, i % 40 < 20 ? 3 : -3),
    zoom: (i) => r.zoomAt(r.width / 2, r.height / 2, i % 60 < 30 ? 1.02 : 1 / 1.02),
    panSharp: (i) => { r.panBy(i % 60 < 30 ? 4 : -4, 0); r.invalidate('statics'); },
    edit: (i) => {
      const o = ws.store.get(r.selected);
      const d = (i % 40 < 20 ? 1 : -1) * 2;
      const points = o.points.map((v, j) => v + (j % 2 ? 0 : (d * i) % 7));
      r.preview = { cid: o.cid, state: { ...o, points } };
      r.invalidate('overlay');
    },
  };
  const step = steps[kind];
  let work = 0;
  await new Promise((res) => requestAnimationFrame(res));
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    step(i);
    const w0 = performance.now();
    r.draw();  // draw synchronously so the work is measured even where rAF is throttled
    work += performance.now() - w0;
    await new Promise((res) => requestAnimationFrame(res));
  }
  return { frame: (performance.now() - t0) / n, work: work / n };
}"""

SELECT = """async () => {
  const ws = window.labelvault, r = ws.renderer;
  ws.setTool('select');
  const times = [];
  const shapes = ws.store.onFrame(r.frame).filter((o) => {
    const [x, y] = r.toScreen((o.points[0] + o.points[2]) / 2, (o.points[1] + o.points[3]) / 2);
    return x > 0 && y > 0 && x < r.width && y < r.height;
  }).slice(0, 40);
  for (const o of shapes) {
    const [x, y] = r.toScreen((o.points[0] + o.points[2]) / 2, (o.points[1] + o.points[3]) / 2);
    const t0 = performance.now();
    ws.tool.onDown({ offsetX: x, offsetY: y, altKey: false, shiftKey: false }, r.toImage(x, y));
    ws.tool.onUp({ offsetX: x, offsetY: y });
    r.draw();
    times.push(performance.now() - t0);
    await new Promise((res) => requestAnimationFrame(res));
  }
  times.sort((a, b) => a - b);
  return { median: times[times.length >> 1], max: times[times.length - 1], n: times.length };
}"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def jpeg(seed: int) -> bytes:
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (WIDTH, HEIGHT), (60 + seed * 20, 90, 120))
    draw = ImageDraw.Draw(img)
    for x in range(0, WIDTH, 200):
        draw.line([(x, 0), (x, HEIGHT)], fill=(200, 200, 200), width=3)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=80)
    return buf.getvalue()


def boxes(n: int, frame: int, label_ids: list[int], seed: int) -> list[dict]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        w, h = rng.uniform(15, 90), rng.uniform(15, 90)
        x, y = rng.uniform(0, WIDTH - w), rng.uniform(0, HEIGHT - h)
        out.append(
            {
                "type": "rectangle",
                "frame": frame,
                "label_id": label_ids[i % len(label_ids)],
                "points": [x, y, x + w, y + h],
            }
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shapes", default="5000,10000,20000")
    opts = parser.parse_args()
    counts = [int(c) for c in opts.shapes.split(",")]
    if not Path(CHROMIUM).exists():
        sys.exit(f"{CHROMIUM} is missing: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    data = Path(tempfile.mkdtemp(prefix="lv-bench-ui-"))
    port = free_port()
    exe = Path(sys.executable).with_name("labelvault")
    cmd = [str(exe), "serve", "--data-dir", str(data), "--port", str(port)]
    proc = subprocess.Popen(
        [*cmd, "--admin-password", PASSWORD],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{url}/api/server/about", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        api = httpx.Client(base_url=url, timeout=300)
        api.post("/api/auth/login", json={"username": "admin", "password": PASSWORD})
        api.headers["X-CSRFToken"] = api.cookies["csrftoken"]
        labels = [{"name": f"class{i}", "type": "any"} for i in range(8)]
        task = api.post("/api/tasks", json={"name": "ui bench", "labels": labels}).json()
        files = {f"client_files[{i}]": (f"f{i}.jpg", jpeg(i)) for i in range(len(counts))}
        rq = api.post(f"/api/tasks/{task['id']}/data", files=files, data={"image_quality": "90"})
        rq_id = rq.json()["rq_id"]
        while api.get(f"/api/requests/{rq_id}").json()["status"] not in ("finished", "failed"):
            time.sleep(0.3)
        job = api.get("/api/jobs", params={"task_id": task["id"]}).json()["results"][0]
        label_ids = [
            x["id"] for x in api.get("/api/labels", params={"job_id": job["id"]}).json()["results"]
        ]
        shapes = []
        for frame, n in enumerate(counts):
            shapes += boxes(n, job["start_frame"] + frame, label_ids, frame)
        t0 = time.perf_counter()
        api.put(f"/api/jobs/{job['id']}/annotations", json={"shapes": shapes}).raise_for_status()
        print(f"setup: {len(shapes)} boxes stored in {time.perf_counter() - t0:.1f} s")

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_context(viewport={"width": 1600, "height": 1000}).new_page()
            page.goto(f"{url}/login")
            page.get_by_label("Username").fill("admin")
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Log in").click()
            page.wait_for_url("**/projects")
            t0 = time.perf_counter()
            page.goto(f"{url}/tasks/{task['id']}/jobs/{job['id']}")
            page.wait_for_function(
                "window.labelvault && window.labelvault.renderer.image"
                " && window.labelvault.renderer.stats.staticCount > 0",
                timeout=120000,
            )
            total = len(shapes)
            print(
                f"open job ({len(counts)} frames, {total} shapes): first paint in "
                f"{(time.perf_counter() - t0) * 1000:.0f} ms"
            )
            print(
                f"{'shapes':>7} {'pan fps':>8} {'pan ms':>7} {'zoom fps':>9} {'zoom ms':>8}"
                f" {'sharp redraw ms':>16} {'select ms (med/max)':>20}"
                f" {'edit fps':>9} {'edit ms':>8}"
            )
            for frame, n in enumerate(counts):
                page.evaluate(
                    f"window.labelvault.goTo({job['start_frame'] + frame}, {{fit: true}})"
                )
                page.wait_for_timeout(500)
                pan = page.evaluate(FRAME_LOOP, ["pan", 120])
                zoom = page.evaluate(FRAME_LOOP, ["zoom", 120])
                sharp = page.evaluate(FRAME_LOOP, ["panSharp", 30])
                sel = page.evaluate(SELECT)
                edit = page.evaluate(FRAME_LOOP, ["edit", 120])
                print(
                    f"{n:>7} {1000 / pan['frame']:>8.1f} {pan['work']:>7.2f}"
                    f" {1000 / zoom['frame']:>9.1f} {zoom['work']:>8.2f}"
                    f" {sharp['work']:>16.1f}"
                    f" {sel['median']:>10.1f}/{sel['max']:<9.1f}"
                    f" {1000 / edit['frame']:>9.1f} {edit['work']:>8.2f}"
                )
            browser.close()
        print(
            "pan/zoom fps = animation frames per second while the view changes every frame "
            "(cached shapes layer re-blitted); 'ms' = our drawing work per frame; "
            "sharp redraw = full re-render of the visible shapes (done once a gesture pauses); "
            "select = pointer-down to drawn selection; edit = dragging one shape's preview."
        )
    finally:
        proc.terminate()
        proc.wait(timeout=15)


if __name__ == "__main__":
    main()
