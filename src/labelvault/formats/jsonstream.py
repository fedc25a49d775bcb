"""The items of one array in a JSON file, read as a stream (ijson) rather than loaded whole."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from .base import FormatError

# Deeper than any annotation format nests (COCO: 5 levels). ijson's cost grows with the
# square of the depth (each level's prefix string is longer), so depth is checked first.
MAX_DEPTH = 256
# 1 MB: the running depth is counted in int64, eight bytes per byte read.
CHUNK = 1024 * 1024
_DELTA = np.zeros(256, dtype=np.int8)
_DELTA[[ord("["), ord("{")]] = 1
_DELTA[[ord("]"), ord("}")]] = -1

try:  # ijson's C backend reads ~100 MB/s; without ijson a file is loaded whole
    import ijson
except ImportError:  # pragma: no cover - ijson is a dependency; kept optional for codecs
    ijson = None


def available() -> bool:
    return ijson is not None


def maybe_too_deep(path: Path, limit: int = MAX_DEPTH) -> bool:
    """Whether brackets nest deeper than `limit`, counted at numpy speed.

    Brackets inside strings are counted too, so True only means "maybe": the caller then
    reads the file whole with the standard parser, which knows for sure.
    """
    depth = 0
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            steps = np.cumsum(_DELTA[np.frombuffer(chunk, dtype=np.uint8)], dtype=np.int64)
            if len(steps) and depth + int(steps.max()) > limit:
                return True
            depth += int(steps[-1]) if len(steps) else 0
    return False


def items(path: Path, prefix: str) -> Iterator[Any]:
    """Each element of the array at `prefix` ("images.item" = doc["images"][i]), one by one.

    Numbers come as int or float (never Decimal); a malformed or too deeply nested file is a
    FormatError naming the file.
    """
    assert ijson is not None
    with open(path, "rb") as f:
        try:
            yield from ijson.items(f, prefix, use_float=True)
        except ijson.JSONError as e:
            raise FormatError(f"{path.name}: malformed JSON ({e})") from None
        except RecursionError:
            raise FormatError(
                f"{path.name}: the JSON is nested too deeply to be an annotation file"
            ) from None
