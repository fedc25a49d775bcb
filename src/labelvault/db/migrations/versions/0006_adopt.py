"""The archives `labelvault adopt` took in from CVAT periodic backups.

Revision ID: 0006_adopt
Revises: 0005_hardening
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_adopt"
down_revision = "0005_hardening"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "adopted_archives",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("folder", sa.String(length=512), nullable=False),
        sa.Column("archive", sa.String(length=512), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("stamp", sa.String(length=32), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=True),
        sa.Column("adopted_date", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_adopted_archives_project_id_projects"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_adopted_archives")),
        sa.UniqueConstraint("folder", "archive", name="uq_adopted_archives_folder"),
    )
    op.create_index(
        "ix_adopted_archives_project_id", "adopted_archives", ["project_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_adopted_archives_project_id", table_name="adopted_archives")
    op.drop_table("adopted_archives")
