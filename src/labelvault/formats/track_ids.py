"""Tracks rebuilt from per-frame shapes that carry ``track_id`` and ``keyframe``, as CVAT does.

Per-frame formats (COCO, Datumaro, VOC, Ultralytics) write a track as one shape per frame
with ``track_id``/``keyframe`` attributes. CVAT's importer (``import_dm_annotations`` with
``_validate_track_shapes`` in cvat/apps/dataset_manager/bindings.py) groups them back into
tracks: a shape becomes a keyframe where visibility changes, after a gap, or when it says
``keyframe``; a visible run that stops before the end gets its last frame as a keyframe and
an "outside" keyframe on the next frame. Only shapes with both attributes form tracks.
"""

from __future__ import annotations

from typing import Any

from .base import Shape, Track


def is_track_part(shape: Shape) -> bool:
    """A shape a per-frame format marked as one frame of a track (CVAT: track_id + keyframe)."""
    return shape.get("track_id") is not None and "keyframe" in shape


def _tracked(shape: Shape, frame: int) -> dict[str, Any]:
    return {
        "frame": frame,
        "type": shape["type"],
        "points": list(shape.get("points") or ()),
        "outside": bool(shape.get("outside")),
        "occluded": bool(shape.get("occluded")),
        "keyframe": bool(shape.get("keyframe")),
        "z_order": int(shape.get("z_order") or 0),
        "rotation": float(shape.get("rotation") or 0.0),
        "attributes": list(shape.get("attributes") or ()),
    }


def keyframes(shapes: list[dict[str, Any]], stop_frame: int, step: int = 1) -> list[dict[str, Any]]:
    """CVAT's ``_validate_track_shapes``: the keyframes of one track's per-frame shapes."""
    ordered = sorted(shapes, key=lambda s: s["frame"])
    out: list[dict[str, Any]] = []

    def close(last: dict[str, Any]) -> dict[str, Any]:
        # the last visible frame becomes a keyframe so interpolation ends there, then the
        # track goes outside on the next frame
        if not out or out[-1]["frame"] != last["frame"]:
            out.append({**last, "keyframe": True})
        closing = {**last, "outside": True, "keyframe": True, "frame": last["frame"] + step}
        out.append(closing)
        return closing

    prev: dict[str, Any] | None = None
    for shape in ordered:
        if prev is not None and prev["frame"] == shape["frame"]:
            raise ValueError(
                f"several shapes of one track (track_id) on frame {shape['frame']}; "
                "a track has one shape per frame"
            )
        prev_visible = prev is not None and not prev["outside"]
        visible = not shape["outside"]
        gap = prev_visible and prev is not None and prev["frame"] + step < shape["frame"]
        if gap and prev is not None:
            prev = close(prev)
        if prev_visible != visible or (visible and (gap or shape["keyframe"])):
            shape = {**shape, "keyframe": True}
            out.append(shape)
        prev = shape
    if prev is not None and not prev["outside"] and prev["frame"] + step <= stop_frame:
        close(prev)
    return out


class TrackCollector:
    """Gathers track parts frame by frame, then yields the tracks CVAT would rebuild."""

    def __init__(self) -> None:
        self.parts: dict[Any, list[tuple[int, Shape]]] = {}

    def add(self, shape: Shape, frame: int) -> None:
        self.parts.setdefault(shape["track_id"], []).append((frame, shape))

    def tracks(self, stop_frame: int, step: int = 1) -> list[Track]:
        out: list[Track] = []
        for parts in self.parts.values():
            first = parts[0][1]
            track: Track = {
                "label": first["label"],
                "frame": min(f for f, _ in parts),
                "group": int(first.get("group") or 0),
                "source": first.get("source") or "file",
                "attributes": [],
                "shapes": keyframes([_tracked(s, f) for f, s in parts], stop_frame, step),
                "elements": [],
            }
            if first["type"] == "skeleton":
                by_label: dict[str, list[dict[str, Any]]] = {}
                for frame, shape in parts:
                    for el in shape.get("elements") or ():
                        part = {**_tracked(el, frame), "keyframe": bool(shape.get("keyframe"))}
                        by_label.setdefault(el["label"], []).append(part)
                track["elements"] = [
                    {
                        "label": label,
                        "frame": track["frame"],
                        "group": 0,
                        "source": track["source"],
                        "attributes": [],
                        "shapes": keyframes(shapes, stop_frame, step),
                    }
                    for label, shapes in by_label.items()
                ]
            if track["shapes"] or track["elements"]:
                out.append(track)
        return out


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes")
    return bool(value)


def mark_track_part(shape: Shape, raw_attrs: dict[str, Any]) -> Shape:
    """Copy ``track_id``/``keyframe``/``outside`` from a format's attributes onto the shape."""
    if raw_attrs.get("track_id") is not None and "keyframe" in raw_attrs:
        shape["track_id"] = raw_attrs["track_id"]
        shape["keyframe"] = _truthy(raw_attrs["keyframe"])
        shape["outside"] = _truthy(raw_attrs.get("outside", False))
    return shape
