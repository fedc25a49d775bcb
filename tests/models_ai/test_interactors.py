"""Registered interactors: clicks go to a real DEEPaaS model or a cvat-sdk interaction function."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

from tests.models_ai.test_models import _task_with

# Two bright boxes (x1, y1, x2, y2 inclusive) on a dark 64x48 frame.
LEFT = (4, 4, 19, 15)
RIGHT = (30, 20, 57, 43)


def _two_boxes() -> bytes:
    image = Image.new("RGB", (64, 48), (20, 20, 20))
    for x1, y1, x2, y2 in (LEFT, RIGHT):
        image.paste((255, 255, 255), (x1, y1, x2 + 1, y2 + 1))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def _span(points: list[list[float]]) -> tuple[float, float, float, float]:
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    return min(xs), min(ys), max(xs), max(ys)


def _corners(box: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    """The outline of pixels x1..x2 runs round their corners: one past the last pixel."""
    return box[0], box[1], box[2] + 1, box[3] + 1


def _mask_near(mask: list[float], box: tuple[int, int, int, int]) -> bool:
    return all(abs(a - b) <= 1 for a, b in zip(mask[-4:], box, strict=True))


def _click(admin, name: str, task: dict, pos: list, neg: list | None = None):  # type: ignore[no-untyped-def]
    return admin.post(
        f"/api/lambda/functions/{name}",
        json={"task": task["id"], "frame": 0, "pos_points": pos, "neg_points": neg or []},
    )


def test_deepaas_interactor_takes_the_clicks(admin, deepaas_url) -> None:  # type: ignore[no-untyped-def]
    model = {
        "name": "stub-clicks",
        "kind": "deepaas",
        "function_kind": "interactor",
        "config": {"url": deepaas_url, "model": "lv-yolo-stub"},
    }
    assert admin.post("/api/models", json=model).status_code == 201
    listed = {f["id"]: f for f in admin.get("/api/lambda/functions").json()}
    assert listed["stub-clicks"]["kind"] == "interactor"
    assert listed["stub-clicks"]["min_pos_points"] == 1
    task = _task_with(admin, [_two_boxes()])

    left = _click(admin, "stub-clicks", task, [[10, 10]])
    assert left.status_code == 200, left.text
    assert _span(left.json()["points"]) == _corners(LEFT)
    assert _mask_near(left.json()["mask"], LEFT)
    right = _click(admin, "stub-clicks", task, [[40.4, 30.2]], [[2, 2]])
    assert _span(right.json()["points"]) == _corners(RIGHT)
    # A "no" click inside the region: the model finds nothing.
    refused = _click(admin, "stub-clicks", task, [[40, 30]], [[50, 40]])
    assert refused.json() == {"points": [], "mask": None}
    bad = _click(admin, "stub-clicks", task, [])
    assert bad.status_code == 400 and "pos_points" in bad.json()["detail"]
    run = admin.post("/api/lambda/requests", json={"function": "stub-clicks", "task": task["id"]})
    assert run.status_code == 400 and "interactor" in run.json()["detail"]


INTERACTION = """
import numpy as np
import cvat_sdk.auto_annotation as cvataa
from cvat_sdk.masks import encode_mask
from cvat_sdk.models import AttributeValRequest
from PIL import ImageDraw

spec = cvataa.InteractionFunctionSpec(min_pos_points=1, min_neg_points=0)


def preprocess_image(context, image):
    return image.convert("L").point(lambda v: 255 if v > 200 else 0)


def detect(context, image, prompts):
    x, y = (int(v) for v in prompts.pos_points[0])
    if image.getpixel((x, y)) != 255:
        return []
    filled = image.copy()
    ImageDraw.floodfill(filled, (x, y), 128)
    region = np.asarray(filled) == 128
    confidence = cvataa.InteractionResultAttributes.CONFIDENCE
    return [
        cvataa.InteractionResultShape(
            type="mask",
            points=encode_mask(region),
            attributes=[AttributeValRequest(spec_id=int(confidence), value="0.9")],
        )
    ]
"""


def test_function_module_interactor(admin, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """cvat-sdk's InteractionFunction (what `cvat-cli function run-agent` serves) on the server."""
    function = tmp_path / "flood.py"
    function.write_text(INTERACTION)
    model = {
        "name": "flood",
        "kind": "function",
        "function_kind": "interactor",
        "config": {"file": str(function)},
    }
    assert admin.post("/api/models", json=model).status_code == 201
    task = _task_with(admin, [_two_boxes()])
    for click, box in (([12, 8], LEFT), ([31, 42], RIGHT)):
        reply = _click(admin, "flood", task, [click])
        assert reply.status_code == 200, reply.text
        assert _span(reply.json()["points"]) == _corners(box)
        assert reply.json()["mask"][-4:] == list(map(float, box))
    assert _click(admin, "flood", task, [[1, 1]]).json()["points"] == []
    # A detector module asked for clicks, an ONNX interactor: clear 4xx.
    onnx = dict(model, name="onnx-clicks", kind="onnx", config={"path": "/x.onnx"})
    refused = admin.post("/api/models", json=onnx)
    assert refused.status_code == 400 and "cannot be an interactor" in refused.json()["detail"]
