"""CVAT's webhook event names ("action:resource") and which webhook type may subscribe to which."""

from __future__ import annotations

RESOURCES: dict[str, tuple[str, tuple[str, ...]]] = {
    "project": ("Project", ("create", "update", "delete")),
    "task": ("Task", ("create", "update", "delete")),
    "job": ("Job", ("create", "update", "delete")),
    "issue": ("Issue", ("create", "update", "delete")),
    "comment": ("Comment", ("create", "update", "delete")),
    "organization": ("Organization", ("update",)),
    "invitation": ("Invitation", ("create", "delete")),
    "membership": ("Membership", ("create", "update", "delete")),
}


def _events(resources: list[str]) -> list[tuple[str, str]]:
    return [
        (f"{action}:{resource}", RESOURCES[resource][0])
        for resource in resources
        for action in RESOURCES[resource][1]
    ]


ALL = _events(list(RESOURCES))
# A project's webhook hears what happens inside the project, and the project's own changes.
PROJECT = [
    *_events(["task", "job", "issue", "comment"]),
    ("update:project", "Project"),
    ("delete:project", "Project"),
]
BY_TYPE = {"all": ALL, "organization": ALL, "project": PROJECT}


def keys(webhook_type: str) -> set[str]:
    return {key for key, _ in BY_TYPE[webhook_type]}


def catalog(webhook_type: str) -> dict:
    """The reply of GET /api/webhooks/events?type=..."""
    return {
        "webhook_type": webhook_type,
        "events": [
            {"key": key, "group": {"display_name": group}} for key, group in BY_TYPE[webhook_type]
        ],
    }
