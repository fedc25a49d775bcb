"""Label Studio ML backends: POST {url}/predict as Label Studio sends it, its results as shapes.

Label Studio sends {"tasks": [{"id", "data": {"image": ...}}], "label_config", "project",
"params"}; the backend answers {"results": [{"result": [...], "score"}]} (older ones: a bare
list), each region with `type` (rectanglelabels, polygonlabels, keypointlabels, choices) and a
`value` in percent of the image (x, y, width, height; points [[x, y], ...]).
"""

from __future__ import annotations

import base64
from typing import Any

import httpx

from labelvault.models_ai.adapters.base import Detection, ModelError, number, timeout_of


def _regions(reply: Any) -> list[dict]:
    if isinstance(reply, dict):
        reply = reply.get("results", reply.get("predictions"))
    if not isinstance(reply, list):
        raise ModelError(f"the reply has no results list ({str(reply)[:80]!r})")
    regions: list[dict] = []
    for prediction in reply[:1]:  # one task sent, one prediction back
        result = prediction.get("result") if isinstance(prediction, dict) else None
        if not isinstance(result, list):
            raise ModelError("the prediction has no `result` list")
        regions += result
    return regions


def parse_results(reply: Any, width: int, height: int) -> list[Detection]:
    found = []
    for index, region in enumerate(_regions(reply)):
        what = f"region {index}"
        value = region.get("value") if isinstance(region, dict) else None
        if not isinstance(value, dict):
            raise ModelError(f"{what} has no value")
        kind = str(region.get("type", ""))
        names = value.get(kind) or []
        if not isinstance(names, list) or not names:
            raise ModelError(f"{what} names no label in value.{kind}")
        score = number(region.get("score", 1.0), f"{what} score")
        sx, sy = width / 100.0, height / 100.0
        for name in names:
            if kind == "choices":
                found.append(Detection(str(name), "tag", [], score))
            elif kind == "rectanglelabels":
                x, y = number(value.get("x"), what) * sx, number(value.get("y"), what) * sy
                w = number(value.get("width"), what) * sx
                h = number(value.get("height"), what) * sy
                found.append(Detection(str(name), "rectangle", [x, y, x + w, y + h], score))
            elif kind in ("polygonlabels", "keypointlabels"):
                pairs = value.get("points") or [[value.get("x"), value.get("y")]]
                points: list[float] = []
                for pair in pairs:
                    points += [number(pair[0], what) * sx, number(pair[1], what) * sy]
                shape = "polygon" if kind == "polygonlabels" else "points"
                found.append(Detection(str(name), shape, points, score))
            else:
                raise ModelError(f"{what} has type '{kind}', which LabelVault cannot map")
    return found


class LabelStudioAdapter:
    def __init__(self, name: str, config: dict[str, Any]) -> None:
        self.name = name
        self.url = str(config.get("url", "")).rstrip("/")
        self.label_config = str(config.get("label_config", ""))
        headers = {"Authorization": f"Token {config['token']}"} if config.get("token") else {}
        self.client = httpx.Client(timeout=timeout_of(config), headers=headers)

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        url = f"{self.url}{path}"
        try:
            reply = self.client.request(method, url, **kwargs)
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

    def detect(self, image: bytes, width: int, height: int) -> list[Detection]:
        data_url = "data:image/png;base64," + base64.b64encode(image).decode()
        body = {
            "tasks": [{"id": 1, "data": {"image": data_url}}],
            "label_config": self.label_config,
            "project": "labelvault",
            "params": {"context": None},
        }
        return parse_results(self._call("POST", "/predict", json=body), width, height)

    def check(self) -> str:
        reply = self._call("GET", "/health")
        status = reply.get("status") if isinstance(reply, dict) else None
        if status != "UP":
            raise ModelError(f"{self.url}/health says {reply!r:.80}")
        return f"Label Studio ML backend at {self.url} is UP"
