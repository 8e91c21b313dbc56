"""task priority and labels

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 15:10:03.937967
"""

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("tasks", sa.Column("priority", sa.SmallInteger(), server_default="0", nullable=False))
    op.add_column(
        "tasks",
        sa.Column("labels", postgresql.ARRAY(sa.Text()), server_default=sa.text("'{}'"), nullable=False),
    )


def downgrade() -> None:
    op.drop_column("tasks", "labels")
    op.drop_column("tasks", "priority")
