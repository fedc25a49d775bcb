"""Frame order: lexicographical, natural, predefined and seeded random."""

from __future__ import annotations

import pytest

from labelvault.media.images import MediaError
from labelvault.media.sorting import SortingMethod, natural_key, sort_names

NAMES = ["img10.jpg", "img2.jpg", "IMG1.jpg", "img1.jpg", "a/img3.jpg", "img02.jpg"]


def test_lexicographical_is_plain_string_order() -> None:
    assert sort_names(NAMES, "lexicographical") == sorted(NAMES)
    assert sort_names(["b", "a"]) == ["a", "b"]


# Common name sets, each with the order CVAT gives them (natsort.os_sorted, what a file
# manager shows). The first four are where a home-made natural key used to disagree.
NAME_SETS = [
    (
        ["photo (2).jpg", "photo.jpg", "photo (10).jpg"],
        ["photo.jpg", "photo (2).jpg", "photo (10).jpg"],
    ),
    (
        ["img_10.png", "img-2.png", "img_2.png", "img-10.png"],
        ["img-2.png", "img-10.png", "img_2.png", "img_10.png"],
    ),
    (
        ["a/b10.jpg", "a/b9.jpg", "a-b.jpg", "a/b9/x.jpg"],
        ["a/b9.jpg", "a/b9/x.jpg", "a/b10.jpg", "a-b.jpg"],
    ),
    (
        ["frame1.5.png", "frame1.10.png", "frame1.png"],
        ["frame1.png", "frame1.5.png", "frame1.10.png"],
    ),
    (["img10.jpg", "img2.jpg", "img1.jpg"], ["img1.jpg", "img2.jpg", "img10.jpg"]),
    (
        ["IMG_0010.JPG", "img_0009.jpg", "IMG_0011.jpg"],
        ["img_0009.jpg", "IMG_0010.JPG", "IMG_0011.jpg"],
    ),
    (
        ["seq10/f1.png", "seq2/f10.png", "seq2/f9.png"],
        ["seq2/f9.png", "seq2/f10.png", "seq10/f1.png"],
    ),
    (
        ["2021-12-01.png", "2021-2-01.png", "2021-10-01.png"],
        ["2021-2-01.png", "2021-10-01.png", "2021-12-01.png"],
    ),
    (["v1.2.10.png", "v1.10.1.png", "v1.2.9.png"], ["v1.2.9.png", "v1.2.10.png", "v1.10.1.png"]),
]


@pytest.mark.parametrize(("names", "expected"), NAME_SETS)
def test_natural_is_cvats_os_sorted(names: list[str], expected: list[str]) -> None:
    import natsort

    assert natsort.os_sorted(names) == expected  # the reference order is CVAT's
    for given in (names, list(reversed(names))):
        assert sort_names(given, SortingMethod.NATURAL) == expected
    assert sorted(names, key=natural_key) == expected


def test_natural_ties_do_not_depend_on_arrival_order() -> None:
    names = ["img1.jpg", "IMG1.jpg", "img01.jpg"]
    first = sort_names(names, "natural")
    assert sort_names(list(reversed(names)), "natural") == first


def test_predefined_returns_given_order() -> None:
    order = ["c.jpg", "a.jpg", "b.jpg"]
    assert sort_names(["a.jpg", "b.jpg", "c.jpg"], "predefined", order=order) == order


def test_predefined_with_missing_or_extra_names() -> None:
    with pytest.raises(MediaError) as err:
        sort_names(["a.jpg", "b.jpg", "c.jpg"], "predefined", order=["b.jpg", "x.jpg", "a.jpg"])
    message = str(err.value)
    assert "'x.jpg'" in message and "not among the files" in message
    assert "does not list 'c.jpg'" in message
    with pytest.raises(MediaError, match="more than once"):
        sort_names(["a"], "predefined", order=["a", "a"])
    with pytest.raises(ValueError, match="order"):
        sort_names(["a"], "predefined")


def test_predefined_error_lists_are_bounded() -> None:
    with pytest.raises(MediaError, match="and 90 more"):
        sort_names([f"{i}.jpg" for i in range(100)], "predefined", order=[])


def test_random_is_deterministic_per_seed_and_input_order() -> None:
    names = [f"img{i}.jpg" for i in range(50)]
    first = sort_names(names, "random", seed=42)
    assert first == sort_names(list(reversed(names)), "random", seed=42)
    assert sorted(first) == sorted(names) and first != sorted(names)
    assert sort_names(names, "random", seed=43) != first
    assert sort_names(names, "random", seed="task-7") == sort_names(names, "random", seed="task-7")
    with pytest.raises(ValueError, match="seed"):
        sort_names(names, "random")


def test_unknown_method() -> None:
    with pytest.raises(ValueError):
        sort_names(["a"], "by-size")
