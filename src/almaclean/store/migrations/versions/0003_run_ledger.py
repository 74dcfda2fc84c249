"""run_ledger: one row per run folder ever published, with the sha256 of its bundle.json, so
`almaclean verify` can tell a bundle made by this database's runs from one re-made later.
almaclean only ever inserts into it.

Revision ID: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "run_ledger",
        sa.Column("run_uuid", sa.Text(), primary_key=True),
        sa.Column("workflow", sa.Text(), nullable=False),
        sa.Column("folder_name", sa.Text(), nullable=False),
        sa.Column("bundle_sha256", sa.Text(), nullable=False),
        sa.Column("recorded_at", sa.Text(), nullable=False),
        sa.Column("tool_version", sa.Text(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("run_ledger")
