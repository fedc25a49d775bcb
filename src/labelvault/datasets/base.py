"""What exports, imports and backups share: the user error and the progress callback."""

from __future__ import annotations

from collections.abc import Callable

from labelvault.errors import Invalid

Progress = Callable[[float, str], None]


class ImportFailed(Invalid):
    """An import was refused; the message says what is wrong and nothing was written."""


def no_progress(_fraction: float, _message: str = "") -> None:
    return None
