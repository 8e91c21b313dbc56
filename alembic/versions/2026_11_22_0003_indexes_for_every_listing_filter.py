"""indexes for every listing filter

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 15:14:03.563337
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_tasks_labels", "tasks", ["labels"], unique=False, postgresql_using="gin")
    op.create_index("ix_tasks_status_created_at_id", "tasks", ["status", "created_at", "id"], unique=False)
    op.create_index("ix_tasks_type_created_at_id", "tasks", ["type", "created_at", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_tasks_type_created_at_id", table_name="tasks")
    op.drop_index("ix_tasks_status_created_at_id", table_name="tasks")
    op.drop_index("ix_tasks_labels", table_name="tasks", postgresql_using="gin")
