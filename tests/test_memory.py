"""Freed memory goes back to the system once requests stop (labelvault.memory)."""

from __future__ import annotations

import time

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from labelvault import memory


@pytest.mark.skipif(memory._LIBC is None, reason="malloc_trim is glibc's")
def test_trims_once_requests_stop() -> None:
    trims: list[float] = []
    real_trim = memory.trim

    def counting_trim() -> bool:
        trims.append(time.monotonic())
        return real_trim()

    app = FastAPI()

    @app.get("/big")
    def big() -> dict[str, int]:
        junk = [str(i) * 10 for i in range(200_000)]  # megabytes of small objects, freed
        return {"made": len(junk)}

    app.add_middleware(memory.ReturnMemoryWhenIdle)
    memory.trim = counting_trim  # type: ignore[assignment]
    try:
        with TestClient(app) as client:
            assert client.get("/big").json() == {"made": 200_000}
            ended = time.monotonic()
            assert not trims  # never while a request may still follow
            deadline = time.monotonic() + 10
            while not trims and time.monotonic() < deadline:
                time.sleep(0.05)
            assert trims, "no trim after the requests stopped"
            assert trims[0] - ended >= memory.IDLE_SECONDS * 0.9
            count = len(trims)
            time.sleep(memory.IDLE_SECONDS * 1.5)
            assert len(trims) == count  # idle and nothing new freed: no more trims
    finally:
        memory.trim = real_trim  # type: ignore[assignment]
