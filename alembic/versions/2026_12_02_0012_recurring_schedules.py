"""recurring schedules, and each task's schedule and occurrence

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 05:00:00.000000

The relay fires due schedules: each occurrence becomes one task, which the unique index on (schedule, occurrence)
guarantees however many relays run. The relay now inserts tasks, so its role gains INSERT on tasks and the outbox's
sequence use it already had; the API's role manages schedules. The unique index is built CONCURRENTLY, so a large
tasks table keeps taking writes while it is made.
"""

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

# role -> {table: privileges}, as in 0009 (a migration keeps the values it was written with).
GRANTS = {
    "taskflow_api": {"schedules": "SELECT, INSERT, UPDATE, DELETE"},
    "taskflow_relay": {"schedules": "SELECT, UPDATE", "tasks": "INSERT"},
}


def upgrade() -> None:
    op.create_table(
        "schedules",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("task_type", sa.String(length=100), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("priority", sa.SmallInteger(), server_default="0", nullable=False),
        sa.Column("labels", postgresql.ARRAY(sa.Text()), server_default=sa.text("'{}'"), nullable=False),
        sa.Column("cron", sa.String(length=200), nullable=True),
        sa.Column("timezone", sa.String(length=64), server_default="UTC", nullable=False),
        sa.Column("interval_seconds", sa.Integer(), nullable=True),
        sa.Column("missed", sa.String(length=20), server_default="skip", nullable=False),
        sa.Column("paused", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("next_run_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("(cron IS NULL) <> (interval_seconds IS NULL)", name=op.f("ck_schedules_cron_or_interval")),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_schedules_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schedules")),
    )
    op.create_index(op.f("ix_schedules_tenant_id"), "schedules", ["tenant_id"], unique=False)
    op.create_index("ix_schedules_due", "schedules", ["next_run_at"], postgresql_where=sa.text("NOT paused"))
    op.add_column("tasks", sa.Column("schedule_id", sa.UUID(), nullable=True))
    op.add_column("tasks", sa.Column("occurrence_at", sa.DateTime(timezone=True), nullable=True))
    # NOT VALID, then validated after the commit: validating while adding scans every task under a lock that holds
    # writers back (1.2 s on 10 million tasks, make soak-bench); VALIDATE CONSTRAINT lets them write meanwhile.
    op.create_foreign_key(
        op.f("fk_tasks_schedule_id_schedules"), "tasks", "schedules", ["schedule_id"], ["id"], ondelete="SET NULL",
        postgresql_not_valid=True,
    )
    with op.get_context().autocommit_block():
        op.execute("ALTER TABLE tasks VALIDATE CONSTRAINT fk_tasks_schedule_id_schedules")
        op.create_index(
            "ux_tasks_schedule_occurrence",
            "tasks",
            ["schedule_id", "occurrence_at"],
            unique=True,
            postgresql_where=sa.text("schedule_id IS NOT NULL"),
            postgresql_concurrently=True,
        )
    for role, tables in GRANTS.items():
        for table, privileges in tables.items():
            op.execute(f"GRANT {privileges} ON {table} TO {role}")


def downgrade() -> None:
    op.execute("REVOKE INSERT ON tasks FROM taskflow_relay")
    op.drop_index("ux_tasks_schedule_occurrence", table_name="tasks")
    op.drop_constraint(op.f("fk_tasks_schedule_id_schedules"), "tasks", type_="foreignkey")
    op.drop_column("tasks", "occurrence_at")
    op.drop_column("tasks", "schedule_id")
    op.drop_index("ix_schedules_due", table_name="schedules", postgresql_where=sa.text("NOT paused"))
    op.drop_index(op.f("ix_schedules_tenant_id"), table_name="schedules")
    op.drop_table("schedules")
