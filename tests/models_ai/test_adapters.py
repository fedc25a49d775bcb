"""Adapters against real servers and graphs: a Label Studio ML backend, ONNX masks and tags."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from labelvault.models_ai.adapters import ModelError
from labelvault.models_ai.adapters.lsml import LabelStudioAdapter
from labelvault.models_ai.adapters.onnx_model import OnnxAdapter
from tests.models_ai.conftest import bright_box_image


class _Backend(BaseHTTPRequestHandler):
    """Answers as label-studio-ml's server does: /health and /predict."""

    seen: list[dict] = []

    def log_message(self, *args: object) -> None:
        return None

    def _reply(self, body: object, status: int = 200) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802
        self._reply({"status": "UP", "model_class": "Stub"})

    def do_POST(self) -> None:  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        _Backend.seen.append(body)
        image = body["tasks"][0]["data"]["image"]
        region = {
            "from_name": "label",
            "to_name": "image",
            "type": "rectanglelabels",
            "score": 0.75,
            "value": {"x": 25, "y": 50, "width": 50, "height": 25, "rectanglelabels": ["car"]},
        }
        choice = {"type": "choices", "value": {"choices": ["day"]}, "score": 0.5}
        if not image.startswith("data:image/png;base64,"):
            self._reply({"error": "no image"}, 400)
            return
        self._reply({"results": [{"result": [region, choice], "score": 0.75}]})


@pytest.fixture(scope="module")
def backend() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Backend)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_label_studio_backend(backend: str) -> None:
    adapter = LabelStudioAdapter("ls", {"url": backend, "label_config": "<View/>"})
    assert "UP" in adapter.check()
    found = adapter.detect(bright_box_image((0, 0, 4, 4), (200, 100)), 200, 100)
    assert [(d.label, d.type, d.points, d.score) for d in found] == [
        ("car", "rectangle", [50.0, 50.0, 150.0, 75.0], 0.75),
        ("day", "tag", [], 0.5),
    ]
    assert _Backend.seen[-1]["label_config"] == "<View/>"
    with pytest.raises(ModelError, match="cannot reach"):
        LabelStudioAdapter("ls", {"url": "http://127.0.0.1:9", "timeout": 2}).check()


def _graph(path: Path, nodes: list, output: str, shape: list) -> Path:
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, 16, 16])],
        [helper.make_tensor_value_info(output, TensorProto.FLOAT, shape)],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def test_onnx_segmentation_and_classification(tmp_path: Path) -> None:
    from onnx import helper

    # Class scores are the image's own channels: red pixels are class 0 (background),
    # blue ones class 2.
    seg = _graph(
        tmp_path / "seg.onnx",
        [helper.make_node("Identity", ["image"], ["scores"])],
        "scores",
        [1, 3, 16, 16],
    )
    labels = [{"name": "bg"}, {"name": "green"}, {"name": "blue"}]
    card = {"path": str(seg), "input_size": [16, 16], "output": "segmentation"}
    from io import BytesIO

    from PIL import Image

    picture = Image.new("RGB", (32, 32), (255, 0, 0))
    picture.paste((0, 0, 255), (8, 8, 24, 24))
    buffer = BytesIO()
    picture.save(buffer, "PNG")
    (blue,) = OnnxAdapter("seg", card, labels).detect(buffer.getvalue(), 32, 32)
    assert blue.label == "blue" and blue.type == "mask"
    ys, xs = np.nonzero(blue.mask)
    assert (xs.min(), xs.max(), ys.min(), ys.max()) == (8, 23, 8, 23)

    cls = _graph(
        tmp_path / "cls.onnx",
        [helper.make_node("ReduceMean", ["image", "axes"], ["scores"], keepdims=0)],
        "scores",
        [1, 3],
    )
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(cls))
    model.graph.initializer.append(numpy_helper.from_array(np.array([2, 3], np.int64), "axes"))
    onnx.save(model, str(cls))
    card = {"path": str(cls), "input_size": [16, 16], "output": "classification"}
    tags = OnnxAdapter("cls", card, labels).detect(buffer.getvalue(), 32, 32)
    scores = {t.label: round(t.score, 2) for t in tags}
    assert scores == {"bg": 0.75, "green": 0.0, "blue": 0.25}  # red 3/4 of it, blue 1/4
    with pytest.raises(ModelError, match="class 2 is not one of the model's 2 labels"):
        OnnxAdapter("cls", card, labels[:2]).detect(buffer.getvalue(), 32, 32)
