"""P2E files: which legacy bib records migration turned into portfolios or databases.

Two shapes, told apart by the first row:
- the migration text file, no header: `EDU01000123456,portfolio`. Read headerless when no
  first-row cell is a known header name (built-in or mapping), cell A looks like a record
  number (has a digit, no spaces) and cell B is a type word (or the file has one column).
  Column A is legacy_id, column B p2e_type.
- a consortium report spreadsheet with a header row: columns by header name; when no header
  names the legacy number, column A is taken as legacy_id (the report's known layout).
p2e_type: portfolio, database or package (case-insensitive). Package is treated like
database, so the canonical value is "portfolio" or "database"; the file's own word stays in
the table. Any other word is refused at its row; an empty type is left null.
"""
from __future__ import annotations

import logging
import re
from dataclasses import replace
from pathlib import Path

import polars as pl

from almaclean.errors import InputError
from almaclean.kinds.common import KindRead, Source, as_table, finish
from almaclean.kinds.headers import normalise_header
from almaclean.kinds.mapping import UserMapping, require_columns, resolve_columns
from almaclean.read.table import as_headerless

log = logging.getLogger(__name__)

KIND = "p2e"
TYPE_OF_WORD = {"portfolio": "portfolio", "database": "database", "package": "database"}
_RECORD_NUMBER = re.compile(r"\S*\d\S*")


def read(source: Source, mapping: UserMapping | None = None) -> KindRead:
    table = as_table(source)
    columns = resolve_columns(KIND, table.header, file=table.path, mapping=mapping)
    if not columns and looks_headerless(table.header):
        log.info("%s: no header row, reading lines as <legacy id>,<type>", table.path.name)
        table = as_headerless(table)
        columns = {"legacy_id": [0]} | ({"p2e_type": [1]} if table.frame.width > 1 else {})
    elif "legacy_id" not in columns and table.frame.width and 0 not in _claimed(columns):
        log.info("%s: no legacy number header, using column A (%r) as legacy_id",
                 table.path.name, table.column_name(0))
        columns = {"legacy_id": [0]} | columns
    require_columns(KIND, columns, table.header, file=table.path, mapping=mapping)
    kind_read = finish(KIND, table, columns, text_id_columns=("legacy_id",))
    return replace(kind_read, canonical=canonical_types(kind_read))


def looks_headerless(first_row: tuple[str, ...]) -> bool:
    cells = [normalise_header(cell) for cell in first_row]
    if not cells or not _RECORD_NUMBER.fullmatch(cells[0]):
        return False
    return len(cells) == 1 or cells[1].lower() in TYPE_OF_WORD


def _claimed(columns: dict[str, list[int]]) -> set[int]:
    return {j for positions in columns.values() for j in positions}


def canonical_types(read: KindRead) -> pl.DataFrame:
    """p2e_type as "portfolio" / "database"; InputError at the first unknown word."""
    canonical = read.canonical
    word = pl.col("p2e_type").str.to_lowercase()
    unknown = canonical.filter(pl.col("p2e_type").is_not_null() & ~word.is_in(list(TYPE_OF_WORD)))
    if unknown.height:
        raise InputError(f"unknown P2E type {unknown.item(0, 'p2e_type')!r}: expected portfolio, "
                         "database or package", file=read.table.path, row=unknown.item(0, "row"),
                         column=read.source_name("p2e_type"))
    return canonical.with_columns(word.replace_strict(TYPE_OF_WORD, default=None).alias("p2e_type"))
