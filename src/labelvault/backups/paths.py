"""Where this instance's files live in the storage: everything under its instance name."""

from __future__ import annotations

import os
from pathlib import Path

from labelvault.config import Settings

# The storage URL the server last started with, so the CLI on this data dir uses the same.
STORAGE_URL_FILE = "storage-url"

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


def remember_storage_url(settings: Settings, url: str) -> None:
    """Keep the storage URL in the data dir (owner-only: it may carry credentials the
    operator put in it; credentials given in the environment are never written)."""
    target = Path(settings.data_dir) / STORAGE_URL_FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(url + "\n")
    tmp.replace(target)


def remembered_storage_url(settings: Settings) -> str | None:
    """The storage URL a server last used on this data dir, if any."""
    kept = Path(settings.data_dir) / STORAGE_URL_FILE
    if not kept.is_file():
        return None
    return kept.read_text().strip() or None
