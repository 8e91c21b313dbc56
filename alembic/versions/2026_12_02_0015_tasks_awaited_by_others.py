"""tasks awaited by others: a flag on each task that a waiting task names, so that a plain finish is one statement

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 16:00:00.000000

The consumer's finish took a lock of its own before its statement, so that it would see a waiting task created
while it waited for the row; with the flag on the row itself, a finish that waited re-checks it on the row as
updated, and a flagged task takes the general path that settles its waiting tasks. A column with a constant
default is added without a rewrite; the flag is set on the tasks today's waiting tasks name.
"""

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE tasks ADD COLUMN IF NOT EXISTS awaited boolean NOT NULL DEFAULT false")
    op.execute(
        "UPDATE tasks SET awaited = true WHERE NOT awaited AND id IN "
        "(SELECT unnest(after_ids) FROM tasks WHERE status = 'waiting')"
    )


def downgrade() -> None:
    op.drop_column("tasks", "awaited")
