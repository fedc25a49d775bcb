"""What every adapter gives: detections in image pixels, a health check, and one error type."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Protocol

SHAPE_TYPES = ("rectangle", "polygon", "polyline", "points", "ellipse", "mask", "tag")


class ModelError(Exception):
    """A model is unreachable, too slow, or answered something that is not a prediction."""


@dataclass
class Detection:
    """One thing a model found: a model label, a shape type, points in pixels, a score.

    `mask` (a bool array the size of the image) stands in for points on mask detections.
    """

    label: str
    type: str
    points: list[float] = field(default_factory=list)
    score: float = 1.0
    attributes: dict[str, str] = field(default_factory=dict)
    mask: Any = None


class Adapter(Protocol):
    def detect(self, image: bytes, width: int, height: int) -> list[Detection]: ...

    def check(self) -> str: ...


def number(value: Any, what: str) -> float:
    """A finite number from a reply, or a ModelError saying which field was wrong."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ModelError(f"{what} is not a number ({value!r:.60})")
    return float(value)


def timeout_of(config: dict[str, Any]) -> float:
    return float(config.get("timeout", 30))
