"""The size-aware schedule: interval from the last backup's size, retry backoff, due checks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from labelvault.backups.config import Tier


def interval_for(tiers: list[Tier], last_size: int | None) -> timedelta:
    """The interval of the first tier whose size limit the last backup fits under.

    With no backup yet the lightest tier applies: the first backup is due at once anyway,
    and after it the real size decides.
    """
    size = last_size or 0
    for tier in tiers:
        if tier.max_size is None or size <= tier.max_size:
            return tier.interval
    return tiers[-1].interval


def backoff(failures: int, base: timedelta, cap: timedelta) -> timedelta:
    """Wait before retrying a failing target: base, 2×base, 4×base, ... up to `cap`."""
    if failures <= 0:
        return timedelta(0)
    return min(base * (2 ** min(failures - 1, 30)), cap)


def next_after_success(now: datetime, tiers: list[Tier], size: int | None) -> datetime:
    return now + interval_for(tiers, size)


def next_after_failure(now: datetime, failures: int, base: timedelta, cap: timedelta) -> datetime:
    return now + backoff(failures, base, cap)


def is_due(next_due: datetime | None, now: datetime) -> bool:
    return next_due is None or aware(next_due) <= now


def aware(value: datetime) -> datetime:
    """SQLite returns naive datetimes for UTC values; compare them as UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
