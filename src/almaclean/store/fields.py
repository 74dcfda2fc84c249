"""The `fields` codec: a content row's canonical columns (all but its key) packed into one text.

Version 1, the only one: the columns of FIELDS[table], in that order, joined by SEPARATOR (the
ASCII unit separator). A null is the empty field and an empty text EMPTY_TEXT; in a value a
backslash is doubled and the separator written as ESCAPED_SEPARATOR, so every text comes back
exactly. One value per row instead of twenty: SQLite binds and stores values one by one, and a
million-row export is stored in half the time (the content hash packs a file's cells the same
way: store/content.py).

This module is the one place that packs and unpacks, in polars (packed, unpacked) and in SQL
(packed_sql, which migration 0008 used to convert stored rows, and the views). Every database
records the codec of each content table in content_codecs; readers and writers check it first
(check_codec) and refuse a version they do not know (UnknownCodec) instead of mis-reading it.
A new codec would be a migration that rewrites the rows, sets the new version and creates the
views again.

For queries by hand, each content table has a view, <table>_unpacked (VIEWS): row_id, hash_a,
hash_b, the key column, every column of FIELDS[table] as text (null as null) and raw_cells,
on SQLite and PostgreSQL alike; it reads the rows of the codec version it was made for only.

FIELDS only ever grows at its end: a row stored before a column was added reads that column as
null. A column added to FIELDS comes with a migration that makes the views again (view_statements).
"""
from __future__ import annotations

from collections.abc import Sequence
from functools import reduce

import polars as pl
from sqlalchemy import Connection, Dialect, Text, case, func, inspect, literal, select
from sqlalchemy.sql.elements import ColumnElement

from almaclean.errors import AlmacleanError
from almaclean.kinds.registry import KINDS
from almaclean.store.tables import CONTENT_TABLES, content_codecs

VERSION = 1
SEPARATOR = "\x1f"
ESCAPED_SEPARATOR = "\\u"
EMPTY_TEXT = "\\e"
# Each content table's packed canonical columns, in stored order: add a column at the end only.
FIELDS: dict[str, tuple[str, ...]] = {
    "p2e_lines": ("p2e_type", "title", "issn", "isbn", "url", "provider", "po_number"),
    "portfolios": ("mms_id", "title", "publisher", "publication_date", "issn", "isbn", "network_number",
                   "collection_id", "collection_name", "interface_name", "service_id", "portfolio_linked_to_cz",
                   "collection_linked_to_cz", "availability", "url", "po_line", "coverage_statement",
                   "material_type", "license_name", "is_standalone", "public_note", "authentication_note",
                   "internal_description", "license_code", "additional_po_lines", "proxy_enabled", "proxy_selected",
                   "available_for_group"),
    "extended_export_rows": ("mms_id", "title", "localized", "availability", "issn", "isbn", "other_system_number",
                             "url", "po_line", "coverage_statement", "publisher"),
    "po_lines": ("title", "status", "order_line_type", "vendor", "mms_id", "portfolio_id"),
}
# The view that unpacks each content table, for queries by hand.
VIEWS: dict[str, str] = {kind.table: f"{kind.table}_unpacked" for kind in KINDS}


class UnknownCodec(AlmacleanError):
    """A content table packed with a codec this almaclean does not know."""


def check_codec(conn: Connection, table: str) -> None:
    """UnknownCodec unless the table's rows are packed with VERSION (content_codecs; a database
    from before codec versions were recorded, migrations run one by one, holds version 1: the
    only codec there was)."""
    version = conn.execute(select(content_codecs.c.version).where(content_codecs.c.content_table == table)
                           ).scalar() if inspect(conn).has_table(content_codecs.name) else 1
    if version != VERSION:
        stated = "no codec version" if version is None else f"codec version {version}"
        raise UnknownCodec(
            f"the stored rows of {table} are recorded with {stated}, and this almaclean reads version {VERSION} "
            "only: they were written by another almaclean (update almaclean: git pull, then the README's set-up "
            "command), or the content_codecs table was changed by hand. Nothing was read or changed")


def packed_fields(rows: pl.DataFrame, table: str) -> pl.Expr:
    """`fields` of each row: the columns of FIELDS[table] as one text (see the module's text)."""
    return packed(rows, FIELDS[table]).alias("fields")


def packed(rows: pl.DataFrame, columns: Sequence[str]) -> pl.Expr:
    """The columns joined by SEPARATOR: a null as the empty field, an empty text as EMPTY_TEXT,
    in a value a backslash doubled and the separator as ESCAPED_SEPARATOR."""
    # Escaping copies every text: only the columns holding a backslash, a separator or an empty
    # text are escaped.
    needs_escape = rows.select((pl.col(c).str.contains_any(["\\", SEPARATOR]) | (pl.col(c) == "")).any()
                               for c in columns).row(0) if rows.height else [False] * len(columns)

    def field(column: str, escape: bool) -> pl.Expr:
        value = pl.col(column)
        if escape:
            value = (pl.when(value == "").then(pl.lit(EMPTY_TEXT))
                     .otherwise(value.str.replace_all("\\", "\\\\", literal=True)
                                .str.replace_all(SEPARATOR, ESCAPED_SEPARATOR, literal=True)))
        return value.fill_null("")

    return pl.concat_str([field(c, escape) for c, escape in zip(columns, needs_escape)], separator=SEPARATOR)


