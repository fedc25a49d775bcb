"""Track interpolation of the workspace (JS, via node) and of the exporter (Python) vs CVAT."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from labelvault.formats.base import track_shape_at
from labelvault.formats.interpolation import tracked_at

MODULE = (
    Path(__file__).resolve().parents[3] / "src/labelvault/web/static/js/workspace/interpolation.js"
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


# Tracks on which the workspace (JS) and the exporter (Python) must give the same answer
# on every frame: both claim CVAT's rule, so any difference is a bug in one of them.
SAME_ANSWER = {
    "half-turn": [key(0, "rectangle", [0, 0, 10, 10], 90), key(4, "rectangle", [4, 4, 9, 9], 270)],
    "ellipse": [key(0, "ellipse", [10, 10, 20, 5], 350), key(5, "ellipse", [30, 10, 50, 0], 40)],
    "one-point": [key(0, "points", [0, 0]), key(3, "points", [9, 3])],
    "several-points": [key(0, "points", [0, 0, 1, 1]), key(3, "points", [9, 3, 4, 4])],
    "triangle-to-square": [
        key(0, "polygon", [0, 0, 10, 0, 10, 10]),
        key(7, "polygon", [0, 0, 10, 0, 10, 10, 0, 10]),
    ],
    "star-to-blob": [
        key(0, "polygon", [5, 0, 6, 4, 10, 4, 7, 6, 8, 10, 5, 7, 2, 10, 3, 6, 0, 4, 4, 4]),
        key(9, "polygon", [0, 0, 20, 1, 21, 19, 1, 22, 10, 11]),
    ],
    "polyline-grows": [
        key(0, "polyline", [0, 0, 10, 0]),
        key(6, "polyline", [0, 10, 3, 12, 5, 10, 9, 14, 10, 10]),
    ],
    "outside-between": [
        key(0, "rectangle", [0, 0, 10, 10], 10),
        key(3, "rectangle", [30, 0, 40, 10], 20, outside=True),
        key(6, "rectangle", [60, 0, 70, 10], 30),
    ],
    "attributes": [
        key(
            0,
            "rectangle",
            [0, 0, 1, 1],
            attributes=[{"spec_id": 1, "value": "a"}, {"spec_id": 2, "value": "x"}],
        ),
        key(2, "rectangle", [2, 2, 3, 3], attributes=[{"spec_id": 1, "value": "b"}]),
        key(4, "rectangle", [4, 4, 5, 5], attributes=[{"spec_id": 2, "value": "y"}]),
    ],  # fmt: skip
}


@pytest.mark.parametrize("case", SAME_ANSWER)
def test_workspace_and_exporter_give_the_same_answer(case: str) -> None:
    keys = SAME_ANSWER[case]
    frames = list(range(keys[-1]["frame"] + 3))
    js = js_points({"shapes": keys}, frames)
    for frame in frames:
        py = tracked_at(keys, frame)
        if py is not None and py["outside"]:
            py = None  # the workspace draws nothing where CVAT lists an outside keyframe
        got = js[frame]
        assert (got is None) == (py is None), frame
        if py is None:
            continue
        assert got["points"] == pytest.approx(py["points"], abs=1e-9), frame
        assert got["rotation"] == pytest.approx(py["rotation"], abs=1e-9), frame
        assert got["keyframe"] == py["keyframe"], frame
        assert {a["spec_id"]: a["value"] for a in got["attributes"]} == {
            a["spec_id"]: a["value"] for a in py["attributes"]
        }, frame
