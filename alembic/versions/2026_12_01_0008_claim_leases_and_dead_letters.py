"""claim leases on the task row, and dead letters as rows

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 09:00:00.000000
"""

import sqlalchemy as sa

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A new nullable column is a catalog change only: no table rewrite, no long lock.
    op.add_column("tasks", sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True))
    # Tasks running right now get the longest lease the old rule gave (function timeout 30 s + margin 30 s).
    op.execute("UPDATE tasks SET lease_expires_at = started_at + interval '60 seconds' WHERE status = 'running'")
    op.create_table(
        "dead_letters",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("message_id", sa.String(length=100), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=True),
        sa.Column("task_id", sa.UUID(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("receive_count", sa.Integer(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_failure_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_failure_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_dead_letters_tenant_id_tenants")),
        sa.ForeignKeyConstraint(
            ["task_id"], ["tasks.id"], name=op.f("fk_dead_letters_task_id_tasks"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dead_letters")),
        sa.UniqueConstraint("message_id", name=op.f("uq_dead_letters_message_id")),
    )
    op.create_index("ix_dead_letters_tenant_id_id", "dead_letters", ["tenant_id", "id"])
    op.create_index("ix_dead_letters_task_id", "dead_letters", ["task_id"])
    # Built without blocking writers: on a large tasks table a plain CREATE INDEX would hold them for its whole scan.
    with op.get_context().autocommit_block():
        op.create_index(
            "ix_tasks_running_lease_expires_at",
            "tasks",
            ["lease_expires_at"],
            postgresql_where=sa.text("status = 'running'"),
            postgresql_concurrently=True,
            if_not_exists=True,
        )


def downgrade() -> None:
    op.drop_index("ix_tasks_running_lease_expires_at", table_name="tasks")
    op.drop_table("dead_letters")
    op.drop_column("tasks", "lease_expires_at")
