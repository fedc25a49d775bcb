"""Review issues and comments over CVAT's /api/issues and /api/comments, and job stages."""

from __future__ import annotations

import pytest

SQUARE = [10.0, 10.0, 30.0, 30.0]


@pytest.fixture
def review(team):  # type: ignore[no-untyped-def]
    """A fresh task of 3 frames in two jobs; job 1 is the annotator's, the outsider has none."""
    task, jobs = team.make_task()
    return team.owner, team.annotator, team.outsider, task, jobs


def _issue(client, job_id: int, frame: int = 0, **extra) -> dict:  # type: ignore[no-untyped-def]
    body = {"job": job_id, "frame": frame, "position": SQUARE, "message": "box too loose"}
    r = client.post("/api/issues", json={**body, **extra})
    assert r.status_code == 201, r.text
    return r.json()


def test_issue_lifecycle(review) -> None:  # type: ignore[no-untyped-def]
    owner, annotator, outsider, task, jobs = review
    job_id = jobs[0]["id"]
    issue = _issue(owner, job_id, frame=1, assignee=annotator.user_id)
    assert issue["job"] == job_id and issue["frame"] == 1 and issue["position"] == SQUARE
    assert issue["owner"]["username"] == "owner"
    assert issue["assignee"]["username"] == "anna"
    assert issue["resolved"] is False
    assert issue["comments"]["count"] == 1
    assert owner.get(f"/api/jobs/{job_id}").json()["issues"]["count"] == 1
    assert owner.get(f"/api/jobs/{jobs[1]['id']}").json()["issues"]["count"] == 0

    # The first comment is the issue's message, by its owner.
    first = annotator.get(issue["comments"]["url"]).json()
    assert [c["message"] for c in first["results"]] == ["box too loose"]
    assert first["results"][0]["owner"]["username"] == "owner"

    # The annotator sees issues of their own job, answers and resolves.
    listed = annotator.get("/api/issues", params={"job_id": job_id}).json()
    assert [i["id"] for i in listed["results"]] == [issue["id"]]
    r = annotator.post("/api/comments", json={"issue": issue["id"], "message": "fixed"})
    assert r.status_code == 201, r.text
    reply = r.json()
    assert reply["issue"] == issue["id"] and reply["owner"]["username"] == "anna"
    r = annotator.patch(f"/api/issues/{issue['id']}", json={"resolved": True})
    assert r.status_code == 200 and r.json()["resolved"] is True
    in_task = {"task_id": task["id"]}
    assert owner.get("/api/issues", params={**in_task, "resolved": "true"}).json()["count"] == 1
    assert owner.get("/api/issues", params={**in_task, "resolved": "false"}).json()["count"] == 0
    # The reviewer reopens it.
    r = owner.patch(f"/api/issues/{issue['id']}", json={"resolved": False})
    assert r.json()["resolved"] is False
    assert owner.get(f"/api/issues/{issue['id']}").json()["comments"]["count"] == 2

    # Someone outside the job sees nothing and cannot reach it.
    assert outsider.get("/api/issues").json()["count"] == 0
    assert outsider.get("/api/comments", params={"issue_id": issue["id"]}).json()["count"] == 0
    assert outsider.get(f"/api/issues/{issue['id']}").status_code == 404
    assert outsider.patch(f"/api/issues/{issue['id']}", json={"resolved": True}).status_code == 404
    r = outsider.post("/api/comments", json={"issue": issue["id"], "message": "hi"})
    assert r.status_code == 400 and "issue" in r.text
    body = {"job": job_id, "frame": 0, "position": SQUARE, "message": "x"}
    r = outsider.post("/api/issues", json=body)
    assert r.status_code == 400 and "job" in r.text

    # A comment's owner edits it; the annotator may not delete the owner's issue.
    r = annotator.patch(f"/api/comments/{reply['id']}", json={"message": "fixed, tighter now"})
    assert r.status_code == 200 and r.json()["message"] == "fixed, tighter now"
    assert annotator.delete(f"/api/issues/{issue['id']}").status_code == 403
    assert owner.delete(f"/api/comments/{reply['id']}").status_code == 204
    assert owner.delete(f"/api/issues/{issue['id']}").status_code == 204
    assert owner.get("/api/comments", params={"issue_id": issue["id"]}).json()["count"] == 0
    assert owner.get(f"/api/jobs/{job_id}").json()["issues"]["count"] == 0


