"""Organizations, memberships, invitations; organization of projects, tasks, cloud storages;
webhooks and their deliveries.

Revision ID: 0005_orgs
Revises: 0004
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_orgs"
down_revision = "0005_models"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)
SCOPED = ("projects", "tasks", "cloud_storages")


def upgrade() -> None:
    op.create_table(
        "organizations",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("slug", sa.String(16), nullable=False, unique=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("contact", sa.JSON, nullable=False),
        sa.Column("owner_id", sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL"),
                  nullable=True, index=True),
        sa.Column("created_date", TZ, nullable=False),
        sa.Column("updated_date", TZ, nullable=False),
    )
    op.create_table(
        "memberships",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("organization_id", sa.Integer,
                  sa.ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False,
                  index=True),
        sa.Column("is_active", sa.Boolean, nullable=False),
        sa.Column("joined_date", TZ, nullable=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.UniqueConstraint("user_id", "organization_id", name="uq_memberships_user"),
    )
    op.create_table(
        "invitations",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("created_date", TZ, nullable=False),
        sa.Column("sent_date", TZ, nullable=True),
        sa.Column("owner_id", sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL"),
                  nullable=True),
        sa.Column("membership_id", sa.Integer,
                  sa.ForeignKey("memberships.id", ondelete="CASCADE"), nullable=False,
                  unique=True),
    )
    for table in SCOPED:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("organization_id", sa.Integer, nullable=True))
            batch.create_foreign_key(f"fk_{table}_organization_id_organizations",
                                     "organizations", ["organization_id"], ["id"],
                                     ondelete="SET NULL")
            batch.create_index(f"ix_{table}_organization_id", ["organization_id"])
    op.create_table(
        "webhooks",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("target_url", sa.String(8192), nullable=False),
        sa.Column("description", sa.String(128), nullable=False),
        sa.Column("events", sa.String(4096), nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("content_type", sa.String(64), nullable=False),
        sa.Column("secret", sa.String(64), nullable=False),
        sa.Column("is_active", sa.Boolean, nullable=False),
        sa.Column("enable_ssl", sa.Boolean, nullable=False),
        sa.Column("owner_id", sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL"),
                  nullable=True),
        sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id", ondelete="CASCADE"),
                  nullable=True, index=True),
        sa.Column("organization_id", sa.Integer,
                  sa.ForeignKey("organizations.id", ondelete="CASCADE"), nullable=True,
                  index=True),
        sa.Column("created_date", TZ, nullable=False),
        sa.Column("updated_date", TZ, nullable=False),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("webhook_id", sa.Integer, sa.ForeignKey("webhooks.id", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("event", sa.String(64), nullable=False),
        sa.Column("status_code", sa.Integer, nullable=True),
        sa.Column("redelivery", sa.Boolean, nullable=False),
        sa.Column("attempt", sa.Integer, nullable=True),
        sa.Column("request_duration", sa.Integer, nullable=True),
        sa.Column("changed_fields", sa.String(4096), nullable=False),
        sa.Column("request", sa.JSON, nullable=False),
        sa.Column("response", sa.JSON, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_date", TZ, nullable=False),
        sa.Column("updated_date", TZ, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("webhook_deliveries")
    op.drop_table("webhooks")
    for table in SCOPED:
        with op.batch_alter_table(table) as batch:
            batch.drop_index(f"ix_{table}_organization_id")
            batch.drop_constraint(f"fk_{table}_organization_id_organizations", type_="foreignkey")
            batch.drop_column("organization_id")
    op.drop_table("invitations")
    op.drop_table("memberships")
    op.drop_table("organizations")
