"""run_ledger.source_file_ids: the stored files a run analysed (JSON list), so that pruning old
history never removes what a kept run's bundle names.

Revision ID: 0005
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("run_ledger", sa.Column("source_file_ids", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("run_ledger", "source_file_ids")
