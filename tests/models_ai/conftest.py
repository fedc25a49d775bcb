"""Fixtures of the models tests: a real deepaas-run serving a YOLOv8-format stub, an ONNX model."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from PIL import Image

from tests.helpers.net import free_port

PLUGIN_DIR = Path(__file__).parent / "deepaas_plugin"
REPO = Path(__file__).resolve().parents[2]


def _deepaas_run() -> str | None:
    """deepaas-run from $DEEPAAS_RUN, the side venv `make test` makes, or this venv."""
    candidates = [
        os.environ.get("DEEPAAS_RUN"),
        str(REPO / ".venv-deepaas/bin/deepaas-run"),
        "/work/main/.venv-deepaas/bin/deepaas-run",
        str(Path(sys.executable).parent / "deepaas-run"),
    ]
    return next((c for c in candidates if c and os.access(c, os.X_OK)), None)


@pytest.fixture(scope="session")
def deepaas_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    program = _deepaas_run()
    if program is None:
        pytest.skip("deepaas is not installed (set DEEPAAS_RUN; `make test` makes .venv-deepaas)")
    with deepaas_server(program, tmp_path_factory.mktemp("deepaas")) as url:
        yield url


@contextmanager
def deepaas_server(program: str, folder: Path) -> Iterator[str]:
    """A real DEEPaaS server on 127.0.0.1 serving tests' lv-yolo-stub model.

    DEEPaaS finds models through the `deepaas.v2.model` entry point; the plugin's
    .dist-info on PYTHONPATH declares it, so nothing is installed.
    """
    port = free_port()
    env = dict(os.environ, PYTHONPATH=str(PLUGIN_DIR), DEEPAAS_V2_MODEL="lv-yolo-stub")
    log = (folder / "deepaas.log").open("wb")
    process = subprocess.Popen(
        [program, "--listen-ip", "127.0.0.1", "--listen-port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=str(folder),
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{url}/v2/models/", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"deepaas-run did not start; see {log.name}")
        time.sleep(0.2)
    try:
        yield url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()  # deepaas-run may sit out a SIGTERM; never leave it running
            process.wait(10)
        log.close()


def bright_box_image(box: tuple[int, int, int, int], size: tuple[int, int] = (64, 48)) -> bytes:
    """A dark image with one white rectangle (x1, y1, x2, y2; x2 and y2 exclusive)."""
    image = Image.new("RGB", size, (20, 20, 20))
    image.paste((255, 255, 255), box)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture(scope="session")
def onnx_detector(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_bright_onnx(tmp_path_factory.mktemp("onnx") / "bright.onnx")


def build_bright_onnx(path: Path) -> Path:
    """A real ONNX graph whose box grows with the image's brightness.

    input [1, 3, 32, 32] -> mean m -> one detection row (0, 0, 32m, 32m, m, class 0).
    """
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    scale = numpy_helper.from_array(np.array([[0, 0, 32, 32, 1, 0]], np.float32), "scale")
    graph = helper.make_graph(
        [
            helper.make_node("ReduceMean", ["image"], ["mean"], keepdims=0),
            helper.make_node("Reshape", ["mean", "one_one"], ["mean11"]),
            helper.make_node("Mul", ["mean11", "scale"], ["detections"]),
        ],
        "bright",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, 32, 32])],
        [helper.make_tensor_value_info("detections", TensorProto.FLOAT, [1, 6])],
        initializer=[scale, numpy_helper.from_array(np.array([1, 1], np.int64), "one_one")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path
