"""A Python function module with cvat-sdk's auto-annotation interface, run server-side.

The module (`module`: a dotted import name, or `file`: a path) has `spec` (a
DetectionFunctionSpec: labels with ids) and `detect(context, image)` returning shapes
(cvat-sdk's `rectangle(...)`, `polygon(...)`, `tag(...)` or dicts of the same fields), the
contract `cvat-cli task auto-annotate` runs on the client.
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


class FunctionAdapter:
    def __init__(self, name: str, config: dict[str, Any]) -> None:
        self.name = name
        self.module = load(config)
        spec = getattr(self.module, "spec", None)
        if spec is None or not hasattr(self.module, "detect"):
            raise ModelError("the function module needs `spec` and `detect(context, image)`")
        self.label_names = {int(label.id): str(label.name) for label in spec.labels}
        self.threshold: float | None = None

    def detect(self, image: bytes, width: int, height: int) -> list[Detection]:
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
        return f"function module with labels {', '.join(self.label_names.values())}"
