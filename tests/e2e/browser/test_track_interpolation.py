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


# ---------------------------------------------------------------- cuboids, skeletons, masks


def js_tracks(track: dict, frames: list[int]) -> dict[int, dict | None]:
    """The workspace's shape of a whole track (a skeleton with its points) on each frame."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    at = "skeletonAt" if track.get("elements") else "shapeAt"
    script = (
        f"import({json.dumps(MODULE.as_uri())}).then((m) => {{"
        f"const t = {json.dumps(track)};"
        f"console.log(JSON.stringify({json.dumps(frames)}.map((f) => m.{at}(t, f))));}})"
    )
    out = subprocess.run(
        [node, "-e", script], capture_output=True, text=True, timeout=60, check=True
    )
    return dict(zip(frames, json.loads(out.stdout), strict=True))


def element(label_id: int, keys: list[dict]) -> dict:
    return {"frame": keys[0]["frame"], "label_id": label_id, "label": f"p{label_id}",
            "attributes": [], "shapes": keys}  # fmt: skip


CUBOID_0 = [0, 0, 0, 10, 10, 0, 10, 10, 12, -2, 12, 8, 2, -2, 2, 8]
CUBOID_4 = [p + 8 if i % 2 == 0 else p + 4 for i, p in enumerate(CUBOID_0)]
SKELETON = [key(0, "skeleton", []), key(8, "skeleton", [])]
WHOLE_TRACKS = {
    # CVAT's cuboid track: each of the 8 points moves linearly (simple_interpolation).
    "cuboid": {"shapes": [key(0, "cuboid", CUBOID_0), key(4, "cuboid", CUBOID_4)]},
    # Skeleton: every point is a track of its own; "b" goes outside on 3 and is back on 6,
    # "c" starts on frame 2 (outside before it, so the skeleton keeps its three points).
    "skeleton": {
        "shapes": SKELETON,
        "elements": [
            element(1, [key(0, "points", [0, 0]), key(4, "points", [8, 4])]),
            element(
                2,
                [
                    key(0, "points", [10, 0]),
                    key(3, "points", [13, 3], outside=True),
                    key(6, "points", [16, 6]),
                ],
            ),
            element(3, [key(2, "points", [20, 20]), key(6, "points", [24, 28])]),
        ],
    },  # fmt: skip
    # A skeleton whose every point is outside from frame 5 is hidden there.
    "skeleton-all-outside": {
        "shapes": SKELETON,
        "elements": [
            element(1, [key(0, "points", [0, 0]), key(5, "points", [5, 5], outside=True)]),
            element(2, [key(0, "points", [9, 9]), key(5, "points", [9, 9], outside=True)]),
        ],
    },
    # CVAT does not interpolate masks: a mask track holds each keyframe until the next one.
    "mask": {
        "shapes": [key(0, "mask", [3, 5, 2, 0, 0, 3, 3]), key(4, "mask", [1, 8, 10, 10, 12, 12])]
    },
}


def test_cuboid_and_skeleton_tracks_follow_cvats_rules_in_the_workspace() -> None:
    cuboid = js_tracks(WHOLE_TRACKS["cuboid"], [2])[2]
    assert cuboid["points"] == pytest.approx(
        [(a + b) / 2 for a, b in zip(CUBOID_0, CUBOID_4, strict=True)]
    )
    got = js_tracks(WHOLE_TRACKS["skeleton"], [0, 2, 4, 5, 7])
    pts = {
        f: {e["label_id"]: (e["points"], e["outside"]) for e in s["elements"]}
        for f, s in got.items()
    }
    assert pts[0] == {1: ([0, 0], False), 2: ([10, 0], False), 3: ([20, 20], True)}
    assert pts[2][1] == ([4, 2], False) and pts[2][3] == ([20, 20], False)
    assert pts[4][2] == ([14, 4], True)  # outside carries on, moving toward its next keyframe
    assert pts[5][1] == ([8, 4], False)  # after its last keyframe a point stays
    assert pts[7][2] == ([16, 6], False) and pts[7][3] == ([24, 28], False)
    hidden = js_tracks(WHOLE_TRACKS["skeleton-all-outside"], [4, 5, 7])
    assert hidden[4] is not None and hidden[4]["elements"][0]["points"] == pytest.approx([4, 4])
    assert hidden[5] is None and hidden[7] is None
    mask = js_tracks(WHOLE_TRACKS["mask"], [2, 4])
    assert mask[2]["points"] == [3, 5, 2, 0, 0, 3, 3] and mask[4]["points"] == [
        1,
        8,
        10,
        10,
        12,
        12,
    ]


@pytest.mark.parametrize("case", WHOLE_TRACKS)
def test_workspace_and_exporter_agree_on_cuboid_skeleton_and_mask_tracks(case: str) -> None:
    track = {**WHOLE_TRACKS[case], "frame": 0, "label": "thing", "attributes": []}
    frames = list(range(12))
    js = js_tracks(track, frames)
    for frame in frames:
        py = track_shape_at(track, frame)
        got = js[frame]
        assert (got is None) == (py is None), frame
        if py is None:
            continue
        assert got["type"] == py["type"], frame
        assert got["points"] == pytest.approx(py["points"], abs=1e-9), frame
        assert got["keyframe"] == py["keyframe"], frame
        mine = [(e["label_id"], e["outside"]) for e in got.get("elements") or []]
        theirs = [(int(e["label"][1:]), e["outside"]) for e in py["elements"]]
        assert mine == theirs, frame
        for a, b in zip(got.get("elements") or [], py["elements"], strict=True):
            assert a["points"] == pytest.approx(b["points"], abs=1e-9), frame
