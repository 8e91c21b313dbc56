"""notify the relay on every insert into the outbox

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 18:00:00.000000

Until now each writer of an outbox row had to remember to NOTIFY the relay; one that forgot left its message
waiting for the relay's idle timeout. A statement-level trigger makes the wake-up part of the insert itself.
PostgreSQL folds equal notifications of one transaction into one, delivered at commit.
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# The channel taskflow.services.outbox.OUTBOX_CHANNEL names; a migration keeps the value it was written with.
FUNCTION = """
CREATE FUNCTION notify_outbox() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('taskflow_outbox', '');
    RETURN NULL;
END $$
"""


def upgrade() -> None:
    op.execute(FUNCTION)
    op.execute(
        "CREATE TRIGGER outbox_notify AFTER INSERT ON outbox FOR EACH STATEMENT EXECUTE FUNCTION notify_outbox()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER outbox_notify ON outbox")
    op.execute("DROP FUNCTION notify_outbox()")
