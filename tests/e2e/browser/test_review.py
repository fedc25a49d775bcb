"""Review mode in the browser: an annotator labels, a reviewer opens an issue, the annotator
fixes it and resolves it, the reviewer accepts the job — each step checked through the REST API."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.e2e.browser.conftest import (
    ADMIN_PASSWORD,
    first_job,
    job_shapes,
    login,
    make_task,
    png_bytes,
    shot,
)
from tests.e2e.browser.test_saving import wait_for
from tests.e2e.browser.test_workspace import drag, save

LABELS = [{"name": "car", "color": "#ff6037", "type": "rectangle", "attributes": []}]


def _user(api: httpx.Client, name: str, role: str) -> tuple[str, str, int]:
    password = f"{name}-Pw-1234"
    r = api.post("/api/users", json={"username": name, "password": password, "role": role})
    assert r.status_code == 201, r.text
    return name, password, r.json()["id"]


@pytest.fixture
def people(browser: Any, server: str) -> Iterator[Any]:
    """Pages in separate browser sessions, one per person; no JavaScript error on any."""
    contexts: list[Any] = []
    errors: list[str] = []

    def open_as(username: str, password: str) -> Any:
        context = browser.new_context(base_url=server, viewport={"width": 1440, "height": 900})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15000)
        page.on("pageerror", lambda e: errors.append(str(e)))
        login(page, username, password)
        return page

    yield open_as
    for context in contexts:
        context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def _open(page: Any, job: dict) -> None:
    page.goto(f"/tasks/{job['task_id']}/jobs/{job['id']}")
    page.wait_for_function("window.labelvault?.review && window.labelvault.renderer.image")


def finish(page: Any, api: httpx.Client, job: dict) -> None:
    page.get_by_text("Menu").click()
    page.get_by_role("button", name="Finish the job").click()
    wait_for(lambda: api.get(f"/api/jobs/{job['id']}").json()["state"] == "completed", "finish")
    page.get_by_text("Menu").click()  # closes it


def _issues(api: httpx.Client, job_id: int) -> list[dict]:
    return api.get("/api/issues", params={"job_id": job_id}).json()["results"]


def test_annotate_review_fix_accept(api: httpx.Client, people: Any) -> None:
    tag = random.randrange(10**6)
    reviewer = _user(api, f"rita{tag}", "user")
    annotator = _user(api, f"anna{tag}", "worker")
    task = make_task(api, f"Review {tag}", frames=2, labels=LABELS)
    assert api.patch(f"/api/tasks/{task['id']}", json={"assignee_id": reviewer[2]}).is_success
    job = first_job(api, task["id"])
    assert api.patch(f"/api/jobs/{job['id']}", json={"assignee": annotator[2]}).is_success

    # The annotator labels one car and finishes (only task staff move a job between stages).
    anna = people(*annotator[:2])
    _open(anna, job)
    anna.get_by_role("button", name="Rectangle").click()
    drag(anna, (60, 60), (160, 140))
    save(anna)
    finish(anna, api, job)
    assert len(job_shapes(api, job["id"])) == 1

    # The reviewer sees a second car missed, marks its region with an issue and rejects.
    rita = people(*reviewer[:2])
    _open(rita, job)
    rita.get_by_role("button", name="Open an issue").click()
    drag(rita, (300, 200), (420, 300))
    rita.get_by_label("Issue message").fill("A second car is not labelled")
    rita.get_by_role("button", name="Open issue").click()
    issue = wait_for(lambda: _issues(api, job["id"]), "the issue")[0]
    assert issue["frame"] == job["start_frame"] and issue["resolved"] is False
    assert issue["owner"]["username"] == reviewer[0]
    x1, y1, x2, y2 = issue["position"]
    assert abs(x1 - 300) < 3 and abs(y1 - 200) < 3 and abs(x2 - 420) < 3 and abs(y2 - 300) < 3
    comments = rita.get_by_role("list", name="Comments")
    expect(comments).to_contain_text("A second car is not labelled")
    shot(rita, "review-issue")
    rita.get_by_role("button", name="Reject the job").click()
    wait_for(
        lambda: api.get(f"/api/jobs/{job['id']}").json()["state"] == "rejected", "the rejection"
    )
    assert api.get(f"/api/jobs/{job['id']}").json()["stage"] == "annotation"

    # The annotator finds the issue in their job, labels the car, answers and resolves it.
    anna.reload()
    anna.wait_for_function("window.labelvault && window.labelvault.review")
    issues = anna.get_by_role("list", name="Issues")
    expect(issues).to_contain_text(f"#{issue['id']}")
    issues.get_by_role("button").first.click()
    expect(anna.get_by_role("list", name="Comments")).to_contain_text("not labelled")
    anna.get_by_role("button", name="Rectangle").click()
    drag(anna, (305, 205), (415, 295))
    save(anna)
    anna.get_by_role("textbox", name="Reply").fill("Labelled it")
    anna.get_by_role("button", name="Send comment").click()
    expect(anna.get_by_role("list", name="Comments")).to_contain_text("Labelled it")
    anna.get_by_role("button", name="Resolve").click()
    wait_for(lambda: _issues(api, job["id"])[0]["resolved"], "the resolve")
    assert len(job_shapes(api, job["id"])) == 2
    comments = api.get("/api/comments", params={"issue_id": issue["id"]}).json()["results"]
    assert sorted((c["owner"]["username"], c["message"]) for c in comments) == sorted(
        [(reviewer[0], "A second car is not labelled"), (annotator[0], "Labelled it")]
    )
    finish(anna, api, job)

    # The reviewer jumps to the issue, sees it resolved and accepts the job.
    rita.reload()
    rita.wait_for_function("window.labelvault && window.labelvault.review")
    rita.get_by_role("button", name="Next issue").click()
    expect(rita.get_by_label("Selected issue")).to_contain_text("resolved")
    expect(rita.get_by_role("list", name="Comments")).to_contain_text("Labelled it")
    rita.get_by_role("button", name="Accept the job").click()
    done = wait_for(
        lambda: (j := api.get(f"/api/jobs/{job['id']}").json())["status"] == "completed" and j,
        "the acceptance",
    )
    assert (done["stage"], done["state"]) == ("acceptance", "completed")
    assert api.get(f"/api/tasks/{task['id']}").json()["status"] == "completed"


def test_quality_on_the_task_page(api: httpx.Client, people: Any) -> None:
    """Ground truth made on the task page, a report computed there with its figures shown."""
    task = make_task(api, f"Quality {random.randrange(10**6)}", frames=2, labels=LABELS)
    job = first_job(api, task["id"])
    page = people("admin", ADMIN_PASSWORD)
    page.goto(f"/tasks/{task['id']}")
    page.get_by_label("Ground-truth frames").fill("0")
    page.get_by_role("button", name="Create ground truth").click()
    expect(page.get_by_role("region", name="Quality")).to_contain_text("over 1 of 2 frames")
    gt = api.get("/api/jobs", params={"task_id": task["id"], "type": "ground_truth"}).json()
    gt = gt["results"][0]
    car = api.get("/api/labels", params={"task_id": task["id"]}).json()["results"][0]["id"]

    def boxes(*points: list[float]) -> dict:
        return {
            "shapes": [
                {"frame": 0, "label_id": car, "type": "rectangle", "points": p} for p in points
            ]
        }

    # Ground truth: two cars; the annotator found one exactly and one extra thing.
    api.put(f"/api/jobs/{gt['id']}/annotations", json=boxes([0, 0, 10, 10], [50, 50, 70, 70]))
    api.put(f"/api/jobs/{job['id']}/annotations", json=boxes([0, 0, 10, 10], [200, 200, 220, 220]))
    page.get_by_role("button", name="Compute quality report").click()
    table = page.get_by_role("table", name="Quality per label")
    expect(table).to_contain_text("50.0 %")  # precision 1/2 and recall 1/2
    expect(table).to_contain_text("1.000")  # mean IoU of the exact match
    conflicts = page.get_by_role("list", name="Conflicts by frame")
    expect(conflicts).to_contain_text("missing annotation")
    expect(conflicts).to_contain_text("extra annotation")
    shot(page, "quality-report")
    reports = api.get("/api/quality/reports", params={"task_id": task["id"], "target": "task"})
    summary = reports.json()["results"][0]["summary"]
    assert (summary["valid_count"], summary["gt_count"], summary["ds_count"]) == (1, 2, 2)


def test_activity_on_the_project_page(api: httpx.Client, people: Any) -> None:
    """Saves made in the workspace show on the project page, and download as CSV."""
    tag = random.randrange(10**6)
    project = api.post("/api/projects", json={"name": f"Activity {tag}", "labels": LABELS}).json()
    task = api.post("/api/tasks", json={"name": "t", "labels": [], "project_id": project["id"]})
    task = task.json()
    files = {"client_files[0]": ("frame_000.png", png_bytes())}
    r = api.post(f"/api/tasks/{task['id']}/data", files=files, data={"image_quality": "80"})
    assert r.status_code == 202, r.text
    job = wait_for(
        lambda: api.get("/api/jobs", params={"task_id": task["id"]}).json()["results"],
        "the task data",
    )[0]
    wait_for(lambda: api.get(f"/api/tasks/{task['id']}").json()["size"] == 1, "the task data")
    page = people("admin", ADMIN_PASSWORD)
    _open(page, job)
    page.get_by_role("button", name="Rectangle").click()
    drag(page, (60, 60), (160, 140))
    save(page)
    drag(page, (200, 60), (260, 140))
    save(page)
    page.goto(f"/projects/{project['id']}")
    annotators = page.get_by_role("table", name="Annotators")
    expect(annotators).to_contain_text("admin")
    expect(page.get_by_role("table", name="Time per job")).to_contain_text(f"Job #{job['id']}")
    summary = api.get(f"/api/projects/{project['id']}/activity").json()
    me = summary["annotators"][0]
    assert me["username"] == "admin" and me["objects_created"] == 2
    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    text = Path(download.value.path()).read_text(encoding="utf-8")
    assert text.splitlines()[0].startswith("scope,obj_name,obj_id")
    assert text.count("create:annotations") == 2


def test_project_quality_on_the_project_page(api: httpx.Client, people: Any) -> None:
    """A project report computed on the project page, with its figures per task."""
    tag = random.randrange(10**6)
    project = api.post("/api/projects", json={"name": f"QC {tag}", "labels": LABELS}).json()
    task = api.post("/api/tasks", json={"name": "t", "labels": [], "project_id": project["id"]})
    task = task.json()
    files = {"client_files[0]": ("frame_000.png", png_bytes())}
    r = api.post(f"/api/tasks/{task['id']}/data", files=files, data={"image_quality": "80"})
    assert r.status_code == 202, r.text
    wait_for(lambda: api.get(f"/api/tasks/{task['id']}").json()["size"] == 1, "the task data")
    job = first_job(api, task["id"])
    gt = api.post(
        "/api/jobs",
        json={
            "type": "ground_truth",
            "task_id": task["id"],
            "frame_selection_method": "manual",
            "frames": [0],
        },
    ).json()
    car = api.get("/api/labels", params={"project_id": project["id"]}).json()["results"][0]["id"]

    def boxes(*points: list[float]) -> dict:
        return {
            "shapes": [
                {"frame": 0, "label_id": car, "type": "rectangle", "points": p} for p in points
            ]
        }

    api.put(f"/api/jobs/{gt['id']}/annotations", json=boxes([0, 0, 10, 10], [50, 50, 70, 70]))
    api.put(f"/api/jobs/{job['id']}/annotations", json=boxes([0, 0, 10, 10]))
    page = people("admin", ADMIN_PASSWORD)
    page.goto(f"/projects/{project['id']}")
    page.get_by_role("button", name="Compute project quality report").click()
    per_task = page.get_by_role("table", name="Project quality per task")
    expect(per_task).to_contain_text(f"Task #{task['id']}")
    expect(per_task).to_contain_text("100.0 %")  # precision 1/1
    expect(page.get_by_role("table", name="Project quality per label")).to_contain_text("50.0 %")
    reports = api.get(
        "/api/quality/reports", params={"project_id": project["id"], "target": "project"}
    )
    summary = reports.json()["results"][0]["summary"]
    assert (summary["valid_count"], summary["gt_count"], summary["ds_count"]) == (1, 2, 1)
