"""Deterministic synthetic dataset: N 1024x768 JPEGs with K boxes each over 5 labels, cached."""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

WIDTH, HEIGHT = 1024, 768
LABELS = ["car", "person", "bicycle", "dog", "traffic_light"]
CACHE_DIR = Path(__file__).resolve().parent / ".cache"
# Bump when the generator changes so old caches are never mistaken for new data.
GENERATOR_VERSION = 1


@dataclass(frozen=True)
class Box:
    """One axis-aligned box in pixels: label index into LABELS, top-left corner, size."""

    label: int
    x: float
    y: float
    w: float
    h: float


@dataclass(frozen=True)
class Dataset:
    """Images in name order (their order is frame order) and the boxes of each image."""

    root: Path
    images: list[Path]
    boxes: list[list[Box]]
    seed: int

    @property
    def n(self) -> int:
        return len(self.images)

    @property
    def k(self) -> int:
        return len(self.boxes[0]) if self.boxes else 0

    @property
    def total_boxes(self) -> int:
        return sum(len(b) for b in self.boxes)

    def subset(self, n: int, k: int) -> Dataset:
        """The first n images with their first k boxes (warm-up uses this)."""
        return Dataset(self.root, self.images[:n], [b[:k] for b in self.boxes[:n]], self.seed)


def image_name(index: int) -> str:
    return f"img_{index:06d}.jpg"


def _make_image(path: Path, seed: int, index: int) -> None:
    # Smooth upscaled noise compresses like a photo (~100 KB), unlike flat colour.
    rng = random.Random(seed * 1_000_003 + index)
    tile = Image.frombytes("RGB", (32, 24), rng.randbytes(32 * 24 * 3))
    tile.resize((WIDTH, HEIGHT), Image.Resampling.BICUBIC).save(path, "JPEG", quality=90)


def _make_boxes(seed: int, n: int, k: int) -> list[list[Box]]:
    # One stream for all boxes, separate from the image streams, so K does not change pixels.
    rng = random.Random(f"boxes-{seed}")
    boxes = []
    for _ in range(n):
        row = []
        for _ in range(k):
            w = rng.uniform(16, 320)
            h = rng.uniform(16, 240)
            x = rng.uniform(0, WIDTH - w)
            y = rng.uniform(0, HEIGHT - h)
            row.append(
                Box(rng.randrange(len(LABELS)), round(x, 2), round(y, 2), round(w, 2), round(h, 2))
            )
        boxes.append(row)
    return boxes


def load_or_make(n: int, k: int, seed: int = 0, cache_dir: Path = CACHE_DIR) -> Dataset:
    """The dataset for (n, k, seed), generated once and then read from the cache."""
    root = cache_dir / f"v{GENERATOR_VERSION}-n{n}-k{k}-s{seed}"
    marker = root / "complete"
    if not marker.exists():
        # Images depend only on (seed, index): reuse any cached set with at least n images.
        shutil.rmtree(root, ignore_errors=True)
        images_dir = root / "images"
        images_dir.mkdir(parents=True)
        donor = _find_image_donor(cache_dir, n, seed)
        for i in range(n):
            target = images_dir / image_name(i)
            if donor is not None:
                _link_or_copy(donor / image_name(i), target)
            else:
                _make_image(target, seed, i)
        boxes = _make_boxes(seed, n, k)
        rows = [[[b.label, b.x, b.y, b.w, b.h] for b in row] for row in boxes]
        (root / "boxes.json").write_text(json.dumps({"labels": LABELS, "boxes": rows}))
        # Written last: a run killed half-way leaves no marker and is regenerated.
        marker.write_text(str(time.time()))
    data = json.loads((root / "boxes.json").read_text())
    boxes = [[Box(*b) for b in row] for row in data["boxes"]]
    images = [root / "images" / image_name(i) for i in range(n)]
    return Dataset(root, images, boxes, seed)


def _find_image_donor(cache_dir: Path, n: int, seed: int) -> Path | None:
    for marker in cache_dir.glob(f"v{GENERATOR_VERSION}-n*-k*-s{seed}/complete"):
        donor_n = int(marker.parent.name.split("-")[1][1:])
        if donor_n >= n:
            return marker.parent / "images"
    return None


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def place(dataset: Dataset, directory: Path) -> list[Path]:
    """Hard-link (or copy) the images into a directory a server reads in place."""
    directory.mkdir(parents=True, exist_ok=True)
    placed = []
    for image in dataset.images:
        target = directory / image.name
        if not target.exists():
            _link_or_copy(image, target)
        placed.append(target)
    return placed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=1000, help="images (default 1000)")
    parser.add_argument("-k", type=int, default=100, help="boxes per image (default 100)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    start = time.perf_counter()
    dataset = load_or_make(args.n, args.k, args.seed)
    size = sum(p.stat().st_size for p in dataset.images)
    print(
        f"{dataset.n} images, {dataset.total_boxes} boxes, {size / 2**20:.1f} MiB "
        f"at {dataset.root} ({time.perf_counter() - start:.1f} s)"
    )


if __name__ == "__main__":
    main()
