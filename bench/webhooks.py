"""Save cost with webhooks and activity off and on: live `labelvault serve`s side by side.

Usage: .venv/bin/python bench/webhooks.py [--saves 200] [--postgres [URL]]

Three servers on three databases take turns save by save (PATCH ?action=create of 10
rectangles, a workspace-like save), so machine load falls on all alike:
  off         activity off, no webhook
  on          activity on, an organization webhook on `update:job` with a receiver that answers
  on, down    activity on, the same webhook with a receiver that is down
Prints p50/p95 per configuration beside the target (on ≤ +10 % of off) and the deliveries the
live receiver got; never asserts.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import statistics
import sys
import tempfile
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

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


def _receive(port: int, count: Any) -> None:
    """The live receiver, in a process of its own (in the bench's it would slow the client)."""

    class Count(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            self.rfile.read(int(self.headers["Content-Length"]))
            with count.get_lock():
                count.value += 1
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            return None

    ThreadingHTTPServer(("127.0.0.1", port), Count).serve_forever()


def _database(base: str | None, name: str) -> str | None:
    if base is None:
        return None
    url = f"{base}_{name}"
    empty_postgres(url)
    return url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--postgres", nargs="?", const=DEFAULT_PG, default=None, metavar="URL")
    parser.add_argument("--saves", type=int, default=200, help="timed saves per configuration")
    args = parser.parse_args()
    received = multiprocessing.Value("i", 0)
    receiver_port = free_port()
    receiver = multiprocessing.Process(target=_receive, args=(receiver_port, received), daemon=True)
    receiver.start()
    os.environ["LABELVAULT_REMOTE_ALLOWED_HOSTS"] = "127.0.0.1"
    configs = {
        "off": (False, None),
        "on": (True, f"http://127.0.0.1:{receiver_port}/hook"),
        "on, down": (True, f"http://127.0.0.1:{free_port()}/hook"),
    }
    with tempfile.TemporaryDirectory(prefix="lv-bench-hooks-") as tmp:
        servers = []
        try:
            savers = {}
            for i, (name, (activity, hook)) in enumerate(configs.items()):
                os.environ["LABELVAULT_ACTIVITY"] = "true" if activity else "false"
                folder = Path(tmp) / f"s{i}"
                folder.mkdir()
                process, base = start_server(folder / "data", _database(args.postgres, f"s{i}"))
                servers.append(process)
                client = login(base)
                client.post("/api/organizations", json={"slug": "bench"}).raise_for_status()
                client.headers["X-Organization"] = "bench"
                job_id, labels = make_job(client)
                if hook:
                    client.post(
                        "/api/webhooks",
                        json={
                            "target_url": hook,
                            "type": "organization",
                            "events": ["update:job"],
                            "secret": "bench",
                        },
                    ).raise_for_status()
                savers[name] = (client, job_id, labels)
            rng = random.Random(7)
            times: dict[str, list[float]] = {name: [] for name in configs}

            def save(name: str) -> float:
                client, job_id, labels = savers[name]
                shapes = rectangles(10, labels, rng)
                body = {"version": 0, "tags": [], "tracks": [], "shapes": shapes}
                start = time.perf_counter()
                client.patch(
                    f"/api/jobs/{job_id}/annotations", params={"action": "create"}, json=body
                ).raise_for_status()
                return time.perf_counter() - start

            order = random.Random(11)
            names = list(configs)
            for _ in range(10):  # warm up every server
                for name in names:
                    save(name)
            for _ in range(args.saves):
                # A fresh order each turn, so neither warm-up nor drift favours one server.
                for name in order.sample(names, len(names)):
                    times[name].append(save(name))
            time.sleep(3)
            delivered = received.value
        finally:
            for process in servers:
                process.terminate()
                process.wait(timeout=30)
            receiver.terminate()
    base_p50 = statistics.median(times["off"])
    print(
        f"save of 10 rectangles, {args.saves} saves per configuration, servers side by side "
        f"({'PostgreSQL' if args.postgres else 'SQLite'}); target: on ≤ +10 % of off"
    )
    print(f"{'configuration':<14} {'p50 ms':>8} {'p95 ms':>8} {'vs off':>8}")
    for name, values in times.items():
        p50 = statistics.median(values)
        print(
            f"{name:<14} {p50 * 1000:8.2f} {pct(values, 0.95) * 1000:8.2f} "
            f"{(p50 / base_p50 - 1) * 100:+7.1f}%"
        )
    expected = 10 + args.saves
    print(f"deliveries received by the live receiver: {delivered} of {expected} saves")


if __name__ == "__main__":
    main()
