"""Track interpolation of the workspace (JS, via node) and of the exporter (Python) vs CVAT."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from labelvault.formats.base import track_shape_at

MODULE = (
    Path(__file__).resolve().parents[2] / "src/labelvault/web/static/js/workspace/interpolation.js"
)


def key(frame: int, type_: str, points: list[float], rotation: float = 0, **kw: object) -> dict:
    return {"frame": frame, "type": type_, "points": points, "rotation": rotation, "outside": False,
            "occluded": False, "z_order": 0, "attributes": [], **kw}  # fmt: skip


def js_points(track: dict, frames: list[int]) -> dict[int, dict | None]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    script = (
        f"import({json.dumps(MODULE.as_uri())}).then((m) => {{"
        f"const t = {json.dumps(track)};"
        f"console.log(JSON.stringify({json.dumps(frames)}.map((f) => m.shapeAt(t, f))));}})"
    )
    out = subprocess.run(
        [node, "-e", script], capture_output=True, text=True, timeout=60, check=True
    )
    return dict(zip(frames, json.loads(out.stdout), strict=True))


def py_shape(track: dict, frame: int) -> dict | None:
    return track_shape_at({**track, "label": "car", "attributes": []}, frame)


# CVAT's rule, worked out by hand for each case: frame -> (points, rotation).
CASES = {
    "rectangle": (
        [key(0, "rectangle", [0, 0, 10, 10]), key(4, "rectangle", [40, 20, 50, 30])],
        {2: ([20, 10, 30, 20], 0), 1: ([10, 5, 20, 15], 0), 6: ([40, 20, 50, 30], 0)},
    ),
    "polygon-same-outline": (  # a square moved: every point matches its twin
        [
            key(0, "polygon", [0, 0, 10, 0, 10, 10, 0, 10]),
            key(4, "polygon", [20, 0, 30, 0, 30, 10, 20, 10]),
        ],
        {2: ([10, 0, 20, 0, 20, 10, 10, 10], 0)},
    ),  # fmt: skip
    "rotated-rectangle": (  # 350° -> 10° turns 20° through 0, not 340° back
        [key(0, "rectangle", [0, 0, 10, 10], 350), key(4, "rectangle", [0, 0, 10, 10], 10)],
        {2: ([0, 0, 10, 10], 0), 1: ([0, 0, 10, 10], 355)},
    ),
    "toward-outside": (  # CVAT moves towards an outside keyframe's position until that frame
        [key(0, "rectangle", [0, 0, 10, 10]), key(4, "rectangle", [40, 0, 50, 10], outside=True)],
        {2: ([20, 0, 30, 10], 0), 4: None},
    ),
}


def check(shape: dict | None, expected: tuple[list[float], float] | None) -> None:
    if expected is None:
        assert shape is None or shape.get("outside")
        return
    assert shape is not None
    assert list(shape["points"]) == pytest.approx(expected[0], abs=1e-6)
    assert float(shape.get("rotation") or 0) % 360 == pytest.approx(expected[1], abs=1e-6)


@pytest.mark.parametrize("case", CASES)
def test_workspace_interpolates_as_cvat(case: str) -> None:
    keys, expected = CASES[case]
    got = js_points({"shapes": keys}, list(expected))
    for frame, want in expected.items():
        check(got[frame], want)


@pytest.mark.parametrize("case", CASES)
def test_server_exporter_interpolates_as_cvat(case: str) -> None:
    keys, expected = CASES[case]
    for frame, want in expected.items():
        check(py_shape({"shapes": keys, "frame": 0}, frame), want)


def test_polygon_whose_point_count_changes_uses_cvats_point_matching() -> None:
    # Triangle -> square: CVAT matches points along the outline instead of holding the triangle.
    keys = [
        key(0, "polygon", [0, 0, 10, 0, 10, 10]),
        key(2, "polygon", [0, 0, 10, 0, 10, 10, 0, 10]),
    ]
    got = js_points({"shapes": keys}, [1])[1]
    assert got is not None and got["points"] != [0, 0, 10, 0, 10, 10]
    assert len(got["points"]) % 2 == 0 and len(got["points"]) >= 6
