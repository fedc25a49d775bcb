"""Upload temporaries that could not be removed when their write failed, to retry later.

A storage that goes away mid-upload cannot be asked to delete the half-written temporary;
the next write to the same storage, once it answers again, removes it. Only temporaries this
process wrote itself are kept here, so an upload still running elsewhere is never touched.
"""

from __future__ import annotations

import threading

_LOCK = threading.Lock()
_PENDING: dict[str, set[str]] = {}


def remember(storage: str, full_path: str) -> None:
    """Note a temporary at `full_path` (as the backend names it) in `storage` (its base URL)."""
    with _LOCK:
        _PENDING.setdefault(storage, set()).add(full_path)


def take(storage: str) -> list[str]:
    """The temporaries noted for `storage`, forgotten here (remember again what still fails)."""
    with _LOCK:
        return sorted(_PENDING.pop(storage, ()))
