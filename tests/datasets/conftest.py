"""Fixtures for the datasets API: the datasets router on the app, an annotated task, helpers."""

from __future__ import annotations

import base64
import io
import zipfile
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from labelvault.formats.masks import encode_cvat_mask
from tests.conftest import LABELS


@pytest.fixture
def app(app):  # type: ignore[no-untyped-def]
    """The real app, plus the formats router until app.py registers it."""
    from labelvault.datasets.api import router

    if not any(getattr(r, "path", "") == "/api/server/annotation/formats" for r in app.routes):
        app.include_router(router)
    return app


def label_ids(client: TestClient, task: dict, attrs: bool = True) -> dict[str, Any]:
    """name → id for labels, "parent.child" → id for skeleton points, "label.attr" → spec id."""
    if task.get("project_id"):
        query = f"project_id={task['project_id']}"
    else:
        query = f"task_id={task['id']}"
    out: dict[str, Any] = {}
    for label in client.get(f"/api/labels?{query}&page_size=100").json()["results"]:
        out[label["name"]] = label["id"]
        for attr in label["attributes"] if attrs else ():
            out[f"{label['name']}.{attr['name']}"] = attr["id"]
        for sub in label.get("sublabels") or []:
            out[f"{label['name']}.{sub['name']}"] = sub["id"]
    return out


def mask_points() -> list[float]:
    bitmap = np.zeros((48, 64), dtype=bool)
    bitmap[5:12, 20:30] = True
    bitmap[12:15, 20:23] = True
    return encode_cvat_mask(bitmap)


def sample_annotations(ids: dict[str, Any], frames: int = 3, tracks: bool = False) -> dict:
    """One of every shape type, tags, attributes and a skeleton, spread over the frames."""

    def shape(kind: str, label: str, frame: int, points: list[float], **kw: Any) -> dict:
        return {"type": kind, "label_id": ids[label], "frame": frame, "points": points, **kw}

    car_attrs = [
        {"spec_id": ids["car.color"], "value": "blue"},
        {"spec_id": ids["car.parked"], "value": "true"},
        {"spec_id": ids["car.speed"], "value": "42"},
    ]
    shapes = [
        shape("rectangle", "car", 0, [2, 3, 12, 10], attributes=car_attrs, occluded=True),
        shape("rectangle", "person", 0, [30, 5, 40, 25]),
        shape("polygon", "car", 0, [20, 5, 30, 5, 30, 15, 20, 15]),
        shape("mask", "car", 1 % frames, mask_points()),
        shape("polyline", "car", 1 % frames, [1, 1, 10, 10, 20, 5]),
        shape("points", "car", 1 % frames, [5, 5, 8, 9]),
        shape("ellipse", "car", 1 % frames, [30, 30, 36, 26]),
        shape("rectangle", "person", 2 % frames, [1, 1, 9, 21], rotation=30.0),
        {
            "type": "skeleton",
            "label_id": ids["body"],
            "frame": 2 % frames,
            "points": [],
            "elements": [
                shape("points", "body.head", 2 % frames, [10, 10]),
                shape("points", "body.foot", 2 % frames, [20, 25], occluded=True),
            ],
        },
    ]
    data: dict[str, Any] = {
        "tags": [{"frame": 0, "label_id": ids["weather"]}],
        "shapes": shapes,
        "tracks": [],
    }
    if tracks:
        data["tracks"] = [
            {
                "frame": 0,
                "label_id": ids["car"],
                "attributes": [{"spec_id": ids["car.color"], "value": "red"}],
                "shapes": [
                    {"type": "rectangle", "frame": 0, "points": [20, 20, 30, 28]},
                    {"type": "rectangle", "frame": 2, "points": [24, 18, 34, 26], "outside": True},
                ],
            }
        ]
    return data


@pytest.fixture
def annotated_task(admin, task_with_data) -> Callable[..., dict]:  # type: ignore[no-untyped-def]
    def _make(tracks: bool = False, **task_fields: Any) -> dict:
        task = task_with_data(**task_fields)
        data = sample_annotations(label_ids(admin, task), task["size"], tracks)
        response = admin.put(f"/api/tasks/{task['id']}/annotations", json=data)
        assert response.status_code == 200, response.text
        return task

    return _make


