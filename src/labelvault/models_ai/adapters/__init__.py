"""One adapter a kind of model: DEEPaaS, ONNX, a cvat-sdk function module, an LS ML backend."""

from __future__ import annotations

from typing import Any

from labelvault.models_ai.adapters.base import Adapter, Detection, ModelError


def adapter_for(kind: str, name: str, config: dict[str, Any], labels: list[dict]) -> Adapter:
    """The adapter of a registered model (imported lazily: onnxruntime is heavy)."""
    if kind == "deepaas":
        from labelvault.models_ai.adapters.deepaas import DeepaasAdapter

        return DeepaasAdapter(name, config)
    if kind == "onnx":
        from labelvault.models_ai.adapters.onnx_model import OnnxAdapter

        return OnnxAdapter(name, config, labels)
    if kind == "function":
        from labelvault.models_ai.adapters.function import FunctionAdapter

        return FunctionAdapter(name, config)
    if kind == "lsml":
        from labelvault.models_ai.adapters.lsml import LabelStudioAdapter

        return LabelStudioAdapter(name, config)
    raise ModelError(f"model '{name}' has an unknown kind '{kind}'")


__all__ = ["Adapter", "Detection", "ModelError", "adapter_for"]
