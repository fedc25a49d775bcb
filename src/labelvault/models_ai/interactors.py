"""Registered interactors: clicks on one frame sent to a model, its answer as one outline.

A DEEPaaS model gets the clicks as declared extra predict parameters (JSON lists of [x, y]);
a function module implements cvat-sdk's InteractionFunction (`spec` an
InteractionFunctionSpec, `detect(context, image, prompts)`). Whatever shape comes back
(polygon, box or mask), the caller gets CVAT's interactor answer {"points", "mask"}.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from labelvault.errors import Invalid
from labelvault.formats.masks import bitmap_to_polygons, encode_cvat_mask, polygon_to_bitmap
from labelvault.media.models import Frame
from labelvault.models_ai.adapters import Adapter, Detection, ModelError
from labelvault.models_ai.interactive import points_of
from labelvault.models_ai.models import Model
from labelvault.models_ai.runs import RunFailed
from labelvault.models_ai.service import INTERACTOR_KINDS


@dataclass(frozen=True)
class Prompts:
    """cvat-sdk's InteractionPrompts: what the user clicked (and boxed) on the frame."""

    pos_points: tuple[tuple[float, float], ...]
    neg_points: tuple[tuple[float, float], ...]
    bounding_box: tuple[tuple[float, float], tuple[float, float]] | None


def prompts_of(call: dict[str, Any], min_pos: int = 1) -> Prompts:
    positive = points_of(call.get("pos_points"), "pos_points")
    negative = points_of(call.get("neg_points"), "neg_points")
    if len(positive) < min_pos:
        raise Invalid(f"pos_points: give at least {min_pos} click(s) inside the object")
    box = points_of(call.get("obj_bbox"), "obj_bbox")[:2] if call.get("obj_bbox") else None
    return Prompts(
        tuple((float(x), float(y)) for x, y in positive),
        tuple((float(x), float(y)) for x, y in negative),
        ((float(box[0][0]), float(box[0][1])), (float(box[1][0]), float(box[1][1])))
        if box and len(box) == 2
        else None,
    )


def _bitmap(found: Detection, width: int, height: int) -> np.ndarray:
    if found.mask is not None:
        return np.asarray(found.mask, dtype=bool)
    points = found.points
    if found.type == "rectangle":
        x1, y1, x2, y2 = points[:4]
        points = [x1, y1, x2, y1, x2, y2, x1, y2]
    return polygon_to_bitmap(points, width, height)


def outline(detections: list[Detection], width: int, height: int) -> dict[str, Any]:
    """The best answer (masks and polygons before boxes, then the highest score) as CVAT's."""
    shaped = [d for d in detections if d.type in ("polygon", "mask", "rectangle")]
    if not shaped:
        return {"points": [], "mask": None}
    best = max(shaped, key=lambda d: (d.type != "rectangle", d.score))
    region = _bitmap(best, width, height)
    if best.type == "polygon":
        flat = best.points
    elif best.type == "rectangle":
        x1, y1, x2, y2 = best.points[:4]
        flat = [x1, y1, x2, y1, x2, y2, x1, y2]
    else:
        polygons = bitmap_to_polygons(region)
        flat = max(polygons, key=len) if polygons else []
    return {
        "points": [[float(x), float(y)] for x, y in zip(flat[0::2], flat[1::2], strict=True)],
        "mask": encode_cvat_mask(region) if region.any() else None,
    }


def interact(
    model: Model, adapter: Adapter, frame: Frame, image: bytes, call: dict[str, Any]
) -> dict[str, Any]:
    """One interactor call; a RunFailed naming the model and frame if the model fails."""
    if model.function_kind != "interactor":
        raise Invalid(f"'{model.name}' is a detector; it takes no clicks")
    method = getattr(adapter, "interact", None)
    if method is None or model.kind not in INTERACTOR_KINDS:
        kinds = ", ".join(INTERACTOR_KINDS)
        raise Invalid(f"a {model.kind} model cannot take clicks (interactors: {kinds})")
    prompts = prompts_of(call, int((model.config or {}).get("min_pos_points", 1)))
    try:
        detections = method(image, frame.width, frame.height, prompts)
    except ModelError as exc:
        raise RunFailed(
            f"model '{model.name}' failed on frame {frame.frame} ({frame.name}): {exc}"
        ) from exc
    return outline(detections, frame.width, frame.height)
