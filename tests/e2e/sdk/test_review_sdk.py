"""Review through the real cvat-sdk 2.80.0: issues, comments, resolve and job stages."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.sdk.test_sdk import LABELS, PASSWORD, Server, _images, server  # noqa: F401

pytestmark = pytest.mark.e2e


def test_sdk_issues_and_comments(server: Server, tmp_path: Path) -> None:  # noqa: F811
    from cvat_sdk import make_client, models
    from cvat_sdk.core.proxies.tasks import ResourceType

    with make_client(
        "http://127.0.0.1", port=server.port, credentials=("admin", PASSWORD)
    ) as client:
        task = client.tasks.create_from_data(
            spec={"name": "review", "labels": LABELS},
            resource_type=ResourceType.LOCAL,
            resources=[str(p) for p in _images(tmp_path / "imgs")],
        )
        job = task.get_jobs()[0]
        issue = client.issues.create(
            models.IssueWriteRequest(
                frame=1, position=[1.0, 2.0, 20.0, 25.0], job=job.id, message="missing car"
            )
        )
        assert issue.job == job.id and issue.frame == 1 and issue.resolved is False
        assert issue.position == [1.0, 2.0, 20.0, 25.0]
        assert issue.owner.username == "admin" and issue.comments.count == 1
        client.comments.create(models.CommentWriteRequest(issue=issue.id, message="added it"))
        comments = issue.get_comments()
        assert sorted(c.message for c in comments) == ["added it", "missing car"]
        comments[0].update(models.PatchedCommentWriteRequest(message="edited"))
        assert "edited" in {c.message for c in issue.get_comments()}

        issue.update(models.PatchedIssueWriteRequest(resolved=True))
        assert client.issues.retrieve(issue.id).resolved is True
        assert [i.id for i in client.jobs.retrieve(job.id).get_issues()] == [issue.id]
        assert [i.id for i in client.issues.list()] == [issue.id]
        assert client.jobs.retrieve(job.id).issues.count == 1

        job.update(models.PatchedJobWriteRequest(stage="acceptance", state="completed"))
        job = client.jobs.retrieve(job.id)
        assert (job.stage, job.state, job.status) == ("acceptance", "completed", "completed")
        assert client.tasks.retrieve(task.id).status == "completed"

        issue.remove()
        assert client.issues.list() == []
        assert client.comments.list() == []
