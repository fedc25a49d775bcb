"""Liveness, readiness with each dependency's latency, Prometheus /metrics and JSON logs."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from labelvault.app import create_app
from labelvault.background.models import Request
from labelvault.db.base import utcnow
from labelvault.observability.logs import JsonFormatter, RequestIdFilter
from tests.conftest import _empty
from tests.helpers.net import free_port


def _samples(client: TestClient) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    found = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def _value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_health_ready_and_metrics(app, admin, task_with_data, database) -> None:  # type: ignore[no-untyped-def]
    assert admin.get("/api/server/health").json()["status"] == "ok"
    ready = TestClient(app).get("/api/server/ready")  # public, for the platform's probe
    assert ready.status_code == 200, ready.text
    checks = ready.json()["checks"]
    assert set(checks) == {"database", "queue", "storage"}
    for check in checks.values():
        assert check["ok"] is True and check["latency_ms"] >= 0

    task = task_with_data(frames=2)
    job = admin.get("/api/jobs", params={"task_id": task["id"]}).json()["results"][0]
    before = _samples(admin)
    url = f"/api/jobs/{job['id']}/annotations"
    body = {"version": 0, "tags": [], "shapes": [], "tracks": []}
    for _ in range(3):
        assert admin.put(url, json=body).status_code == 200
    # A request waiting in the queue for ten minutes shows as depth and age.
    with database.session() as session:
        session.add(
            Request(
                id="stuck",
                operation="export:dataset",
                target="task",
                status="queued",
                created_date=utcnow() - timedelta(minutes=10),
            )
        )
        session.commit()
    after = _samples(admin)

    route = "/api/jobs/{job_id}/annotations"
    count = "labelvault_http_request_duration_seconds_count"
    assert _value(after, count, method="PUT", route=route) == 3 + _value(
        before, count, method="PUT", route=route
    )
    saves = "labelvault_annotation_saves_total"
    assert (
        _value(after, saves, scope="job", action="replace")
        - _value(before, saves, scope="job", action="replace")
        == 3
    )
    assert _value(after, "labelvault_queue_depth", status="queued") == 1
    assert 590 <= _value(after, "labelvault_queue_oldest_age_seconds") <= 3600
    finished = {
        labels
        for (name, labels), v in after.items()
        if name == "labelvault_background_requests" and v > 0
    }
    assert (("operation", "create:task"), ("status", "finished")) in finished, finished
    # Ids never become label values: one series per route template.
    assert not any(str(job["id"]) in dict(labels).get("route", "") for _, labels in after)


@pytest.fixture
def broken_storage(database, settings):  # type: ignore[no-untyped-def]
    """An app whose storage (a WebDAV server) is down."""
    settings.storage_url = f"webdav+http://127.0.0.1:{free_port()}/dav"
    settings.metrics_token = "scrape-secret"
    _empty(database)
    settings.ensure_dirs()
    with TestClient(create_app(settings, database)) as client:
        yield client


def test_not_ready_names_the_storage_and_counts_its_errors(broken_storage) -> None:  # type: ignore[no-untyped-def]
    client = broken_storage
    ready = client.get("/api/server/ready")
    assert ready.status_code == 503
    body = ready.json()
    assert body["status"] == "not ready"
    assert body["checks"]["database"]["ok"] and body["checks"]["queue"]["ok"]
    assert not body["checks"]["storage"]["ok"]
    assert "127.0.0.1" in body["checks"]["storage"]["error"]
    assert client.get("/metrics").status_code == 401
    client.headers["Authorization"] = "Bearer scrape-secret"
    samples = _samples(client)
    errors = [
        v
        for (name, labels), v in samples.items()
        if name == "labelvault_storage_errors_total" and ("kind", "webdav") in labels
    ]
    assert sum(errors) >= 1


def test_json_log_lines_carry_the_request_id(app, admin, caplog) -> None:  # type: ignore[no-untyped-def]
    # The access log is on in JSON mode (LABELVAULT_LOG_FORMAT=json); switch it on here.
    stack = app.middleware_stack
    while stack is not None and type(stack).__name__ != "RequestContext":
        stack = getattr(stack, "app", None)
    assert stack is not None
    stack.access_log_enabled = True
    with caplog.at_level(logging.INFO, logger="labelvault"):
        response = admin.post("/api/projects", json={"name": "logged"})
        own = admin.get("/api/projects", headers={"X-Request-ID": "proxy-id-42"})
    rid = response.headers["x-request-id"]
    assert len(rid) == 32 and own.headers["x-request-id"] == "proxy-id-42"
    formatter, stamp = JsonFormatter(), RequestIdFilter()
    lines = []
    for record in caplog.records:
        stamp.filter(record)
        lines.append(json.loads(formatter.format(record)))
    access = [line for line in lines if line["logger"] == "labelvault.access"]
    post = next(line for line in access if line["method"] == "POST")
    assert post["request_id"] == rid
    assert post["route"] == "/api/projects" and post["status"] == 201
    get = next(line for line in access if line["method"] == "GET")
    assert get["request_id"] == "proxy-id-42"
