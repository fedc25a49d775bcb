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
from labelvault.datasets.models import AdoptedArchive, MigratedItem
from labelvault.guides.models import Guide, GuideAsset
from labelvault.media.models import Frame
from labelvault.models_ai.models import Model
from labelvault.observability.models import AuditEvent
from labelvault.organizations.models import Invitation, Membership, Organization
from labelvault.projects.models import AttributeSpec, Label, Project
from labelvault.review.models import (
    ActivityEvent,
    AnnotationConflict,
    Comment,
    Issue,
    QualityReport,
    QualitySettings,
)
from labelvault.tasks.models import Job, Task
from labelvault.webhooks.models import Webhook, WebhookDelivery

__all__ = [
    "AdoptedArchive",
    "MigratedItem",
    "Guide",
    "GuideAsset",
    "WebhookDelivery",
    "Webhook",
    "Organization",
    "Membership",
    "Invitation",
    "AccessToken",
    "ActivityEvent",
    "AnnotationConflict",
    "AttributeSpec",
    "AuditEvent",
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
    "Model",
    "OidcIdentity",
    "Project",
    "QualityReport",
    "QualitySettings",
    "Request",
    "Session",
    "Task",
    "TrackedShape",
    "User",
    "UserGroup",
]
