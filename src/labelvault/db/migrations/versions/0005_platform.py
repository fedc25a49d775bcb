"""The audit log: logins, tokens, role changes, deletes and restores.

Revision ID: 0005_platform
Revises: 0004
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_platform"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("username", sa.String(150), nullable=False),
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("target", sa.String(200), nullable=False),
        sa.Column("detail", sa.String(1000), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_events"),
    )
    op.create_index("ix_audit_events_created", "audit_events", ["created"])
    op.create_index(
        "ix_audit_events_kind_username_created", "audit_events", ["kind", "username", "created"]
    )
    op.create_index(
        "ix_audit_events_kind_address_created", "audit_events", ["kind", "address", "created"]
    )


def downgrade() -> None:
    op.drop_table("audit_events")
