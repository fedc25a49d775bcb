"""Validate our JSON against cvat-sdk 2.80.0's own models, as strictly as the SDK reads it."""

from __future__ import annotations

from typing import Any

from cvat_sdk.api_client import Configuration, models
from cvat_sdk.api_client.model_utils import validate_and_convert_types

_CONFIG = Configuration()


def sdk_validate(data: Any, model_name: str) -> Any:
    """Deserialize `data` into `models.<model_name>`; raises on a missing or mistyped field."""
    model = getattr(models, model_name)
    return validate_and_convert_types(data, (model,), ["response"], True, True, _CONFIG)
