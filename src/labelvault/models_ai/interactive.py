"""Interactive segmentation with no weights: OpenCV's GrabCut from clicks inside and outside.

Positive clicks (and an optional box) seed the foreground, negative clicks the background;
the largest region GrabCut finds comes back as a polygon and as a mask, as CVAT's
interactors answer ({"points": [[x, y], ...], "mask": ...}).
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from PIL import Image

from labelvault.errors import Invalid
from labelvault.formats.masks import encode_cvat_mask

GRABCUT_ID = "labelvault.grabcut"
CLICK_RADIUS = 4
ITERATIONS = 4


def function_json() -> dict[str, Any]:
    return {
        "id": GRABCUT_ID,
        "kind": "interactor",
        "name": "GrabCut (OpenCV)",
        "description": "Clicks inside (and outside) an object give its outline; no weights.",
        "labels_v2": [],
        "labels": [],
        "version": 1,
        "framework": "opencv",
        "min_pos_points": 1,
        "min_neg_points": 0,
        "startswith_box": False,
        "startswith_box_optional": True,
        "help_message": "Click inside the object, and outside where it spills over.",
        "animated_gif": "",
    }


def points_of(value: Any, what: str) -> list[tuple[int, int]]:
    if value is None:
        return []
    try:
        return [(int(round(float(p[0]))), int(round(float(p[1])))) for p in value]
    except (TypeError, ValueError, IndexError) as exc:
        raise Invalid(f"{what} must be a list of [x, y] points") from exc


def segment(image: bytes, call: dict[str, Any]) -> dict[str, Any]:
    import cv2

    positive = points_of(call.get("pos_points"), "pos_points")
    negative = points_of(call.get("neg_points"), "neg_points")
    if not positive:
        raise Invalid("pos_points: give at least one click inside the object")
    picture = np.asarray(Image.open(io.BytesIO(image)).convert("RGB"))[:, :, ::-1].copy()
    height, width = picture.shape[:2]
    box = call.get("obj_bbox")
    if box:
        (x1, y1), (x2, y2) = points_of(box, "obj_bbox")[:2]
    else:
        # Around the clicks, with room for the object they are on (a quarter of the image
        # each way); what lies outside is taken as background to learn its colours from.
        xs = [p[0] for p in positive]
        ys = [p[1] for p in positive]
        x1, y1 = min(xs) - width // 4, min(ys) - height // 4
        x2, y2 = max(xs) + width // 4, max(ys) + height // 4
    x1, y1 = max(0, min(x1, x2)), max(0, min(y1, y2))
    x2, y2 = min(width - 1, max(x1, x2)), min(height - 1, max(y1, y2))
    mask = np.full((height, width), cv2.GC_BGD, np.uint8)
    mask[y1 : y2 + 1, x1 : x2 + 1] = cv2.GC_PR_FGD
    for x, y in positive:
        cv2.circle(mask, (x, y), CLICK_RADIUS, cv2.GC_FGD, -1)
    for x, y in negative:
        cv2.circle(mask, (x, y), CLICK_RADIUS, cv2.GC_BGD, -1)
    background = np.zeros((1, 65), np.float64)
    foreground = np.zeros((1, 65), np.float64)
    cv2.grabCut(picture, mask, None, background, foreground, ITERATIONS, cv2.GC_INIT_WITH_MASK)
    found = ((mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD)).astype(np.uint8)
    contours, _ = cv2.findContours(found, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return {"points": [], "mask": None}
    largest = max(contours, key=cv2.contourArea)
    outline = cv2.approxPolyDP(largest, 1.0, True).reshape(-1, 2)
    region = np.zeros_like(found)
    cv2.drawContours(region, [largest], -1, 1, -1)
    return {
        "points": [[float(x), float(y)] for x, y in outline],
        "mask": encode_cvat_mask(region.astype(bool)),
    }