def wait_request(client: TestClient, response: Any) -> dict:
    assert response.status_code == 202, response.text
    rq_id = response.json()["rq_id"]
    status = client.get(f"/api/requests/{rq_id}").json()
    assert status["status"] in ("finished", "failed"), status
    return status


def export(client: TestClient, base: str, fmt: str, save_images: bool = False) -> bytes:
    response = client.post(
        f"{base}/dataset/export",
        params={"format": fmt, "save_images": str(save_images), "location": "local"},
    )
    status = wait_request(client, response)
    assert status["status"] == "finished", status
    url = status["result_url"]
    assert url.startswith("http://testserver/")
    download = client.get(url.removeprefix("http://testserver"))
    assert download.status_code == 200
    disposition = download.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="') and disposition.endswith('.zip"')
    assert zipfile.ZipFile(io.BytesIO(download.content)).testzip() is None
    return download.content


def tus_upload(
    client: TestClient, collection: str, data: bytes, filename: str, query: dict
) -> dict:
    """The SDK's flow: Upload-Start, TUS create + PATCH chunks, Upload-Finish; returns status."""
    response = client.post(collection, params=query, headers={"Upload-Start": ""})
    assert response.status_code == 202, response.text
    response = client.post(
        collection,
        headers={
            "Tus-Resumable": "1.0.0",
            "Upload-Length": str(len(data)),
            "Upload-Metadata": "filename " + base64.b64encode(filename.encode()).decode(),
        },
    )
    assert response.status_code == 201, response.text
    location = response.headers["location"].removeprefix("http://testserver")
    name = response.headers["upload-filename"]
    offset = 0
    for start in range(0, len(data), 4096):
        chunk = data[start : start + 4096]
        response = client.patch(
            location,
            content=chunk,
            headers={
                "Tus-Resumable": "1.0.0",
                "Upload-Offset": str(offset),
                "Content-Type": "application/offset+octet-stream",
            },
        )
        assert response.status_code == 204, response.text
        offset = int(response.headers["upload-offset"])
    assert client.head(location).headers["upload-offset"] == str(len(data))
    response = client.post(
        collection, params={**query, "filename": name}, headers={"Upload-Finish": ""}
    )
    return wait_request(client, response)


def multipart_upload(
    client: TestClient, collection: str, data: bytes, field: str, query: dict
) -> dict:
    response = client.post(
        collection, params=query, files={field: ("upload.zip", data, "application/zip")}
    )
    return wait_request(client, response)


def canon_shapes(client: TestClient, task: dict) -> list[tuple]:
    """Task annotations as sortable tuples with names instead of ids."""
    names = {v: k for k, v in label_ids(client, task, attrs=False).items()}
    specs = {v: k for k, v in label_ids(client, task).items() if k not in names.values()}
    data = client.get(f"/api/tasks/{task['id']}/annotations").json()
    out = []
    for s in data["shapes"]:
        out.append(canon(s, names, specs))
    for t in data["tags"]:
        attrs = tuple(sorted((specs[a["spec_id"]], a["value"]) for a in t["attributes"]))
        out.append((t["frame"], names[t["label_id"]], "tag", (), attrs, False, 0.0, ()))
    return sorted(out)


def canon(s: dict, names: dict, specs: dict) -> tuple:
    attrs = tuple(sorted((specs[a["spec_id"]], a["value"]) for a in s["attributes"]))
    elements = tuple(
        sorted(
            (names[e["label_id"]], tuple(round(p, 1) for p in e["points"]), e["occluded"])
            for e in s.get("elements") or ()
        )
    )
    return (
        s["frame"],
        names[s["label_id"]],
        s["type"],
        tuple(round(p, 1) for p in s["points"]),
        attrs,
        s["occluded"],
        round(s["rotation"], 1),
        elements,
    )


def new_task_like(client: TestClient, task_with_data: Callable[..., dict], **kw: Any) -> dict:
    return task_with_data(client, **kw)


__all__ = ["LABELS"]
