"""Content rows keep their canonical columns packed into one text, `fields`.

Each kind's content table keeps row_id, hash_a, hash_b, its key column (portfolio_id, legacy_id,
po_line) and raw_cells; its other canonical columns become one `fields` text, built in SQL by
store/fields.py's packed_sql (codec version 1): the columns of LAYOUT in order, joined by the
unit separator (char 31), a null as the empty field, an empty text as \\e, and in a value a
backslash doubled and a separator as \\u. The layout is frozen here as it was when this
migration was written; fields.FIELDS only grows at its end, so rows converted here read the
same through it.

Revision ID: 0008
"""
import sqlalchemy as sa
from alembic import op

from almaclean.store.fields import packed_sql
from almaclean.store.schema import refuse_downgrade, rows_in

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None
REWRITES = "the stored rows of every file, their columns packed into one"
ROWS_PER_SECOND = 55_000  # measured on a busy 2-core machine (a 1M-row database)

KEYS = {"p2e_lines": "legacy_id", "portfolios": "portfolio_id", "extended_export_rows": "portfolio_id",
        "po_lines": "po_line"}
LAYOUT = {
    "p2e_lines": ("p2e_type", "title", "issn", "isbn", "url", "provider", "po_number"),
    "portfolios": ("mms_id", "title", "publisher", "publication_date", "issn", "isbn", "network_number",
                   "collection_id", "collection_name", "interface_name", "service_id", "portfolio_linked_to_cz",
                   "collection_linked_to_cz", "availability", "url", "po_line", "coverage_statement",
                   "material_type", "license_name", "is_standalone"),
    "extended_export_rows": ("mms_id", "title", "localized", "availability", "issn", "isbn", "other_system_number",
                             "url", "po_line", "coverage_statement", "publisher"),
    "po_lines": ("title", "status", "order_line_type", "vendor", "mms_id", "portfolio_id"),
}


def upgrade() -> None:
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    row_id = "row_id INTEGER PRIMARY KEY" if sqlite else "row_id BIGINT PRIMARY KEY"
    inspector = sa.inspect(bind)
    for table, key in KEYS.items():
        nullable = {c["name"]: c["nullable"] for c in inspector.get_columns(table)}
        missing = set(LAYOUT[table]) - set(nullable)
        if missing:
            raise RuntimeError(f"{table} lacks columns {sorted(missing)}: not the 0007 layout")
        op.execute(f"CREATE TABLE {table}_packed ({row_id}, hash_a BIGINT, hash_b BIGINT, "
                   f"{key} TEXT{'' if nullable[key] else ' NOT NULL'}, fields TEXT NOT NULL, raw_cells TEXT)")
        source = sa.table(table, *(sa.column(c, sa.Text) for c in ("row_id", "hash_a", "hash_b", key, "raw_cells",
                                                                     *LAYOUT[table])))
        target = sa.table(f"{table}_packed", *map(sa.column, ("row_id", "hash_a", "hash_b", key, "fields", "raw_cells")))
        columns = [source.c[c] for c in ("row_id", "hash_a", "hash_b", key)]
        # an empty table (a new database) has nothing to convert, and compiling packed_sql costs more
        # than the rest of the migration
        if bind.execute(sa.select(sa.literal(1)).select_from(source).limit(1)).first() is not None:
            fields = packed_sql([source.c[c] for c in LAYOUT[table]], bind.dialect)
            op.execute(target.insert().from_select(list(target.c), sa.select(*columns, fields, source.c.raw_cells)))
        op.execute(f"DROP TABLE {table}")
        op.execute(f"ALTER TABLE {table}_packed RENAME TO {table}")


def rows_to_rewrite(conn) -> int:
    return rows_in(conn, KEYS)


def downgrade() -> None:
    raise refuse_downgrade(revision, "packed fields", "it rebuilt the portfolio, P2E line, PO line and Extended "
                           "Export tables")
