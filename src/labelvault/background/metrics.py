"""Queue depth and age, and background request outcomes, as Prometheus gauges."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from labelvault.background.models import Request
from labelvault.observability.metrics import age_seconds


def queue_metrics(session: Session, now: datetime) -> Iterator[Metric]:
    depth = GaugeMetricFamily(
        "labelvault_queue_depth", "Background requests waiting or running.", labels=["status"]
    )
    outcomes = GaugeMetricFamily(
        "labelvault_background_requests",
        "Background requests kept in the database, by operation and outcome.",
        labels=["operation", "status"],
    )
    counts = dict.fromkeys(("queued", "started"), 0)
    query = select(Request.operation, Request.status, func.count()).group_by(
        Request.operation, Request.status
    )
    for operation, status, count in session.execute(query):
        outcomes.add_metric([operation, status], count)
        if status in counts:
            counts[status] += count
    for status, count in counts.items():
        depth.add_metric([status], count)
    oldest = session.scalar(
        select(func.min(Request.created_date)).where(Request.status == "queued")
    )
    yield depth
    yield GaugeMetricFamily(
        "labelvault_queue_oldest_age_seconds",
        "Age of the oldest background request still queued (0 when none).",
        value=age_seconds(oldest, now),
    )
    yield outcomes
