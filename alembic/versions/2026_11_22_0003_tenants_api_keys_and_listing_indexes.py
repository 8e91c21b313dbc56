"""tenants, api keys and listing indexes

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 15:17:03.797932
"""

import sqlalchemy as sa

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tenants",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tenants")),
        sa.UniqueConstraint("name", name=op.f("uq_tenants_name")),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("prefix", sa.String(length=20), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_api_keys_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
    )
    op.create_index(op.f("ix_api_keys_tenant_id"), "api_keys", ["tenant_id"], unique=False)
    # Tasks created before tenants existed belong to a tenant named "default".
    op.add_column("tasks", sa.Column("tenant_id", sa.UUID(), nullable=True))
    op.execute("INSERT INTO tenants (id, name) SELECT gen_random_uuid(), 'default' WHERE EXISTS (SELECT 1 FROM tasks)")
    op.execute("UPDATE tasks SET tenant_id = (SELECT id FROM tenants WHERE name = 'default')")
    op.alter_column("tasks", "tenant_id", nullable=False)
    op.drop_index(op.f("ix_tasks_created_at_id"), table_name="tasks")
    op.create_index("ix_tasks_labels", "tasks", ["labels"], unique=False, postgresql_using="gin")
    op.create_index("ix_tasks_tenant_created_at_id", "tasks", ["tenant_id", "created_at", "id"], unique=False)
    op.create_index(
        "ix_tasks_tenant_status_created_at_id", "tasks", ["tenant_id", "status", "created_at", "id"], unique=False
    )
    op.create_index(
        "ix_tasks_tenant_type_created_at_id", "tasks", ["tenant_id", "type", "created_at", "id"], unique=False
    )
    op.create_foreign_key(op.f("fk_tasks_tenant_id_tenants"), "tasks", "tenants", ["tenant_id"], ["id"])


def downgrade() -> None:
    op.drop_constraint(op.f("fk_tasks_tenant_id_tenants"), "tasks", type_="foreignkey")
    op.drop_index("ix_tasks_tenant_type_created_at_id", table_name="tasks")
    op.drop_index("ix_tasks_tenant_status_created_at_id", table_name="tasks")
    op.drop_index("ix_tasks_tenant_created_at_id", table_name="tasks")
    op.drop_index("ix_tasks_labels", table_name="tasks", postgresql_using="gin")
    op.create_index(
        op.f("ix_tasks_created_at_id"),
        "tasks",
        [sa.literal_column("created_at DESC"), sa.literal_column("id DESC")],
        unique=False,
    )
    op.drop_column("tasks", "tenant_id")
    op.drop_index(op.f("ix_api_keys_tenant_id"), table_name="api_keys")
    op.drop_table("api_keys")
    op.drop_table("tenants")
