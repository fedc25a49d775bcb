"""Frame order of a task's files: lexicographical, natural, predefined or seeded random."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable, Sequence
from enum import StrEnum

import natsort

from labelvault.media.images import MediaError

_LIST_LIMIT = 10  # names quoted in an error message; the count says how many more


class SortingMethod(StrEnum):
    LEXICOGRAPHICAL = "lexicographical"
    NATURAL = "natural"
    PREDEFINED = "predefined"
    RANDOM = "random"


# CVAT's "natural" order is natsort's os_sorted (cvat/apps/engine/media_extractors.py sort):
# the order a file manager shows (photo.jpg < photo (2).jpg < photo (10).jpg, folder by folder).
natural_key = natsort.os_sort_keygen()


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
        # os_sorted is stable: names it ranks equal (img1 and IMG1) keep their plain string
        # order, so the frames do not depend on the order the files arrived in.
        return natsort.os_sorted(sorted(names))
    if method is SortingMethod.PREDEFINED:
        if order is None:
            raise ValueError("predefined sorting needs the order of the files")
        return sort_predefined(names, order)
    if seed is None:
        raise ValueError("random sorting needs a seed (e.g. the task id) to be reproducible")
    # CVAT shuffles unseeded (its sort() has a "TODO: support seed"), so no two CVAT runs
    # agree; here the same files and seed always give the same order.
    result = sorted(names)
    # str seeds hash via sha512 inside random.seed (version 2), stable across processes.
    random.Random(seed).shuffle(result)
    return result
