"""How alike two annotations are, per kind, as CVAT's quality control measures them.

Boxes and segments (polygons, ellipses, masks) by IoU of their areas; points and skeletons by
object keypoint similarity (OKS, COCO's formula with CVAT's sigma); polylines by OKS of points
taken at equal steps along both lines, both directions tried (so a line drawn backwards still
matches, and the direction is reported apart). Pure functions over plain values.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageDraw

from labelvault.formats.masks import decode_cvat_mask

# Upright boxes are exact; everything else is compared on pixels of the image grid, at
# least this many across the joint bounding box (small shapes are drawn magnified).
MIN_RASTER = 256


@dataclass(frozen=True)
class Shape:
    id: int
    job_id: int
    frame: int
    label_id: int
    type: str
    points: tuple[float, ...]
    rotation: float = 0.0
    z_order: int = 0
    group: int = 0
    attributes: tuple[tuple[int, str], ...] = ()
    # A skeleton's points: (element label id, x, y, visible) in the order of its elements.
    elements: tuple[tuple[int, float, float, bool], ...] = field(default=())
    # A track's shape on this frame (interpolated as the exporters do); `id` is the track's.
    track: bool = False


def _corners(s: Shape) -> list[tuple[float, float]]:
    x1, y1, x2, y2 = s.points[:4]
    corners = [(x1, y1), (x2, y1), (x2, y2), (x1, y2)]
    if not s.rotation:
        return corners
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    a = math.radians(s.rotation)
    cos, sin = math.cos(a), math.sin(a)
    return [
        (cx + (x - cx) * cos - (y - cy) * sin, cy + (x - cx) * sin + (y - cy) * cos)
        for x, y in corners
    ]


def _ellipse(s: Shape, steps: int = 128) -> list[tuple[float, float]]:
    cx, cy, px, py = s.points[:4]
    rx, ry = abs(px - cx), abs(cy - py)
    a = math.radians(s.rotation)
    return [
        (
            cx + rx * math.cos(t) * math.cos(a) - ry * math.sin(t) * math.sin(a),
            cy + rx * math.cos(t) * math.sin(a) + ry * math.sin(t) * math.cos(a),
        )
        for t in (2 * math.pi * i / steps for i in range(steps))
    ]


def bbox(s: Shape) -> tuple[float, float, float, float]:
    """(x1, y1, x2, y2) around the shape."""
    if s.type == "mask":
        return tuple(float(v) for v in s.points[-4:])  # type: ignore[return-value]
    if s.type == "rectangle":
        xy = _corners(s)
    elif s.type == "ellipse":
        xy = _ellipse(s, 32)
    elif s.type == "skeleton":
        xy = [(x, y) for _, x, y, _ in s.elements] or [(0.0, 0.0)]
    else:
        xy = list(zip(s.points[0::2], s.points[1::2], strict=False)) or [(0.0, 0.0)]
    xs, ys = [p[0] for p in xy], [p[1] for p in xy]
    return min(xs), min(ys), max(xs), max(ys)


def _bitmap(s: Shape, x0: float, y0: float, scale: float, size: tuple[int, int]) -> np.ndarray:
    if s.type == "mask":
        x1, y1, x2, y2 = (int(round(v)) for v in s.points[-4:])
        local = decode_cvat_mask(
            list(s.points[:-4]) + [0, 0, x2 - x1, y2 - y1], x2 - x1 + 1, y2 - y1 + 1
        )
        image = Image.fromarray(local.astype(np.uint8) * 255)
        w, h = max(1, round(local.shape[1] * scale)), max(1, round(local.shape[0] * scale))
        image = image.resize((w, h), Image.Resampling.NEAREST)
        out = Image.new("L", size, 0)
        out.paste(image, (round((x1 - x0) * scale), round((y1 - y0) * scale)))
        return np.asarray(out) > 127
    outline = {"rectangle": _corners, "ellipse": _ellipse}.get(s.type)
    xy = outline(s) if outline else list(zip(s.points[0::2], s.points[1::2], strict=False))
    image = Image.new("1", size, 0)
    if len(xy) >= 3:
        ImageDraw.Draw(image).polygon([((x - x0) * scale, (y - y0) * scale) for x, y in xy], 1)
    return np.asarray(image, dtype=bool)


def _frame_of(shapes: Sequence[Shape]) -> tuple[float, float, float, tuple[int, int]]:
    boxes = [bbox(s) for s in shapes]
    x0, y0 = min(b[0] for b in boxes), min(b[1] for b in boxes)
    x1, y1 = max(b[2] for b in boxes), max(b[3] for b in boxes)
    # Masks alone are compared pixel for pixel (exact); vector shapes are drawn at least
    # MIN_RASTER cells across.
    extent = max(x1 - x0, y1 - y0, 1e-9)
    only_masks = all(s.type == "mask" for s in shapes)
    scale = 1.0 if only_masks else max(1.0, MIN_RASTER / extent)
    size = (int(math.ceil((x1 - x0 + 1) * scale)) + 1, int(math.ceil((y1 - y0 + 1) * scale)) + 1)
    return x0, y0, scale, size


def area_iou(a: Shape, b: Shape) -> float:
    """Intersection over union of two shapes' areas (exact for upright boxes)."""
    if a.type == b.type == "rectangle" and not a.rotation and not b.rotation:
        ax1, ay1, ax2, ay2 = a.points[:4]
        bx1, by1, bx2, by2 = b.points[:4]
        inter = max(min(ax2, bx2) - max(ax1, bx1), 0.0) * max(min(ay2, by2) - max(ay1, by1), 0.0)
        union = (ax2 - ax1) * (ay2 - ay1) + (bx2 - bx1) * (by2 - by1) - inter
        return inter / union if union > 0 else 0.0
    x0, y0, scale, size = _frame_of([a, b])
    ma, mb = _bitmap(a, x0, y0, scale, size), _bitmap(b, x0, y0, scale, size)
    union = np.logical_or(ma, mb).sum()
    return float(np.logical_and(ma, mb).sum() / union) if union else 0.0


