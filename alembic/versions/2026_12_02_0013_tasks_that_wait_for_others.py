"""tasks that wait for others: a task's `after` ids, the waiting status, and the consumer's right to dispatch

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 09:00:00.000000

A task created with `after` waits, without a message, until every task it names has succeeded; it is released in
the transaction of the last one's success, which may be the consumer's, so the consumer's role may now write
outbox rows. The column is nullable without a default (no rewrite); the index holds waiting tasks only and is
built CONCURRENTLY; the status check is swapped as in 0011, without blocking writers for more than a moment.
"""

import sqlalchemy as sa

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

# The statuses as of this migration (a migration keeps the values it was written with).
BEFORE = ("scheduled", "pending", "queued", "running", "succeeded", "failed", "cancelled")
AFTER = ("waiting", *BEFORE)


def _swap_status_check(statuses: tuple[str, ...]) -> None:
    allowed = ", ".join(f"'{status}'" for status in statuses)
    op.execute("ALTER TABLE tasks DROP CONSTRAINT IF EXISTS ck_tasks_status_known")
    op.execute(f"ALTER TABLE tasks ADD CONSTRAINT ck_tasks_status_known CHECK (status IN ({allowed})) NOT VALID")
    op.execute("ALTER TABLE tasks VALIDATE CONSTRAINT ck_tasks_status_known")


def upgrade() -> None:
    op.execute("ALTER TABLE tasks ADD COLUMN IF NOT EXISTS after_ids uuid[]")
    # An ORM insert reads back the new row's id and creation time (RETURNING).
    op.execute("GRANT SELECT (id, created_at), INSERT ON outbox TO taskflow_consumer")
    op.execute("GRANT USAGE ON SEQUENCE outbox_id_seq TO taskflow_consumer")
    with op.get_context().autocommit_block():
        # A build that failed half way leaves an invalid index behind: drop it, so that running again rebuilds it.
        op.execute(
            "DO $$ BEGIN IF EXISTS (SELECT FROM pg_index WHERE indexrelid = 'ix_tasks_waiting_after_ids'::regclass "
            "AND NOT indisvalid) THEN DROP INDEX ix_tasks_waiting_after_ids; END IF; "
            "EXCEPTION WHEN undefined_table THEN NULL; END $$"
        )
        op.execute(
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_tasks_waiting_after_ids ON tasks USING gin (after_ids) "
            "WHERE status = 'waiting'"
        )
        _swap_status_check(AFTER)


def downgrade() -> None:
    # A waiting task turned pending would run before the tasks it waits for: refuse instead.
    waiting = op.get_bind().execute(sa.text("SELECT count(*) FROM tasks WHERE status = 'waiting'")).scalar()
    if waiting:
        raise RuntimeError(f"{waiting} tasks are waiting for others: cancel them before downgrading below 0013")
    with op.get_context().autocommit_block():
        _swap_status_check(BEFORE)
        op.execute("DROP INDEX CONCURRENTLY IF EXISTS ix_tasks_waiting_after_ids")
    op.execute("REVOKE USAGE ON SEQUENCE outbox_id_seq FROM taskflow_consumer")
    op.execute("REVOKE ALL ON outbox FROM taskflow_consumer")
    op.drop_column("tasks", "after_ids")
