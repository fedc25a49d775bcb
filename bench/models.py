"""Model-assisted labelling: frames/s of a LabelVault run against the same model called directly.

Usage: .venv/bin/python bench/models.py [--frames 1000] [--rounds 2]

A real deepaas-run (the tests' YOLOv8-format stub) and a real ONNX model (built with `onnx`)
each annotate a task of N small images through POST /api/lambda/requests; the floor is the
same model called directly on the same images in the same run (HTTP POST to DEEPaaS, or
onnxruntime's session.run). Prints both and the overhead; target ≤ 1.2×. Never asserts.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import httpx
from fastapi.testclient import TestClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from labelvault.app import create_app  # noqa: E402
from labelvault.config import Settings  # noqa: E402
from labelvault.models_ai.adapters.onnx_model import OnnxAdapter  # noqa: E402
from tests.models_ai.conftest import (  # noqa: E402
    _deepaas_run,
    bright_box_image,
    build_bright_onnx,
    deepaas_server,
)

TARGET = 1.2


def _task(client: TestClient, images: list[bytes]) -> int:
    labels = [{"name": "person"}, {"name": "car"}]
    task_id = client.post("/api/tasks", json={"name": "bench", "labels": labels}).json()["id"]
    client.post(f"/api/tasks/{task_id}/data/", headers={"Upload-Start": ""})
    for start in range(0, len(images), 200):
        files = [
            (f"client_files[{i}]", (f"f{start + i:05d}.png", data, "image/png"))
            for i, data in enumerate(images[start : start + 200])
        ]
        client.post(f"/api/tasks/{task_id}/data/", headers={"Upload-Multiple": ""}, files=files)
    reply = client.post(
        f"/api/tasks/{task_id}/data/",
        headers={"Upload-Finish": ""},
        json={"image_quality": 70, "sorting_method": "lexicographical"},
    )
    assert reply.status_code == 202, reply.text
    return task_id


def _run(client: TestClient, function: str, task_id: int) -> float:
    start = time.perf_counter()
    reply = client.post(
        "/api/lambda/requests", json={"function": function, "task": task_id, "cleanup": True}
    ).json()
    posted = time.perf_counter() - start
    while reply["status"] not in ("finished", "failed"):
        time.sleep(0.05)
        reply = client.get(f"/api/lambda/requests/{reply['id']}").json()
    if reply["status"] != "finished":
        raise SystemExit(f"{function} failed: {reply['exc_info']}")
    from datetime import datetime

    t = {k: datetime.fromisoformat(reply[k]) for k in ("enqueued", "started", "ended")}
    print(
        f"  {function}: queued {(t['started'] - t['enqueued']).total_seconds():.2f} s, "
        f"ran {(t['ended'] - t['started']).total_seconds():.2f} s, POST {posted:.2f} s, "
        f"total {time.perf_counter() - start:.2f} s",
        file=sys.stderr,
    )
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--frames", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    images = [
        bright_box_image((i % 40, i % 30, i % 40 + 20, i % 30 + 15)) for i in range(args.frames)
    ]
    program = _deepaas_run()
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        settings = Settings(
            data_dir=work / "data",
            admin_user="admin",
            admin_password="bench-admin-pass",
            queue_url="embedded",
            backups=False,
        )
        onnx_path = build_bright_onnx(work / "bright.onnx")
        with TestClient(create_app(settings)) as client, deepaas_server(program, work) as url:
            client.post(
                "/api/auth/login", json={"username": "admin", "password": "bench-admin-pass"}
            )
            client.headers["X-CSRFToken"] = client.cookies["csrftoken"]
            task_id = _task(client, images)
            while client.get(f"/api/tasks/{task_id}").json()["size"] < args.frames:
                time.sleep(0.2)
            client.post(
                "/api/models",
                json={
                    "name": "yolo",
                    "kind": "deepaas",
                    "labels": [{"name": "person"}],
                    "config": {"url": url, "model": "lv-yolo-stub"},
                },
            )
            client.post(
                "/api/models",
                json={
                    "name": "bright",
                    "kind": "onnx",
                    "labels": [{"name": "car"}],
                    "config": {"path": str(onnx_path), "input_size": [32, 32]},
                },
            )
            predict = f"{url}/v2/models/lv-yolo-stub/predict/"
            adapter = OnnxAdapter(
                "bright", {"path": str(onnx_path), "input_size": [32, 32]}, [{"name": "car"}]
            )

            def deepaas_direct() -> float:
                with httpx.Client(timeout=30) as direct:
                    start = time.perf_counter()
                    for data in images:
                        direct.post(predict, files={"input": ("f.png", data, "image/png")}).json()
                    return time.perf_counter() - start

            def onnx_direct() -> float:
                start = time.perf_counter()
                for data in images:
                    adapter.detect(data, 64, 48)
                return time.perf_counter() - start

            # The machine is shared: direct and LabelVault runs alternate, best of each kept.
            best: dict[str, float] = {}
            for _ in range(args.rounds):
                for key, measure in (
                    ("deepaas direct", deepaas_direct),
                    ("deepaas run", lambda: _run(client, "yolo", task_id)),
                    ("onnx direct", onnx_direct),
                    ("onnx run", lambda: _run(client, "bright", task_id)),
                ):
                    best[key] = min(best.get(key, float("inf")), measure())
    n = args.frames
    print(f"model-assisted labelling over {n} frames (64x48 PNG), frames/s")
    print(f"{'model':<10} {'direct':>10} {'LabelVault':>11} {'overhead':>9}  target")
    for name, key in (("DEEPaaS", "deepaas"), ("ONNX", "onnx")):
        direct_s, run_s = best[f"{key} direct"], best[f"{key} run"]
        print(
            f"{name:<10} {n / direct_s:>10.1f} {n / run_s:>11.1f} {run_s / direct_s:>8.2f}×"
            f"  ≤ {TARGET}×"
        )


if __name__ == "__main__":
    main()
