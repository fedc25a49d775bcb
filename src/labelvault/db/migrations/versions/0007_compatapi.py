"""What `labelvault migrate-from-cvat` brought in; annotation guides and their assets.

Revision ID: 0007_compatapi
Revises: 0006_adopt
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_compatapi"
down_revision = "0006_adopt"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "migrated_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=512), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("local_id", sa.Integer(), nullable=True),
        sa.Column("migrated_date", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_migrated_items")),
        sa.UniqueConstraint("source", "kind", "source_id", name="uq_migrated_items_source"),
    )


def downgrade() -> None:
    op.drop_table("migrated_items")
