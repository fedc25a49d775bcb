"""The same annotation workloads spoken in LabelVault's (CVAT) API and in Label Studio's API."""

from __future__ import annotations

import copy
import io
import json
import time
import zipfile
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from dataset import HEIGHT, LABELS, WIDTH, Dataset, place

# Both servers get the same batching: Label Studio refuses more than 100 files per
# request by default (DATA_UPLOAD_MAX_NUMBER_FILES), so neither side sends more.
UPLOAD_BATCH = 100
TIMEOUT = httpx.Timeout(1800.0, connect=10.0)


class NotAvailable(Exception):
    """The server has no endpoint for this workload (yet); the report says so."""


@dataclass
class Imported:
    """What a client learned about imported images: server ids per frame, for later steps."""

    project_id: int
    task_id: int | None = None
    # Label Studio: one task per image; LabelVault: one task, frames in name order.
    task_ids: list[int] = field(default_factory=list)
    job_of_frame: list[int] = field(default_factory=list)
    label_ids: dict[str, int] = field(default_factory=dict)
    saved: list[Any] = field(default_factory=list)


def count_export(blob: bytes) -> int:
    """Boxes in a COCO or YOLO zip, read independently of either server."""
    boxes = 0
    with zipfile.ZipFile(io.BytesIO(blob)) as archive:
        for name in archive.namelist():
            if name.endswith(".json"):
                data = json.loads(archive.read(name))
                if isinstance(data, dict) and isinstance(data.get("annotations"), list):
                    boxes += len(data["annotations"])
            elif name.endswith(".txt"):
                for line in archive.read(name).decode().splitlines():
                    parts = line.split()
                    if len(parts) == 5 and parts[0].isdigit():
                        boxes += 1
    return boxes


class Client(ABC):
    """One server under test; each method is one workload, timed by the caller."""

    name: str

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        self.http = httpx.Client(base_url=url, headers=headers, timeout=TIMEOUT)

    def close(self) -> None:
        self.http.close()

    def check(self, response: httpx.Response, *ok: int) -> httpx.Response:
        if response.status_code not in (ok or (200, 201, 202, 204)):
            raise RuntimeError(
                f"{self.name}: {response.request.method} {response.request.url} -> "
                f"{response.status_code}: {response.text[:500]}"
            )
        return response

    @abstractmethod
    def create_project(self, name: str) -> int: ...

    @abstractmethod
    def import_upload(self, project_id: int, dataset: Dataset) -> Imported: ...

    @abstractmethod
    def import_share(self, project_id: int, dataset: Dataset, folder: str) -> Imported: ...

    @abstractmethod
    def stage_share(self, dataset: Dataset, folder: str) -> None:
        """Put the files where the server reads them in place (untimed, like a mount)."""

    @abstractmethod
    def resolve(self, imported: Imported, dataset: Dataset) -> None:
        """Look up ids the next steps need (untimed on both sides)."""

    @abstractmethod
    def import_boxes(self, imported: Imported, dataset: Dataset) -> None: ...

    @abstractmethod
    def read_annotations(self, imported: Imported) -> int:
        """Read every box back; returns how many came back."""

    @abstractmethod
    def export(self, imported: Imported, fmt: str) -> int:
        """Export and download a dataset (no images); returns boxes found in it."""

    @abstractmethod
    def save_one(self, imported: Imported, index: int) -> None:
        """An annotator moves one box on one image and the editor saves."""

    @abstractmethod
    def delete_project(self, project_id: int) -> None: ...


