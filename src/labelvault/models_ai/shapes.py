"""A model's detections -> CVAT shapes and tags of one frame: label mapping, threshold, limits."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from labelvault.formats.masks import bitmap_to_polygons, encode_cvat_mask
from labelvault.models_ai.adapters import Detection, ModelError

# More than this many objects in one frame is a broken model, not a busy picture.
MAX_PER_FRAME = 10_000


@dataclass(frozen=True)
class Target:
    """The task label a model label maps to."""

    id: int
    name: str
    type: str


@dataclass
class Mapping:
    """How one model's labels become one task's labels, and what to keep."""

    model: str
    model_labels: frozenset[str]
    targets: dict[str, Target]
    threshold: float = 0.0
    conv_mask_to_poly: bool = False
    max_per_frame: int = MAX_PER_FRAME
    skipped: dict[str, int] = field(default_factory=dict)


def default_mapping(model_labels: list[str], task_labels: list[Target]) -> dict[str, str]:
    """Model label -> task label of the same name (case and spaces aside), as CVAT suggests."""
    by_name = {t.name.strip().lower(): t.name for t in task_labels}
    return {m: by_name[m.strip().lower()] for m in model_labels if m.strip().lower() in by_name}


def build_mapping(
    model: str,
    model_labels: list[str],
    task_labels: list[Target],
    requested: dict[str, Any] | None,
    threshold: float | None,
    conv_mask_to_poly: bool,
) -> Mapping:
    """Check a requested mapping (CVAT's {"model label": {"name": "task label"}}) up front."""
    from labelvault.errors import Invalid

    by_name = {t.name: t for t in task_labels}
    if requested:
        pairs: dict[str, str] = {}
        for source, entry in requested.items():
            name = entry.get("name") if isinstance(entry, dict) else entry
            if model_labels and source not in model_labels:
                raise Invalid(
                    f"mapping: model '{model}' has no label '{source}' "
                    f"(it has {', '.join(model_labels)})"
                )
            if name not in by_name:
                raise Invalid(f"mapping: the task has no label '{name}' for '{source}'")
            pairs[source] = str(name)
    else:
        pairs = default_mapping(model_labels, task_labels)
    if not pairs:
        raise Invalid(
            f"no label of model '{model}' ({', '.join(model_labels) or 'none'}) matches a label "
            "of the task; give a mapping"
        )
    if threshold is not None and not 0 <= threshold <= 1:
        raise Invalid("threshold must be between 0 and 1")
    return Mapping(
        model=model,
        model_labels=frozenset(model_labels),
        targets={source: by_name[name] for source, name in pairs.items()},
        threshold=threshold or 0.0,
        conv_mask_to_poly=conv_mask_to_poly,
    )


def _shape(d: Detection, target: Target, frame: int, kind: str, points: list[float]) -> dict:
    return {
        "type": kind,
        "frame": frame,
        "label_id": target.id,
        "points": points,
        "source": "auto",
        "score": min(max(d.score, 0.0), 1.0),
        "group": 0,
        "occluded": False,
        "z_order": 0,
        "attributes": [],
    }


def frame_objects(
    mapping: Mapping, frame: int, detections: list[Detection]
) -> tuple[list[dict], list[dict]]:
    """Tags and shapes of one frame; a ModelError names what was wrong with the answer."""
    if len(detections) > mapping.max_per_frame:
        raise ModelError(
            f"it answered {len(detections)} objects for one frame "
            f"(more than {mapping.max_per_frame}: a broken model?)"
        )
    tags: list[dict] = []
    shapes: list[dict] = []
    for d in detections:
        if mapping.model_labels and d.label not in mapping.model_labels:
            raise ModelError(
                f"it answered label '{d.label}', which is not one of its labels "
                f"({', '.join(sorted(mapping.model_labels))})"
            )
        target = mapping.targets.get(d.label)
        if target is None:
            mapping.skipped[d.label] = mapping.skipped.get(d.label, 0) + 1
            continue
        if d.score < mapping.threshold:
            continue
        if d.type == "tag":
            tag = _shape(d, target, frame, "tag", [])
            for key in ("type", "points", "occluded", "z_order"):
                tag.pop(key)
            tags.append(tag)
        elif d.type == "mask":
            if mapping.conv_mask_to_poly:
                for polygon in bitmap_to_polygons(d.mask):
                    shapes.append(_shape(d, target, frame, "polygon", polygon))
            else:
                shapes.append(_shape(d, target, frame, "mask", encode_cvat_mask(d.mask)))
        else:
            shapes.append(_shape(d, target, frame, d.type, d.points))
    return tags, shapes