def visible_share(shape: Shape, above: Sequence[Shape]) -> float:
    """The share of a shape's area not hidden by the shapes drawn over it."""
    if not above:
        return 1.0
    x0, y0, scale, size = _frame_of([shape, *above])
    own = _bitmap(shape, x0, y0, scale, size)
    total = own.sum()
    if not total:
        return 1.0
    hidden = np.zeros_like(own)
    for other in above:
        hidden |= _bitmap(other, x0, y0, scale, size)
    return float(np.logical_and(own, ~hidden).sum() / total)


def _area(box: tuple[float, float, float, float]) -> float:
    return max(box[2] - box[0], 0.0) * max(box[3] - box[1], 0.0)


def mean_bbox_area(a: Shape, b: Shape) -> float:
    """Area of the mean of both bounding boxes (datumaro's mean_bbox, CVAT's point scale)."""
    ba, bb = bbox(a), bbox(b)
    return _area(tuple((p + q) / 2 for p, q in zip(ba, bb, strict=True)))  # type: ignore[arg-type]


def oks(
    pa: np.ndarray,
    pb: np.ndarray,
    scale: float,
    sigma: float,
    visible_a: np.ndarray | None = None,
    visible_b: np.ndarray | None = None,
) -> float:
    """COCO's object keypoint similarity: mean over visible points of exp(-d²/(2·s·(2σ)²))."""
    if len(pa) != len(pb) or not len(pa):
        return 0.0
    va = np.ones(len(pa), bool) if visible_a is None else visible_a
    vb = np.ones(len(pb), bool) if visible_b is None else visible_b
    counted = np.sum(va | vb)
    if not counted:
        return 1.0  # nothing visible on either side: alike
    d2 = np.sum((pa - pb) ** 2, axis=1)
    similarity = np.exp(-d2 / (2 * max(scale, 1e-9) * (2 * sigma) ** 2))
    return float(np.sum(similarity * (va & vb)) / counted)


def _xy(s: Shape) -> np.ndarray:
    return np.asarray(s.points, dtype=float).reshape(-1, 2)


def points_similarity(a: Shape, b: Shape, sigma: float, image_area: float) -> float:
    """OKS of two point sets; the scale is their mean box, or the image for lone points."""
    scale = mean_bbox_area(a, b)
    if scale < 1.0:
        scale = image_area
    return oks(_xy(a), _xy(b), scale, sigma)


def skeleton_similarity(a: Shape, b: Shape, sigma: float, image_area: float) -> float:
    """OKS over the skeletons' elements paired by element label; hidden ones do not count."""
    ea = {label: (x, y, v) for label, x, y, v in a.elements}
    eb = {label: (x, y, v) for label, x, y, v in b.elements}
    labels = sorted(set(ea) | set(eb))
    missing = (0.0, 0.0, False)
    pa = np.array([ea.get(k, missing)[:2] for k in labels], dtype=float).reshape(-1, 2)
    pb = np.array([eb.get(k, missing)[:2] for k in labels], dtype=float).reshape(-1, 2)
    va = np.array([ea.get(k, missing)[2] for k in labels], dtype=bool)
    vb = np.array([eb.get(k, missing)[2] for k in labels], dtype=bool)
    scale = mean_bbox_area(a, b)
    if scale < 1.0:
        scale = image_area
    return oks(pa, pb, scale, sigma, va, vb)


def resample(line: np.ndarray, count: int) -> np.ndarray:
    """`count` points at equal steps of length along a polyline, both ends included."""
    if len(line) == 1:
        return np.repeat(line, count, axis=0)
    steps = np.linalg.norm(np.diff(line, axis=0), axis=1)
    along = np.concatenate([[0.0], np.cumsum(steps)])
    if along[-1] == 0:
        return np.repeat(line[:1], count, axis=0)
    targets = np.linspace(0.0, along[-1], count)
    return np.stack(
        [np.interp(targets, along, line[:, 0]), np.interp(targets, along, line[:, 1])], 1
    )


def line_similarity(a: Shape, b: Shape, thickness: float, image_area: float) -> tuple[float, float]:
    """(similarity as drawn, similarity with one line reversed) of two polylines.

    Both lines are sampled at the same number of equally spaced points and compared by OKS,
    the line thickness (a share of the image's side) playing the part of the keypoint sigma.
    """
    la, lb = _xy(a), _xy(b)
    count = max(len(la), len(lb), 2) * 4
    ra, rb = resample(la, count), resample(lb, count)
    sigma = thickness / 2  # OKS' (2σ)² is then the thickness²: a line is 2σ wide
    forward = oks(ra, rb, image_area, sigma)
    backward = oks(ra, rb[::-1], image_area, sigma)
    return forward, backward
