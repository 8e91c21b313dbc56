"""delayed tasks: a task's run_at, its outbox message's due time, and the scheduled status

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 04:00:00.000000

A task may be created to run later. Its message is written at once (the outbox still holds every dispatch) with
the time it is due; the relay publishes it up to 15 minutes early with SQS's DelaySeconds, and leaves it in the
outbox until then. The index keeps that scan to the unpublished rows, by due time, and is built CONCURRENTLY. The
status check is swapped without blocking writers for longer than a moment: dropped and added NOT VALID, each in its
own transaction, then validated under a lock that lets inserts and updates go on.
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


def _swap_status_check(statuses: tuple[str, ...]) -> None:
    # Each statement commits on its own (autocommit): the drop and the NOT VALID add hold tasks' lock for a moment;
    # VALIDATE scans the table under a lock that lets inserts and updates go on.
    allowed = ", ".join(f"'{status}'" for status in statuses)
    op.execute("ALTER TABLE tasks DROP CONSTRAINT IF EXISTS ck_tasks_status_known")
    op.execute(f"ALTER TABLE tasks ADD CONSTRAINT ck_tasks_status_known CHECK (status IN ({allowed})) NOT VALID")
    op.execute("ALTER TABLE tasks VALIDATE CONSTRAINT ck_tasks_status_known")


def upgrade() -> None:
    # Nullable columns without a default: a change to the catalogue, not a rewrite. IF NOT EXISTS throughout, so a run
    # cut short (the autocommit block commits as it goes) can simply be run again.
    op.execute("ALTER TABLE tasks ADD COLUMN IF NOT EXISTS run_at timestamptz")
    op.execute("ALTER TABLE outbox ADD COLUMN IF NOT EXISTS due_at timestamptz")
    with op.get_context().autocommit_block():
        op.execute(
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_outbox_unpublished_due_at ON outbox (due_at) "
            "WHERE published_at IS NULL"
        )
        _swap_status_check(AFTER)


def downgrade() -> None:
    # Turning scheduled tasks into pending ones would run them at once, months early perhaps: refuse instead.
    scheduled = op.get_bind().execute(sa.text("SELECT count(*) FROM tasks WHERE status = 'scheduled'")).scalar()
    if scheduled:
        raise RuntimeError(f"{scheduled} tasks are scheduled: cancel or run them before downgrading below 0011")
    with op.get_context().autocommit_block():
        _swap_status_check(BEFORE)
        op.execute("DROP INDEX CONCURRENTLY IF EXISTS ix_outbox_unpublished_due_at")
    op.drop_column("outbox", "due_at")
    op.drop_column("tasks", "run_at")
