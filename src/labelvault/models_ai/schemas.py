"""Wire shapes of registered models (/api/models) and of CVAT's lambda requests."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

KINDS = ("deepaas", "onnx", "function", "lsml")


class ModelLabel(BaseModel):
    name: str = Field(min_length=1, max_length=128)
    type: str = "any"


class ModelWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-zA-Z0-9_.-]{1,64}$")
    kind: Literal["deepaas", "onnx", "function", "lsml"]
    function_kind: Literal["detector", "interactor"] = "detector"
    description: str = ""
    labels: list[ModelLabel] = []
    config: dict[str, Any] = {}
    enabled: bool = True


class ModelPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: str | None = None
    labels: list[ModelLabel] | None = None
    config: dict[str, Any] | None = None
    enabled: bool | None = None


class ModelRead(BaseModel):
    id: int
    name: str
    kind: str
    function_kind: str
    description: str
    labels: list[ModelLabel]
    config: dict[str, Any]
    enabled: bool
    created_date: datetime
    updated_date: datetime


class HealthRead(BaseModel):
    ok: bool
    message: str
    latency_ms: float  # how long the check took, so a slow model shows before a run


class LambdaCall(BaseModel):
    """POST /api/lambda/requests, CVAT's FunctionCall."""

    function: str
    task: int | None = None  # CVAT requires it; a job alone names its task here
    job: int | None = None
    threshold: float | None = None
    cleanup: bool = False
    convMaskToPoly: bool | None = None  # noqa: N815  (CVAT's deprecated spelling)
    conv_mask_to_poly: bool | None = None
    mapping: dict[str, Any] | None = None
    max_distance: int | None = None
    quality: str | None = None
