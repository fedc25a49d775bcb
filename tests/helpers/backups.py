"""Helpers for backup tests: an annotated project through the API, and comparable rows."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, MetaData, select

from tests.conftest import LABELS, png_bytes


def labels_by_name(client: Any, project_id: int) -> dict[str, dict]:
    response = client.get("/api/labels", params={"project_id": project_id, "page_size": 100})
    assert response.status_code == 200, response.text
    return {lbl["name"]: lbl for lbl in response.json()["results"]}


def annotate(client: Any, job_id: int, labels: dict[str, dict], frame: int = 0, x: float = 1.0):
    car, body, weather = labels["car"], labels["body"], labels["weather"]
    spec = {a["name"]: a["id"] for a in car["attributes"]}
    subs = {s["name"]: s["id"] for s in body["sublabels"]}
    payload = {
        "version": 0,
        "tags": [{"frame": frame, "label_id": weather["id"], "attributes": []}],
        "shapes": [
            {
                "type": "rectangle",
                "frame": frame,
                "label_id": car["id"],
                "points": [x, 2.0, 10.0, 12.0],
                "attributes": [
                    {"spec_id": spec["color"], "value": "blue"},
                    {"spec_id": spec["speed"], "value": "42"},
                ],
            },
            {
                "type": "skeleton",
                "frame": frame,
                "label_id": body["id"],
                "points": [],
                "elements": [
                    {"type": "points", "label_id": subs["head"], "points": [3.0, 4.0]},
                    {"type": "points", "label_id": subs["foot"], "points": [5.0, 6.0]},
                ],
            },
        ],
        "tracks": [
            {
                "frame": frame,
                "label_id": labels["person"]["id"],
                "shapes": [
                    {"type": "rectangle", "frame": frame, "points": [1.0, 1.0, 5.0, 5.0]},
                    {
                        "type": "rectangle",
                        "frame": frame + 1,
                        "points": [2.0, 2.0, 6.0, 6.0],
                        "outside": True,
                    },
                ],
            }
        ],
    }
    response = client.put(f"/api/jobs/{job_id}/annotations", json=payload)
    assert response.status_code == 200, response.text
    return response.json()


def make_project(
    client: Any, task_with_data: Any, name: str = "cars", tasks: int = 2, frames: int = 3
) -> dict:
    """A project with LABELS, `tasks` tasks of images and annotations in every job."""
    response = client.post("/api/projects", json={"name": name, "labels": LABELS})
    assert response.status_code == 201, response.text
    project = response.json()
    labels = labels_by_name(client, project["id"])
    for i in range(tasks):
        task = task_with_data(client, frames=frames, name=f"{name}-t{i}", project_id=project["id"])
        for job in jobs_of(client, task["id"]):
            annotate(client, job["id"], labels, frame=job["start_frame"], x=1.0 + i)
    # An annotation guide with an image: user data that snapshots carry too.
    guide = client.post("/api/guides", json={"project_id": project["id"], "markdown": "# How"})
    assert guide.status_code == 201, guide.text
    asset = client.post(
        "/api/assets",
        data={"guide_id": str(guide.json()["id"])},
        files={"file": ("how.png", png_bytes(5, 5), "image/png")},
    )
    assert asset.status_code == 201, asset.text
    return project


def jobs_of(client: Any, task_id: int) -> list[dict]:
    response = client.get("/api/jobs", params={"task_id": task_id, "page_size": 100})
    assert response.status_code == 200, response.text
    return sorted(response.json()["results"], key=lambda j: j["id"])


def task_ids(client: Any, project_id: int) -> list[int]:
    response = client.get("/api/tasks", params={"project_id": project_id, "page_size": 100})
    return sorted(t["id"] for t in response.json()["results"])


def canonical_annotations(client: Any, task_id: int) -> dict:
    """A task's annotations without ids and versions, with label ids replaced by names."""
    data = client.get(f"/api/tasks/{task_id}/annotations").json()
    project_id = client.get(f"/api/tasks/{task_id}").json()["project_id"]
    names = {}
    for lbl in labels_by_name(client, project_id).values():
        names[lbl["id"]] = lbl["name"]
        for sub in lbl["sublabels"]:
            names[sub["id"]] = f"{lbl['name']}.{sub['name']}"

    def clean(obj: Any) -> Any:
        if isinstance(obj, dict):
            out = {}
            for k, v in obj.items():
                if k in ("id", "version", "spec_id"):
                    continue
                out[k] = names[v] if k == "label_id" else clean(v)
            return out
        if isinstance(obj, list):
            return sorted((clean(v) for v in obj), key=repr)
        return obj

    return clean(data)


def _norm(value: Any) -> Any:
    if isinstance(value, datetime):
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return value.isoformat()
    return value


def table_rows(engine: Engine, names: list[str]) -> dict[str, list[tuple]]:
    """Rows of the named tables, ordered by primary key, datetimes as UTC strings."""
    metadata = MetaData()
    metadata.reflect(engine, only=names)
    out = {}
    with engine.connect() as conn:
        for name in names:
            table = metadata.tables[name]
            rows = conn.execute(select(table).order_by(*table.primary_key.columns))
            out[name] = [tuple(_norm(v) for v in row) for row in rows]
    return out
