"""Conversions between CVAT mask RLE, bitmaps, COCO RLE and polygons (numpy-based)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray


def decode_cvat_mask(points: Sequence[float], width: int, height: int) -> NDArray[np.bool_]:
    """Full-image boolean bitmap from CVAT mask points (RLE over bbox + inclusive bbox)."""
    if len(points) < 5:
        raise ValueError("mask has fewer than 5 numbers")
    *runs, x1, y1, x2, y2 = (int(round(p)) for p in points)
    bw, bh = x2 - x1 + 1, y2 - y1 + 1
    flat = np.repeat((np.arange(len(runs)) & 1).astype(bool), runs)
    if flat.size != bw * bh:
        raise ValueError(f"mask RLE covers {flat.size} pixels, its box {bw}x{bh}")
    full = np.zeros((height, width), dtype=bool)
    # clip, since a mask may hang over the image edge after a resize in the UI
    cx1, cy1, cx2, cy2 = max(x1, 0), max(y1, 0), min(x2 + 1, width), min(y2 + 1, height)
    if cx1 < cx2 and cy1 < cy2:
        box = flat.reshape(bh, bw)
        full[cy1:cy2, cx1:cx2] = box[cy1 - y1 : cy2 - y1, cx1 - x1 : cx2 - x1]
    return full


def encode_cvat_mask(bitmap: NDArray[np.bool_]) -> list[float]:
    """CVAT mask points for the non-zero area of a full-image bitmap (empty → 1px box)."""
    ys, xs = np.nonzero(bitmap)
    if xs.size == 0:
        return [1.0, 0.0, 0.0, 0.0, 0.0]
    x1, x2, y1, y2 = int(xs.min()), int(xs.max()), int(ys.min()), int(ys.max())
    flat = bitmap[y1 : y2 + 1, x1 : x2 + 1].ravel()
    return [float(r) for r in _runs(flat)] + [float(x1), float(y1), float(x2), float(y2)]


def _runs(flat: NDArray[np.bool_]) -> list[int]:
    """Run lengths starting with a (possibly empty) run of False."""
    if flat.size == 0:
        return [0]
    change = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    bounds = np.concatenate(([0], change, [flat.size]))
    runs = np.diff(bounds).tolist()
    return ([0] + runs) if flat[0] else runs


def bitmap_to_coco_rle(bitmap: NDArray[np.bool_]) -> dict:
    """Uncompressed COCO RLE (column-major counts), as Datumaro/CVAT write for iscrowd=1."""
    h, w = bitmap.shape
    return {"counts": _runs(bitmap.ravel(order="F")), "size": [h, w]}


def coco_rle_to_bitmap(rle: dict) -> NDArray[np.bool_]:
    h, w = (int(v) for v in rle["size"])
    counts = rle["counts"]
    if isinstance(counts, str | bytes):
        counts = _decode_coco_string(counts if isinstance(counts, str) else counts.decode())
    flat = np.repeat((np.arange(len(counts)) & 1).astype(bool), counts)
    if flat.size != h * w:
        raise ValueError(f"COCO RLE covers {flat.size} pixels, expected {h}x{w}")
    return flat.reshape((w, h)).T


def _decode_coco_string(s: str) -> list[int]:
    # pycocotools' compact LEB128-like encoding: 5 bits per char, offset 48, delta from m-2
    counts: list[int] = []
    p = 0
    while p < len(s):
        x = 0
        k = 0
        more = True
        while more:
            c = ord(s[p]) - 48
            x |= (c & 0x1F) << (5 * k)
            more = bool(c & 0x20)
            p += 1
            k += 1
            if not more and (c & 0x10):
                x |= -1 << (5 * k)
        if len(counts) > 2:
            x += counts[-2]
        counts.append(x)
    return counts


def polygon_to_bitmap(points: Sequence[float], width: int, height: int) -> NDArray[np.bool_]:
    from PIL import Image, ImageDraw

    img = Image.new("1", (width, height), 0)
    xy = list(zip(points[0::2], points[1::2], strict=True))
    if len(xy) >= 2:
        ImageDraw.Draw(img).polygon(xy, fill=1, outline=1)
    return np.array(img, dtype=bool)


def bitmap_to_polygons(bitmap: NDArray[np.bool_]) -> list[list[float]]:
    """Outer boundary of each connected region as a polygon (pixel-corner coordinates).

    Good enough to express a mask in polygon-only formats (YOLO segmentation, LabelMe);
    holes are lost, which those formats cannot express anyway.
    """
    polys = []
    for region in _components(bitmap):
        poly = _trace(region)
        if len(poly) >= 6:
            polys.append(poly)
    return polys


def _components(bitmap: NDArray[np.bool_]) -> list[NDArray[np.bool_]]:
    h, w = bitmap.shape
    seen = np.zeros_like(bitmap)
    out = []
    for y, x in zip(*np.nonzero(bitmap), strict=True):
        if seen[y, x]:
            continue
        comp = np.zeros_like(bitmap)
        stack = [(int(y), int(x))]
        seen[y, x] = True
        while stack:
            cy, cx = stack.pop()
            comp[cy, cx] = True
            for ny, nx in ((cy + 1, cx), (cy - 1, cx), (cy, cx + 1), (cy, cx - 1)):
                if 0 <= ny < h and 0 <= nx < w and bitmap[ny, nx] and not seen[ny, nx]:
                    seen[ny, nx] = True
                    stack.append((ny, nx))
        out.append(comp)
    return out


def _trace(region: NDArray[np.bool_]) -> list[float]:
    """Walk the outer pixel-edge boundary of a 4-connected region, merging collinear steps."""
    h, w = region.shape
    padded = np.zeros((h + 2, w + 2), dtype=bool)
    padded[1:-1, 1:-1] = region

    def filled(x: int, y: int) -> bool:  # pixel (x, y) in original coords
        return bool(padded[y + 1, x + 1])

    ys, xs = np.nonzero(region)
    i = int(np.lexsort((xs, ys))[0])
    sx, sy = int(xs[i]), int(ys[i])
    # start at the top-left corner of the topmost-leftmost pixel, heading right (pixel below)
    x, y, dx, dy = sx, sy, 1, 0
    pts: list[tuple[int, int]] = [(x, y)]
    for _ in range(4 * (h + 2) * (w + 2)):
        x, y = x + dx, y + dy
        # the region stays on our right; the two pixels ahead decide the turn
        if (dx, dy) == (1, 0):
            a, b = filled(x, y - 1), filled(x, y)  # up-right, down-right
        elif (dx, dy) == (0, 1):
            a, b = filled(x, y), filled(x - 1, y)
        elif (dx, dy) == (-1, 0):
            a, b = filled(x - 1, y), filled(x - 1, y - 1)
        else:
            a, b = filled(x - 1, y - 1), filled(x, y - 1)
        if a:
            dx, dy = dy, -dx  # turn left (counter-clockwise in image coords)
        elif not b:
            dx, dy = -dy, dx  # turn right
        if (x, y) != pts[-1]:
            pts.append((x, y))
        if (x, y) == (sx, sy):
            break
    # drop collinear points
    out: list[tuple[int, int]] = []
    n = len(pts) - 1 if pts[-1] == pts[0] else len(pts)
    for k in range(n):
        p0, p1, p2 = pts[(k - 1) % n], pts[k], pts[(k + 1) % n]
        if (p1[0] - p0[0]) * (p2[1] - p1[1]) != (p1[1] - p0[1]) * (p2[0] - p1[0]):
            out.append(p1)
    return [float(c) for p in out for c in p]


def polygon_area(points: Sequence[float]) -> float:
    xs, ys = points[0::2], points[1::2]
    n = len(xs)
    return abs(sum(xs[i] * ys[(i + 1) % n] - xs[(i + 1) % n] * ys[i] for i in range(n))) / 2


def box_points_of_bitmap(bitmap: NDArray[np.bool_]) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(bitmap)
    if xs.size == 0:
        return 0, 0, 0, 0
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def encode_coco_string(counts: Sequence[int]) -> str:
    """pycocotools' compressed RLE string for run-length ``counts`` (inverse of decoding)."""
    out = []
    for i, count in enumerate(counts):
        x = int(count) - (int(counts[i - 2]) if i > 2 else 0)
        more = True
        while more:
            c = x & 0x1F
            x >>= 5  # arithmetic shift keeps the sign, as the C code does
            more = x != -1 if c & 0x10 else x != 0
            if more:
                c |= 0x20
            out.append(chr(c + 48))
    return "".join(out)
