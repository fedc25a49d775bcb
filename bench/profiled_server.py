"""`labelvault serve` with pyinstrument around annotation parse/save/read; a report per call.

Usage: bench/annotations.py --profile DIR (runs this with LV_PROFILE_DIR=DIR)
"""

from __future__ import annotations

import functools
import itertools
import os
import sys
from pathlib import Path
from typing import Any

from pyinstrument import Profiler

from labelvault import cli
from labelvault.annotations import service

OUT = Path(os.environ.get("LV_PROFILE_DIR", "profiles"))
COUNTER = itertools.count()


def profiled(name: str, func: Any) -> Any:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        # Endpoints run in a worker thread; a profiler started there samples that thread.
        profiler = Profiler(interval=0.001)
        profiler.start()
        try:
            return func(*args, **kwargs)
        finally:
            profiler.stop()
            OUT.mkdir(parents=True, exist_ok=True)
            stem = OUT / f"{next(COUNTER):03d}-{name}"
            stem.with_suffix(".txt").write_text(profiler.output_text(show_all=False))

    return wrapper


for _name in ("parse", "save_job", "read"):
    setattr(service, _name, profiled(_name, getattr(service, _name)))

if __name__ == "__main__":
    sys.argv[0] = "labelvault"
    cli.main()
