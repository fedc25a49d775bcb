"""Track interpolation against CVAT's rules; every expected value is worked out by hand."""

from __future__ import annotations

from typing import Any

import pytest

from labelvault.formats.base import attr_dict, iter_frames_with_tracks, track_shape_at
from labelvault.formats.interpolation import angle_diff, tracked_at


def key(frame: int, type_: str, points: list[float], rotation: float = 0, **kw: Any) -> dict:
    return {"frame": frame, "type": type_, "points": points, "rotation": rotation,
            "outside": False, "occluded": False, "z_order": 0, "attributes": [], **kw}  # fmt: skip


def track(*keys: dict, **kw: Any) -> dict:
    first = keys[0]["frame"] if keys else 0
    return {"label": "car", "frame": first, "group": 0, "source": "manual",
            "attributes": [], "shapes": list(keys), "elements": [], **kw}  # fmt: skip


def at(t: dict, frame: int) -> dict | None:
    return track_shape_at(t, frame)


def points_at(t: dict, frame: int) -> list[float]:
    shape = at(t, frame)
    assert shape is not None
    return shape["points"]


def rotation_at(t: dict, frame: int) -> float:
    shape = at(t, frame)
    assert shape is not None
    return shape["rotation"]


# ---------------------------------------------------------------- rotation


@pytest.mark.parametrize(
    ("right", "left", "want"),
    [
        (10, 350, 20),  # through 0, not 340° back
        (350, 10, -20),
        (190, 170, 20),  # through 180
        (170, 190, -20),
        (180, 0, 1),  # exactly half a turn: CVAT answers 1, whichever way
        (0, 180, 1),
        (270, 90, 1),
        (90, 270, 1),
        (30, 30, 0),
    ],
)
def test_angle_difference_takes_the_short_way_with_cvats_half_turn_quirk(
    right: float, left: float, want: float
) -> None:
    assert angle_diff(right, left) == pytest.approx(want)


def test_rectangle_turns_the_short_way_across_180() -> None:
    t = track(key(0, "rectangle", [0, 0, 10, 10], 170), key(4, "rectangle", [40, 0, 50, 10], 190))
    assert rotation_at(t, 1) == pytest.approx(175)
    assert rotation_at(t, 2) == pytest.approx(180)
    assert rotation_at(t, 3) == pytest.approx(185)
    assert points_at(t, 2) == pytest.approx([20, 0, 30, 10])


def test_rectangle_turns_the_short_way_across_0_and_stays_in_0_360() -> None:
    t = track(key(0, "rectangle", [0, 0, 10, 10], 350), key(4, "rectangle", [0, 0, 10, 10], 10))
    assert rotation_at(t, 1) == pytest.approx(355)
    assert rotation_at(t, 2) == pytest.approx(0)
    assert rotation_at(t, 3) == pytest.approx(5)


@pytest.mark.parametrize(("r0", "r1", "mid"), [(0, 180, 0.5), (90, 270, 90.5), (270, 90, 270.5)])
def test_a_half_turn_between_keyframes_moves_one_degree(r0: float, r1: float, mid: float) -> None:
    t = track(key(0, "rectangle", [0, 0, 10, 10], r0), key(4, "rectangle", [0, 0, 10, 10], r1))
    assert rotation_at(t, 2) == pytest.approx(mid)
    assert rotation_at(t, 4) == pytest.approx(r1)  # the keyframe itself is as drawn


# ---------------------------------------------------------------- linear shapes


def test_ellipse_moves_and_turns_linearly() -> None:
    t = track(key(0, "ellipse", [10, 10, 20, 5], 0), key(4, "ellipse", [30, 10, 50, 0], 40))
    assert points_at(t, 1) == pytest.approx([15, 10, 27.5, 3.75])
    assert rotation_at(t, 1) == pytest.approx(10)


def test_cuboid_moves_linearly() -> None:
    a = [float(i) for i in range(16)]
    b = [float(i + 8) for i in range(16)]
    t = track(key(0, "cuboid", a), key(2, "cuboid", b))
    assert points_at(t, 1) == pytest.approx([i + 4 for i in range(16)])


# ---------------------------------------------------------------- points


def test_a_single_point_moves_linearly() -> None:
    t = track(key(0, "points", [0, 0]), key(4, "points", [10, 20]))
    assert points_at(t, 1) == pytest.approx([2.5, 5])


def test_several_points_hold_the_earlier_keyframe_even_with_equal_counts() -> None:
    t = track(key(0, "points", [0, 0, 10, 10]), key(4, "points", [20, 20, 30, 30]))
    assert points_at(t, 2) == [0, 0, 10, 10]
    assert points_at(t, 4) == [20, 20, 30, 30]


