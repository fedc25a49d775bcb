"""CVAT's lambda wire format: a registered model as a function, a run as a FunctionCall."""

from __future__ import annotations

from typing import Any

from labelvault.background.models import Request
from labelvault.db.base import iso
from labelvault.models_ai.models import Model


def function(model: Model) -> dict[str, Any]:
    labels = [
        {"name": label["name"], "type": label.get("type", "any"), "attributes": []}
        for label in model.labels or []
    ]
    body: dict[str, Any] = {
        "id": model.name,
        "kind": model.function_kind,
        "name": model.name,
        "description": model.description,
        "labels_v2": labels,
        "labels": [label["name"] for label in labels],
        "version": 1,
        "framework": model.kind,
    }
    if model.function_kind == "interactor":
        config = model.config or {}  # the prompts the model takes, as its registration says
        body.update(
            {
                "min_pos_points": int(config.get("min_pos_points", 1)),
                "min_neg_points": int(config.get("min_neg_points", 0)),
                "startswith_box": bool(config.get("startswith_box", False)),
                "startswith_box_optional": bool(config.get("startswith_box_optional", False)),
                "help_message": str(config.get("help_message", "")),
                "animated_gif": "",
            }
        )
    return body


def call(row: Request) -> dict[str, Any]:
    """CVAT's FunctionCall: progress is a whole percent, exc_info the failure's message."""
    params = row.params or {}
    body: dict[str, Any] = {
        "id": row.id,
        "function": {
            "id": params.get("function"),
            "threshold": params.get("threshold"),
            "task": row.task_id,
        },
        "status": row.status,
        "progress": int(round((row.progress or 0.0) * 100)),
        "enqueued": iso(row.created_date),
        "started": iso(row.started_date),
        "ended": iso(row.finished_date),
        "exc_info": row.message if row.status == "failed" else None,
    }
    if row.job_id is not None:  # the SDK's FunctionCallParams takes an int or no key at all
        body["function"]["job"] = row.job_id
    return body
