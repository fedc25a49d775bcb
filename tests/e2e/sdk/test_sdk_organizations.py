"""cvat-sdk's organization context and cvat-cli's --org against a live server."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.sdk.test_sdk import LABELS, PASSWORD, Server, _cli, _images, server  # noqa: F401

pytestmark = pytest.mark.e2e


def test_sdk_and_cli_in_an_organization(server: Server, database, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    if not database.is_sqlite:
        # The server start dominates; the rules it checks run on both databases elsewhere.
        pytest.skip("runs once, on SQLite (tests/organizations cover PostgreSQL)")
    from cvat_sdk import make_client, models
    from cvat_sdk.core.proxies.tasks import ResourceType

    paths = _images(tmp_path / "imgs", 2)
    with make_client(
        "http://127.0.0.1", port=server.port, credentials=("admin", PASSWORD)
    ) as client:
        org = client.organizations.create(models.OrganizationWriteRequest(slug="lab", name="Lab"))
        assert org.slug == "lab" and org.owner.username == "admin"
        assert [o.slug for o in client.organizations.list()] == ["lab"]
        sandbox_task = client.tasks.create_from_data(
            spec={"name": "mine", "labels": LABELS},
            resource_type=ResourceType.LOCAL,
            resources=[str(paths[0])],
        )
        assert sandbox_task.organization is None
        with client.organization_context("lab"):
            project = client.projects.create(spec={"name": "org project", "labels": LABELS})
            task = client.tasks.create_from_data(
                spec={"name": "org task", "project_id": project.id},
                resource_type=ResourceType.LOCAL,
                resources=[str(p) for p in paths],
            )
            assert project.organization == org.id and task.organization == org.id
            assert [t.name for t in client.tasks.list()] == ["org task"]
            jobs = task.get_jobs()  # the SDK adds org_id=<task's organization>
            assert len(jobs) == 1 and jobs[0].organization == org.id
            assert {lbl.name for lbl in task.get_labels()} == {"car", "sky"}
            members, _ = client.api_client.memberships_api.list()
            assert [(m.user.username, m.role) for m in members.results] == [("admin", "owner")]
            invitation, _ = client.api_client.invitations_api.create(
                models.InvitationWriteRequest(role="worker", email="wim@example.org")
            )
            assert invitation.organization == org.id and invitation.accepted is False
        with client.organization_context(""):
            assert [t.name for t in client.tasks.list()] == ["mine"]
        assert {t.name for t in client.tasks.list()} == {"mine", "org task"}

    auth = ("--auth", f"admin:{PASSWORD}")
    listed = _cli(server, *auth, "--org", "lab", "task", "ls")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.split() == [str(task.id)]
    sandbox = _cli(server, *auth, "--org", "", "task", "ls")
    assert sandbox.stdout.split() == [str(sandbox_task.id)]
    made = _cli(
        server,
        *auth,
        "--org",
        "lab",
        "task",
        "create",
        "cli org task",
        "local",
        str(paths[0]),
        "--labels",
        '[{"name": "tree"}]',
        "--completion_verification_period",
        "0.1",
    )
    assert made.returncode == 0, made.stdout + made.stderr
    made_id = int(made.stdout.strip().splitlines()[-1])
    assert server.api().get(f"/api/tasks/{made_id}").json()["organization"] == org.id
    unknown = _cli(server, *auth, "--org", "nope", "task", "ls")
    assert unknown.returncode == 1 and "Organization 'nope' not found" in unknown.stderr
