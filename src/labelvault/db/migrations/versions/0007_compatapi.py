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
    op.create_table(
        "guides",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=True),
        sa.Column("project_id", sa.Integer(), nullable=True),
        sa.Column("markdown", sa.Text(), nullable=False),
        sa.Column("created_date", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_date", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["task_id"], ["tasks.id"], name=op.f("fk_guides_task_id_tasks"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_guides_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_guides")),
        sa.UniqueConstraint("task_id", name=op.f("uq_guides_task_id")),
        sa.UniqueConstraint("project_id", name=op.f("uq_guides_project_id")),
    )
    op.create_table(
        "guide_assets",
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("guide_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=1024), nullable=False),
        sa.Column("content_type", sa.String(length=128), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("created_date", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["guide_id"],
            ["guides.id"],
            name=op.f("fk_guide_assets_guide_id_guides"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["users.id"],
            name=op.f("fk_guide_assets_owner_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("uuid", name=op.f("pk_guide_assets")),
    )
    op.create_index("ix_guide_assets_guide_id", "guide_assets", ["guide_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_guide_assets_guide_id", table_name="guide_assets")
    op.drop_table("guide_assets")
    op.drop_table("guides")
    op.drop_table("migrated_items")
