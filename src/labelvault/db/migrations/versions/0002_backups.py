"""backup catalog and status

Revision ID: 0002
Revises: 0001
"""

from alembic import op
import sqlalchemy as sa


revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "backup_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("target_type", sa.String(length=16), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("target_name", sa.String(length=256), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("path", sa.String(length=1024), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("created_date", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["users.id"],
            name=op.f("fk_backup_records_owner_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_backup_records")),
        sa.UniqueConstraint("path", name=op.f("uq_backup_records_path")),
    )
    op.create_index(
        "ix_backup_records_owner_id", "backup_records", ["owner_id"], unique=False
    )
    op.create_index(
        "ix_backup_records_target",
        "backup_records",
        ["target_type", "target_id", "kind", "created_date"],
        unique=False,
    )
    op.create_table(
        "backup_status",
        sa.Column("target_type", sa.String(length=16), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("target_name", sa.String(length=256), nullable=False),
        sa.Column("last_attempt", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_success", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_failure", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("next_due", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_size", sa.BigInteger(), nullable=True),
        sa.Column("last_fingerprint", sa.String(length=64), nullable=False),
        sa.Column("warning", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint(
            "target_type", "target_id", "kind", name=op.f("pk_backup_status")
        ),
    )


def downgrade() -> None:
    op.drop_table("backup_status")
    op.drop_index("ix_backup_records_target", table_name="backup_records")
    op.drop_index("ix_backup_records_owner_id", table_name="backup_records")
    op.drop_table("backup_records")
