"""source_files.columns_json: which canonical column each file column feeds, so an analysis of
stored data knows which evidence the file had (a column absent from the file is "not
checked", never "empty"). NULL for files stored before: presence is then read from the values.

Revision ID: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("source_files", sa.Column("columns_json", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("source_files", "columns_json")
