"""Backup settings: storage URL, quota, schedule tiers and rotation, from Settings or env."""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from labelvault.config import Settings
from labelvault.errors import Invalid

KINDS = ("annotations", "full")

_SIZE_UNITS = {
    "": 1,
    "b": 1,
    "k": 10**3,
    "kb": 10**3,
    "m": 10**6,
    "mb": 10**6,
    "g": 10**9,
    "gb": 10**9,
    "t": 10**12,
    "tb": 10**12,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
}
_TIME_UNITS = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


class ConfigError(Invalid):
    """A backup setting cannot be understood; the message shows the expected form."""


def parse_size(value: str | int | float | None) -> int | None:
    """'10GB', '500 MiB', '1048576' -> bytes; None/''/'0'/'none' -> no limit."""
    if value is None or isinstance(value, int | float):
        return None if not value else int(value)
    text = value.strip().lower()
    if text in ("", "0", "none", "unlimited", "*", "inf"):
        return None
    match = re.fullmatch(r"([0-9.]+)\s*([a-z]*)", text)
    if not match or match.group(2) not in _SIZE_UNITS:
        raise ConfigError(f"cannot read size {value!r}: write e.g. 500MB, 10GB or 2GiB")
    return int(float(match.group(1)) * _SIZE_UNITS[match.group(2)])


def parse_duration(value: str | int | float | timedelta) -> timedelta:
    """'15m', '6h', '1d', '2w', or seconds."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int | float):
        return timedelta(seconds=value)
    match = re.fullmatch(r"([0-9.]+)\s*([a-z]*)", value.strip().lower())
    if not match or (match.group(2) or "s") not in _TIME_UNITS:
        raise ConfigError(f"cannot read duration {value!r}: write e.g. 15m, 6h, 1d or 1w")
    return timedelta(seconds=float(match.group(1)) * _TIME_UNITS[match.group(2) or "s"])


@dataclass(frozen=True)
class Tier:
    """Backups up to `max_size` bytes (None: any size) are made every `interval`."""

    max_size: int | None
    interval: timedelta


def parse_tiers(text: str) -> list[Tier]:
    """'5MB:15m,100MB:1h,*:6h' -> tiers sorted by size, the last one open-ended."""
    tiers = []
    for part in text.split(","):
        size, sep, interval = part.strip().rpartition(":")
        if not sep:
            raise ConfigError(f"a tier is SIZE:INTERVAL, e.g. 5MB:15m, not {part!r}")
        tiers.append(Tier(parse_size(size), parse_duration(interval)))
    tiers.sort(key=lambda t: math.inf if t.max_size is None else t.max_size)
    if tiers[-1].max_size is not None:
        raise ConfigError(f"the last tier must cover any size (*:INTERVAL): {text!r}")
    return tiers


DEFAULT_TIERS = {
    "annotations": "5MB:15m,100MB:1h,*:6h",
    "full": "2GB:1d,50GB:7d,*:30d",
}


@dataclass
class BackupConfig:
    """Everything the backup machinery reads; built by `from_settings`."""

    storage_url: str
    quota: int | None = None
    tiers: dict[str, list[Tier]] = field(
        default_factory=lambda: {k: parse_tiers(v) for k, v in DEFAULT_TIERS.items()}
    )
    keep_annotations: int = 48
    keep_full_daily: int = 7
    keep_full_weekly: int = 4
    snapshot_interval: timedelta = timedelta(hours=6)
    snapshot_keep: int = 10
    snapshot_on_exit: bool = True
    enabled: bool = True
    # Which kinds the scheduler makes; e.g. ("annotations",) where storage is too small for media.
    kinds: tuple[str, ...] = KINDS
    retry_base: timedelta = timedelta(minutes=1)
    retry_max: timedelta = timedelta(hours=1)
    tick: timedelta = timedelta(minutes=1)

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> BackupConfig:
        """Fields of Settings win (once they exist there), then LABELVAULT_* env, then defaults."""

        def pick(name: str) -> Any:
            if name in overrides:
                return overrides[name]
            value = getattr(settings, name, None)
            if value is None:
                value = os.environ.get(f"LABELVAULT_{name.upper()}")
            return value

        url = pick("storage_url") or settings.resolved_storage_url
        config = cls(storage_url=str(url))
        config.quota = parse_size(pick("backup_quota"))
        tiers = dict(config.tiers)
        for kind in KINDS:
            text = pick(f"backup_tiers_{kind}")
            if text:
                tiers[kind] = parse_tiers(str(text))
        config.tiers = tiers
        for name, attr in (
            ("backup_keep_annotations", "keep_annotations"),
            ("backup_keep_full_daily", "keep_full_daily"),
            ("backup_keep_full_weekly", "keep_full_weekly"),
            ("snapshot_keep", "snapshot_keep"),
        ):
            value = pick(name)
            if value not in (None, ""):
                setattr(config, attr, int(value))
        for name, attr in (
            ("snapshot_interval", "snapshot_interval"),
            ("backup_tick", "tick"),
            ("backup_retry_base", "retry_base"),
            ("backup_retry_max", "retry_max"),
        ):
            value = pick(name)
            if value not in (None, ""):
                setattr(config, attr, parse_duration(value))
        kinds = pick("backup_kinds")
        if kinds:
            chosen = tuple(k.strip() for k in str(kinds).split(",") if k.strip())
            unknown = [k for k in chosen if k not in KINDS]
            if unknown:
                raise ConfigError(f"unknown backup kinds {unknown}: use annotations and/or full")
            config.kinds = chosen
        for name, attr in (("snapshot_on_exit", "snapshot_on_exit"), ("backups", "enabled")):
            value = pick(name)
            if value not in (None, ""):
                setattr(config, attr, _bool(value))
        return config


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() not in ("0", "false", "no", "off")
