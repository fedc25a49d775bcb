"""Task creation and frame serving of a live `labelvault serve`: share, SDK upload, frame GETs.

Usage: .venv/bin/python bench/ingest.py [--share-images 10000] [--upload-images 1000]
                                        [--frames 200] [--postgres [URL]]

Prints (a) time to a finished task from N share images, (b) time for an SDK upload task,
(c) compressed frame GET p50/p95 cold and warm, (d) the server's peak RSS. Never asserts.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).parent))
from annotations import (  # noqa: E402
    DEFAULT_PG,
    PASSWORD,
    empty_postgres,
    login,
    rss_mb,
    start_server,
)

TARGETS = {"share": "≤ 3 s", "frame warm p50": "≤ 5 ms", "peak RSS": "≤ 300 MB"}
DISTINCT = 64  # distinct images; the rest repeat them under other names (same decode cost)
LABELS = [{"name": "car", "type": "rectangle", "attributes": []}]


def jpeg(index: int) -> bytes:
    """A deterministic 1024x768 photo-like JPEG (gradients and blocks, ~100 KB)."""
    im = Image.linear_gradient("L").resize((1024, 768)).convert("RGB")
    tint = Image.new("RGB", (1024, 768), ((index * 37) % 256, (index * 91) % 256, 128))
    im = Image.blend(im, tint, 0.4)
    for k in range(8):
        x, y = (index * 53 + k * 127) % 900, (index * 29 + k * 71) % 650
        im.paste(((k * 30) % 256, 200, (index * 7) % 256), (x, y, x + 100, y + 90))
    buffer = io.BytesIO()
    im.save(buffer, "JPEG", quality=88)
    return buffer.getvalue()


def write_images(folder: Path, count: int, prefix: str) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    variants = [jpeg(i) for i in range(min(DISTINCT, count))]
    paths = []
    for i in range(count):
        path = folder / f"{prefix}{i:06d}.jpg"
        path.write_bytes(variants[i % len(variants)])
        paths.append(path)
    return paths


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--share-images", type=int, default=10_000)
    parser.add_argument("--upload-images", type=int, default=1_000)
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("--postgres", nargs="?", const=DEFAULT_PG, default=None)
    args = parser.parse_args()
    if args.postgres:
        empty_postgres(args.postgres)
    with tempfile.TemporaryDirectory(prefix="lv-ingest-") as tmp:
        root = Path(tmp)
        data_dir = root / "data"
        share = root / "data-storage" / "share"
        t0 = time.perf_counter()
        write_images(share / "big", args.share_images, "s")
        uploads = write_images(root / "upload", args.upload_images, "u")
        print(
            f"generated {args.share_images}+{args.upload_images} 1024x768 JPEGs "
            f"in {time.perf_counter() - t0:.1f} s"
        )
        process, base = start_server(data_dir, args.postgres)
        try:
            client = login(base)
            print(f"idle RSS: {rss_mb(process.pid):.0f} MB")

            # (a) share task, from the POST until the request is finished
            task = client.post("/api/tasks", json={"name": "share", "labels": LABELS}).json()
            start = time.perf_counter()
            response = client.post(
                f"/api/tasks/{task['id']}/data/",
                json={"server_files": ["big/"], "image_quality": 70},
            )
            rq_id = response.json()["rq_id"]
            post_time = time.perf_counter() - start
            while True:
                status = client.get(f"/api/requests/{rq_id}").json()
                if status["status"] in ("finished", "failed"):
                    break
                time.sleep(0.02)
            took = time.perf_counter() - start
            print(
                f"(a) task from {args.share_images} share images: {took:.2f} s "
                f"(POST answered in {post_time * 1000:.0f} ms; {status['status']}: "
                f"{status['message'][:80]}) target {TARGETS['share']}"
            )

            # (b) SDK upload
            from cvat_sdk import make_client
            from cvat_sdk.core.proxies.tasks import ResourceType

            host, port = base.rsplit(":", 1)
            with make_client(host, port=int(port), credentials=("admin", PASSWORD)) as sdk:
                start = time.perf_counter()
                uploaded = sdk.tasks.create_from_data(
                    spec={"name": "upload", "labels": LABELS},
                    resource_type=ResourceType.LOCAL,
                    resources=[str(p) for p in uploads],
                )
                took = time.perf_counter() - start
            megabytes = sum(p.stat().st_size for p in uploads) / 1e6
            print(
                f"(b) SDK task from {args.upload_images} uploaded images ({megabytes:.0f} MB): "
                f"{took:.2f} s ({megabytes / took:.0f} MB/s), size {uploaded.size}"
            )

            # (c) frame GETs, cold (made on request) then warm (cached)
            url = f"/api/tasks/{task['id']}/data"
            frames = list(range(0, min(args.frames, args.share_images)))
            for label in ("cold", "warm"):
                times = []
                for number in frames:
                    start = time.perf_counter()
                    r = client.get(url, params={"type": "frame", "number": number})
                    times.append((time.perf_counter() - start) * 1000)
                    assert r.status_code == 200 or print(r.text)  # type: ignore[func-returns-value]
                print(
                    f"(c) frame GET {label}: p50 {statistics.median(times):.1f} ms, "
                    f"p95 {percentile(times, 0.95):.1f} ms over {len(times)} frames"
                    + (f" (target warm p50 {TARGETS['frame warm p50']})" if label == "warm" else "")
                )
            peak = peak_rss_mb(process.pid)
            print(f"(d) peak server RSS: {peak:.0f} MB (target {TARGETS['peak RSS']})")
        finally:
            process.terminate()
            process.wait(timeout=30)


if __name__ == "__main__":
    main()
