"""consumer environments: until when an invocation may run, so one that died mid-batch is not shown busy

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02 18:00:00.000000

An environment killed mid-batch (a timeout, a crash, a stop) never reports its end: its row stayed `busy`. Each
invocation now records its deadline, and a batch past it is shown as stopped. The consumer may also delete the rows
of environments gone for a day, so the table holds about a day of them.
"""

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE consumer_environments ADD COLUMN IF NOT EXISTS busy_until timestamptz")
    op.execute("GRANT DELETE ON consumer_environments TO taskflow_consumer")


def downgrade() -> None:
    op.execute("REVOKE DELETE ON consumer_environments FROM taskflow_consumer")
    op.drop_column("consumer_environments", "busy_until")
