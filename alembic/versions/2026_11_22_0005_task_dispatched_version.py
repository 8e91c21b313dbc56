"""task dispatched version

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 19:05:00.000000
"""

import sqlalchemy as sa

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # 1 is the version every task is created and first dispatched at; messages already in flight stay valid.
    op.add_column("tasks", sa.Column("dispatched_version", sa.Integer(), server_default="1", nullable=False))


def downgrade() -> None:
    op.drop_column("tasks", "dispatched_version")
