"""Where this instance's files live in the storage: everything under its instance name."""

from __future__ import annotations

from labelvault.config import Settings

PERIODIC_DIR = "backups-periodic"
SNAPSHOTS_DIR = "snapshots"
# The connected share is input data every instance reads; it stays at the storage root.
SHARE_DIR = "share"


def instance_root(settings: Settings) -> str:
    """The storage prefix of everything this instance writes, e.g. "lab-3f9a2c".

    Deployments that share one storage never see, rotate or delete each other's files
    because each keeps to its own prefix.
    """
    return settings.resolved_instance_name


def periodic_root(settings: Settings) -> str:
    return f"{instance_root(settings)}/{PERIODIC_DIR}"


def snapshots_root(settings: Settings) -> str:
    return f"{instance_root(settings)}/{SNAPSHOTS_DIR}"
