"""Index only the rows that have a parent (skeleton elements, sub-tracks).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

WHERE = sa.text("parent_id IS NOT NULL")


def upgrade() -> None:
    for table in ("shapes", "tracks"):
        op.drop_index(f"ix_{table}_parent_id", table_name=table)
        op.create_index(f"ix_{table}_parent_id", table, ["parent_id"],
                        sqlite_where=WHERE, postgresql_where=WHERE)


def downgrade() -> None:
    for table in ("shapes", "tracks"):
        op.drop_index(f"ix_{table}_parent_id", table_name=table)
        op.create_index(f"ix_{table}_parent_id", table, ["parent_id"])
