"""consumer environments: each Lambda execution environment's invocations, records and current batch

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02 17:30:00.000000

The consumer writes a row per execution environment (on AWS, per log stream) when an invocation starts and ends,
so the dashboard shows the environments the same way in make dev, compose and on AWS. Two statements per batch,
none per task.
"""

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        CREATE TABLE IF NOT EXISTS consumer_environments (
            id varchar(200) PRIMARY KEY,
            started_at timestamptz NOT NULL DEFAULT now(),
            last_seen_at timestamptz NOT NULL DEFAULT now(),
            invocations bigint NOT NULL DEFAULT 0,
            records bigint NOT NULL DEFAULT 0,
            failed_records bigint NOT NULL DEFAULT 0,
            current_batch integer NOT NULL DEFAULT 0,
            busy_since timestamptz
        )
    """)
    op.execute(
        "CREATE INDEX IF NOT EXISTS ix_consumer_environments_last_seen_at ON consumer_environments (last_seen_at)"
    )
    op.execute("GRANT SELECT, INSERT, UPDATE ON consumer_environments TO taskflow_consumer")
    op.execute("GRANT SELECT ON consumer_environments TO taskflow_api")


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS consumer_environments")
