"""Packed fields versioned and viewable: content_codecs records each content table's codec
version (1, the layout migration 0008 introduced), and a view per content table unpacks `fields`
for queries by hand (store/fields.py: portfolios_unpacked, p2e_lines_unpacked, po_lines_unpacked,
extended_export_rows_unpacked).

Revision ID: 0013
"""
import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

TABLES = ("p2e_lines", "portfolios", "extended_export_rows", "po_lines")


def upgrade() -> None:
    from almaclean.store.fields import view_statements

    codecs = op.create_table(
        "content_codecs",
        sa.Column("content_table", sa.Text(), primary_key=True),
        sa.Column("version", sa.Integer(), nullable=False),
    )
    op.bulk_insert(codecs, [{"content_table": table, "version": 1} for table in TABLES])
    for statement in view_statements(op.get_bind().dialect):
        op.execute(statement)


def downgrade() -> None:
    from almaclean.store.fields import VIEWS

    for view in VIEWS.values():
        op.execute(f"DROP VIEW IF EXISTS {op.get_bind().dialect.identifier_preparer.quote(view)}")
    op.drop_table("content_codecs")
