"""a BRIN index of task events' times, for the dashboard's history of the last minutes

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 17:00:00.000000

Events are only ever appended, so their times follow their place in the table: a BRIN index (a few pages, one
summary per block range) finds the last minutes' events at nearly no cost to each insert, where a B-tree would add
an entry per event. Built CONCURRENTLY, so writers are never blocked.
"""

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.get_context().autocommit_block():
        # A build that failed half way leaves an invalid index behind: drop it, so that running again rebuilds it.
        op.execute(
            "DO $$ BEGIN IF EXISTS (SELECT FROM pg_index WHERE indexrelid = 'ix_task_events_created_at'::regclass "
            "AND NOT indisvalid) THEN DROP INDEX ix_task_events_created_at; END IF; "
            "EXCEPTION WHEN undefined_table THEN NULL; END $$"
        )
        op.execute(
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_task_events_created_at ON task_events USING brin (created_at)"
        )


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.execute("DROP INDEX CONCURRENTLY IF EXISTS ix_task_events_created_at")
