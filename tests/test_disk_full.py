"""The data disk filled (a small tmpfs): saves answer 507 "the disk is full", the job keeps
its old objects, the database stays intact, and once space is freed the next save works."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.backups.test_journal_crash import SRC, LiveServer, make_task
from tests.helpers.backups import annotate, labels_by_name


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", str(disk)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def _fill(disk: Path) -> Path:
    """Write until the disk refuses another byte."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        for size in (1024 * 1024, 4096, 1):
            try:
                while True:
                    os.write(fd, b"\0" * size)
            except OSError:
                pass
    finally:
        os.close(fd)
    return filler


def test_a_full_data_disk_is_507_and_loses_nothing(
    small_disk: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LABELVAULT_BACKUPS", "false")
    monkeypatch.setenv("LABELVAULT_SNAPSHOT_ON_EXIT", "false")
    data_dir = small_disk / "data"
    server = LiveServer(data_dir, str(tmp_path / "storage"), None)
    server.start()
    try:
        client = server.client()
        project_id = make_task(client)
        labels = labels_by_name(client, project_id)
        job = client.get("/api/jobs").json()["results"][0]
        before = annotate(client, job["id"], labels, frame=job["start_frame"], x=1.0)
        url = f"/api/jobs/{job['id']}/annotations"

        filler = _fill(small_disk)
        refused = 0
        for x in range(2, 12):
            shapes = [{**s, "points": [float(x)] + s["points"][1:]} for s in before["shapes"]]
            response = client.put(url, json={**before, "shapes": shapes * 50})
            assert response.status_code in (200, 507), response.text
            if response.status_code == 507:
                refused += 1
                assert "the disk is full" in response.json()["detail"]
        assert refused, "the disk never filled"
        now = client.get(url).json()
        # All-old or all-new: every shape of the job comes from one save.
        assert len({s["points"][0] for s in now["shapes"] if s["type"] == "rectangle"}) == 1

        filler.unlink()
        after = client.put(url, json={**before, "shapes": before["shapes"]})
        assert after.status_code == 200, after.text
        assert client.get(url).json()["version"] == after.json()["version"]
    finally:
        server.stop()
    with sqlite3.connect(data_dir / "labelvault.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)

    # A restart on a full disk refuses in one line saying so, instead of half starting.
    filler = _fill(small_disk)
    env = {
        **os.environ,
        "PYTHONPATH": str(SRC),
        "LABELVAULT_DATA_DIR": str(data_dir),
        "LABELVAULT_STORAGE_URL": str(tmp_path / "storage"),
        "LABELVAULT_ADMIN_PASSWORD": "crash-test-pass-1",
        "LABELVAULT_PORT": str(server.port),
    }
    refused = subprocess.run(
        [sys.executable, "-c", "from labelvault.cli import main; main()", "serve"],
        env=env,
        capture_output=True,
        timeout=120,
    )
    lines = (refused.stdout + refused.stderr).decode().strip().splitlines()
    assert refused.returncode == 1, lines
    assert len(lines) == 1 and "the disk is full" in lines[0], lines
    assert str(data_dir) in lines[0] and "no data was lost" in lines[0]

    # Space freed: the same data dir starts and holds the last save.
    filler.unlink()
    again = LiveServer(data_dir, str(tmp_path / "storage"), None)
    again.port = server.port
    again.start()
    try:
        client = again.client()
        assert client.get(url).json()["version"] == after.json()["version"]
    finally:
        again.stop()