def test_issue_filters_and_job_list(review) -> None:  # type: ignore[no-untyped-def]
    owner, annotator, _outsider, task, jobs = review
    a = _issue(owner, jobs[0]["id"], frame=0)
    b = _issue(annotator, jobs[0]["id"], frame=1)
    c = _issue(owner, jobs[1]["id"], frame=2)
    ids = lambda reply: [i["id"] for i in reply.json()["results"]]  # noqa: E731
    in_task = {"task_id": task["id"]}
    assert ids(owner.get("/api/issues", params=in_task)) == [c["id"], b["id"], a["id"]]
    by_frame = owner.get("/api/issues", params={**in_task, "sort": "frame_id"})
    assert ids(by_frame) == [a["id"], b["id"], c["id"]]
    assert ids(owner.get("/api/issues", params={"task_id": task["id"], "frame_id": 1})) == [b["id"]]
    assert ids(owner.get("/api/issues", params={**in_task, "owner": "anna"})) == [b["id"]]
    # The annotator of job 1 sees job 1's issues, not job 2's.
    assert sorted(ids(annotator.get("/api/issues", params=in_task))) == [a["id"], b["id"]]
    per_job = owner.get(f"/api/jobs/{jobs[0]['id']}/issues").json()
    assert [i["id"] for i in per_job] == [a["id"], b["id"]]
    comments = owner.get("/api/comments", params={"job_id": jobs[1]["id"]}).json()
    assert [x["issue"] for x in comments["results"]] == [c["id"]]
    # Deleting the task takes its issues and comments.
    before = owner.get("/api/comments").json()["count"]
    assert owner.delete(f"/api/tasks/{task['id']}").status_code == 204
    assert owner.get("/api/issues", params=in_task).json()["count"] == 0
    assert owner.get("/api/comments").json()["count"] == before - 3


BAD_ISSUES = [
    ({"position": [1.0, 2.0, 3.0]}, "position"),
    ({"position": []}, "position"),
    ({"frame": 2}, "frame"),  # frame 2 belongs to the second job
    ({"message": ""}, "message"),
    ({"assignee": 9999}, "assignee"),
    ({"job": 9999}, "job"),
]


def test_bad_issue_is_400(review) -> None:  # type: ignore[no-untyped-def]
    owner, *_rest, task, jobs = review
    for change, what in BAD_ISSUES:
        body = {"job": jobs[0]["id"], "frame": 0, "position": SQUARE, "message": "m", **change}
        r = owner.post("/api/issues", json=body)
        assert r.status_code == 400, (change, r.text)
        assert what in r.text, (change, r.text)
    assert owner.get("/api/issues", params={"task_id": task["id"]}).json()["count"] == 0


def test_job_stages_and_states(review) -> None:  # type: ignore[no-untyped-def]
    owner, annotator, _outsider, _task, jobs = review
    url = f"/api/jobs/{jobs[0]['id']}"
    job = annotator.get(url).json()
    assert (job["stage"], job["state"], job["status"]) == ("annotation", "new", "annotation")
    # The annotator works and finishes; only the task's staff move the job between stages.
    assert annotator.patch(url, json={"state": "in progress"}).json()["state"] == "in progress"
    assert annotator.patch(url, json={"state": "completed"}).json()["state"] == "completed"
    assert annotator.patch(url, json={"stage": "validation"}).status_code == 403
    job = owner.patch(url, json={"stage": "validation"}).json()
    # A job moved to another stage starts that stage afresh (CVAT's rule).
    assert (job["stage"], job["state"], job["status"]) == ("validation", "new", "validation")
    # Rejected: back to annotation, the annotator sees the state the reviewer chose.
    job = owner.patch(url, json={"stage": "annotation", "state": "rejected"}).json()
    assert (job["stage"], job["state"], job["status"]) == ("annotation", "rejected", "annotation")
    job = owner.patch(url, json={"stage": "acceptance", "state": "completed"}).json()
    assert (job["stage"], job["state"], job["status"]) == ("acceptance", "completed", "completed")
    for bad in ({"stage": "review"}, {"state": "done"}):
        r = owner.patch(url, json=bad)
        assert r.status_code == 400, r.text
    assert owner.get(url).json()["status"] == "completed"
