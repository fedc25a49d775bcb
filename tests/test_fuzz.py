"""schemathesis over /api/schema: every operation, as an admin and as a plain user, on both
databases; any 5xx or reply the schema does not describe fails (a bounded budget)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from labelvault.accounts import service as account_service
from labelvault.app import create_app
from labelvault.config import Settings
from tests.conftest import ADMIN, LABELS, _empty, upload_images

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from schemathesis import checks  # noqa: E402

# Examples per operation and role: about 100 operations x 2 roles x 2 databases in the
# suite's budget. LABELVAULT_FUZZ_EXAMPLES=50 for a deeper run by hand.
EXAMPLES = int(os.environ.get("LABELVAULT_FUZZ_EXAMPLES", "3"))
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]
# Operations that would end the fuzzing itself (its own credentials, users) or need a
# real backup storage; each is covered by its own tests.
SKIPPED = {
    ("POST", "/api/auth/logout"),
    ("POST", "/api/auth/password/change"),
    ("DELETE", "/api/users/{user_id}"),
    ("PATCH", "/api/users/{user_id}"),
    ("DELETE", "/api/auth/access_tokens/{token_id}"),
    ("POST", "/api/snapshots"),
    ("DELETE", "/api/snapshots/{name}"),
    ("POST", "/api/projects/{project_id}/rollback"),
}


@pytest.fixture(scope="module")
def fuzz_app(database, tmp_path_factory) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    """One app per database for the module, with a project, a task with data, two users."""
    _empty(database)
    data = tmp_path_factory.mktemp("fuzz")
    config = Settings(
        data_dir=data / "data",
        storage_url=str(data / "storage"),
        admin_user=ADMIN[0],
        admin_password=ADMIN[1],
        queue_url="immediate",
        backups=False,
    )
    config.ensure_dirs()
    with database.session() as session:
        account_service.ensure_admin(session, ADMIN[0], ADMIN[1])
    application = create_app(config, database)
    with TestClient(application) as client:
        client.post("/api/auth/login", json={"username": ADMIN[0], "password": ADMIN[1]})
        client.headers["X-CSRFToken"] = client.cookies["csrftoken"]
        client.post("/api/users", json={"username": "plain", "password": "plain-pass-12345"})
        project = client.post("/api/projects", json={"name": "p", "labels": LABELS}).json()
        task = client.post("/api/tasks", json={"name": "t", "project_id": project["id"]}).json()
        upload_images(client, task["id"], 2)
        tokens = {"admin": client.post("/api/auth/access_tokens", json={"name": "f"}).json()}
        plain = TestClient(application)
        plain.post("/api/auth/login", json={"username": "plain", "password": "plain-pass-12345"})
        plain.headers["X-CSRFToken"] = plain.cookies["csrftoken"]
        tokens["plain"] = plain.post("/api/auth/access_tokens", json={"name": "f"}).json()
        yield application, {role: t["value"] for role, t in tokens.items()}


@pytest.mark.parametrize("role", ["admin", "plain"])
def test_no_server_error_and_every_reply_as_the_schema_says(fuzz_app, role: str) -> None:  # type: ignore[no-untyped-def]
    application, tokens = fuzz_app
    schema = schemathesis.openapi.from_asgi("/api/schema", application)
    headers = {"Authorization": f"Bearer {tokens[role]}"}
    failures: list[str] = []
    cases = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) in SKIPPED:
            continue

        def make(operation: Any, label: str) -> Any:
            @given(case=operation.as_strategy())
            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                database=None,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            def run(case: Any) -> None:
                nonlocal cases
                cases += 1
                try:
                    response = case.call(headers=headers)
                except Exception as exc:  # noqa: BLE001 - the app raised: a 500 to report
                    failures.append(f"{label} -> raised {type(exc).__name__}: {exc}"[:400])
                    return
                try:
                    case.validate_response(response, checks=CHECKS, headers=headers)
                except BaseException as exc:  # noqa: BLE001 - every failure is collected and reported
                    if isinstance(exc, KeyboardInterrupt):
                        raise
                    first = str(exc).strip().splitlines()
                    failures.append(f"{label} -> {response.status_code}: " + " | ".join(first[:6]))

            return run

        make(operation, f"{operation.method.upper()} {operation.path}")()
    print(f"\nfuzz ({role}): {cases} cases, {len(failures)} failures")
    assert not failures, "\n".join(sorted(set(failures))[:60])
