"""The organization switcher and page in chromium: create, invite, accept by link, change a role."""

from __future__ import annotations

import re
from typing import Any

import httpx
from playwright.sync_api import expect

from tests.e2e.browser.conftest import login


def test_organization_invite_accept_and_role(
    page: Any, browser: Any, api: httpx.Client, server: str
) -> None:
    made = api.post(
        "/api/users",
        json={"username": "wanda", "password": "wanda-pass-123", "email": "wanda@example.org"},
    )
    assert made.status_code == 201, made.text
    login(page)
    page.get_by_role("link", name="Organization").click()
    page.get_by_label("Short name (slug)").fill("studio")
    page.get_by_label("Full name").fill("Studio")
    page.get_by_role("button", name="Create organization").click()
    page.get_by_role("heading", name="Organization Studio").wait_for()
    expect(page.get_by_label("Organization", exact=True)).to_have_value("studio")

    page.get_by_label("E-mail").fill("wanda@example.org")
    page.get_by_label("Role").select_option("worker")
    page.get_by_role("button", name="Invite").click()
    link = page.get_by_label("Invitation link").inner_text()
    assert re.search(r"/invitations/[\w-]+$", link), link
    # Work made while the organization is chosen belongs to it.
    page.get_by_role("link", name="Projects").click()
    page.get_by_role("button", name="Create project").click()
    page.get_by_label("Name", exact=True).fill("Studio work")
    page.get_by_role("button", name="Create project").click()
    page.wait_for_url(re.compile(r"/projects/\d+$"))
    project = api.get(f"/api/projects/{page.url.rsplit('/', 1)[1]}").json()
    org = api.get("/api/organizations", params={"slug": "studio"}).json()["results"][0]
    assert project["organization"] == org["id"]

    # The invited person opens the link in their own browser and accepts.
    other = browser.new_context(base_url=server, viewport={"width": 1280, "height": 800})
    guest = other.new_page()
    guest.set_default_timeout(15000)
    login(guest, "wanda", "wanda-pass-123")
    guest.goto(link)
    guest.get_by_text("as worker").wait_for()
    guest.get_by_role("button", name="Accept").click()
    guest.get_by_role("heading", name="Organization Studio").wait_for()
    guest.get_by_role("link", name="Projects").click()
    guest.get_by_text("No projects yet").wait_for()  # a worker sees only what is assigned
    other.close()

    page.get_by_role("link", name="Organization").click()
    page.get_by_label("Role of wanda").select_option("supervisor")
    page.get_by_text("wanda is now supervisor").wait_for()
    members = api.get("/api/memberships", params={"org": "studio"}).json()["results"]
    assert {(m["user"]["username"], m["role"], m["is_active"]) for m in members} == {
        ("admin", "owner", True),
        ("wanda", "supervisor", True),
    }
