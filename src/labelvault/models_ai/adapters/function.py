"""A Python function module with cvat-sdk's auto-annotation interface, run server-side.

The module (`module`: a dotted import name, or `file`: a path) has `spec` (a
DetectionFunctionSpec: labels with ids) and `detect(context, image)` returning shapes
(cvat-sdk's `rectangle(...)`, `polygon(...)`, `tag(...)` or dicts of the same fields), the
contract `cvat-cli task auto-annotate` runs on the client. A module whose `spec` is an
InteractionFunctionSpec (min_pos_points, ...) is an interactor instead: `detect(context,
image, prompts)` with the clicks, and optionally `preprocess_image(context, image)`.
"""

from __future__ import annotations

import importlib
import importlib.util
import io
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from PIL import Image

from labelvault.formats.masks import decode_cvat_mask
from labelvault.models_ai.adapters.base import Detection, ModelError, number


@dataclass(frozen=True)
class Context:
    """cvat-sdk's DetectionFunctionContext."""

    frame_name: str
    conf_threshold: float | None = None
    conv_mask_to_poly: bool = False


def load(config: dict[str, Any]) -> ModuleType:
    try:
        if config.get("file"):
            path = Path(str(config["file"]))
            spec = importlib.util.spec_from_file_location(f"lv_function_{path.stem}", path)
            if spec is None or spec.loader is None:
                raise ModelError(f"cannot load {path}")
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            return module
        return importlib.import_module(str(config.get("module", "")))
    except ModelError:
        raise
    except Exception as exc:  # noqa: BLE001  (any error of the user's module is its own)
        raise ModelError(f"cannot load the function module ({type(exc).__name__}: {exc})") from exc


def _plain(value: Any) -> Any:
    value = getattr(value, "value", value)  # cvat-sdk's enum-like model values
    return value


def _as_dict(shape: Any) -> dict[str, Any]:
    if isinstance(shape, dict):
        return shape
    if hasattr(shape, "to_dict"):
        return shape.to_dict()
    raise ModelError(f"detect() returned {type(shape).__name__}, not a shape")


class InteractionContext:
    """cvat-sdk's InteractionFunctionContext (empty in 2.80)."""


def _interaction_result(index: int, shape: Any, width: int, height: int) -> Detection:
    """cvat-sdk's InteractionResultShape (type, points, confidence attribute) as a Detection."""
    kind = str(
        _plain(
            getattr(shape, "type", None) or (shape.get("type") if isinstance(shape, dict) else "")
        )
    )
    raw = getattr(shape, "points", None)
    if raw is None and isinstance(shape, dict):
        raw = shape.get("points")
    points = [number(p, f"shape {index} points") for p in raw or []]
    attributes = getattr(shape, "attributes", None) or (
        shape.get("attributes", []) if isinstance(shape, dict) else []
    )
    score = 1.0
    for attribute in attributes:  # spec_id 0 is InteractionResultAttributes.CONFIDENCE
        spec_id = getattr(attribute, "spec_id", None)
        value = getattr(attribute, "value", None)
        if isinstance(attribute, dict):
            spec_id, value = attribute.get("spec_id"), attribute.get("value")
        if spec_id == 0:
            try:
                score = float(value)
            except (TypeError, ValueError) as exc:
                raise ModelError(f"shape {index} confidence is not a number") from exc
    if kind == "mask":
        try:
            return Detection("", "mask", [], score, mask=decode_cvat_mask(points, width, height))
        except ValueError as exc:
            raise ModelError(f"shape {index} is not a CVAT mask ({exc})") from exc
    if kind not in ("polygon", "rectangle"):
        raise ModelError(f"shape {index} is a {kind!r}; an interactor answers a mask or polygon")
    return Detection("", kind, points, score)


class FunctionAdapter:
    def __init__(self, name: str, config: dict[str, Any]) -> None:
        self.name = name
        self.module = load(config)
        spec = getattr(self.module, "spec", None)
        if spec is None or not hasattr(self.module, "detect"):
            raise ModelError("the function module needs `spec` and `detect(context, image)`")
        # cvat-sdk's InteractionFunctionSpec has prompt limits where a detector has labels.
        self.interactive = hasattr(spec, "min_pos_points") and not hasattr(spec, "labels")
        self.spec = spec
        labels = [] if self.interactive else spec.labels
        self.label_names = {int(label.id): str(label.name) for label in labels}
        self.threshold: float | None = None

    def interact(self, image: bytes, width: int, height: int, prompts: Any) -> list[Detection]:
        if not self.interactive:
            raise ModelError("the function module is a detector (its spec has labels, no prompts)")
        if len(prompts.pos_points) < self.spec.min_pos_points:
            raise ModelError(f"the function needs {self.spec.min_pos_points} positive points")
        if prompts.neg_points and self.spec.min_neg_points is None:
            raise ModelError("the function takes no negative points")
        picture = Image.open(io.BytesIO(image))
        context = InteractionContext()
        try:
            if hasattr(self.module, "preprocess_image"):
                picture = self.module.preprocess_image(context, picture)
            shapes = self.module.detect(context, picture, prompts)
        except Exception as exc:  # noqa: BLE001
            raise ModelError(f"detect() raised {type(exc).__name__}: {exc}") from exc
        return [_interaction_result(i, s, width, height) for i, s in enumerate(shapes or [])]

    def detect(self, image: bytes, width: int, height: int) -> list[Detection]:
        if self.interactive:
            raise ModelError("the function module is an interactor: it takes clicks, not frames")
        picture = Image.open(io.BytesIO(image))
        try:
            shapes = self.module.detect(Context("frame", self.threshold), picture)
        except Exception as exc:  # noqa: BLE001
            raise ModelError(f"detect() raised {type(exc).__name__}: {exc}") from exc
        found = []
        for index, shape in enumerate(shapes or []):
            body = _as_dict(shape)
            label_id = body.get("label_id")
            if label_id not in self.label_names:
                raise ModelError(f"shape {index} has label_id {label_id}, not one of the spec's")
            kind = "tag" if "points" not in body else str(_plain(body.get("type", "rectangle")))
            points = [number(p, f"shape {index} points") for p in body.get("points") or []]
            found.append(Detection(self.label_names[label_id], kind, points, 1.0))
        return found

    def check(self) -> str:
        if self.interactive:
            return f"interaction function (at least {self.spec.min_pos_points} positive points)"
        return f"function module with labels {', '.join(self.label_names.values())}"
