"""Import one large COCO file (2,000,000 boxes by default) into a task: time and peak RSS.

    python bench/coco_large.py [-n 2000000] [--images 1000] [--postgres URL]

Starts `labelvault serve` from this checkout's src/ on a fresh data dir, makes a task of
small images, writes a COCO 1.0 instances file with N boxes over them (streamed to disk,
never held in memory), uploads it as `annotation_file` and polls the request. Prints the
file size, the import time (upload to finished), the server's peak RSS during it (whole
process tree, sampled every 50 ms) and the boxes read back.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from PIL import Image
from servers import REPO_DIR, RssSampler, Server, free_port, settled_rss, wait_ready

PASSWORD = "bench-password-1"
W, H = 64, 48


def start(work: Path, database_url: str | None) -> Server:
    data_dir = work / "data"
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO_DIR / "src"),
        "LABELVAULT_DATA_DIR": str(data_dir),
        "LABELVAULT_PORT": str(port),
        "LABELVAULT_ADMIN_PASSWORD": PASSWORD,
        "LABELVAULT_STORAGE_URL": str(work / "storage"),
        "LABELVAULT_SNAPSHOT_ON_EXIT": "false",
    }
    if database_url:
        env["LABELVAULT_DATABASE_URL"] = database_url
    log_path = work / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-c", "from labelvault.cli import main; main()", "serve"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    wait_ready(f"{url}/api/server/about", process, log_path, timeout=120)
    return Server("LabelVault", url, process, data_dir, log_path)


def login(url: str) -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=3600)
    response = client.post("/api/auth/login", json={"username": "admin", "password": PASSWORD})
    response.raise_for_status()
    client.headers["X-CSRFToken"] = client.cookies["csrftoken"]
    return client


def wait(client: httpx.Client, rq_id: str) -> dict:
    while True:
        status = client.get(f"/api/requests/{rq_id}").json()
        if status["status"] in ("finished", "failed"):
            return status
        time.sleep(0.2)


def make_task(client: httpx.Client, images: int) -> int:
    labels = [{"name": "object", "type": "rectangle", "attributes": []}]
    task = client.post("/api/tasks", json={"name": "coco-large", "labels": labels}).json()
    base = f"/api/tasks/{task['id']}/data/"
    client.post(base, headers={"Upload-Start": ""}).raise_for_status()
    buffer = io.BytesIO()
    Image.new("RGB", (W, H), (40, 80, 120)).save(buffer, "PNG")
    png = buffer.getvalue()
    for start_at in range(0, images, 500):
        files = [
            (f"client_files[{i}]", (f"img{i:05d}.png", png, "image/png"))
            for i in range(start_at, min(images, start_at + 500))
        ]
        client.post(base, headers={"Upload-Multiple": ""}, files=files).raise_for_status()
    rq = client.post(base, headers={"Upload-Finish": ""}, json={"image_quality": 70}).json()
    status = wait(client, rq["rq_id"])
    assert status["status"] == "finished", status
    return int(task["id"])


def write_coco(path: Path, boxes: int, images: int) -> None:
    """A COCO instances file, written a few thousand boxes at a time."""
    rng = random.Random(0)
    with path.open("w") as out:
        out.write('{"info": {}, "licenses": [], "categories": [{"id": 1, "name": "object"}],')
        out.write('"images": [')
        out.write(
            ",".join(
                f'{{"id": {i + 1}, "file_name": "img{i:05d}.png", "width": {W}, "height": {H}}}'
                for i in range(images)
            )
        )
        out.write('], "annotations": [')
        batch: list[str] = []
        for n in range(boxes):
            x, y = rng.uniform(0, W - 10), rng.uniform(0, H - 10)
            batch.append(
                f'{{"id": {n + 1}, "image_id": {n % images + 1}, "category_id": 1, '
                f'"bbox": [{x:.2f}, {y:.2f}, 8.0, 6.0], "area": 48.0, "iscrowd": 0, '
                f'"segmentation": []}}'
            )
            if len(batch) == 5000:
                out.write(("," if n >= 5000 else "") + ",".join(batch))
                batch = []
        if batch:
            out.write(("," if boxes > len(batch) else "") + ",".join(batch))
        out.write("]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=2_000_000, help="boxes (default 2,000,000)")
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--postgres", default=None, help="a PostgreSQL URL (default SQLite)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lv-coco-large-") as tmp:
        work = Path(tmp)
        coco = work / "instances_default.json"
        write_coco(coco, args.n, args.images)
        size = coco.stat().st_size
        server = start(work, args.postgres)
        try:
            client = login(server.url)
            task_id = make_task(client, args.images)
            rest = settled_rss(server.ps)
            started = time.monotonic()
            with RssSampler(server.ps) as sampler, coco.open("rb") as fh:
                response = client.post(
                    f"/api/tasks/{task_id}/annotations",
                    params={"format": "COCO 1.0"},
                    files={"annotation_file": (coco.name, fh, "application/json")},
                )
                response.raise_for_status()
                status = wait(client, response.json()["rq_id"])
            took = time.monotonic() - started
            assert status["status"] == "finished", status
            shapes = len(client.get(f"/api/tasks/{task_id}/annotations").json()["shapes"])
        finally:
            server.stop()
    print(f"COCO file: {args.n:,} boxes over {args.images:,} images, {size:,} bytes")
    print(f"database: {'PostgreSQL' if args.postgres else 'SQLite'}")
    print(f"import: {took:.1f} s ({args.n / took:,.0f} boxes/s), read back {shapes:,} boxes")
    print(f"server RSS: {rest / 2**20:.0f} MiB at rest, {sampler.peak / 2**20:.0f} MiB peak")


if __name__ == "__main__":
    main()
