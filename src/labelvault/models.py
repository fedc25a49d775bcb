"""Imports every domain's models so the metadata (and Alembic) sees all tables."""

from labelvault.accounts.models import AccessToken, Group, Session, User, UserGroup
from labelvault.annotations.models import LabeledImage, LabeledShape, LabeledTrack, TrackedShape
from labelvault.background.models import Request
from labelvault.backups.models import BackupRecord, BackupStatus
from labelvault.cloudstorages.models import CloudStorage
from labelvault.media.models import Frame
from labelvault.projects.models import AttributeSpec, Label, Project
from labelvault.review.models import Comment, Issue
from labelvault.tasks.models import Job, Task

__all__ = [
    "AccessToken",
    "AttributeSpec",
    "BackupRecord",
    "BackupStatus",
    "CloudStorage",
    "Comment",
    "Frame",
    "Group",
    "Issue",
    "Job",
    "Label",
    "LabeledImage",
    "LabeledShape",
    "LabeledTrack",
    "Project",
    "Request",
    "Session",
    "Task",
    "TrackedShape",
    "User",
    "UserGroup",
]
