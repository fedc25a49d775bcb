"""Bounded at the door: body size refused before it is read, idle bodies cut off, and caps on
points per shape and attribute value length (each refusal a clear 4xx)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest
import uvicorn

from tests.helpers.net import free_port, wait_for_port


@pytest.fixture
def live(app) -> Iterator[int]:  # type: ignore[no-untyped-def]
    """The test's app (its lifespan already run by the fixture) behind a real socket."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for_port(port)
    yield port
    server.should_exit = True
    thread.join(timeout=10)


def _raw(port: int, head: str, body: bytes = b"", timeout: float = 30.0) -> str:
    """Send a request head and part of a body, and return what the server answers."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(head.replace("\n", "\r\n").encode() + b"\r\n" + body)
        data = b""
        while b"\r\n\r\n" not in data or not data.rstrip().endswith(b"}"):
            part = s.recv(65536)
            if not part:
                break
            data += part
    return data.decode("latin-1")


def _head(path: str, length: int, content_type: str) -> str:
    return (
        f"POST {path} HTTP/1.1\nHost: 127.0.0.1\nContent-Type: {content_type}\n"
        f"Content-Length: {length}\n"
    )


def test_a_declared_huge_body_is_refused_before_it_is_read(live: int) -> None:
    # 100 bytes of a declared 5 GB: a server waiting for the rest would never answer.
    answer = _raw(live, _head("/api/projects", 5 * 10**9, "application/json"), b"{" * 100)
    assert answer.startswith("HTTP/1.1 413"), answer
    assert "LABELVAULT_MAX_JSON_BYTES" in answer and "TUS" in answer
    upload = _head("/api/tasks/1/data", 200 * 1024**3, "multipart/form-data; boundary=x")
    answer = _raw(live, upload, b"--x\r\n")
    assert answer.startswith("HTTP/1.1 413") and "LABELVAULT_MAX_UPLOAD_BYTES" in answer
    answer = _raw(live, _head("/api/projects", 0, "application/json").replace("0", "x1"))
    assert answer.startswith("HTTP/1.1 400"), answer


def test_a_streamed_body_over_the_limit_is_cut_off(app, admin, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(app.state.settings, "max_json_bytes", 10_000)

    def chunks() -> Iterator[bytes]:  # no Content-Length: sent chunked
        yield b'{"name": "'
        for _ in range(100):
            yield b"x" * 1000
        yield b'"}'

    response = admin.post(
        "/api/projects", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413, response.text
    assert admin.get("/api/projects").json()["count"] == 0
    small = admin.post("/api/projects", json={"name": "fits"})
    assert small.status_code == 201, small.text


def test_a_stalled_body_ends_with_408(app, live: int, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(app.state.settings, "body_idle_timeout", 0.5)
    login = '{"username": "admin", "password": "x'
    answer = _raw(live, _head("/api/auth/login", 1000, "application/json"), login.encode())
    assert answer.startswith("HTTP/1.1 408"), answer
    assert "stalled" in answer


def _job_and_labels(admin, task_with_data) -> tuple[dict, dict]:  # type: ignore[no-untyped-def]
    task = task_with_data(frames=1)
    job = admin.get("/api/jobs", params={"task_id": task["id"]}).json()["results"][0]
    labels = admin.get("/api/labels", params={"task_id": task["id"]}).json()["results"]
    return job, {label["name"]: label for label in labels}


def test_points_per_shape_and_attribute_length_are_capped(admin, task_with_data) -> None:  # type: ignore[no-untyped-def]
    from labelvault.annotations.validation import MAX_ATTRIBUTE_VALUE, MAX_POINTS

    job, labels = _job_and_labels(admin, task_with_data)
    url = f"/api/jobs/{job['id']}/annotations"
    car = labels["car"]
    polygon = {"type": "polygon", "frame": 0, "label_id": car["id"]}
    huge = admin.put(url, json={"shapes": [{**polygon, "points": [1.0] * (MAX_POINTS + 2)}]})
    assert huge.status_code == 400, huge.text
    assert "at most 200,000 numbers" in huge.text
    fits = admin.put(url, json={"shapes": [{**polygon, "points": [1.0, 2.0] * 1000}]})
    assert fits.status_code == 200, fits.text

    # A text attribute: the label's checkbox and number have their own rules.
    text_label = admin.patch(
        f"/api/labels/{car['id']}",
        json={"attributes": [{"name": "note", "input_type": "text", "values": [""]}]},
    ).json()
    note = next(a for a in text_label["attributes"] if a["name"] == "note")
    tag = {"frame": 0, "label_id": car["id"]}
    long = admin.put(
        url,
        json={"tags": [{**tag, "attributes": [{"spec_id": note["id"], "value": "x" * 10**7}]}]},
    )
    assert long.status_code == 400 and f"at most {MAX_ATTRIBUTE_VALUE} characters" in long.text
    ok = admin.put(
        url, json={"tags": [{**tag, "attributes": [{"spec_id": note["id"], "value": "x" * 4096}]}]}
    )
    assert ok.status_code == 200, ok.text
    assert len(admin.get(url).json()["tags"]) == 1