def test_points_whose_count_changes_hold() -> None:
    t = track(key(0, "points", [0, 0]), key(4, "points", [20, 20, 30, 30]))
    assert points_at(t, 3) == [0, 0]


# ---------------------------------------------------------------- polygons and polylines


SQUARE = [0, 0, 10, 0, 10, 10, 0, 10]
TRIANGLE = [0, 0, 10, 0, 10, 10]


def test_polygon_with_the_same_outline_moves_point_by_point() -> None:
    t = track(key(0, "polygon", SQUARE), key(4, "polygon", [20, 0, 30, 0, 30, 10, 20, 10]))
    assert points_at(t, 2) == pytest.approx([10, 0, 20, 0, 20, 10, 10, 10])


@pytest.mark.parametrize(
    ("frame", "want"),
    [
        # triangle corner (10,10) splits into square corners (10,10) and (0,10); the split
        # point is kept while it is at least 10/(2*2) = 2.5 from (10,10)
        (1, [0, 0, 10, 0, 10, 10, 7.5, 10]),
        (2, [0, 0, 10, 0, 10, 10, 5, 10]),
        (3, [0, 0, 10, 0, 10, 10, 2.5, 10]),
    ],
)
def test_polygon_gaining_a_point_matches_points_along_the_outline(
    frame: int, want: list[float]
) -> None:
    t = track(key(0, "polygon", TRIANGLE), key(4, "polygon", SQUARE))
    assert points_at(t, frame) == pytest.approx(want)


def test_polygon_losing_a_point_merges_points_that_crowd_together() -> None:
    t = track(key(0, "polygon", SQUARE), key(10, "polygon", TRIANGLE))
    # square corners (10,10) and (0,10) both go to the triangle's (10,10)
    assert points_at(t, 5) == pytest.approx([0, 0, 10, 0, 10, 10, 5, 10])
    # at 9/10 they are 1 apart, under 10/(2*2): replaced by their middle
    assert points_at(t, 9) == pytest.approx([0, 0, 10, 0, 9.5, 10])


def test_polyline_gaining_a_point_is_not_closed() -> None:
    t = track(key(0, "polyline", [0, 0, 10, 0]), key(2, "polyline", [0, 10, 5, 10, 10, 10]))
    # (0,0) splits into (0,10) and (5,10) (the middle point ties and goes to the first)
    assert points_at(t, 1) == pytest.approx([0, 5, 2.5, 5, 10, 5])


def test_polyline_with_the_same_count_moves_point_by_point() -> None:
    t = track(key(0, "polyline", [0, 0, 10, 0, 20, 0]), key(2, "polyline", [0, 2, 10, 2, 20, 2]))
    assert points_at(t, 1) == pytest.approx([0, 1, 10, 1, 20, 1])


def test_polygon_keeps_the_earlier_rotation() -> None:
    t = track(key(0, "polygon", SQUARE, 30), key(2, "polygon", SQUARE, 90))
    assert rotation_at(t, 1) == pytest.approx(30)


# ---------------------------------------------------------------- holding


def test_mask_and_a_change_of_type_hold_the_earlier_keyframe() -> None:
    mask = track(key(0, "mask", [1, 0, 1, 0, 0, 0, 1, 1]), key(2, "mask", [1, 1, 5, 5, 5, 5]))
    assert points_at(mask, 1) == [1, 0, 1, 0, 0, 0, 1, 1]
    mixed = track(key(0, "rectangle", [0, 0, 10, 10]), key(2, "polygon", SQUARE))
    assert points_at(mixed, 1) == [0, 0, 10, 10]
    assert at(mixed, 1)["type"] == "rectangle"


# ---------------------------------------------------------------- outside keyframes


def outside_track() -> dict:
    return track(
        key(0, "rectangle", [0, 0, 10, 10]),
        key(4, "rectangle", [40, 0, 50, 10], outside=True),
        key(8, "rectangle", [80, 0, 90, 10]),
    )


def test_frames_before_an_outside_keyframe_move_toward_it() -> None:
    assert points_at(outside_track(), 2) == pytest.approx([20, 0, 30, 10])
    assert points_at(outside_track(), 3) == pytest.approx([30, 0, 40, 10])


def test_nothing_shows_from_an_outside_keyframe_until_the_next_keyframe() -> None:
    t = outside_track()
    assert [at(t, f) for f in (4, 5, 6, 7)] == [None] * 4
    assert points_at(t, 8) == [80, 0, 90, 10]


