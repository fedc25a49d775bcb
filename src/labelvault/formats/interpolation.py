"""Track interpolation between keyframes by CVAT's rules (TrackManager.get_interpolated_shapes).

One definition, shared in spirit with the browser's workspace/interpolation.js:

- rectangles, ellipses, cuboids and skeletons move their points linearly and turn by the
  shorter way round (a turn of exactly 180° becomes +1°, CVAT's quirk);
- a single point moves linearly; several points hold the earlier keyframe, even with
  equal counts;
- polygons and polylines match points by their relative position along the outline
  (polygons closed for the computation), move each pair linearly, then thin points that
  crowd together;
- masks, and keyframes of different types, hold the earlier keyframe (CVAT refuses them);
- frames before an outside keyframe move toward its position; nothing is shown after an
  outside keyframe until the next keyframe (unless ``include_outside``, as CVAT does for
  skeleton elements, where the outside state carries on); after the last keyframe the
  shape stays as it is;
- attributes a keyframe does not set are carried over from the keyframes before it.

Keyframes are CVAT tracked-shape dicts: frame, type, points, rotation, outside, occluded,
z_order, attributes ([{"name"|"spec_id", "value"}]).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

Keyframe = dict[str, Any]
Point = tuple[float, float]

SIMPLE_TYPES = ("rectangle", "ellipse", "cuboid", "skeleton")


def angle_diff(right: float, left: float) -> float:
    """The turn from ``left`` to ``right`` in degrees, the short way; exactly ±180 gives 1."""
    diff = ((right - left + 180) % 360) - 180
    if abs(diff) >= 180:
        # CVAT's expression, kept as written: only reachable for -180, which yields 1
        diff = 360 - abs(diff) * -1 if diff > 0 else 1
    return diff


def between(k0: Keyframe, k1: Keyframe, offset: float) -> tuple[list[float], float]:
    """(points, rotation) at ``offset`` in (0, 1) from keyframe ``k0`` to ``k1``."""
    p0 = [float(p) for p in k0.get("points") or ()]
    p1 = [float(p) for p in k1.get("points") or ()]
    r0 = float(k0.get("rotation") or 0.0)
    kind = k0.get("type")
    if kind != k1.get("type"):
        return p0, r0
    if kind in SIMPLE_TYPES or (kind == "points" and len(p0) == 2 and len(p1) == 2):
        if len(p0) != len(p1):
            return p0, r0
        r1 = float(k1.get("rotation") or 0.0)
        rotation = (r0 + angle_diff(r1, r0) * offset + 360) % 360
        return [a + (b - a) * offset for a, b in zip(p0, p1, strict=True)], rotation
    if kind in ("polygon", "polyline") and len(p0) >= 2 and len(p1) >= 2:
        if kind == "polygon":
            return _poly_position(p0 + p0[:2], p1 + p1[:2], offset)[:-2], r0
        return _poly_position(p0, p1, offset), r0
    return p0, r0  # several points, masks


def carried_attributes(keyframes: Sequence[Keyframe], upto: int) -> list[dict[str, Any]]:
    """Attributes in force on frame ``upto``: each keyframe's values over the earlier ones'."""
    values: dict[Any, dict[str, Any]] = {}
    for k in keyframes:
        if k["frame"] > upto:
            break
        for a in k.get("attributes") or ():
            values[a.get("name", a.get("spec_id"))] = dict(a)
    return list(values.values())


def tracked_at(
    keyframes: Sequence[Keyframe], frame: int, *, include_outside: bool = False
) -> Keyframe | None:
    """The track's tracked shape on ``frame`` as CVAT lists it, with a "keyframe" flag.

    Keyframes themselves are returned even when outside (CVAT lists them, exporters drop
    them); an interpolated frame after an outside keyframe is None unless
    ``include_outside``, and then carries the outside state. None before the first keyframe.
    """
    keys = sorted(keyframes, key=lambda k: k["frame"])
    i = -1
    while i + 1 < len(keys) and keys[i + 1]["frame"] <= frame:
        i += 1
    if i < 0:
        return None
    k0 = keys[i]
    shape = dict(k0)
    shape["points"] = list(k0.get("points") or ())
    shape["rotation"] = float(k0.get("rotation") or 0.0)
    shape["outside"] = bool(k0.get("outside"))
    shape["attributes"] = carried_attributes(keys, frame)
    shape["keyframe"] = k0["frame"] == frame
    if shape["keyframe"]:
        return shape
    if shape["outside"] and not include_outside:
        return None
    shape["frame"] = frame
    if i + 1 < len(keys):
        k1 = keys[i + 1]
        offset = (frame - k0["frame"]) / (k1["frame"] - k0["frame"])
        shape["points"], shape["rotation"] = between(k0, k1, offset)
    return shape


# ---------------------------------------------------------------- polygons and polylines


def _pairs(flat: Sequence[float]) -> list[Point]:
    return [(flat[i], flat[i + 1]) for i in range(0, len(flat) - 1, 2)]


def _distance(a: Point, b: Point) -> float:
    # sqrt of the sum of squares, as CVAT computes it (hypot may differ in the last bit)
    return math.sqrt((a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2)


def _length(points: Sequence[Point]) -> float:
    return sum((_distance(points[i], points[i - 1]) for i in range(1, len(points))), 0.0)


def _offsets(points: Sequence[Point]) -> list[float]:
    """Relative position of each point along the curve; NaN for a curve of no length."""
    total = _length(points)
    out = [0.0]
    run = 0.0
    for i in range(1, len(points)):
        run += _distance(points[i], points[i - 1])
        out.append(run / total if total else math.nan)
    return out


def _nearest(value: float, curve: Sequence[float]) -> int:
    best, best_d = 0, abs(value - curve[0])
    for i in range(1, len(curve)):
        d = abs(value - curve[i])
        if d < best_d:
            best, best_d = i, d
    return best


def _matching(left: Sequence[Point], right: Sequence[Point]) -> list[list[int]]:
    """For each left point, the right points it moves to; every right point is someone's."""
    lo, ro = _offsets(left), _offsets(right)
    match = [[_nearest(v, ro)] for v in lo]
    taken = {r for m in match for r in m}
    for r in range(len(right)):
        if r not in taken:
            match[_nearest(ro[r], lo)].append(r)
    return [sorted(m) for m in match]


