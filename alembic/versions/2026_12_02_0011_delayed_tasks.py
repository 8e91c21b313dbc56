"""delayed tasks: a task's run_at, its outbox message's due time, and the scheduled status

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 04:00:00.000000

A task may be created to run later. Its message is written at once (the outbox still holds every dispatch) with
the time it is due; the relay publishes it up to 15 minutes early with SQS's DelaySeconds, and leaves it in the
outbox until then. The index keeps that scan to the unpublished rows, by due time. The status check is swapped
without blocking writers: added NOT VALID, then validated under a lock that lets inserts and updates go on.
"""

import sqlalchemy as sa

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

# The statuses as of this migration (a migration keeps the values it was written with).
BEFORE = ("pending", "queued", "running", "succeeded", "failed", "cancelled")
AFTER = ("scheduled", *BEFORE)
UNPUBLISHED = sa.text("published_at IS NULL")


def _swap_status_check(statuses: tuple[str, ...]) -> None:
    op.drop_constraint(op.f("ck_tasks_status_known"), "tasks", type_="check")
    allowed = ", ".join(f"'{status}'" for status in statuses)
    op.execute(f"ALTER TABLE tasks ADD CONSTRAINT ck_tasks_status_known CHECK (status IN ({allowed})) NOT VALID")
    op.execute("ALTER TABLE tasks VALIDATE CONSTRAINT ck_tasks_status_known")


def upgrade() -> None:
    op.add_column("tasks", sa.Column("run_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("outbox", sa.Column("due_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_outbox_unpublished_due_at", "outbox", ["due_at"], postgresql_where=UNPUBLISHED)
    _swap_status_check(AFTER)


def downgrade() -> None:
    op.execute("UPDATE tasks SET status = 'pending' WHERE status = 'scheduled'")
    _swap_status_check(BEFORE)
    op.drop_index("ix_outbox_unpublished_due_at", table_name="outbox", postgresql_where=UNPUBLISHED)
    op.drop_column("outbox", "due_at")
    op.drop_column("tasks", "run_at")
