"""Wire shapes of annotations: CVAT's LabeledData with tags, shapes, tracks and intervals."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StrictStr

ShapeType = Literal[
    "rectangle", "polygon", "polyline", "points", "ellipse", "cuboid", "mask", "skeleton"
]
# Clients send attribute values as strings; a few send numbers or booleans, kept as typed.
AttrValue = StrictStr | StrictBool | StrictInt | StrictFloat


class _Wire(BaseModel):
    # Replies always carry every field, so the reply schema (serialization mode) requires them.
    model_config = ConfigDict(extra="ignore", json_schema_serialization_defaults_required=True)


class AttributeVal(_Wire):
    spec_id: int = Field(ge=0)
    value: AttrValue


class SubShape(_Wire):
    id: int | None = Field(default=None, ge=0)
    type: ShapeType
    frame: int | None = Field(default=None, ge=0)
    label_id: int = Field(ge=0)
    points: list[float] = Field(default_factory=list)
    occluded: bool = False
    outside: bool = False
    z_order: int = 0
    rotation: float = Field(default=0.0, ge=0, le=360)
    group: int | None = Field(default=0, ge=0)
    source: str = Field(default="manual", min_length=1)
    score: float = Field(default=1.0, ge=0, le=1)
    attributes: list[AttributeVal] = Field(default_factory=list)


class Shape(SubShape):
    frame: int = Field(ge=0)
    elements: list[SubShape] = Field(default_factory=list)


class Tag(_Wire):
    id: int | None = Field(default=None, ge=0)
    frame: int = Field(ge=0)
    label_id: int = Field(ge=0)
    group: int | None = Field(default=0, ge=0)
    source: str = Field(default="manual", min_length=1)
    attributes: list[AttributeVal] = Field(default_factory=list)


class TrackedShape(_Wire):
    id: int | None = Field(default=None, ge=0)
    type: ShapeType
    frame: int = Field(ge=0)
    points: list[float] = Field(default_factory=list)
    occluded: bool = False
    outside: bool = False
    z_order: int = 0
    rotation: float = Field(default=0.0, ge=0, le=360)
    attributes: list[AttributeVal] = Field(default_factory=list)


class SubTrack(_Wire):
    id: int | None = Field(default=None, ge=0)
    frame: int = Field(ge=0)
    label_id: int = Field(ge=0)
    group: int | None = Field(default=0, ge=0)
    source: str = Field(default="manual", min_length=1)
    attributes: list[AttributeVal] = Field(default_factory=list)
    shapes: list[TrackedShape]


class Track(SubTrack):
    elements: list[SubTrack] = Field(default_factory=list)


class Interval(_Wire):
    id: int | None = Field(default=None, ge=0)
    label_id: int = Field(ge=0)
    start: int = Field(ge=0)
    stop: int | None = Field(default=None, ge=0)
    group: int | None = Field(default=0, ge=0)
    source: str = Field(default="manual", min_length=1)
    attributes: list[AttributeVal] = Field(default_factory=list)
    score: float = Field(default=1.0, ge=0, le=1)


class LabeledData(_Wire):
    version: int = 0
    tags: list[Tag] = Field(default_factory=list)
    shapes: list[Shape] = Field(default_factory=list)
    tracks: list[Track] = Field(default_factory=list)
    intervals: list[Interval] = Field(default_factory=list)
