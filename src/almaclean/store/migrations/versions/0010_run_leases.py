"""run_leases: the stored files each running run holds, so that `db prune` never removes a file
a run is analysing (store/leases.py). A lease lives from the moment a run picks its files until
its bundle is recorded in the run ledger (which then keeps the files) or the run ends.

Revision ID: 0010
"""
import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "run_leases",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("host", sa.Text(), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.Text(), nullable=False),
        sa.Column("source_file_ids", sa.Text(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("run_leases")
