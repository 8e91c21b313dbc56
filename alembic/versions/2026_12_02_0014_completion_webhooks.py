"""completion webhooks: a task's callback_url, each tenant's webhook settings, and the deliveries

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 10:00:00.000000

A delivery is written in the transaction that finishes its task (by the consumer, the relay's sweep or the API's
cancel), so each of their roles may insert one; the relay sends them and records each attempt. The column is
nullable without a default (no rewrite of tasks); the new tables start empty.
"""

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

# role -> {table: privileges}, as in 0009 (a migration keeps the values it was written with).
GRANTS = {
    "taskflow_api": {"webhook_settings": "SELECT, INSERT, UPDATE", "webhook_deliveries": "SELECT, INSERT"},
    "taskflow_relay": {"webhook_settings": "SELECT", "webhook_deliveries": "SELECT, INSERT, UPDATE"},
    "taskflow_consumer": {"webhook_deliveries": "INSERT"},
}


def upgrade() -> None:
    op.execute("ALTER TABLE tasks ADD COLUMN IF NOT EXISTS callback_url text")
    op.create_table(
        "webhook_settings",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("allowed_hosts", postgresql.ARRAY(sa.Text()), server_default=sa.text("'{}'"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_webhook_settings_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_webhook_settings")),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("task_id", sa.UUID(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'delivered', 'failed')", name=op.f("ck_webhook_deliveries_status_known")
        ),
        sa.ForeignKeyConstraint(
            ["task_id"], ["tasks.id"], name=op.f("fk_webhook_deliveries_task_id_tasks"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_webhook_deliveries_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
    )
    op.create_index(op.f("ix_webhook_deliveries_task_id"), "webhook_deliveries", ["task_id"])
    op.create_index(
        "ix_webhook_deliveries_pending_due",
        "webhook_deliveries",
        ["next_attempt_at"],
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index("ix_webhook_deliveries_tenant_id_status", "webhook_deliveries", ["tenant_id", "status"])
    for role, tables in GRANTS.items():
        for table, privileges in tables.items():
            op.execute(f"GRANT {privileges} ON {table} TO {role}")


def downgrade() -> None:
    op.drop_table("webhook_deliveries")
    op.drop_table("webhook_settings")
    op.drop_column("tasks", "callback_url")
