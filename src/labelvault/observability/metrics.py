"""Prometheus metrics: request latency by route, saves, and state read at scrape time."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from sqlalchemy import text
from sqlalchemy.orm import Session

from labelvault.db import Database
from labelvault.db.base import utcnow

# Buckets around the 100 ms target of an annotation save, up to slow exports.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

REQUEST_SECONDS = Histogram(
    "labelvault_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template.",
    ["method", "route"],
    buckets=LATENCY_BUCKETS,
)
REQUESTS = Counter(
    "labelvault_http_requests",
    "HTTP requests answered, by route template and status code.",
    ["method", "route", "status"],
)
SAVES = Counter(
    "labelvault_annotation_saves",
    "Annotation saves (PUT/PATCH of a job's or task's annotations) accepted.",
    ["scope", "action"],
)


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    REQUEST_SECONDS.labels(method, route).observe(seconds)
    REQUESTS.labels(method, route, str(status)).inc()


def age_seconds(value: datetime | None, now: datetime) -> float:
    """Seconds since `value` (0 for none); SQLite hands back naive UTC datetimes."""
    if value is None:
        return 0.0
    if value.tzinfo is None:
        value = value.replace(tzinfo=now.tzinfo)
    return max(0.0, (now - value).total_seconds())


# A reader yields metric families from the shared database at scrape time.
Reader = Callable[[Session, datetime], Iterable[Metric]]


class StateCollector(Collector):
    """Gauges read at scrape time, so every process of a scaled-out instance reports the same.

    Each domain brings its readers (queue depth and age, background outcomes, backup ages);
    this floor knows none of their tables.
    """

    def __init__(self, db: Database, readers: list[Reader]) -> None:
        self.db = db
        self.readers = readers

    def collect(self) -> Iterator[Metric]:
        now = utcnow()
        with self.db.session() as session:
            for reader in self.readers:
                yield from reader(session, now)


class Metrics:
    """One app's metrics: the process-wide counters plus its own state collector."""

    def __init__(self, db: Database, readers: list[Reader]) -> None:
        self.registry = CollectorRegistry()
        self.registry.register(StateCollector(db, readers))

    def exposition(self) -> bytes:
        # Two registries: counters live in the process-wide one (several apps in one test
        # process must not register them twice), state in this app's.
        return generate_latest(REGISTRY) + generate_latest(self.registry)


def probe(check: Callable[[], Any]) -> dict[str, Any]:
    """Run one readiness check: ok, its latency in ms, and the error when it failed."""
    started = time.perf_counter()
    try:
        detail = check()
    except Exception as exc:  # noqa: BLE001  (any failure makes the probe not ready)
        return {
            "ok": False,
            "latency_ms": round((time.perf_counter() - started) * 1000, 2),
            "error": f"{type(exc).__name__}: {exc}"[:500],
        }
    result: dict[str, Any] = {
        "ok": True,
        "latency_ms": round((time.perf_counter() - started) * 1000, 2),
    }
    if isinstance(detail, dict):
        result.update(detail)
    return result


def database_check(db: Database) -> Callable[[], Any]:
    def check() -> dict[str, Any]:
        with db.engine.connect() as conn:
            conn.execute(text("select 1"))
        return {"backend": db.engine.dialect.name}

    return check
