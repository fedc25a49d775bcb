"""Browser tests of the app's screens: login, projects with labels, task creation, admin users."""

from __future__ import annotations

import re
from typing import Any

import httpx
from playwright.sync_api import expect

from tests.e2e.browser.conftest import ADMIN_PASSWORD, login, make_task, png_bytes, shot


def test_login_and_logout(page: Any) -> None:
    page.goto("/projects")
    page.wait_for_url("**/login?next=*")
    page.get_by_role("button", name="Log in").wait_for()
    expect(page.locator("#topbar")).to_be_hidden()
    expect(page.locator(".toast")).to_have_count(0)
    shot(page, "login")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("alert").filter(has_text="Wrong username or password").wait_for()
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/projects")
    expect(page.get_by_label("Signed in user")).to_have_text("admin")
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/login")
    assert page.request.get("/api/users/self").status == 401


def test_create_project_with_labels(page: Any, api: httpx.Client) -> None:
    login(page)
    page.get_by_role("button", name="Create project").click()
    page.get_by_label("Name", exact=True).fill("Streets")
    for name in ("car", "person"):
        page.get_by_label("New label name").fill(name)
        page.get_by_role("button", name="Add label").click()
    page.get_by_label("Type of car").select_option("rectangle")
    page.get_by_role("button", name="Add attribute").first.click()
    page.get_by_label("Attribute 1 name of car").fill("colour")
    page.get_by_label("Values of attribute colour").fill("red, blue")
    page.get_by_role("button", name="Create project").click()
    page.wait_for_url(re.compile(r"/projects/\d+$"))
    project_id = int(page.url.rsplit("/", 1)[1])
    labels = api.get("/api/labels", params={"project_id": project_id}).json()["results"]
    by_name = {label["name"]: label for label in labels}
    assert set(by_name) == {"car", "person"}
    assert by_name["car"]["type"] == "rectangle"
    assert by_name["car"]["attributes"][0]["name"] == "colour"
    assert by_name["car"]["attributes"][0]["values"] == ["red", "blue"]
    # the raw JSON editor shows the same labels
    page.get_by_role("button", name="Edit").click()
    page.get_by_role("tab", name="Raw").click()
    expect(page.get_by_label("Labels as JSON")).to_have_value(re.compile('"colour"'))
    page.goto("/projects")
    page.get_by_role("heading", name="Streets").wait_for()
    shot(page, "projects")


def test_create_task_by_uploading_images(page: Any, api: httpx.Client, tmp_path: Any) -> None:
    project = api.post(
        "/api/projects", json={"name": "Uploads", "labels": [{"name": "tree", "type": "any"}]}
    ).json()
    paths = []
    for i in range(4):
        path = tmp_path / f"img_{i}.png"
        path.write_bytes(png_bytes(320, 240, (30 * i, 100, 150)))
        paths.append(str(path))
    login(page)
    page.goto(f"/tasks/create?project_id={project['id']}")
    page.get_by_label("Name", exact=True).fill("Uploaded task")
    page.get_by_label("Choose files").set_input_files(paths)
    page.get_by_role("button", name="Submit & Open").click()
    expect(page.get_by_label("Task creation progress")).to_be_visible()
    page.wait_for_url(re.compile(r"/tasks/\d+$"))
    task_id = int(page.url.rsplit("/", 1)[1])
    task = api.get(f"/api/tasks/{task_id}").json()
    assert task["size"] == 4
    assert task["project_id"] == project["id"]
    page.get_by_role("link", name="Job #").first.wait_for()
    shot(page, "task")


def test_task_page_changes_job_inline(page: Any, api: httpx.Client) -> None:
    task = make_task(api, "Inline edits", frames=2)
    job = api.get("/api/jobs", params={"task_id": task["id"]}).json()["results"][0]
    login(page)
    page.goto(f"/tasks/{task['id']}")
    page.get_by_label(f"State of job {job['id']}").select_option("completed")
    page.get_by_text(f"Job #{job['id']} updated").wait_for()
    assert api.get(f"/api/jobs/{job['id']}").json()["state"] == "completed"


def test_admin_creates_a_user(page: Any, api: httpx.Client) -> None:
    login(page)
    page.get_by_role("link", name="Admin").click()
    page.get_by_label("Username", exact=True).fill("annotator1")
    page.get_by_label("Password", exact=True).fill("Secret-pass-42")
    page.get_by_label("E-mail").fill("a1@example.com")
    page.get_by_label("Role", exact=True).select_option("worker")
    page.get_by_role("button", name="Create user").click()
    page.get_by_text("User annotator1 created").wait_for()
    users = api.get("/api/users", params={"username": "annotator1"}).json()["results"]
    assert users and users[0]["groups"] == ["worker"]
    page.get_by_label("Active: annotator1").uncheck()
    page.get_by_text("annotator1 updated").wait_for()
    assert api.get(f"/api/users/{users[0]['id']}").json()["is_active"] is False


def test_missing_endpoints_show_a_message(page: Any, api: httpx.Client) -> None:
    """Screens for endpoints other issues are adding say so instead of breaking."""
    project = api.post("/api/projects", json={"name": "Not yet", "labels": []}).json()
    login(page)
    page.goto(f"/projects/{project['id']}")
    page.get_by_role("heading", name="Backups").wait_for()
    page.get_by_text("No backups yet.").wait_for()
    # The project's stored backups: one click stores one, and it is listed for restore.
    page.get_by_role("button", name="Store an annotations backup now").click()
    page.get_by_role("button", name="Restore").wait_for()
    stored = api.get("/api/backups", params={"project_id": project["id"]}).json()["results"]
    assert [b["kind"] for b in stored] == ["annotations"]
    page.goto("/tasks/create")
    page.get_by_role("tab", name="Connected share").click()
    if api.get("/api/server/share").status_code == 404:
        page.get_by_text("The connected share is not available on this server yet.").wait_for()
    page.get_by_role("tab", name="Cloud storage").click()
    if api.get("/api/cloudstorages").status_code == 404:
        page.get_by_text("Cloud storage is not available on this server yet.").wait_for()
