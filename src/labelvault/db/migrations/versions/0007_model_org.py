"""Registered models belong to an organization (None: the whole instance).

Revision ID: 0007_model_org
Revises: 0007_compatapi
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_model_org"
down_revision = "0007_compatapi"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("models") as batch:
        batch.add_column(sa.Column("organization_id", sa.Integer, nullable=True))
        batch.create_foreign_key(
            "fk_models_organization_id_organizations",
            "organizations",
            ["organization_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch.create_index("ix_models_organization_id", ["organization_id"])


def downgrade() -> None:
    with op.batch_alter_table("models") as batch:
        batch.drop_index("ix_models_organization_id")
        batch.drop_constraint("fk_models_organization_id_organizations", type_="foreignkey")
        batch.drop_column("organization_id")
