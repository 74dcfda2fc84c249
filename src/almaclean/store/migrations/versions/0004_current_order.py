"""source_files.current_order: which file of a scope is current. The newest ingest wins, and an
export ingested again after a newer one (an export that reverted) becomes current again without
being stored twice: its current_order is raised. Existing files keep their order (their id).

Revision ID: 0004
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("source_files", sa.Column("current_order", sa.BigInteger(), nullable=True))
    op.execute("UPDATE source_files SET current_order = id")


def downgrade() -> None:
    op.drop_column("source_files", "current_order")
