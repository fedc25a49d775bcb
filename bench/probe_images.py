"""Probe throughput: header-only size reading vs verification vs full decode (prints only)."""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from PIL import Image

from labelvault.media.images import probe_image, verify_image


def generate(directory: Path, n: int, seed: int) -> list[Path]:
    """N deterministic 1024x768 photo-like JPEGs (smooth noise, ~100 KB each)."""
    paths = []
    for i in range(n):
        rng = random.Random(seed * 1_000_003 + i)
        tile = Image.frombytes("RGB", (32, 24), rng.randbytes(32 * 24 * 3))
        path = directory / f"img_{i:06d}.jpg"
        tile.resize((1024, 768), Image.Resampling.BICUBIC).save(path, "JPEG", quality=90)
        paths.append(path)
    return paths


def rate(label: str, paths: list[Path], fn: Callable[[Path], object]) -> None:
    start = time.perf_counter()
    for path in paths:
        fn(path)
    elapsed = time.perf_counter() - start
    print(f"{label:<34} {len(paths) / elapsed:>10,.0f} images/s  ({elapsed:.2f} s, 1 core)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=2000, help="images to generate (default 2000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--full-sample", type=int, default=200, help="images fully decoded")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="lv-probe-") as tmp:
        t = time.perf_counter()
        paths = generate(Path(tmp), args.n, args.seed)
        size = sum(p.stat().st_size for p in paths) / len(paths)
        print(
            f"generated {len(paths)} 1024x768 JPEGs, {size / 1024:.0f} KiB avg, "
            f"in {time.perf_counter() - t:.1f} s (files are in the page cache)"
        )

        def pillow_open(path: Path) -> object:
            with Image.open(path) as im:
                return im.size

        rate("Pillow lazy open (reference)", paths, pillow_open)
        rate("probe_image (headers only)", paths, probe_image)
        rate("verify_image (headers + EOF check)", paths, verify_image)
        sample = paths[: args.full_sample]
        rate("verify_image(full=True) (decode)", sample, lambda p: verify_image(p, full=True))


if __name__ == "__main__":
    main()