def test_the_last_visible_keyframe_holds_to_the_end() -> None:
    assert points_at(outside_track(), 100) == [80, 0, 90, 10]


def test_nothing_shows_before_the_first_keyframe() -> None:
    t = track(key(3, "rectangle", [0, 0, 1, 1]))
    assert at(t, 2) is None


def test_cvat_lists_outside_keyframes_and_can_carry_the_outside_state() -> None:
    keys = outside_track()["shapes"]
    listed = tracked_at(keys, 4)
    assert listed is not None and listed["outside"] and listed["keyframe"]
    assert tracked_at(keys, 6) is None
    carried = tracked_at(keys, 6, include_outside=True)
    assert carried is not None and carried["outside"] and not carried["keyframe"]
    assert carried["points"] == pytest.approx([60, 0, 70, 10])


# ---------------------------------------------------------------- attributes, flags


def test_attributes_a_keyframe_leaves_out_are_carried_over() -> None:
    t = track(
        key(0, "rectangle", [0, 0, 1, 1], attributes=[{"name": "color", "value": "red"},
                                                      {"name": "size", "value": "big"}]),
        key(4, "rectangle", [0, 0, 1, 1], attributes=[{"name": "color", "value": "blue"}]),
        attributes=[{"name": "model", "value": "sedan"}],
    )  # fmt: skip
    assert attr_dict(at(t, 2)) == {"model": "sedan", "color": "red", "size": "big"}
    assert attr_dict(at(t, 4)) == {"model": "sedan", "color": "blue", "size": "big"}
    assert attr_dict(at(t, 9)) == {"model": "sedan", "color": "blue", "size": "big"}


def test_keyframe_flag_and_the_earlier_keyframes_occlusion_and_z_order() -> None:
    t = track(
        key(0, "rectangle", [0, 0, 1, 1], occluded=True, z_order=3),
        key(4, "rectangle", [4, 4, 5, 5]),
    )
    assert at(t, 0)["keyframe"] is True
    mid = at(t, 2)
    assert mid["keyframe"] is False and mid["occluded"] is True and mid["z_order"] == 3
    assert mid["outside"] is False
    assert at(t, 4)["keyframe"] is True and at(t, 4)["occluded"] is False


# ---------------------------------------------------------------- skeletons


def skeleton_track() -> dict:
    a = track(key(0, "points", [0, 0]), key(4, "points", [4, 8]), label="nose")
    b = track(key(0, "points", [10, 10]), key(2, "points", [20, 20], outside=True), label="tail")
    return track(key(0, "skeleton", []), key(4, "skeleton", []), elements=[a, b])


def test_skeleton_elements_interpolate_on_their_own() -> None:
    shape = at(skeleton_track(), 1)
    assert shape is not None and shape["type"] == "skeleton"
    nose, tail = shape["elements"]
    assert nose["points"] == pytest.approx([1, 2])
    assert tail["points"] == pytest.approx([15, 15]) and not tail["outside"]


def test_skeleton_element_stays_outside_after_its_outside_keyframe() -> None:
    shape = at(skeleton_track(), 3)
    assert shape is not None
    nose, tail = shape["elements"]
    assert nose["points"] == pytest.approx([3, 6]) and not nose["outside"]
    assert tail["outside"]


def test_skeleton_with_every_element_outside_is_hidden() -> None:
    t = skeleton_track()
    t["elements"][0]["shapes"].append(key(6, "points", [6, 6], outside=True))
    assert at(t, 5) is not None
    assert at(t, 6) is None


# ---------------------------------------------------------------- exporters


class _Source:
    def __init__(self, tracks: list[dict], frames: int) -> None:
        from labelvault.formats.base import FrameInfo

        self._tracks = tracks
        self._frames = [FrameInfo(frame=f, name=f"{f}.png", width=100, height=100)
                        for f in range(frames)]  # fmt: skip

    def frames(self):  # noqa: ANN201
        for info in self._frames:
            yield info, [], []

    def tracks(self):  # noqa: ANN201
        return iter(self._tracks)


def test_per_frame_exporters_see_cvats_interpolation() -> None:
    src = _Source([outside_track()], 10)
    seen = {info.frame: shapes for info, _tags, shapes in iter_frames_with_tracks(src)}  # type: ignore[arg-type]
    assert [f for f, shapes in seen.items() if shapes] == [0, 1, 2, 3, 8, 9]
    assert seen[2][0]["points"] == pytest.approx([20, 0, 30, 10])
    assert [seen[f][0]["keyframe"] for f in (0, 1, 8, 9)] == [True, False, True, False]
