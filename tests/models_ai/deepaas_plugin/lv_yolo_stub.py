"""A DEEPaaS v2 model answering as the AI4OS YOLOv8 module does, from the image it is sent.

It finds the bright (value > 200) pixels of the image and reports their bounding box as a
"person", with the box's outline as the segment, in Ultralytics' `Results.tojson()` form:
one JSON string per input file. The `mode` argument makes it misbehave on purpose.
"""

import io
import json
import time

from PIL import Image
from webargs import fields


def get_metadata():
    return {"name": "lv-yolo-stub", "description": "bright-region detector for tests"}


def warm():
    return None


def get_predict_args():
    return {
        "input": fields.Field(
            metadata={"description": "image", "location": "form", "type": "file"},
            required=True,
        ),
        "mode": fields.Str(load_default="ok"),
        "task_type": fields.Str(load_default="det"),
    }


def _bright_box(data):
    image = Image.open(io.BytesIO(data)).convert("L")
    box = image.point(lambda v: 255 if v > 200 else 0).getbbox()
    return image.size, box


def predict(**kwargs):
    mode = kwargs.get("mode", "ok")
    with open(kwargs["input"].filename, "rb") as f:
        data = f.read()
    if mode == "slow":
        time.sleep(5)
    if mode == "garbage":
        return "this is not a detection"
    (width, height), box = _bright_box(data)
    found = []
    if mode == "flood":
        found = [
            {
                "name": "person",
                "class": 0,
                "confidence": 0.9,
                "box": {"x1": 0, "y1": 0, "x2": 1, "y2": 1},
            }
        ] * 100_000
    elif box is not None:
        x1, y1, x2, y2 = box
        found.append(
            {
                "name": "zebra" if mode == "unknown" else "person",
                "class": 0,
                "confidence": 0.87,
                "box": {"x1": x1, "y1": y1, "x2": x2, "y2": y2},
                "segments": {"x": [x1, x2, x2, x1], "y": [y1, y1, y2, y2]},
            }
        )
        # A low-confidence one the threshold is meant to drop.
        found.append(
            {
                "name": "person",
                "class": 0,
                "confidence": 0.1,
                "box": {"x1": 0, "y1": 0, "x2": 2, "y2": 2},
            }
        )
    return [json.dumps(found)]
