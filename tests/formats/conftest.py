"""Fixtures for format tests: a small in-memory ExportSource with real PNG frames."""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

try:
    import labelvault.formats  # noqa: F401
except ModuleNotFoundError:  # running from a checkout without `pip install -e .`
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))

from labelvault.formats.base import (  # noqa: E402
    AttributeDef,
    FrameInfo,
    LabelDef,
    Shape,
    SourceMeta,
    Tag,
    Track,
    make_shape,
    make_tag,
)
from labelvault.formats.masks import encode_cvat_mask  # noqa: E402

WIDTH, HEIGHT = 40, 30
SKELETON_SVG = (
    '<line x1="30" y1="30" x2="60" y2="60" data-type="edge" data-node-from="1" '
    'data-node-to="2"></line>'
    '<circle r="0.75" cx="30" cy="30" data-type="element node" data-element-id="1" '
    'data-node-id="1" data-label-name="head"></circle>'
    '<circle r="0.75" cx="60" cy="60" data-type="element node" data-element-id="2" '
    'data-node-id="2" data-label-name="hand"></circle>'
)


def png_bytes(color: tuple[int, int, int]) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (WIDTH, HEIGHT), color).save(buf, format="PNG")
    return buf.getvalue()


def mask_points() -> list[float]:
    import numpy as np

    bitmap = np.zeros((HEIGHT, WIDTH), dtype=bool)
    bitmap[5:12, 20:30] = True
    bitmap[12:15, 20:23] = True
    return encode_cvat_mask(bitmap)


@dataclass
class MemorySource:
    """ExportSource over plain lists, like the server's DB-backed one but in memory."""

    meta: SourceMeta
    labels: list[LabelDef]
    frame_list: list[tuple[FrameInfo, list[Tag], list[Shape]]]
    track_list: list[Track] = field(default_factory=list)

    def frames(self) -> Iterator[tuple[FrameInfo, list[Tag], list[Shape]]]:
        yield from self.frame_list

    def tracks(self) -> Iterator[Track]:
        yield from self.track_list


def build_source() -> MemorySource:
    labels = [
        LabelDef(
            name="car",
            color="#ff0000",
            attributes=[
                AttributeDef("color", "select", False, ["red", "blue"], "red"),
                AttributeDef("parked", "checkbox", True, ["false"], "false"),
            ],
        ),
        LabelDef(name="person", color="#00ff00"),
        LabelDef(
            name="pose",
            type="skeleton",
            color="#0000ff",
            sublabels=[LabelDef("head", "points"), LabelDef("hand", "points")],
            svg=SKELETON_SVG,
        ),
    ]
    images = [png_bytes((200, 10, 10)), png_bytes((10, 200, 10)), png_bytes((10, 10, 200))]
    names = ["img_0.png", "sub/img_1.png", "img_2.png"]
    infos = [
        FrameInfo(
            i,
            names[i],
            WIDTH,
            HEIGHT,
            open_image=(lambda data=images[i]: io.BytesIO(data)),
        )
        for i in range(3)
    ]
    car_attrs = {"color": "blue", "parked": "true"}
    frame_list = [
        (
            infos[0],
            [make_tag("person", 0, source="manual")],
            [
                make_shape(
                    "rectangle",
                    "car",
                    0,
                    [2, 3, 12, 10],
                    attributes=car_attrs,
                    source="manual",
                    occluded=True,
                ),
                make_shape("polygon", "person", 0, [20, 5, 30, 5, 30, 15, 20, 15], source="manual"),
            ],
        ),
        (
            infos[1],
            [],
            [
                make_shape("mask", "person", 1, mask_points(), source="manual"),
                make_shape("points", "person", 1, [5, 5, 8, 9], source="manual"),
                make_shape(
                    "ellipse",
                    "car",
                    1,
                    [10, 10, 14, 7],
                    attributes={"color": "red", "parked": "false"},
                    source="manual",
                ),
            ],
        ),
        (
            infos[2],
            [],
            [
                make_shape(
                    "skeleton",
                    "pose",
                    2,
                    [],
                    source="manual",
                    elements=[
                        make_shape("points", "head", 2, [10, 10], source="manual"),
                        make_shape("points", "hand", 2, [20, 25], occluded=True, source="manual"),
                    ],
                ),
                make_shape("rectangle", "person", 2, [1, 1, 9, 21], rotation=30.0, source="manual"),
            ],
        ),
    ]

    def tracked(frame: int, points: list[float], outside: bool = False) -> dict:
        return {
            "frame": frame,
            "type": "rectangle",
            "points": [float(p) for p in points],
            "outside": outside,
            "occluded": False,
            "keyframe": True,
            "z_order": 0,
            "rotation": 0.0,
            "attributes": [{"name": "parked", "value": "false"}],
        }

    tracks = [
        {
            "label": "car",
            "frame": 0,
            "group": 0,
            "source": "manual",
            "attributes": [{"name": "color", "value": "red"}],
            "shapes": [tracked(0, [20, 20, 30, 28]), tracked(2, [24, 18, 34, 26])],
            "elements": [],
        }
    ]
    meta = SourceMeta(
        name="synthetic",
        id=7,
        mode="annotation",
        size=3,
        created="2024-01-01T00:00:00Z",
        updated="2024-01-02T00:00:00Z",
    )
    return MemorySource(meta, labels, frame_list, tracks)


@pytest.fixture
def source() -> MemorySource:
    return build_source()
