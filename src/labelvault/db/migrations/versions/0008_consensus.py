"""consensus: replica jobs with their parent job, a task's consensus_replicas count

Revision ID: 0008_consensus
Revises: 0007_teams
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_consensus"
down_revision = "0007_teams"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.add_column(
            sa.Column("consensus_replicas", sa.Integer(), server_default="0", nullable=False)
        )
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("parent_job_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_jobs_parent_job_id_jobs"),
            "jobs",
            ["parent_job_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch.create_index(op.f("ix_jobs_parent_job_id"), ["parent_job_id"])


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_index(op.f("ix_jobs_parent_job_id"))
        batch.drop_constraint(op.f("fk_jobs_parent_job_id_jobs"), type_="foreignkey")
        batch.drop_column("parent_job_id")
    with op.batch_alter_table("tasks") as batch:
        batch.drop_column("consensus_replicas")
