"""remote_files: concurrent downloads, the SSRF guard, limits and failures."""

from __future__ import annotations

import pytest

from labelvault.media import sources
from tests.media.conftest import jpeg_bytes, meta, new_task, nothing_left, post_data


def test_loopback_is_refused_by_default(app, admin, http_files) -> None:  # type: ignore[no-untyped-def]
    base, folder = http_files
    (folder / "a.jpg").write_bytes(jpeg_bytes())
    task = new_task(admin)
    status = post_data(admin, task["id"], {"remote_files": [f"{base}/a.jpg"]})
    assert status["status"] == "failed"
    assert "private or local address" in status["message"] and "a.jpg" in status["message"]
    nothing_left(app, task["id"])


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/x.jpg",
        "http://10.0.0.1/x.jpg",
        "http://[::1]/x.jpg",
        "http://0.0.0.0/x.jpg",
        "file:///etc/passwd",
    ],
)
def test_private_targets_are_refused(url: str) -> None:
    with pytest.raises(sources.SourceError):
        sources.check_target(url, [])


def test_allow_list_accepts_networks() -> None:
    sources.check_target("http://127.0.0.1:9/x.jpg", ["127.0.0.0/8"])
    sources.check_target("http://localhost:9/x.jpg", ["localhost"])


def test_remote_files_are_downloaded(app, admin, http_files, allow_local) -> None:  # type: ignore[no-untyped-def]
    base, folder = http_files
    for i in range(12):
        (folder / f"img{i:02d}.jpg").write_bytes(jpeg_bytes(30 + i, 20))
    urls = [f"{base}/img{i:02d}.jpg" for i in range(12)]
    task = new_task(admin)
    status = post_data(admin, task["id"], {"remote_files": urls, "sorting_method": "natural"})
    assert status["status"] == "finished", status
    frames = meta(admin, task["id"])["frames"]
    assert [f["width"] for f in frames] == [30 + i for i in range(12)]
    raw = app.state.settings.media_dir / "tasks" / str(task["id"]) / "raw"
    assert (raw / "img03.jpg").read_bytes() == (folder / "img03.jpg").read_bytes()


def test_remote_missing_file_fails_naming_it(app, admin, http_files, allow_local) -> None:  # type: ignore[no-untyped-def]
    base, folder = http_files
    (folder / "a.jpg").write_bytes(jpeg_bytes())
    task = new_task(admin)
    status = post_data(admin, task["id"], {"remote_files": [f"{base}/a.jpg", f"{base}/gone.jpg"]})
    assert status["status"] == "failed"
    assert "gone.jpg" in status["message"] and "404" in status["message"]
    nothing_left(app, task["id"])


def test_remote_size_limit(app, admin, http_files, allow_local, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(app.state.settings, "remote_max_bytes", 1000)
    base, folder = http_files
    (folder / "big.jpg").write_bytes(jpeg_bytes(400, 400, (1, 2, 3)) + b"\0" * 2000)
    task = new_task(admin)
    status = post_data(admin, task["id"], {"remote_files": [f"{base}/big.jpg"]})
    assert status["status"] == "failed"
    assert "big.jpg" in status["message"] and "limit" in status["message"]
    nothing_left(app, task["id"])


def test_remote_duplicate_names_are_refused(admin, http_files, allow_local) -> None:  # type: ignore[no-untyped-def]
    base, _ = http_files
    task = new_task(admin)
    status = post_data(admin, task["id"], {"remote_files": [f"{base}/x/a.jpg", f"{base}/y/a.jpg"]})
    assert status["status"] == "failed"
    assert "'a.jpg'" in status["message"]
