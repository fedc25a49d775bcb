"""Cost of activity recording: the same saves with activity on and off, in one run.

Usage: .venv/bin/python bench/activity.py [--saves 300] [--put-shapes 5000] [--puts 10]

Two in-process apps on two SQLite databases (activity on / off) take turns on
identical saves — a workspace-like PATCH ?action=update of one box, and a PUT of many — so
machine load falls on both alike. Prints p50/p95 side by side with the ratio (target ≤ 10 %
more); never asserts.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path

from fastapi.testclient import TestClient
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from labelvault.accounts import service as account_service  # noqa: E402
from labelvault.app import create_app  # noqa: E402
from labelvault.config import Settings  # noqa: E402
from labelvault.db import Database  # noqa: E402
from labelvault.db.migrate import upgrade  # noqa: E402

ADMIN = ("admin", "bench-admin-pass")


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (640, 480), (30, 60, 90)).save(buffer, "PNG")
    return buffer.getvalue()


def _app(folder: Path, activity: bool) -> TestClient:
    db = Database(f"sqlite:///{folder / 'bench.db'}")
    upgrade(db.engine)
    settings = Settings(
        data_dir=folder / "data",
        admin_user=ADMIN[0],
        admin_password=ADMIN[1],
        queue_url="immediate",
        backups=False,
        activity=activity,
    )
    settings.ensure_dirs()
    with db.session() as session:
        account_service.ensure_admin(session, *ADMIN)
    client = TestClient(create_app(settings, db))
    client.__enter__()
    r = client.post("/api/auth/login", json={"username": ADMIN[0], "password": ADMIN[1]})
    r.raise_for_status()
    client.headers["X-CSRFToken"] = client.cookies["csrftoken"]
    return client


def _job(client: TestClient) -> tuple[int, int]:
    task = client.post("/api/tasks", json={"name": "bench", "labels": [{"name": "car"}]}).json()
    base = f"/api/tasks/{task['id']}/data/"
    client.post(base, headers={"Upload-Start": ""})
    files = [(f"client_files[{i}]", (f"f{i}.png", _png(), "image/png")) for i in range(2)]
    client.post(base, headers={"Upload-Multiple": ""}, files=files)
    r = client.post(base, headers={"Upload-Finish": ""}, json={"image_quality": 70})
    r.raise_for_status()
    job = client.get("/api/jobs", params={"task_id": task["id"]}).json()["results"][0]
    label = client.get("/api/labels", params={"task_id": task["id"]}).json()["results"][0]
    return job["id"], label["id"]


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--saves", type=int, default=300)
    parser.add_argument("--put-shapes", type=int, default=5000)
    parser.add_argument("--puts", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lv-bench-activity-") as tmp:
        sides = {}
        for name, on in (("on", True), ("off", False)):
            folder = Path(tmp) / name
            folder.mkdir()
            client = _app(folder, on)
            job_id, label_id = _job(client)
            sides[name] = (client, job_id, label_id)
        times: dict[str, dict[str, list[float]]] = {n: {"patch": [], "put": []} for n in sides}
        boxes = {}
        for name, (client, job_id, label_id) in sides.items():
            shape = {"frame": 0, "label_id": label_id, "type": "rectangle", "points": [0, 0, 9, 9]}
            r = client.patch(
                f"/api/jobs/{job_id}/annotations",
                params={"action": "create"},
                json={"shapes": [shape]},
            )
            boxes[name] = r.json()["shapes"][0]
        for i in range(args.saves):
            for name in ("on", "off") if i % 2 == 0 else ("off", "on"):
                client, job_id, _ = sides[name]
                moved = {**boxes[name], "points": [i % 50, 0, i % 50 + 9, 9]}
                start = time.perf_counter()
                r = client.patch(
                    f"/api/jobs/{job_id}/annotations",
                    params={"action": "update"},
                    json={"shapes": [moved]},
                )
                times[name]["patch"].append(time.perf_counter() - start)
                r.raise_for_status()
        for i in range(args.puts):
            for name in ("on", "off") if i % 2 == 0 else ("off", "on"):
                client, job_id, label_id = sides[name]
                shapes = [
                    {
                        "frame": k % 2,
                        "label_id": label_id,
                        "type": "rectangle",
                        "points": [k % 600, 0, k % 600 + 5, 5],
                    }
                    for k in range(args.put_shapes)
                ]
                start = time.perf_counter()
                client.put(f"/api/jobs/{job_id}/annotations", json={"shapes": shapes})
                times[name]["put"].append(time.perf_counter() - start)
        rows = sides["on"][0].get(f"/api/jobs/{sides['on'][1]}/annotations").status_code
        for client, _, _ in sides.values():
            client.__exit__(None, None, None)
    print(f"\nActivity recording cost — SQLite, in-process, alternating turns (status {rows})\n")
    print(f"{'save':<28}{'activity on':>14}{'activity off':>14}{'on / off':>10}  target")
    for kind, label in (("patch", "PATCH update 1 box"), ("put", f"PUT {args.put_shapes} boxes")):
        for q, qname in ((0.5, "p50"), (0.95, "p95")):
            on = _pct(times["on"][kind], q)
            off = _pct(times["off"][kind], q)
            print(
                f"{label + ' ' + qname:<28}{on * 1000:>11.2f} ms{off * 1000:>11.2f} ms"
                f"{on / off:>10.3f}  ≤ 1.10"
            )
        mean_on = statistics.mean(times["on"][kind])
        mean_off = statistics.mean(times["off"][kind])
        print(
            f"{label + ' mean':<28}{mean_on * 1000:>11.2f} ms{mean_off * 1000:>11.2f} ms"
            f"{mean_on / mean_off:>10.3f}  ≤ 1.10"
        )


if __name__ == "__main__":
    main()
