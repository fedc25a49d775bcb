"""Save cost with webhooks off and on, in the same run of a live `labelvault serve`.

Usage: .venv/bin/python bench/webhooks.py [--saves 60] [--rounds 4] [--postgres [URL]]

Each round makes the same small annotation saves (PATCH, 10 rectangles) with the
organization's `update:job` webhook off, on with a receiver that answers, and on with a
receiver that is down, the modes in a shuffled order per round so neither warm-up nor drift
favours one. Prints p50/p95 per mode beside the target (webhooks on ≤ 10 % more); never asserts.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from annotations import (  # noqa: E402
    DEFAULT_PG,
    empty_postgres,
    free_port,
    login,
    make_job,
    pct,
    rectangles,
    start_server,
)


class _Count(BaseHTTPRequestHandler):
    received = 0

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers["Content-Length"]))
        _Count.received += 1
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--postgres", nargs="?", const=DEFAULT_PG, default=None, metavar="URL")
    parser.add_argument("--saves", type=int, default=60, help="saves per mode and round")
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    if args.postgres:
        empty_postgres(args.postgres)
    receiver = ThreadingHTTPServer(("127.0.0.1", free_port()), _Count)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    os.environ["LABELVAULT_REMOTE_ALLOWED_HOSTS"] = "127.0.0.1"
    with tempfile.TemporaryDirectory(prefix="lv-bench-hooks-") as tmp:
        process, base = start_server(Path(tmp) / "data", args.postgres)
        try:
            client = login(base)
            client.post("/api/organizations", json={"slug": "bench"})
            client.headers["X-Organization"] = "bench"
            job_id, labels = make_job(client)
            rng = random.Random(7)

            def hook(url: str) -> int:
                made = client.post(
                    "/api/webhooks",
                    json={
                        "target_url": url,
                        "type": "organization",
                        "events": ["update:job"],
                        "secret": "bench",
                        "is_active": False,
                    },
                )
                made.raise_for_status()
                return made.json()["id"]

            up = hook(f"http://127.0.0.1:{receiver.server_address[1]}/hook")
            down = hook(f"http://127.0.0.1:{free_port()}/hook")
            modes = {"off": None, "on, receiver up": up, "on, receiver down": down}
            times: dict[str, list[float]] = {mode: [] for mode in modes}

            def save() -> None:
                body = {
                    "version": 0,
                    "tags": [],
                    "tracks": [],
                    "shapes": rectangles(10, labels, rng),
                }
                client.patch(
                    f"/api/jobs/{job_id}/annotations", params={"action": "create"}, json=body
                ).raise_for_status()

            order = random.Random(11)
            for _ in range(args.rounds):
                # Each round in its own order, so neither warm-up nor drift favours a mode.
                for mode, active in order.sample(list(modes.items()), len(modes)):
                    for hook_id in (up, down):
                        client.patch(
                            f"/api/webhooks/{hook_id}", json={"is_active": hook_id == active}
                        )
                    for _ in range(3):  # warm up after the switch
                        save()
                    for _ in range(args.saves):
                        start = time.perf_counter()
                        save()
                        times[mode].append(time.perf_counter() - start)
            time.sleep(2)
            delivered = _Count.received
        finally:
            process.terminate()
            process.wait(timeout=30)
            receiver.shutdown()
    base_p50 = statistics.median(times["off"])
    print(
        f"save of 10 rectangles, {args.rounds} rounds × {args.saves} saves per mode "
        f"({'PostgreSQL' if args.postgres else 'SQLite'}); target: webhooks on ≤ +10 %"
    )
    print(f"{'mode':<20} {'p50 ms':>8} {'p95 ms':>8} {'vs off':>8}")
    for mode, values in times.items():
        p50 = statistics.median(values)
        print(
            f"{mode:<20} {p50 * 1000:8.2f} {pct(values, 0.95) * 1000:8.2f} "
            f"{(p50 / base_p50 - 1) * 100:+7.1f}%"
        )
    print(f"deliveries received by the live receiver: {delivered}")


if __name__ == "__main__":
    main()
