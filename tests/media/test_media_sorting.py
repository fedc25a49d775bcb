"""Frame order: lexicographical, natural, predefined and seeded random."""

from __future__ import annotations

import pytest

from labelvault.media.images import MediaError
from labelvault.media.sorting import SortingMethod, natural_key, sort_names

NAMES = ["img10.jpg", "img2.jpg", "IMG1.jpg", "img1.jpg", "a/img3.jpg", "img02.jpg"]


def test_lexicographical_is_plain_string_order() -> None:
    assert sort_names(NAMES, "lexicographical") == sorted(NAMES)
    assert sort_names(["b", "a"]) == ["a", "b"]


def test_natural_orders_numbers_by_value() -> None:
    assert sort_names(["img10.jpg", "img2.jpg", "img1.jpg"], SortingMethod.NATURAL) == [
        "img1.jpg",
        "img2.jpg",
        "img10.jpg",
    ]
    # Case-insensitive; a tie on value (2 vs 02) and case is broken deterministically.
    assert sort_names(NAMES, "natural") == [
        "a/img3.jpg",
        "IMG1.jpg",
        "img1.jpg",
        "img2.jpg",
        "img02.jpg",
        "img10.jpg",
    ]


def test_natural_compares_folder_by_folder() -> None:
    names = ["seq10/f1.png", "seq2/f10.png", "seq2/f9.png", "seq2-b/f1.png"]
    assert sorted(names, key=natural_key) == [
        "seq2/f9.png",
        "seq2/f10.png",
        "seq2-b/f1.png",
        "seq10/f1.png",
    ]
    assert natural_key("x1y2z")  # mixed runs never compare str with int
    assert sorted(["1", "a", "1a", "a1", ""], key=natural_key) == ["", "1", "1a", "a", "a1"]


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
