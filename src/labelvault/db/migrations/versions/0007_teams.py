"""teams: the webhook outbox (events written in the commit that made them), project reports

Revision ID: 0007_teams
Revises: 0007_model_org
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_teams"
down_revision = "0007_model_org"
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
    # A project's quality report aggregates its tasks' reports: it has no task of its own.
    with op.batch_alter_table("quality_reports") as batch:
        batch.alter_column("task_id", existing_type=sa.Integer(), nullable=True)
        batch.add_column(sa.Column("project_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_quality_reports_project_id_projects"),
            "projects",
            ["project_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch.create_index("ix_quality_reports_project_id", ["project_id"])


def downgrade() -> None:
    op.execute("DELETE FROM quality_reports WHERE task_id IS NULL")
    with op.batch_alter_table("quality_reports") as batch:
        batch.drop_index("ix_quality_reports_project_id")
        batch.drop_constraint(op.f("fk_quality_reports_project_id_projects"), type_="foreignkey")
        batch.drop_column("project_id")
        batch.alter_column("task_id", existing_type=sa.Integer(), nullable=False)
    op.drop_table("webhook_outbox")
