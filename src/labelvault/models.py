"""Imports every domain's models so the metadata (and Alembic) sees all tables."""

from labelvault.accounts.models import (
    AccessToken,
    Group,
    OidcIdentity,
    Session,
    User,
    UserGroup,
)
from labelvault.annotations.models import LabeledImage, LabeledShape, LabeledTrack, TrackedShape
from labelvault.background.models import Request
from labelvault.backups.models import BackupRecord, BackupStatus
from labelvault.cloudstorages.models import CloudStorage
from labelvault.media.models import Frame
from labelvault.observability.models import AuditEvent
from labelvault.projects.models import AttributeSpec, Label, Project
from labelvault.tasks.models import Job, Task

__all__ = [
    "AccessToken",
    "AttributeSpec",
    "AuditEvent",
    "BackupRecord",
    "BackupStatus",
    "CloudStorage",
    "Frame",
    "Group",
    "Job",
    "Label",
    "LabeledImage",
    "LabeledShape",
    "LabeledTrack",
    "OidcIdentity",
    "Project",
    "Request",
    "Session",
    "Task",
    "TrackedShape",
    "User",
    "UserGroup",
]
