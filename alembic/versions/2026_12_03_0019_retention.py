"""retention: the indexes the relay's pruning walks, oldest first, and its right to delete

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03 09:00:00.000000

Each index lets the pruning (taskflow.services.retention) walk a kind of row in the order of its age, a batch at a
time, without reading what it keeps: finished tasks by when they finished, idempotency keys by when they were made,
settled webhook deliveries by when they were made (outbox rows and dead letters walk their ids). Built
CONCURRENTLY, so a table of millions of rows never blocks its writers; a build that failed half way is dropped and
built again when this runs again.
"""

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_tasks_finished_at_id": "tasks (finished_at, id) WHERE finished_at IS NOT NULL",
    "ix_idempotency_keys_created_at": "idempotency_keys (created_at)",
    "ix_webhook_deliveries_settled_created_at": "webhook_deliveries (created_at) WHERE status <> 'pending'",
}
GRANTS = "GRANT DELETE ON outbox, tasks, idempotency_keys, dead_letters, webhook_deliveries TO taskflow_relay"


def upgrade() -> None:
    with op.get_context().autocommit_block():
        for name, definition in INDEXES.items():
            op.execute(
                f"DO $$ BEGIN IF EXISTS (SELECT FROM pg_index WHERE indexrelid = '{name}'::regclass "
                f"AND NOT indisvalid) THEN DROP INDEX {name}; END IF; "
                "EXCEPTION WHEN undefined_table THEN NULL; END $$"
            )
            op.execute(f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON {definition}")
    op.execute(GRANTS)
    op.execute("GRANT SELECT ON idempotency_keys TO taskflow_relay")


def downgrade() -> None:
    op.execute("REVOKE SELECT ON idempotency_keys FROM taskflow_relay")
    op.execute(GRANTS.replace("GRANT", "REVOKE", 1).replace(" TO ", " FROM "))
    with op.get_context().autocommit_block():
        for name in INDEXES:
            op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
