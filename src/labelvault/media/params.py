"""The creation request: what a client may ask of new or appended task data, checked once."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from labelvault.errors import Invalid

SORTING_METHODS = ("lexicographical", "natural", "predefined", "random")


class DataError(Invalid):
    """Data cannot become (part of) a task; the message names the file and what to fix."""


def _or(value: int | None, default: int) -> int:
    return default if value is None else value


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "true", "yes", "on")


@dataclass
class DataParams:
    image_quality: int = 70
    sorting_method: str = "lexicographical"
    start_frame: int = 0
    stop_frame: int | None = None
    frame_filter: str = ""
    chunk_size: int | None = None
    upload_file_order: list[str] | None = None
    job_file_mapping: list[list[str]] | None = None
    seed: int = 0
    skip_broken: bool = False
    copy_data: bool = False
    append: bool = False
    server_files: list[str] = field(default_factory=list)
    server_files_exclude: list[str] = field(default_factory=list)
    remote_files: list[str] = field(default_factory=list)
    cloud_storage_id: int | None = None

    @classmethod
    def from_request(cls, raw: dict[str, Any]) -> DataParams:
        def integer(key: str, default: int | None) -> int | None:
            value = raw.get(key, default)
            if value is None or value == "":
                return default
            try:
                return int(value)
            except (TypeError, ValueError) as exc:
                raise DataError(f"{key} must be an integer, not {value!r}") from exc

        def names(key: str) -> list[str]:
            value = raw.get(key) or []
            if isinstance(value, str):
                value = [value]
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise DataError(f"{key} must be a list of strings")
            return list(value)

        params = cls(
            image_quality=_or(integer("image_quality", 70), 70),
            sorting_method=str(raw.get("sorting_method") or "lexicographical"),
            start_frame=_or(integer("start_frame", 0), 0),
            stop_frame=integer("stop_frame", None),
            frame_filter=str(raw.get("frame_filter") or ""),
            chunk_size=integer("chunk_size", None),
            upload_file_order=raw.get("upload_file_order") or None,
            job_file_mapping=raw.get("job_file_mapping") or None,
            skip_broken=_bool(raw.get("skip_broken", False)),
            copy_data=_bool(raw.get("copy_data", False)),
            append=_bool(raw.get("append", False)),
            server_files=names("server_files"),
            server_files_exclude=names("server_files_exclude"),
            remote_files=names("remote_files"),
            cloud_storage_id=integer("cloud_storage_id", None),
        )
        if not 1 <= params.image_quality <= 100:
            raise DataError("image_quality must be between 1 and 100")
        if params.sorting_method not in SORTING_METHODS:
            raise DataError(f"sorting_method must be one of {', '.join(SORTING_METHODS)}")
        if params.frame_filter and not re.fullmatch(r"step=[1-9]\d*", params.frame_filter):
            raise DataError("frame_filter must look like step=N with N ≥ 1")
        if params.chunk_size is not None and params.chunk_size < 1:
            raise DataError("chunk_size must be positive")
        if params.start_frame < 0:
            raise DataError("start_frame must not be negative")
        if params.stop_frame is not None and params.stop_frame < params.start_frame:
            raise DataError("stop_frame must not be before start_frame")
        if params.remote_files and (params.server_files or params.cloud_storage_id):
            raise DataError("send either remote_files or server_files, not both")
        if params.cloud_storage_id is not None and not params.server_files:
            raise DataError("cloud_storage_id needs server_files: the keys (or prefixes/) to use")
        if params.append and (
            params.start_frame or params.stop_frame is not None or params.frame_filter
        ):
            raise DataError(
                "start_frame, stop_frame and frame_filter cannot be used when appending; "
                "choose the files to append instead"
            )
        if params.append and params.job_file_mapping:
            raise DataError("job_file_mapping cannot be used when appending")
        return params

    @property
    def step(self) -> int:
        return int(self.frame_filter.split("=")[1]) if self.frame_filter else 1