def _poly_position(left_flat: list[float], right_flat: list[float], t: float) -> list[float]:
    left, right = _pairs(left_flat), _pairs(right_flat)
    match = _matching(left, right)
    moved: list[Point] = []
    first: list[int] = []
    for li, rs in enumerate(match):
        first.append(len(moved))
        lx, ly = left[li]
        for ri in rs:
            rx, ry = right[ri]
            moved.append((lx + (rx - lx) * t, ly + (ry - ly) * t))

    out: list[Point] = []

    def thin(base: float, n: int, start: int, stop: int) -> None:
        threshold = base / (2 * n)
        kept = [moved[start]]
        last = start
        for i in range(start + 1, stop):
            if _distance(moved[last], moved[i]) >= threshold:
                kept.append(moved[i])
                last = i
        kept.append(moved[stop])
        if len(kept) == 2 and _distance(moved[start], moved[stop]) < threshold:
            kept = [((kept[0][0] + kept[1][0]) / 2, (kept[0][1] + kept[1][1]) / 2)]
        out.extend(kept)

    def left_run(a: int, b: int) -> None:
        # left points a..b all go to one right point each: thinned along the left outline
        if first[a] == first[b]:
            out.append(moved[first[a]])
            return
        thin(_length(left[a : b + 1]), b - a + 1, first[a], first[b])

    def right_run(li: int) -> None:
        # one left point split over several right points: thinned along the right outline
        rs = match[li]
        thin(
            _length(right[rs[0] : rs[-1] + 1]),
            rs[-1] - rs[0] + 1,
            first[li],
            first[li] + len(rs) - 1,
        )

    opened: int | None = None
    for i in range(len(left)):
        if len(match[i]) == 1:
            if opened is None:
                opened = i
            elif match[i][0] != match[opened][0]:
                left_run(opened, i - 1)
                opened = i
        else:
            if opened is not None:
                left_run(opened, i - 1)
                opened = None
            right_run(i)
    if opened is not None:
        left_run(opened, len(left) - 1)
    return [c for p in out for c in p]
