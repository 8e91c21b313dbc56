"""notify on every task event, for the live dashboard

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22 23:00:00.000000
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# One NOTIFY per status change, delivered at commit: the API's live feed (api/live.py) listens on this channel.
# A transaction that already notifies (task creation wakes the relay) takes the notify queue's lock once anyway.
FUNCTION = """
CREATE FUNCTION notify_task_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('task_events', json_build_object(
        'tenant_id', (SELECT tenant_id FROM tasks WHERE id = NEW.task_id),
        'task_id', NEW.task_id, 'from_status', NEW.from_status, 'to_status', NEW.to_status)::text);
    RETURN NULL;
END $$
"""


def upgrade() -> None:
    op.execute(FUNCTION)
    op.execute(
        "CREATE TRIGGER task_events_notify AFTER INSERT ON task_events "
        "FOR EACH ROW EXECUTE FUNCTION notify_task_event()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER task_events_notify ON task_events")
    op.execute("DROP FUNCTION notify_task_event()")
