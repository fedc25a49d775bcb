"""Tracks rebuilt from per-frame track_id/keyframe shapes follow CVAT's _validate_track_shapes."""

from __future__ import annotations

import pytest

from labelvault.formats.base import make_shape
from labelvault.formats.track_ids import TrackCollector, keyframes, mark_track_part


def _s(frame: int, keyframe: bool, outside: bool = False, x: float = 0) -> dict:
    return {
        "frame": frame,
        "type": "rectangle",
        "points": [x, 0, x + 1, 1],
        "outside": outside,
        "occluded": False,
        "keyframe": keyframe,
    }


def _frames(shapes: list[dict]) -> list[tuple[int, bool]]:
    return [(s["frame"], s["outside"]) for s in shapes]


def test_interpolated_frames_drop_and_the_run_closes() -> None:
    shapes = [_s(0, True), _s(1, False), _s(2, False), _s(3, True, x=5), _s(4, False)]
    out = keyframes(shapes, stop_frame=9)
    assert _frames(out) == [(0, False), (3, False), (4, False), (5, True)]


def test_gaps_close_and_reopen() -> None:
    out = keyframes([_s(0, True), _s(1, False), _s(5, False)], stop_frame=5)
    # 1 is the last visible frame before the gap, 2 goes outside, 5 opens again
    assert _frames(out) == [(0, False), (1, False), (2, True), (5, False)]


def test_last_frame_of_the_task_stays_visible() -> None:
    assert _frames(keyframes([_s(3, True), _s(4, False)], stop_frame=4)) == [(3, False)]


def test_one_frame_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="frame 2"):
        keyframes([_s(2, True), _s(2, True)], stop_frame=9)


def test_skeleton_elements_follow_the_skeleton() -> None:
    collector = TrackCollector()
    for frame in (0, 1):
        el = make_shape("points", "head", frame, [frame, frame])
        sk = make_shape("skeleton", "pose", frame, [], elements=[el])
        mark_track_part(sk, {"track_id": 4, "keyframe": frame == 0})
        collector.add(sk, frame)
    (track,) = collector.tracks(stop_frame=9)
    assert track["label"] == "pose" and _frames(track["shapes"]) == [
        (0, False),
        (1, False),
        (2, True),
    ]
    (element,) = track["elements"]
    assert element["label"] == "head"
    assert [s["points"] for s in element["shapes"]] == [[0, 0], [1, 1], [1, 1]]


def test_only_shapes_with_both_attributes_are_track_parts() -> None:
    shape = mark_track_part(make_shape("rectangle", "car", 0, [0, 0, 1, 1]), {"track_id": 1})
    assert "track_id" not in shape
    shape = mark_track_part(shape, {"track_id": 1, "keyframe": "false", "outside": "true"})
    assert shape["track_id"] == 1 and shape["keyframe"] is False and shape["outside"] is True
