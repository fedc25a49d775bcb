"""Annotation throughput of a live `labelvault serve`: PUT/GET of 100k rectangles, PATCH p50/p95.

Usage: .venv/bin/python bench/annotations.py [--postgres [URL]] [--shapes 100000] [--patch-runs 200]

Prints figures beside the targets; never asserts. The PostgreSQL database is emptied first.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import orjson
from PIL import Image

VENV_BIN = Path(sys.executable).parent
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/labelvault_bench"
PASSWORD = "bench-admin-pass"
TARGETS = {"PUT": "≤ 1 s", "GET": "≤ 0.25 s", "PATCH p95": "≤ 20 ms", "idle RSS": "≤ 150 MB"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def empty_postgres(url: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.execute(
            text("select 1 from pg_database where datname = :n"), {"n": target.database}
        ).first()
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    admin.dispose()
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def start_server(
    data_dir: Path, database_url: str | None, profile: str | None = None
) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = dict(os.environ)
    command = [str(VENV_BIN / "labelvault")]
    if profile:  # pyinstrument around the annotation calls, one report per request
        env["LV_PROFILE_DIR"] = profile
        command = [sys.executable, str(Path(__file__).with_name("profiled_server.py"))]
    env.pop("LABELVAULT_DATABASE_URL", None)
    if database_url:
        env["LABELVAULT_DATABASE_URL"] = database_url
    process = subprocess.Popen(
        [
            *command,
            "serve",
            "--data-dir",
            str(data_dir),
            "--port",
            str(port),
            "--admin-password",
            PASSWORD,
        ],
        env=env,
        stdout=(data_dir.parent / "server.log").open("wb"),
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit((data_dir.parent / "server.log").read_text())
        try:
            if httpx.get(base + "/api/server/about", timeout=2).status_code == 200:
                return process, base
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.kill()
    raise SystemExit("server did not start")


def login(base: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=300)
    client.post("/api/auth/login", json={"username": "admin", "password": PASSWORD})
    client.headers["X-CSRFToken"] = client.cookies["csrftoken"]
    return client


def make_job(client: httpx.Client) -> tuple[int, list[dict]]:
    labels = [
        {
            "name": f"label{i}",
            "type": "any",
            "attributes": [
                {
                    "name": "kind",
                    "mutable": False,
                    "input_type": "select",
                    "values": ["a", "b", "c"],
                    "default_value": "a",
                },
                {
                    "name": "size",
                    "mutable": True,
                    "input_type": "number",
                    "values": ["0", "100", "1"],
                },
            ],
        }
        for i in range(5)
    ]
    task = client.post("/api/tasks", json={"name": "bench", "labels": labels}).json()
    buffer = io.BytesIO()
    Image.new("RGB", (1920, 1080), (30, 60, 90)).save(buffer, "PNG")
    url = f"/api/tasks/{task['id']}/data/"
    client.post(url, headers={"Upload-Start": ""})
    client.post(
        url,
        headers={"Upload-Multiple": ""},
        files=[("client_files[0]", ("frame.png", buffer.getvalue(), "image/png"))],
    )
    rq = client.post(url, headers={"Upload-Finish": ""}, json={"image_quality": 70}).json()
    while client.get(f"/api/requests/{rq['rq_id']}").json()["status"] not in ("finished", "failed"):
        time.sleep(0.1)
    jobs = client.get("/api/jobs", params={"task_id": task["id"]}).json()["results"]
    spec = client.get("/api/labels", params={"task_id": task["id"]}).json()["results"]
    return jobs[0]["id"], spec


def rectangles(count: int, labels: list[dict], rng: random.Random) -> list[dict]:
    shapes = []
    for _ in range(count):
        label = rng.choice(labels)
        kind, size = label["attributes"]
        x, y = rng.uniform(0, 1800), rng.uniform(0, 1000)
        shapes.append(
            {
                "type": "rectangle",
                "frame": 0,
                "label_id": label["id"],
                "points": [x, y, x + rng.uniform(5, 100), y + rng.uniform(5, 80)],
                "attributes": [
                    {"spec_id": kind["id"], "value": rng.choice(["a", "b", "c"])},
                    {"spec_id": size["id"], "value": str(rng.randint(0, 100))},
                ],
            }
        )
    return shapes


def timed(func, runs: int) -> list[float]:  # type: ignore[no-untyped-def]
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        func()
        out.append(time.perf_counter() - start)
    return out


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--postgres", nargs="?", const=DEFAULT_PG, default=None, metavar="URL")
    parser.add_argument("--shapes", type=int, default=100_000)
    parser.add_argument("--patch-runs", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3, help="repeats of PUT and GET")
    parser.add_argument("--profile", metavar="DIR", help="write pyinstrument reports to DIR")
    args = parser.parse_args()

    if args.postgres:
        empty_postgres(args.postgres)
    with tempfile.TemporaryDirectory(prefix="lv-bench-") as tmp:
        data_dir = Path(tmp) / "data"
        process, base = start_server(data_dir, args.postgres, args.profile)
        try:
            time.sleep(1.0)
            rss_start = rss_mb(process.pid)
            client = login(base)
            job_id, labels = make_job(client)
            url = f"/api/jobs/{job_id}/annotations/"
            rng = random.Random(1)
            body = orjson.dumps({"version": 0, "shapes": rectangles(args.shapes, labels, rng)})
            headers = {"Content-Type": "application/json"}

            def put() -> None:
                response = client.put(url, content=body, headers=headers)
                response.raise_for_status()

            sizes = {}

            def get() -> None:
                response = client.get(url)
                response.raise_for_status()
                sizes["get"] = len(response.content)

            put_times = timed(put, args.runs)
            get_times = timed(get, args.runs)
            got = orjson.loads(client.get(url).content)
            stored = len(got["shapes"])

            create_times: list[float] = []
            delete_times: list[float] = []
            created: list[dict] = []
            for run in range(args.patch_runs):
                if run % 2 == 0:
                    payload = orjson.dumps({"shapes": rectangles(100, labels, rng)})
                    start = time.perf_counter()
                    response = client.patch(
                        url + "?action=create", content=payload, headers=headers
                    )
                    create_times.append(time.perf_counter() - start)
                    response.raise_for_status()
                    created = orjson.loads(response.content)["shapes"]
                else:
                    payload = orjson.dumps({"shapes": created})
                    start = time.perf_counter()
                    response = client.patch(
                        url + "?action=delete", content=payload, headers=headers
                    )
                    delete_times.append(time.perf_counter() - start)
                    response.raise_for_status()
            patch_times = create_times + delete_times
            client.close()
            time.sleep(2.0)
            rss_after = rss_mb(process.pid)
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()

    backend = "PostgreSQL" if args.postgres else "SQLite"
    print(f"\nLabelVault annotations benchmark — {backend}, {args.shapes} rectangles")
    print(f"(job round-trip stored {stored} shapes; GET body {sizes['get'] / 1e6:.1f} MB)\n")
    rows = [
        (
            "PUT (replace all)",
            f"{min(put_times):.3f} s",
            f"median {statistics.median(put_times):.3f} s",
            TARGETS["PUT"],
        ),
        (
            "GET (read all)",
            f"{min(get_times):.3f} s",
            f"median {statistics.median(get_times):.3f} s",
            TARGETS["GET"],
        ),
        (
            "PATCH 100 create",
            f"p50 {pct(create_times, 0.5) * 1000:.1f} ms",
            f"p95 {pct(create_times, 0.95) * 1000:.1f} ms",
            "",
        ),
        (
            "PATCH 100 delete",
            f"p50 {pct(delete_times, 0.5) * 1000:.1f} ms",
            f"p95 {pct(delete_times, 0.95) * 1000:.1f} ms",
            "",
        ),
        (
            f"PATCH all {len(patch_times)} runs",
            f"p50 {pct(patch_times, 0.5) * 1000:.1f} ms",
            f"p95 {pct(patch_times, 0.95) * 1000:.1f} ms",
            TARGETS["PATCH p95"],
        ),
        ("server RSS idle (start)", f"{rss_start:.0f} MB", "", TARGETS["idle RSS"]),
        ("server RSS idle (after)", f"{rss_after:.0f} MB", "", TARGETS["idle RSS"]),
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    header = ("measure", "best / p50", "median / p95", "target")
    widths = [max(w, len(h)) for w, h in zip(widths, header, strict=True)]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))


if __name__ == "__main__":
    main()
