"""Browser tests of the admin banners fed by GET /api/server/status (backups at risk or behind)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.e2e.browser.conftest import login, shot

SAME_DISK = "Backups are kept on the same disk as the data — a lost disk loses both."


def status_reply(same_disk: bool = False, journal: dict | None = None) -> dict:
    return {
        "instance": "e2e",
        "storage": {"url": "file:///srv/b", "same_disk_as_data": same_disk, "required": False},
        "journal": journal,
    }


def route_status(page: Any, status: int, body: Any = None) -> list[str]:
    """Answer /api/server/status with `status`/`body`; returns the list of URLs it answered."""
    seen: list[str] = []

    def handle(route: Any) -> None:
        seen.append(route.request.url)
        route.fulfill(
            status=status,
            content_type="application/json",
            body=json.dumps(body if body is not None else {"detail": "Not found."}),
        )

    page.route("**/api/server/status", handle)
    return seen


def banners(page: Any) -> Any:
    return page.locator("#server-banners").get_by_role("alert")


def test_same_disk_storage_shows_a_banner_an_admin_can_dismiss(page: Any) -> None:
    seen = route_status(page, 200, status_reply(same_disk=True))
    login(page)
    risk = page.get_by_role("alert", name="Backup risk")
    expect(risk).to_contain_text(SAME_DISK)
    expect(risk).to_contain_text("Set LABELVAULT_STORAGE_URL to a WebDAV, S3, Azure or GCS")
    expect(banners(page)).to_have_count(1)  # the journal is fine: no second banner
    shot(page, "admin-banner-same-disk")
    page.get_by_role("link", name="Tasks").click()
    page.wait_for_url("**/tasks")
    expect(risk).to_be_visible()  # stays across screens
    assert len(seen) == 1  # fetched once per signed-in user, not per screen
    risk.get_by_role("button", name="Dismiss").click()
    expect(banners(page)).to_have_count(0)
    page.get_by_role("link", name="Projects").click()
    page.wait_for_url("**/projects")
    expect(banners(page)).to_have_count(0)  # dismissed for this session


def test_separate_storage_shows_no_banner(page: Any) -> None:
    seen = route_status(page, 200, status_reply(same_disk=False, journal=None))
    login(page)
    page.get_by_role("heading", name="Projects").wait_for()
    page.wait_for_load_state("networkidle")
    assert seen  # it asked, and nothing was wrong
    expect(banners(page)).to_have_count(0)


@pytest.mark.parametrize(
    ("journal", "text"),
    [
        (
            {"lag_seconds": 12.0, "pending": 3, "last_error": "WebDAV: 507 Insufficient Storage"},
            "Backups are behind: WebDAV: 507 Insufficient Storage",
        ),
        ({"lag_seconds": 600, "pending": 40, "last_error": None}, "Backups are behind:"),
    ],
    ids=["last-error", "lagging"],
)
def test_backups_behind_shows_a_warning(page: Any, journal: dict, text: str) -> None:
    route_status(page, 200, status_reply(same_disk=False, journal=journal))
    login(page)
    warning = page.get_by_role("alert", name="Backup warning")
    expect(warning).to_contain_text(text)
    expect(banners(page)).to_have_count(1)
    if journal["last_error"]:
        shot(page, "admin-banner-backups-behind")


def test_journal_within_a_minute_shows_nothing(page: Any) -> None:
    seen = route_status(
        page, 200, status_reply(journal={"lag_seconds": 30, "pending": 2, "last_error": None})
    )
    login(page)
    page.wait_for_load_state("networkidle")
    assert seen
    expect(banners(page)).to_have_count(0)


def test_older_server_answering_404_shows_nothing(page: Any) -> None:
    seen = route_status(page, 404)
    login(page)
    page.wait_for_load_state("networkidle")
    assert seen
    expect(banners(page)).to_have_count(0)
    expect(page.locator(".toast")).to_have_count(0)


def test_the_real_server_without_routing_shows_no_error(page: Any, api: httpx.Client) -> None:
    real = api.get("/api/server/status")
    login(page)
    page.get_by_role("heading", name="Projects").wait_for()
    page.wait_for_load_state("networkidle")
    expect(page.locator(".toast")).to_have_count(0)  # no error toast, whatever the server says
    if real.status_code == 404:  # the endpoint is not there (yet): nothing at all is shown
        expect(banners(page)).to_have_count(0)
    else:  # once it lands, the banners follow its reply
        assert real.status_code == 200, real.text
        expected = int(bool(real.json()["storage"]["same_disk_as_data"]))
        expect(page.get_by_role("alert", name="Backup risk")).to_have_count(expected)
