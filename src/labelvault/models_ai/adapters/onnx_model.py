"""Local ONNX models run with onnxruntime on the server's workers, described by a model card.

The card (the model's config) says: `path` to the .onnx file, `input_size` [width, height]
the image is resized to, `scale` (default 1/255), `mean` and `std` per channel, `channels`
"RGB" or "BGR", and `output`:
- "detection": rows (x1, y1, x2, y2, score, class) in input-size pixels, shape [N, 6] or [1, N, 6];
- "segmentation": class scores [1, C, H, W] (or class indices [1, H, W]); class 0 is background
  unless `background` is false; each other class present becomes a mask (or polygons);
- "classification": class scores [1, C] (`softmax`: true to normalise logits) -> tags.
Class i is the model's i-th label.
"""

from __future__ import annotations

import io
import threading
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from labelvault.models_ai.adapters.base import Detection, ModelError

OUTPUTS = ("detection", "segmentation", "classification")
# A session per model file, shared by the worker threads (onnxruntime's run is thread-safe).
_sessions: dict[tuple[str, float], Any] = {}
_lock = threading.Lock()


def _session(path: Path) -> Any:
    import onnxruntime

    key = (str(path), path.stat().st_mtime)
    with _lock:
        if key not in _sessions:
            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = 1  # the workers are the parallelism
            _sessions[key] = onnxruntime.InferenceSession(
                str(path), options, providers=["CPUExecutionProvider"]
            )
        return _sessions[key]


class OnnxAdapter:
    def __init__(self, name: str, config: dict[str, Any], labels: list[dict]) -> None:
        self.name = name
        self.path = Path(str(config.get("path", "")))
        size = config.get("input_size") or [640, 640]
        self.size = (int(size[0]), int(size[1]))
        self.scale = float(config.get("scale", 1 / 255))
        self.mean = np.array(config.get("mean", [0.0, 0.0, 0.0]), dtype=np.float32)
        self.std = np.array(config.get("std", [1.0, 1.0, 1.0]), dtype=np.float32)
        self.bgr = str(config.get("channels", "RGB")).upper() == "BGR"
        self.output = str(config.get("output", "detection"))
        self.background = bool(config.get("background", True))
        self.softmax = bool(config.get("softmax", False))
        # Frames run on this many threads at once (a session's run is thread-safe); each
        # run keeps to one core, so the default of 2 fills this kind of small server.
        self.concurrency = int(config.get("concurrency", 2))
        self.labels = [str(label["name"]) for label in labels]
        if self.output not in OUTPUTS:
            raise ModelError(f"output must be one of {', '.join(OUTPUTS)}, not '{self.output}'")

    def _input(self, image: bytes) -> np.ndarray:
        picture = Image.open(io.BytesIO(image)).convert("RGB").resize(self.size)
        array = np.asarray(picture, dtype=np.float32)
        if self.bgr:
            array = array[:, :, ::-1]
        array = (array * self.scale - self.mean) / self.std
        return np.ascontiguousarray(array.transpose(2, 0, 1)[None])

    def _label(self, index: int) -> str:
        if not 0 <= index < len(self.labels):
            raise ModelError(f"class {index} is not one of the model's {len(self.labels)} labels")
        return self.labels[index]

    def detect(self, image: bytes, width: int, height: int) -> list[Detection]:
        if not self.path.is_file():
            raise ModelError(f"the model file {self.path} does not exist")
        session = _session(self.path)
        feed = {session.get_inputs()[0].name: self._input(image)}
        try:
            output = np.asarray(session.run(None, feed)[0])
        except Exception as exc:  # noqa: BLE001  (onnxruntime raises its own untyped errors)
            raise ModelError(f"onnxruntime failed: {exc}") from exc
        if not np.all(np.isfinite(output)):
            raise ModelError("the model's output has NaN or infinite values")
        sx, sy = width / self.size[0], height / self.size[1]
        if self.output == "classification":
            scores = output.reshape(-1)
            if self.softmax:
                scores = np.exp(scores - scores.max())
                scores = scores / scores.sum()
            return [Detection(self._label(i), "tag", [], float(s)) for i, s in enumerate(scores)]
        if self.output == "detection":
            rows = output.reshape(-1, output.shape[-1]) if output.size else output.reshape(0, 6)
            if rows.shape[-1] < 6:
                raise ModelError(f"detection rows need 6 values, the model gives {rows.shape[-1]}")
            return [
                Detection(
                    self._label(int(r[5])),
                    "rectangle",
                    [float(r[0] * sx), float(r[1] * sy), float(r[2] * sx), float(r[3] * sy)],
                    float(r[4]),
                )
                for r in rows
            ]
        classes = (
            output[0].argmax(axis=0) if output.ndim == 4 else output.reshape(output.shape[-2:])
        )
        resized = Image.fromarray(classes.astype(np.uint8)).resize((width, height), Image.NEAREST)
        classes = np.asarray(resized)
        found = []
        for index in np.unique(classes):
            if index == 0 and self.background:
                continue
            found.append(Detection(self._label(int(index)), "mask", [], 1.0, mask=classes == index))
        return found

    def check(self) -> str:
        if not self.path.is_file():
            raise ModelError(f"the model file {self.path} does not exist")
        session = _session(self.path)
        return f"ONNX model {self.path.name}: input {session.get_inputs()[0].shape}"
