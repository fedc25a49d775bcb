"""Leases on periodic work: one holder at a time, renewed, taken over when run out or given up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from labelvault.backups import leases, snapshot_policy
from labelvault.backups.snapshots import list_snapshots

TTL = timedelta(seconds=30)


def test_one_holder_renews_and_another_takes_over_after_it_runs_out(make_service, clock) -> None:  # type: ignore[no-untyped-def]
    ctx = make_service()
    now = clock()
    assert leases.take(ctx, leases.MAINTENANCE, now, TTL, "server-a")
    assert not leases.take(ctx, leases.MAINTENANCE, now, TTL, "worker-b")
    # The holder renews it on every pass; the others still wait.
    assert leases.take(ctx, leases.MAINTENANCE, now + TTL / 2, TTL, "server-a")
    assert not leases.take(ctx, leases.MAINTENANCE, now + TTL, TTL, "worker-b")
    # The holder died: once its lease ran out, one other takes it.
    later = now + TTL / 2 + TTL
    assert leases.take(ctx, leases.MAINTENANCE, later, TTL, "worker-b")
    assert not leases.take(ctx, leases.MAINTENANCE, later, TTL, "server-a")
    # Given up on shutdown: the next one takes it at once; other leases are apart.
    leases.release(ctx, leases.MAINTENANCE, "worker-b")
    assert leases.take(ctx, leases.MAINTENANCE, later, TTL, "server-a")
    assert leases.take(ctx, leases.WATCHER, later, TTL, "worker-b")


def test_leases_stay_out_of_the_backup_status_list(make_service, clock, admin) -> None:  # type: ignore[no-untyped-def]
    ctx = make_service()
    assert leases.take(ctx, leases.MAINTENANCE, clock(), TTL, "server-a")
    answer = admin.get("/api/backups/status")
    assert answer.status_code == 200, answer.text
    assert all(row["target_type"] != leases.LEASE_TYPE for row in answer.json()["results"])


def test_two_watchers_give_one_snapshot_per_change_window(
    app, admin, make_service, local_storage
) -> None:  # type: ignore[no-untyped-def]
    """Two servers' watchers on one database and storage: one first-start snapshot, then
    one per change window, and the other takes over from the baseline the first recorded."""
    ctx = make_service()
    now = [datetime.now(UTC)]
    watchers = [snapshot_policy.SnapshotWatcher(ctx, every=0.1) for _ in range(2)]
    for name, watcher in zip(("server-a", "server-b"), watchers, strict=True):
        watcher.me = name
        watcher._now = lambda: now[0]  # type: ignore[method-assign]
        watcher.prime()
    made = [w.check_once() for w in watchers]
    assert [m is not None for m in made] == [True, False]  # the first start, once
    assert [s.reason for s in list_snapshots(local_storage)] == ["first start"]

    created = admin.post("/api/projects", json={"name": "changed", "labels": []})
    assert created.status_code == 201, created.text
    # The change is seen; past the window only the lease's holder snapshots.
    now[0] += timedelta(seconds=1)
    assert [w.check_once() for w in watchers] == [None, None]
    now[0] += snapshot_policy.COALESCE
    made = [w.check_once() for w in watchers]
    assert [m is not None for m in made] == [True, False]
    assert sorted(s.reason for s in list_snapshots(local_storage)) == ["change", "first start"]

    # The first stops (its lease given up): the second takes over from its baseline, so
    # the change already in a snapshot is not snapshotted again.
    watchers[0].stop()
    now[0] += snapshot_policy.COALESCE
    assert watchers[1].check_once() is None
    assert watchers[1]._leading  # it holds the lease now
    assert len(list_snapshots(local_storage)) == 2
