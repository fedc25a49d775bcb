"""Never-reused uids for projects and tasks; backups and their schedule keyed by them.

Revision ID: 0005_hardening
Revises: 0004
Create Date: 2026-12-03
"""

import uuid

import sqlalchemy as sa
from alembic import op

revision = "0005_hardening"
down_revision = "0005_platform"
branch_labels = None
depends_on = None


def _backfill(table: str) -> None:
    conn = op.get_bind()
    ids = [row[0] for row in conn.execute(sa.text(f"SELECT id FROM {table}"))]
    for row_id in ids:
        conn.execute(
            sa.text(f"UPDATE {table} SET uid = :uid WHERE id = :id"),
            {"uid": uuid.uuid4().hex, "id": row_id},
        )


def upgrade() -> None:
    for table in ("projects", "tasks"):
        op.add_column(table, sa.Column("uid", sa.String(32), nullable=True))
        _backfill(table)
        op.create_index(f"uq_{table}_uid", table, ["uid"], unique=True)
    op.add_column("backup_records", sa.Column("target_uid", sa.String(32), nullable=True))
    op.create_index("ix_backup_records_target_uid", "backup_records", ["target_uid"])
    op.add_column("backup_status", sa.Column("target_uid", sa.String(32), nullable=True))
    # A backup made before uids existed is given its target's uid only when the target
    # still has the owner the backup was made for; any other stays with its owner alone.
    for kind, table in (("project", "projects"), ("task", "tasks")):
        op.execute(
            sa.text(
                f"UPDATE backup_records SET target_uid = (SELECT t.uid FROM {table} t "
                "WHERE t.id = backup_records.target_id AND t.owner_id = backup_records.owner_id) "
                f"WHERE target_type = '{kind}'"
            )
        )
        op.execute(
            sa.text(
                f"UPDATE backup_status SET target_uid = (SELECT t.uid FROM {table} t "
                f"WHERE t.id = backup_status.target_id) WHERE target_type = '{kind}'"
            )
        )


def downgrade() -> None:
    op.drop_column("backup_status", "target_uid")
    op.drop_index("ix_backup_records_target_uid", table_name="backup_records")
    op.drop_column("backup_records", "target_uid")
    for table in ("projects", "tasks"):
        op.drop_index(f"uq_{table}_uid", table_name=table)
        op.drop_column(table, "uid")
