"""Where this instance's files live in the storage: everything under its instance name."""

from __future__ import annotations

from labelvault.config import Settings


def instance_root(settings: Settings) -> str:
    """The prefix `<instance_name>` under which everything this instance writes lives."""
    return settings.resolved_instance_name
