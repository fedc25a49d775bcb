"""bitmap_to_polygons through OpenCV gives exactly the polygons of the walk in Python it replaced.

The reference below is that walk, unchanged (pixel-edge outline of each 4-connected region,
clockwise from the top-left corner of its topmost-leftmost pixel, collinear points
dropped). The comparison is exact: same polygons, same points, same order and direction.
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray

from labelvault.formats.masks import bitmap_to_polygons, polygon_area, polygon_to_bitmap


def reference_polygons(bitmap: NDArray[np.bool_]) -> list[list[float]]:
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


def _grid(rows: list[str]) -> NDArray[np.bool_]:
    return np.array([[c == "#" for c in row] for row in rows], dtype=bool)


SHAPES = {
    "empty": ["...", "..."],
    "one pixel": ["#"],
    "full": ["###", "###"],
    "notch one pixel wide": ["#.#", "###"],
    "ring with a hole": ["####", "#..#", "####"],
    "diagonal pinch": ["##.", "#.#", ".##"],
    "diagonal neighbours are two regions": ["#.", ".#"],
    "spiral": ["#####", "....#", "###.#", "#...#", "#####"],
    "edge to edge": ["#.#.#", "#####", "#.#.#"],
}


@pytest.mark.parametrize("name", SHAPES)
def test_crafted_masks(name: str) -> None:
    bitmap = _grid(SHAPES[name])
    assert bitmap_to_polygons(bitmap) == reference_polygons(bitmap)


def test_random_masks_match_the_reference() -> None:
    rng = np.random.default_rng(17)
    for _ in range(300):
        height, width = (int(v) for v in rng.integers(1, 32, size=2))
        bitmap = rng.random((height, width)) < rng.uniform(0.05, 0.95)
        assert bitmap_to_polygons(bitmap) == reference_polygons(bitmap), bitmap.astype(int)


def test_large_mask_outline_covers_its_pixels() -> None:
    # Too big for the reference walk; the outline of a hole-free disc covers exactly its
    # pixels, and drawing the polygon back gives the same bitmap.
    yy, xx = np.mgrid[:600, :800]
    disc = (xx - 400) ** 2 + (yy - 300) ** 2 < 250**2
    (poly,) = bitmap_to_polygons(disc)
    assert polygon_area(poly) == disc.sum()
    redrawn = polygon_to_bitmap(poly, 800, 600)
    # Pillow fills the polygon's boundary pixels: the redrawn area holds the disc.
    assert redrawn[disc].all()
