"""a role per process, with only the grants it needs

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 12:00:00.000000

The API, the relay and the consumer each log in as a role of their own (on AWS with a password from a secret of
their own; locally they SET ROLE to it): the consumer cannot read API keys, none of them can change the schema,
and only the migration, as the tables' owner, can. Roles belong to the whole server, so they are created if
missing and never dropped here (other databases on the server may use them); the grants are this database's.
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# role -> {table: privileges}. SELECT ... FOR UPDATE needs UPDATE; an INSERT needs its sequence.
GRANTS = {
    "taskflow_api": {
        "tenants": "SELECT",
        "api_keys": "SELECT",
        "tasks": "SELECT, INSERT, UPDATE, DELETE",
        "task_events": "SELECT, INSERT",
        "outbox": "SELECT, INSERT",
        "idempotency_keys": "SELECT, INSERT",
        "dead_letters": "SELECT, UPDATE, DELETE",  # a redrive locks the letters it removes (FOR UPDATE)
    },
    "taskflow_relay": {
        "tasks": "SELECT, UPDATE",
        "task_events": "SELECT, INSERT",
        "outbox": "SELECT, INSERT, UPDATE",
        "dead_letters": "SELECT, INSERT",
    },
    "taskflow_consumer": {
        "tasks": "SELECT, UPDATE",
        "task_events": "SELECT (id), INSERT",  # an ORM insert reads back the new row's id (RETURNING)
    },
}
SEQUENCES = {"task_events": "task_events_id_seq", "outbox": "outbox_id_seq", "dead_letters": "dead_letters_id_seq"}


def create_role(role: str) -> str:
    """CREATE ROLE unless the server has it, also when another database's migration creates it at the same moment
    (the check cannot see that one's uncommitted role; its CREATE then fails on the server-wide unique name)."""
    return (
        f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN CREATE ROLE {role} NOLOGIN; "
        "END IF; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
    )


def upgrade() -> None:
    for role, tables in GRANTS.items():
        op.execute(create_role(role))
        op.execute(f"GRANT USAGE ON SCHEMA public TO {role}")
        for table, privileges in tables.items():
            op.execute(f"GRANT {privileges} ON {table} TO {role}")
            if "INSERT" in privileges and SEQUENCES.get(table):
                op.execute(f"GRANT USAGE ON SEQUENCE {SEQUENCES[table]} TO {role}")


def downgrade() -> None:
    for role in GRANTS:
        op.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {role}")
        op.execute(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {role}")
        op.execute(f"REVOKE USAGE ON SCHEMA public FROM {role}")