class LabelVaultClient(Client):
    """CVAT's REST API as cvat-sdk and CVAT's UI use it, with a personal access token."""

    name = "LabelVault"
    formats = {"COCO": "COCO 1.0", "YOLO": "YOLO 1.1"}
    data_params = {
        # What cvat-cli sends by default on Upload-Finish.
        "image_quality": 70,
        "copy_data": False,
        "sorting_method": "lexicographical",
        "use_cache": False,
        "use_zip_chunks": False,
    }

    def __init__(self, url: str, username: str, password: str, share_root: Path | None) -> None:
        login = httpx.post(
            f"{url}/api/auth/login",
            json={"username": username, "password": password},
            timeout=TIMEOUT,
        )
        login.raise_for_status()
        csrf = login.cookies["csrftoken"]
        token = httpx.post(
            f"{url}/api/auth/access_tokens",
            json={"name": "bench"},
            cookies=login.cookies,
            headers={"X-CSRFToken": csrf},
            timeout=TIMEOUT,
        )
        token.raise_for_status()
        super().__init__(url, {"Authorization": f"Bearer {token.json()['value']}"})
        self.share_root = share_root

    def wait(self, rq_id: str) -> dict[str, Any]:
        delay = 0.02
        while True:
            request = self.check(self.http.get(f"/api/requests/{rq_id}")).json()
            if request["status"] == "finished":
                return request
            if request["status"] == "failed":
                raise RuntimeError(f"LabelVault request {rq_id} failed: {request.get('message')}")
            # Short polls first so a quick request is not charged a long sleep.
            time.sleep(delay)
            delay = min(delay * 2, 0.5)

    def create_project(self, name: str) -> int:
        labels = [{"name": label, "type": "rectangle"} for label in LABELS]
        response = self.http.post("/api/projects", json={"name": name, "labels": labels})
        return int(self.check(response).json()["id"])

    def _new_task(self, project_id: int, name: str) -> int:
        response = self.http.post("/api/tasks", json={"name": name, "project_id": project_id})
        return int(self.check(response).json()["id"])

    def import_upload(self, project_id: int, dataset: Dataset) -> Imported:
        task_id = self._new_task(project_id, "upload")
        url = f"/api/tasks/{task_id}/data/"
        self.check(self.http.post(url, headers={"Upload-Start": ""}))
        for start in range(0, dataset.n, UPLOAD_BATCH):
            batch = dataset.images[start : start + UPLOAD_BATCH]
            files = [
                (f"client_files[{i}]", (p.name, p.read_bytes(), "image/jpeg"))
                for i, p in enumerate(batch)
            ]
            response = self.http.post(
                url, headers={"Upload-Multiple": ""}, data={"image_quality": "70"}, files=files
            )
            self.check(response)
        response = self.http.post(url, headers={"Upload-Finish": ""}, json=self.data_params)
        self.wait(self.check(response).json()["rq_id"])
        return Imported(project_id, task_id)

    def stage_share(self, dataset: Dataset, folder: str) -> None:
        if self.share_root is None:
            raise NotAvailable("no share folder known for this server")
        place(dataset, self.share_root / folder)

    def import_share(self, project_id: int, dataset: Dataset, folder: str) -> Imported:
        task_id = self._new_task(project_id, "share")
        body = self.data_params | {"server_files": [f"{folder}/{p.name}" for p in dataset.images]}
        response = self.http.post(f"/api/tasks/{task_id}/data/", json=body)
        if response.status_code in (400, 404, 405, 501) and "not supported" in response.text:
            raise NotAvailable(response.text[:200])
        self.wait(self.check(response).json()["rq_id"])
        return Imported(project_id, task_id)

    def resolve(self, imported: Imported, dataset: Dataset) -> None:
        labels = self.check(
            self.http.get(
                "/api/labels", params={"project_id": imported.project_id, "page_size": 500}
            )
        ).json()["results"]
        imported.label_ids = {label["name"]: label["id"] for label in labels}
        jobs = self.check(
            self.http.get("/api/jobs", params={"task_id": imported.task_id, "page_size": 10_000})
        ).json()["results"]
        imported.job_of_frame = [0] * dataset.n
        for job in jobs:
            for frame in range(job["start_frame"], job["stop_frame"] + 1):
                imported.job_of_frame[frame] = job["id"]

    def import_boxes(self, imported: Imported, dataset: Dataset) -> None:
        label_ids = [imported.label_ids[name] for name in LABELS]
        shapes = [
            {
                "type": "rectangle",
                "frame": frame,
                "label_id": label_ids[b.label],
                "points": [b.x, b.y, b.x + b.w, b.y + b.h],
                "source": "manual",
                "occluded": False,
                "z_order": 0,
                "attributes": [],
            }
            for frame, boxes in enumerate(dataset.boxes)
            for b in boxes
        ]
        body = {"version": 0, "tags": [], "shapes": shapes, "tracks": []}
        response = self.http.put(f"/api/tasks/{imported.task_id}/annotations/", json=body)
        self.check(response)

    def read_annotations(self, imported: Imported) -> int:
        response = self.check(self.http.get(f"/api/tasks/{imported.task_id}/annotations/"))
        shapes = response.json()["shapes"]
        # Keep one box per frame for the save-latency workload.
        first: dict[int, dict[str, Any]] = {}
        for shape in shapes:
            first.setdefault(shape["frame"], shape)
        imported.saved = [first[f] for f in sorted(first)]
        return len(shapes)

    def export(self, imported: Imported, fmt: str) -> int:
        response = self.http.post(
            f"/api/tasks/{imported.task_id}/dataset/export",
            params={"format": self.formats[fmt], "save_images": "False", "location": "local"},
        )
        if response.status_code in (404, 405, 501):
            raise NotAvailable(f"dataset export answered {response.status_code}")
        request = self.wait(self.check(response).json()["rq_id"])
        blob = self.check(self.http.get(request["result_url"])).content
        return count_export(blob)

    def save_one(self, imported: Imported, index: int) -> None:
        shape = imported.saved[index % len(imported.saved)]
        # Move by one pixel and back on the next visit, so boxes stay in the image.
        step = 1.0 if (index // len(imported.saved)) % 2 == 0 else -1.0
        shape["points"] = [p + step for p in shape["points"]]
        body = {"version": 0, "tags": [], "shapes": [shape], "tracks": []}
        job_id = imported.job_of_frame[shape["frame"]]
        response = self.http.patch(
            f"/api/jobs/{job_id}/annotations/", params={"action": "update"}, json=body
        )
        self.check(response)

    def delete_project(self, project_id: int) -> None:
        self.check(self.http.delete(f"/api/projects/{project_id}"))


def label_config() -> str:
    """Label Studio's labeling config for a 5-label box project."""
    labels = "".join(f'<Label value="{name}"/>' for name in LABELS)
    return (
        '<View><Image name="image" value="$image"/>'
        f'<RectangleLabels name="label" toName="image">{labels}</RectangleLabels></View>'
    )


def ls_region(index: int, label: int, x: float, y: float, w: float, h: float) -> dict[str, Any]:
    # Label Studio stores boxes in percent of the image, with the original size alongside.
    return {
        "id": f"b{index}",
        "from_name": "label",
        "to_name": "image",
        "type": "rectanglelabels",
        "original_width": WIDTH,
        "original_height": HEIGHT,
        "image_rotation": 0,
        "value": {
            "x": x / WIDTH * 100,
            "y": y / HEIGHT * 100,
            "width": w / WIDTH * 100,
            "height": h / HEIGHT * 100,
            "rotation": 0,
            "rectanglelabels": [LABELS[label]],
        },
    }


class LabelStudioClient(Client):
    """Label Studio's REST API with the user's token, each step by its fastest documented call."""

    name = "Label Studio"

    def __init__(self, url: str, token: str, files_root: Path, boxes_path: str = "bulk") -> None:
        super().__init__(url, {"Authorization": f"Token {token}"})
        self.files_root = files_root
        self.boxes_path = boxes_path

    def create_project(self, name: str) -> int:
        body = {"title": name, "label_config": label_config()}
        return int(self.check(self.http.post("/api/projects", json=body)).json()["id"])

    def import_upload(self, project_id: int, dataset: Dataset) -> Imported:
        for start in range(0, dataset.n, UPLOAD_BATCH):
            batch = dataset.images[start : start + UPLOAD_BATCH]
            files = {p.name: (p.name, p.read_bytes(), "image/jpeg") for p in batch}
            response = self.http.post(
                f"/api/projects/{project_id}/import",
                params={"commit_to_project": "true"},
                files=files,
            )
            if self.check(response).json().get("task_count") != len(batch):
                raise RuntimeError(f"Label Studio import: {response.text[:300]}")
        return Imported(project_id)

    def stage_share(self, dataset: Dataset, folder: str) -> None:
        place(dataset, self.files_root / folder)

    def import_share(self, project_id: int, dataset: Dataset, folder: str) -> Imported:
        body = {
            "project": project_id,
            "path": str(self.files_root / folder),
            "regex_filter": r".*\.jpg",
            "use_blob_urls": True,
            "title": folder,
        }
        storage = self.check(self.http.post("/api/storages/localfiles", json=body)).json()
        self.check(self.http.post(f"/api/storages/localfiles/{storage['id']}/sync"))
        delay = 0.02
        while True:
            status = self.check(self.http.get(f"/api/storages/localfiles/{storage['id']}")).json()
            if status["status"] == "completed":
                break
            if status["status"] == "failed":
                raise RuntimeError(f"Label Studio sync failed: {status.get('traceback')}")
            time.sleep(delay)
            delay = min(delay * 2, 0.5)
        count = self.check(self.http.get(f"/api/projects/{project_id}")).json()["task_number"]
        if count != dataset.n:
            raise RuntimeError(f"Label Studio sync made {count} tasks, expected {dataset.n}")
        return Imported(project_id)

    def resolve(self, imported: Imported, dataset: Dataset) -> None:
        # Pages of 100: one big page fails on SQLite ("Expression tree is too large").
        tasks: list[dict[str, Any]] = []
        page = 1
        while len(tasks) < dataset.n:
            params = {"project": imported.project_id, "page_size": 100, "page": page}
            batch = self.check(self.http.get("/api/tasks", params=params)).json()["tasks"]
            if not batch:
                break
            tasks += batch
            page += 1
        # Uploaded files get a random prefix: "<8 hex>-img_000001.jpg".
        by_name = {t["data"]["image"].rsplit("/", 1)[-1].split("-", 1)[-1]: t["id"] for t in tasks}
        imported.task_ids = [by_name[p.name] for p in dataset.images]

    def import_boxes(self, imported: Imported, dataset: Dataset) -> None:
        results = [
            [ls_region(i, b.label, b.x, b.y, b.w, b.h) for i, b in enumerate(boxes)]
            for boxes in dataset.boxes
        ]
        if self.boxes_path == "per-task":
            for task_id, result in zip(imported.task_ids, results, strict=True):
                self.check(
                    self.http.post(f"/api/tasks/{task_id}/annotations", json={"result": result})
                )
            return
        # Bulk: all predictions in one request, then the data manager's action turns
        # every prediction into an annotation in one more.
        predictions = [
            {"task": task_id, "model_version": "bench", "score": 1.0, "result": result}
            for task_id, result in zip(imported.task_ids, results, strict=True)
        ]
        self.check(
            self.http.post(
                f"/api/projects/{imported.project_id}/import/predictions", json=predictions
            )
        )
        self.check(
            self.http.post(
                "/api/dm/actions",
                params={"id": "predictions_to_annotations", "project": imported.project_id},
                json={"selectedItems": {"all": True, "excluded": []}},
            )
        )

    def _export(self, project_id: int, export_type: str) -> httpx.Response:
        params = {
            "exportType": export_type,
            "download_all_tasks": "true",
            # The peer of save_images=False: annotations only, no image files.
            "download_resources": "false",
        }
        return self.check(self.http.get(f"/api/projects/{project_id}/export", params=params))

    def read_annotations(self, imported: Imported) -> int:
        # The JSON export is Label Studio's one call that returns every task's annotations.
        tasks = self._export(imported.project_id, "JSON").json()
        by_task = {t["id"]: t["annotations"][0] for t in tasks if t["annotations"]}
        imported.saved = [by_task[t] for t in imported.task_ids if t in by_task]
        return sum(len(a["result"]) for t in tasks for a in t["annotations"])

    def export(self, imported: Imported, fmt: str) -> int:
        return count_export(self._export(imported.project_id, fmt).content)

    def save_one(self, imported: Imported, index: int) -> None:
        annotation = imported.saved[index % len(imported.saved)]
        step = 0.1 if (index // len(imported.saved)) % 2 == 0 else -0.1
        result = copy.deepcopy(annotation["result"])
        result[0]["value"]["x"] += step
        annotation["result"] = result
        # Label Studio's editor sends the whole result of the image on every save.
        response = self.http.patch(f"/api/annotations/{annotation['id']}", json={"result": result})
        self.check(response)

    def delete_project(self, project_id: int) -> None:
        self.check(self.http.delete(f"/api/projects/{project_id}"))
