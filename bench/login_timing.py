"""Failed-login cost for an existing and a missing user (timing must not tell them apart).

Run: PYTHONPATH=src python bench/login_timing.py  — prints the median and p90 of each, side
by side with one bare argon2 verification (the floor: a failed login cannot cost less).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from fastapi.testclient import TestClient

from labelvault.accounts.passwords import hash_password, verify_password
from labelvault.app import create_app
from labelvault.config import Settings

ROUNDS = 20


def _times(action) -> list[float]:  # type: ignore[no-untyped-def]
    out = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        action()
        out.append((time.perf_counter() - started) * 1000)
    return out


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            data_dir=Path(tmp) / "data",
            admin_password="bench-admin-1",
            queue_url="immediate",
            backups=False,
            login_max_failures_per_user=0,
            login_max_failures_per_address=0,
        )
        with TestClient(create_app(settings)) as client:

            def attempt(username: str):  # type: ignore[no-untyped-def]
                return lambda: client.post(
                    "/api/auth/login", json={"username": username, "password": "wrong-pass"}
                )

            rows = {
                "existing user, wrong password": _times(attempt("admin")),
                "missing user": _times(attempt("nobody-here")),
            }
    stored = hash_password("x" * 12)
    rows["floor: one argon2 verify"] = _times(lambda: verify_password(stored, "wrong"))
    print(f"{'failed login (ms)':34} {'median':>8} {'p90':>8}")
    for name, values in rows.items():
        p90 = statistics.quantiles(values, n=10)[-1]
        print(f"{name:34} {statistics.median(values):8.1f} {p90:8.1f}")


if __name__ == "__main__":
    main()
