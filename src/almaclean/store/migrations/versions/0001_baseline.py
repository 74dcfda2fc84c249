"""Baseline: the tables of sql/schema.sql (idempotent, so databases made before schema
versions existed are upgraded in place).

Revision ID: 0001
"""
from alembic import op

from almaclean.store.schema import MigrationRefused

from almaclean.store.sqlfiles import schema_statements

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    for statement in schema_statements(bind.dialect.name):
        op.execute(statement)


def downgrade() -> None:
    raise MigrationRefused("the baseline schema cannot be downgraded: below it there are no tables, so every "
                           "stored file and run would be dropped; to start afresh, remove the database instead")