def unpacked(rows: pl.DataFrame, table: str) -> pl.DataFrame:
    """The inverse of packed_fields: `rows` with its `fields` column replaced by the columns of
    FIELDS[table] (the columns a row was stored without, added to FIELDS later, are null)."""
    columns = FIELDS[table]
    names = {f"field_{position}": column for position, column in enumerate(columns)}
    # split once, every column at a time: a million rows of twenty fields in a second or two
    rows = rows.with_columns(pl.col("fields").str.split_exact(SEPARATOR, len(columns) - 1)).unnest("fields")
    rows = rows.rename(names)
    # only the columns holding a backslash have escapes to undo
    escaped = rows.select(pl.col(c).str.contains("\\", literal=True).any() for c in columns).row(0) \
        if rows.height else [False] * len(columns)

    def column(name: str, escape: bool) -> pl.Expr:
        value = pl.col(name)
        if escape:
            value = value.str.replace_many(["\\\\", ESCAPED_SEPARATOR, EMPTY_TEXT], ["\\", SEPARATOR, ""])
        return pl.when(pl.col(name) != "").then(value).alias(name)

    return rows.with_columns(column(c, e) for c, e in zip(columns, escaped))


# SQL ------------------------------------------------------------------------------------------

def _separator(dialect: Dialect) -> ColumnElement:
    return (func.char if dialect.name == "sqlite" else func.chr)(31, type_=Text)


def _position(text: ColumnElement, part: str, dialect: Dialect) -> ColumnElement:
    """Where `part` first is in `text` (1-based; 0: nowhere)."""
    return (func.instr if dialect.name == "sqlite" else func.strpos)(text, part)


def packed_sql(columns: Sequence[ColumnElement], dialect: Dialect) -> ColumnElement:
    """SQL giving what `packed` gives for these columns (text columns of a select)."""
    separator = _separator(dialect)

    def field(value: ColumnElement) -> ColumnElement:
        escaped = func.replace(func.replace(value, "\\", "\\\\", type_=Text), separator, ESCAPED_SEPARATOR, type_=Text)
        return case((value.is_(None), ""), (value == "", EMPTY_TEXT), else_=escaped)

    return reduce(lambda left, right: left.op("||")(separator).op("||")(right), map(field, columns))


def _unescaped(field: ColumnElement, separator: ColumnElement, dialect: Dialect) -> ColumnElement:
    """One packed field as the text it holds. An escaped backslash first becomes backslash +
    separator (a field holds no separator), so an escaped separator is found only where it
    begins an escape; then each escaped separator becomes the separator and each backslash +
    separator a backslash again."""
    marker = literal("\\", Text).op("||")(separator)
    value = func.replace(func.replace(func.replace(field, "\\\\", marker, type_=Text), ESCAPED_SEPARATOR, separator,
                                      type_=Text), marker, "\\", type_=Text)
    # most fields hold no backslash: nothing to undo
    return case({"": None, EMPTY_TEXT: literal("", Text)}, value=field,
                else_=case((_position(field, "\\", dialect) == 0, field), else_=value))


def unpacked_select(table: str, dialect: Dialect):
    """The SELECT of the view VIEWS[table]: the table's rows with their fields unpacked."""
    content = CONTENT_TABLES[table]
    key = content.c[KEY_OF_TABLE[table]]
    separator = _separator(dialect)
    columns = FIELDS[table]
    current = select(content_codecs.c.version).where(content_codecs.c.content_table == table).scalar_subquery()
    if dialect.name == "postgresql":
        packed_fields_ = [func.split_part(content.c.fields, separator, position + 1, type_=Text)
                          for position in range(len(columns))]
        source = content
    else:
        # SQLite has no split: the packed text becomes a JSON array of its fields, parsed once
        # per row (SQLite keeps the parse for every json_extract of a statement). json_quote
        # escapes every character JSON must; first the separator and the backslash become the
        # separator + a letter, so no text of a field can look like what they become.
        marked = func.replace(func.replace(content.c.fields, separator, separator.op("||")("s"), type_=Text),
                              "\\", separator.op("||")("b"), type_=Text)
        array = literal("[", Text).op("||")(
            func.replace(func.replace(func.json_quote(marked, type_=Text), "\\u001fs", '","', type_=Text),
                         "\\u001fb", "\\\\", type_=Text)).op("||")("]")
        # a subquery SQLite keeps as it is (an OFFSET): the array is made once per row
        source = select(*(c for c in content.c if c.name != "fields"), array.label("packed_json")
                        ).limit(-1).offset(0).cte("packed_as_json")
        packed_fields_ = [func.json_extract(source.c.packed_json, f"$[{position}]", type_=Text)
                          for position in range(len(columns))]
    return (select(source.c.row_id, source.c.hash_a, source.c.hash_b, source.c[key.name],
                   *(_unescaped(field, separator, dialect).label(name) for field, name in zip(packed_fields_, columns)),
                   source.c.raw_cells)
            .where(literal(VERSION) == current))


def view_statements(dialect: Dialect) -> list[str]:
    """DROP and CREATE of every content table's view (VIEWS), for the dialect."""
    if dialect.name not in _VIEW_STATEMENTS:  # compiling them costs more than making a new database
        quote = dialect.identifier_preparer.quote
        statements = []
        for table, view in VIEWS.items():
            body = unpacked_select(table, dialect).compile(dialect=dialect, compile_kwargs={"literal_binds": True})
            statements += [f"DROP VIEW IF EXISTS {quote(view)}", f"CREATE VIEW {quote(view)} AS {body}"]
        _VIEW_STATEMENTS[dialect.name] = tuple(statements)
    return list(_VIEW_STATEMENTS[dialect.name])


_VIEW_STATEMENTS: dict[str, tuple[str, ...]] = {}  # dialect name -> view_statements()


KEY_OF_TABLE = {kind.table: kind.key for kind in KINDS}
