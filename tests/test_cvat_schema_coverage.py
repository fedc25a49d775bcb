"""Walk CVAT's own OpenAPI schema (tests/fixtures/cvat/schema.yml) and list what is missing.

For the areas LabelVault covers, every (method, path) of CVAT 2.73's schema is looked up
among the app's routes. The ones still missing are written down in MISSING below (and in
README's compatibility table): the test fails when one of them appears (update the list and
the table) and when an operation outside the list goes missing (a regression).
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from fastapi.routing import APIRoute

SCHEMA = Path(__file__).parent / "fixtures" / "cvat" / "schema.yml"
AREAS = {
    "projects",
    "tasks",
    "jobs",
    "labels",
    "cloudstorages",
    "users",
    "auth",
    "requests",
    "server",
    "guides",
    "assets",
}
METHODS = ("get", "post", "put", "patch", "delete")

# What LabelVault does not answer yet, by area (CVAT's method and path).
MISSING = {
    "auth": [
        "GET /api/auth/rules",
    ],
}


def _norm(path: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", path).rstrip("/") or "/"


def cvat_operations() -> dict[str, list[str]]:
    schema = yaml.load(SCHEMA.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
    out: dict[str, list[str]] = {area: [] for area in AREAS}
    for path, ops in schema["paths"].items():
        for method, op in ops.items():
            if method not in METHODS:
                continue
            for tag in op.get("tags") or ():
                if tag in AREAS:
                    out[tag].append(f"{method.upper()} {_norm(path)}")
    return out


def our_operations(app) -> set[str]:  # type: ignore[no-untyped-def]
    """Every (method, path) of the app's API routes (routers are included without prefixes)."""
    found = set()

    def walk(routes: list) -> None:  # type: ignore[type-arg]
        for route in routes:
            inner = getattr(route, "original_router", None)
            if inner is not None:
                walk(inner.routes)
            elif isinstance(route, APIRoute):
                for method in route.methods:
                    found.add(f"{method} {_norm(route.path.replace(':path}', '}'))}")

    walk(app.routes)
    return found


def _answered(operation: str, ours: set[str]) -> bool:
    """Whether one of our routes answers it; a path parameter of ours matches any segment
    (PATCH /api/tasks/{}/data/meta is served by the TUS route /api/tasks/{}/data/{})."""
    if operation in ours:
        return True
    method, path = operation.split(" ", 1)
    for candidate in ours:
        their_method, pattern = candidate.split(" ", 1)
        if their_method == method and "{}" in pattern:
            regex = "^" + re.escape(pattern).replace(r"\{\}", "[^/]+") + "$"
            if re.match(regex, path):
                return True
    return False


def test_cvat_schema_coverage(app) -> None:  # type: ignore[no-untyped-def]
    ours = our_operations(app)
    lines = []
    new_missing, now_present = [], []
    for area, operations in sorted(cvat_operations().items()):
        missing = [op for op in operations if not _answered(op, ours)]
        lines.append(f"{area}: {len(operations) - len(missing)} of {len(operations)}")
        lines += [f"    missing {op}" for op in missing]
        new_missing += [op for op in missing if op not in MISSING.get(area, [])]
        now_present += [op for op in MISSING.get(area, []) if _answered(op, ours)]
    print("\n".join(lines))  # the table README's compatibility section is built from
    assert not new_missing, f"CVAT operations missing and not listed in MISSING: {new_missing}"
    assert not now_present, f"listed as missing but answered now (update MISSING): {now_present}"
