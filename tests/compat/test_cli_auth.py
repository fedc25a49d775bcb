"""cvat-cli 2.80.0 logging in: password (session + CSRF), access token, wrong credentials."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers.compat import PASSWORD, Live

pytestmark = pytest.mark.e2e


def _server_project_ids(live: Live) -> set[int]:
    return {p["id"] for p in live.api().get("/api/projects").json()["results"]}


def test_password_login_no_version_warning(live: Live) -> None:
    created = live.api().post("/api/projects", json={"name": "auth probe", "labels": []})
    assert created.status_code == 201, created.text
    result = live.cli("project", "ls")
    assert result.returncode == 0, result.stderr
    assert result.stderr == "", result.stderr  # no version warning, nothing else
    assert {int(x) for x in result.stdout.split()} == _server_project_ids(live)
    assert created.json()["id"] in {int(x) for x in result.stdout.split()}


def test_access_token_from_environment(live: Live) -> None:
    token = live.token("cli-env")
    result = live.cli("project", "ls", "--json", auth=False, env={"CVAT_ACCESS_TOKEN": token})
    assert result.returncode == 0, result.stderr
    assert result.stderr == "", result.stderr
    assert {p["id"] for p in json.loads(result.stdout)} == _server_project_ids(live)


def test_access_token_profile(live: Live) -> None:
    """`profile create TOKEN` reads the token's name from /api/auth/access_tokens/self."""
    token = live.token("my-profile-token")
    created = live.cli("profile", "create", token, auth=False)
    assert created.returncode == 0, created.stderr
    profiles = live.cli("profile", "list", auth=False, server=False)
    assert "my-profile-token" in profiles.stdout, profiles.stdout + profiles.stderr
    result = live.cli("--profile", "my-profile-token", "project", "ls", auth=False, server=False)
    assert result.returncode == 0, result.stderr
    assert {int(x) for x in result.stdout.split()} == _server_project_ids(live)


def test_wrong_password_is_a_clean_error(live: Live) -> None:
    result = live.cli("--auth", "admin:not-the-password", "task", "ls", auth=False)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr, result.stderr
    assert "CRITICAL" in result.stderr and "40" in result.stderr, result.stderr
    assert result.stdout == ""


def test_bad_token_is_a_clean_error(live: Live) -> None:
    result = live.cli("task", "ls", auth=False, env={"CVAT_ACCESS_TOKEN": "not-a-token"})
    assert result.returncode == 1
    assert "Traceback" not in result.stderr, result.stderr
    assert "401" in result.stderr, result.stderr


def test_unknown_user_is_a_clean_error(live: Live) -> None:
    result = live.cli("--auth", f"nobody:{PASSWORD}", "project", "ls", auth=False)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr, result.stderr


def test_unknown_organization_is_a_clean_error(live: Live) -> None:
    """`--org` with an organization that does not exist fails clearly, not on the sandbox."""
    result = live.cli("--org", "acme", "task", "ls")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr, result.stderr
    assert "Organization 'acme' not found" in result.stderr
    assert result.stdout == ""
    # the empty org the SDK sends for personal-workspace objects stays fine
    response = live.api().get("/api/jobs", params={"org": "", "page": 1})
    assert response.status_code == 200, response.text


def test_functions_are_a_clean_error(live: Live, tmp_path: Path) -> None:
    """`function ...` (the agent API, /api/functions) is a gap: HTTP 404, no traceback."""
    function = tmp_path / "f.py"
    function.write_text(
        "import cvat_sdk.auto_annotation as cvataa\n"
        'spec = cvataa.DetectionFunctionSpec(labels=[cvataa.label_spec("car", 0)])\n'
        "def detect(context, image):\n    return []\n"
    )
    result = live.cli("function", "create-native", "fn", "--function-file", str(function))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr, result.stderr
    assert "Status Code: 404" in result.stderr
