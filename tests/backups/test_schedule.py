"""The size-aware schedule and the rotation/quota plan, as pure functions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from labelvault.backups.config import BackupConfig, ConfigError, parse_size, parse_tiers
from labelvault.backups.rotation import Item, plan
from labelvault.backups.schedule import backoff, interval_for

MB = 10**6
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_default_tiers_follow_the_issue() -> None:
    config = BackupConfig(storage_url="/tmp/x")
    ann, full = config.tiers["annotations"], config.tiers["full"]
    assert interval_for(ann, 5 * MB) == timedelta(minutes=15)
    assert interval_for(ann, 5 * MB + 1) == timedelta(hours=1)
    assert interval_for(ann, 100 * MB + 1) == timedelta(hours=6)
    assert interval_for(full, 2000 * MB) == timedelta(days=1)
    assert interval_for(full, 50_000 * MB) == timedelta(days=7)
    assert interval_for(full, 50_000 * MB + 1) == timedelta(days=30)


def test_tiers_and_sizes_are_configurable(monkeypatch: pytest.MonkeyPatch) -> None:
    from labelvault.config import Settings

    monkeypatch.setenv("LABELVAULT_BACKUP_TIERS_ANNOTATIONS", "*:2h, 1kB:1m")
    monkeypatch.setenv("LABELVAULT_BACKUP_QUOTA", "1.5GB")
    config = BackupConfig.from_settings(Settings())
    assert interval_for(config.tiers["annotations"], 1000) == timedelta(minutes=1)
    assert interval_for(config.tiers["annotations"], 1001) == timedelta(hours=2)
    assert config.quota == 1_500_000_000
    assert parse_size("2GiB") == 2**31 and parse_size("none") is None
    with pytest.raises(ConfigError, match="last tier must cover any size"):
        parse_tiers("5MB:15m")
    with pytest.raises(ConfigError, match="cannot read size"):
        parse_size("lots")


def test_backoff_doubles_up_to_the_cap() -> None:
    base, cap = timedelta(minutes=1), timedelta(minutes=30)
    assert [backoff(n, base, cap).seconds // 60 for n in range(1, 8)] == [1, 2, 4, 8, 16, 30, 30]


def _items(key, times, size=10, good=True, start=1):  # type: ignore[no-untyped-def]
    return [Item(start + i, key, t, size, good) for i, t in enumerate(times)]


def test_annotation_rotation_keeps_the_newest_n() -> None:
    config = BackupConfig(storage_url="/tmp/x", keep_annotations=3)
    items = _items(("project", 1, "annotations"), [T0 + timedelta(hours=h) for h in range(6)])
    result = plan(items, config)
    assert sorted(result.rotate) == [1, 2, 3]


def test_full_rotation_keeps_daily_and_weekly() -> None:
    config = BackupConfig(storage_url="/tmp/x", keep_full_daily=2, keep_full_weekly=2)
    # Two backups a day for 20 days.
    times = [T0 + timedelta(days=d, hours=h) for d in range(20) for h in (0, 12)]
    items = _items(("project", 1, "full"), times)
    kept = {i.created for i in items} - {
        i.created for i in items if i.id in set(plan(items, config).rotate)
    }
    newest = times[-1]
    # Newest of each of the last 2 days, plus the newest of the previous ISO week.
    assert newest in kept and newest - timedelta(days=1) in kept
    assert len(kept) == 3
    previous_week = [t for t in times if t.isocalendar()[1] == newest.isocalendar()[1] - 1]
    assert max(previous_week) in kept


def test_quota_deletes_oldest_but_never_the_newest_good_backup() -> None:
    config = BackupConfig(storage_url="/tmp/x", quota=25)
    a = _items(("project", 1, "annotations"), [T0, T0 + timedelta(hours=1)], size=10)
    b = _items(("project", 2, "annotations"), [T0 + timedelta(minutes=5)], size=10, start=10)
    result = plan(a + b, config)
    assert result.quota == [1] and result.total_after == 20 and not result.warning

    tight = BackupConfig(storage_url="/tmp/x", quota=5)
    result = plan(a + b, tight)
    assert result.quota == [1]
    assert "over the quota" in result.warning and result.total_after == 20


def test_a_corrupt_newest_backup_does_not_protect_itself() -> None:
    config = BackupConfig(storage_url="/tmp/x", keep_annotations=1)
    items = _items(("project", 1, "annotations"), [T0], good=True) + _items(
        ("project", 1, "annotations"), [T0 + timedelta(hours=1)], good=False, start=2
    )
    # The corrupt one goes; the last good one stays even though it is older.
    assert plan(items, config).rotate == [2]
