"""DEEPaaS (AI4OS) models: POST {base}/v2/models/{name}/predict/ with the image as `input`.

The AI4OS YOLOv8 module answers with Ultralytics' `Results.tojson()` for each input file,
wrapped by DEEPaaS as {"status": "OK", "predictions": [...]}: per object `name`,
`confidence`, `box` {x1,y1,x2,y2}, optional `segments` {x:[],y:[]} and `keypoints`
{x:[],y:[],visible:[]}; a classifier answers {"top5_prediction": {name: score}}. The model's
config says which of these become shapes (`shapes`: ["rectangle"], ["polygon"], ...).

An interactor gets the clicks as extra predict parameters its get_predict_args() declares
(`points_params`: which names carry the positive and negative clicks and the box, JSON
lists of [x, y]; by default pos_points, neg_points and obj_bbox).
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from labelvault.models_ai.adapters.base import Detection, ModelError, number, timeout_of

DEFAULT_SHAPES = ("rectangle",)
POINTS_PARAMS = {"pos": "pos_points", "neg": "neg_points", "box": "obj_bbox"}


def _unwrap(reply: Any) -> list[Any]:
    """The per-object list out of DEEPaaS' envelope and the module's one-entry-per-file list."""
    if isinstance(reply, dict) and "predictions" in reply:
        reply = reply["predictions"]
    if isinstance(reply, dict) and "top5_prediction" in reply:
        return [reply]
    if isinstance(reply, list) and len(reply) == 1 and isinstance(reply[0], str | list):
        reply = reply[0]
    if isinstance(reply, str):
        try:
            reply = json.loads(reply)
        except ValueError as exc:
            raise ModelError(f"the reply is not JSON ({reply[:80]!r})") from exc
    if not isinstance(reply, list):
        raise ModelError(f"the reply is not a list of detections ({str(reply)[:80]!r})")
    return reply


def _xy(block: Any, what: str) -> list[float]:
    if not isinstance(block, dict) or not isinstance(block.get("x"), list):
        raise ModelError(f"{what} is not {{'x': [...], 'y': [...]}}")
    xs, ys = block["x"], block.get("y")
    if not isinstance(ys, list) or len(xs) != len(ys):
        raise ModelError(f"{what} has x and y of different lengths")
    points: list[float] = []
    for x, y in zip(xs, ys, strict=True):
        points += [number(x, what), number(y, what)]
    return points


def parse_ultralytics(reply: Any, shapes: tuple[str, ...] | list[str]) -> list[Detection]:
    """Detections of an Ultralytics-style reply, as the model's config maps them."""
    found: list[Detection] = []
    for index, item in enumerate(_unwrap(reply)):
        what = f"detection {index}"
        if not isinstance(item, dict):
            raise ModelError(f"{what} is not an object")
        if "top5_prediction" in item:
            for name, score in (item["top5_prediction"] or {}).items():
                found.append(Detection(str(name), "tag", [], number(score, f"{what} score")))
            continue
        name = item.get("name")
        if not isinstance(name, str):
            raise ModelError(f"{what} has no label name")
        score = number(item.get("confidence", 1.0), f"{what} confidence")
        if "rectangle" in shapes:
            box = item.get("box")
            if not isinstance(box, dict):
                raise ModelError(f"{what} has no box")
            points = [number(box.get(k), f"{what} box.{k}") for k in ("x1", "y1", "x2", "y2")]
            found.append(Detection(name, "rectangle", points, score))
        if "polygon" in shapes and item.get("segments"):
            points = _xy(item["segments"], f"{what} segments")
            if len(points) >= 6:
                found.append(Detection(name, "polygon", points, score))
        if "points" in shapes and item.get("keypoints"):
            points = _xy(item["keypoints"], f"{what} keypoints")
            found.append(Detection(name, "points", points, score))
        if "tag" in shapes:
            found.append(Detection(name, "tag", [], score))
    return found


class DeepaasAdapter:
    def __init__(self, name: str, config: dict[str, Any]) -> None:
        self.name = name
        self.base = str(config.get("url", "")).rstrip("/")
        self.model = str(config.get("model") or name)
        self.field = str(config.get("field", "input"))
        self.params = {str(k): str(v) for k, v in (config.get("params") or {}).items()}
        self.shapes = tuple(config.get("shapes") or DEFAULT_SHAPES)
        self.points_params = {**POINTS_PARAMS, **(config.get("points_params") or {})}
        # Requests in flight at once during a run (httpx's client is thread-safe); one by
        # default, so a deployment is never sent more than its owner asked for.
        self.concurrency = int(config.get("concurrency", 1))
        headers = {"Accept": "application/json"}
        if config.get("token"):
            headers["Authorization"] = f"Bearer {config['token']}"
        self.client = httpx.Client(timeout=timeout_of(config), headers=headers)

    def detect(self, image: bytes, width: int, height: int) -> list[Detection]:
        return parse_ultralytics(self._predict(image, self.params), self.shapes)

    def interact(self, image: bytes, width: int, height: int, prompts: Any) -> list[Detection]:
        """The clicks as the declared extra parameters; polygons, boxes and masks come back."""
        names = self.points_params
        data = dict(self.params)
        data[names["pos"]] = json.dumps([list(p) for p in prompts.pos_points])
        data[names["neg"]] = json.dumps([list(p) for p in prompts.neg_points])
        if prompts.bounding_box is not None:
            data[names["box"]] = json.dumps([list(p) for p in prompts.bounding_box])
        return parse_ultralytics(self._predict(image, data), ("rectangle", "polygon"))

    def _predict(self, image: bytes, data: dict[str, str]) -> Any:
        url = f"{self.base}/v2/models/{self.model}/predict/"
        try:
            reply = self.client.post(
                url, files={self.field: ("frame.png", image, "image/png")}, data=data
            )
        except httpx.TimeoutException as exc:
            raise ModelError(f"no answer from {url} in time ({exc})") from exc
        except httpx.HTTPError as exc:
            raise ModelError(f"cannot reach {url} ({exc})") from exc
        if reply.status_code != 200:
            raise ModelError(f"{url} answered {reply.status_code}: {reply.text[:200]}")
        try:
            return reply.json()
        except ValueError as exc:
            raise ModelError(f"the reply of {url} is not JSON ({reply.text[:80]!r})") from exc

    def check(self) -> str:
        url = f"{self.base}/v2/models/{self.model}/"
        try:
            reply = self.client.get(url)
        except httpx.HTTPError as exc:
            raise ModelError(f"cannot reach {url} ({exc})") from exc
        if reply.status_code != 200:
            raise ModelError(f"{url} answered {reply.status_code}: {reply.text[:200]}")
        return f"DEEPaaS model '{self.model}' is up at {self.base}"
