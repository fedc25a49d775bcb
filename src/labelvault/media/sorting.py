"""Frame order of a task's files: lexicographical, natural, predefined or seeded random."""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from enum import StrEnum

from labelvault.media.images import MediaError

_DIGITS = re.compile(r"([0-9]+)")
_LIST_LIMIT = 10  # names quoted in an error message; the count says how many more


class SortingMethod(StrEnum):
    LEXICOGRAPHICAL = "lexicographical"
    NATURAL = "natural"
    PREDEFINED = "predefined"
    RANDOM = "random"


def natural_key(name: str) -> tuple:
    """Sort key where digit runs compare as numbers: img2 < img10, a/b9 < a/b10 < a-b.

    Compared folder by folder, case-insensitively, then by the exact name so the order is
    total (img01 and img1 never tie).
    """
    key = []
    for part in name.replace("\\", "/").split("/"):
        pieces = _DIGITS.split(part.casefold())
        # split() alternates text, digits, text, ...: texts at even and numbers at odd
        # positions, so tuples never compare a str with an int.
        key.append(tuple((int(p), len(p)) if i % 2 else p for i, p in enumerate(pieces)))
    return (tuple(key), name)


def _quote(names: Iterable[str]) -> str:
    names = list(names)
    shown = ", ".join(repr(n) for n in names[:_LIST_LIMIT])
    more = len(names) - _LIST_LIMIT
    return shown + (f" and {more} more" if more > 0 else "")


def sort_predefined(names: Sequence[str], order: Sequence[str]) -> list[str]:
    """``order`` itself, after checking it lists exactly ``names``, each once."""
    dup_order = [n for n, c in Counter(order).items() if c > 1]
    if dup_order:
        raise MediaError("upload_file_order", f"lists {_quote(dup_order)} more than once")
    have, want = set(names), set(order)
    missing = [n for n in order if n not in have]
    extra = [n for n in names if n not in want]
    problems = []
    if missing:
        problems.append(f"names {_quote(missing)} which are not among the files")
    if extra:
        problems.append(f"does not list {_quote(extra)}")
    if problems:
        raise MediaError(
            "upload_file_order",
            "; ".join(problems) + "; give every file's name exactly once in the order wanted",
        )
    return list(order)


def sort_names(
    names: Iterable[str],
    method: SortingMethod | str = SortingMethod.LEXICOGRAPHICAL,
    *,
    order: Sequence[str] | None = None,
    seed: int | str | None = None,
) -> list[str]:
    """Names in frame order.

    ``order`` is required for predefined. ``seed`` (e.g. the task id) is required for
    random: the same files and seed always give the same order, whatever order the files
    were listed in, so recreating or re-reading a task keeps its frames where they were.
    """
    method = SortingMethod(method)
    names = list(names)
    if method is SortingMethod.LEXICOGRAPHICAL:
        return sorted(names)
    if method is SortingMethod.NATURAL:
        return sorted(names, key=natural_key)
    if method is SortingMethod.PREDEFINED:
        if order is None:
            raise ValueError("predefined sorting needs the order of the files")
        return sort_predefined(names, order)
    if seed is None:
        raise ValueError("random sorting needs a seed (e.g. the task id) to be reproducible")
    result = sorted(names)
    # str seeds hash via sha512 inside random.seed (version 2), stable across processes.
    random.Random(seed).shuffle(result)
    return result
