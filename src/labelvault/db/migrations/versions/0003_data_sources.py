"""cloud storages and a task's cloud storage

Revision ID: 0003
Revises: 0002
"""

from alembic import op
import sqlalchemy as sa


revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cloud_storages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("provider_type", sa.String(length=32), nullable=False),
        sa.Column("resource", sa.String(length=222), nullable=False),
        sa.Column("display_name", sa.String(length=63), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("credentials_type", sa.String(length=32), nullable=False),
        sa.Column("specific_attributes", sa.String(length=1024), nullable=False),
        sa.Column("credentials", sa.Text(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("created_date", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_date", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["users.id"],
            name=op.f("fk_cloud_storages_owner_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cloud_storages")),
    )
    op.create_index("ix_cloud_storages_owner_id", "cloud_storages", ["owner_id"], unique=False)
    if op.get_bind().dialect.name == "sqlite":
        # A batch rebuild of `tasks` would drop and re-create it, which with foreign keys on
        # cascades into jobs and annotations; SQLite adds a referencing column in place.
        op.execute(
            "ALTER TABLE tasks ADD COLUMN cloud_storage_id INTEGER "
            "CONSTRAINT fk_tasks_cloud_storage_id_cloud_storages "
            "REFERENCES cloud_storages (id) ON DELETE SET NULL"
        )
    else:
        op.add_column("tasks", sa.Column("cloud_storage_id", sa.Integer(), nullable=True))
        op.create_foreign_key(
            op.f("fk_tasks_cloud_storage_id_cloud_storages"),
            "tasks",
            "cloud_storages",
            ["cloud_storage_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE tasks DROP COLUMN cloud_storage_id")
    else:
        op.drop_constraint(
            op.f("fk_tasks_cloud_storage_id_cloud_storages"), "tasks", type_="foreignkey"
        )
        op.drop_column("tasks", "cloud_storage_id")
    op.drop_index("ix_cloud_storages_owner_id", table_name="cloud_storages")
    op.drop_table("cloud_storages")
