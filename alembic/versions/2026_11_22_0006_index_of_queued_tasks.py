"""index of queued tasks, for the oldest queued task in /metrics

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 22:00:00.000000
"""

import sqlalchemy as sa

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_tasks_queued_updated_at", "tasks", ["updated_at"], postgresql_where=sa.text("status = 'queued'")
    )


def downgrade() -> None:
    op.drop_index("ix_tasks_queued_updated_at", table_name="tasks", postgresql_where=sa.text("status = 'queued'"))
