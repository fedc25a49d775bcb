"""webhook events written in the commit that made them (the outbox of deliveries)

Revision ID: 0007_webhook_outbox
Revises: 0006_adopt
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_webhook_outbox"
down_revision = "0006_adopt"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "webhook_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("events", sa.JSON(), nullable=False),
        sa.Column("created_date", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_outbox")),
    )


def downgrade() -> None:
    op.drop_table("webhook_outbox")
