"""A DEEPaaS v2 model answering as the AI4OS YOLOv8 module does, from the image it is sent.

It finds the bright (value > 200) pixels of the image and reports their bounding box as a
"person", with the box's outline as the segment, in Ultralytics' `Results.tojson()` form:
one JSON string per input file. The `mode` argument makes it misbehave on purpose.
Given clicks (the extra parameters `pos_points` and `neg_points`, JSON lists of [x, y]) it
is an interactor: the outline of the bright region under the first positive click, or
nothing when a negative click falls inside that region.
"""

import io
import json
import time

from PIL import Image, ImageDraw
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
        "pos_points": fields.Str(load_default=""),
        "neg_points": fields.Str(load_default=""),
    }


def _bright_box(data):
    image = Image.open(io.BytesIO(data)).convert("L")
    box = image.point(lambda v: 255 if v > 200 else 0).getbbox()
    return image.size, box


def _region_at(data, click, negative):
    """The bounding box of the bright region a click lies on (None off it or on a no)."""
    image = Image.open(io.BytesIO(data)).convert("L").point(lambda v: 255 if v > 200 else 0)
    x, y = int(click[0]), int(click[1])
    if image.getpixel((x, y)) != 255:
        return None
    ImageDraw.floodfill(image, (x, y), 128)
    region = image.point(lambda v: 255 if v == 128 else 0)
    if any(region.getpixel((int(p[0]), int(p[1]))) == 255 for p in negative):
        return None
    return region.getbbox()


def predict(**kwargs):
    mode = kwargs.get("mode", "ok")
    with open(kwargs["input"].filename, "rb") as f:
        data = f.read()
    if kwargs.get("pos_points"):
        box = _region_at(
            data, json.loads(kwargs["pos_points"])[0], json.loads(kwargs["neg_points"] or "[]")
        )
        if box is None:
            return [json.dumps([])]
        x1, y1, x2, y2 = box
        return [
            json.dumps(
                [
                    {
                        "name": "object",
                        "class": 0,
                        "confidence": 0.95,
                        "box": {"x1": x1, "y1": y1, "x2": x2, "y2": y2},
                        "segments": {"x": [x1, x2, x2, x1], "y": [y1, y1, y2, y2]},
                    }
                ]
            )
        ]
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
