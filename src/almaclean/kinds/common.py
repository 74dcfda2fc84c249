"""What every kind does once its columns are known: canonical frame and the ID checks."""
from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from almaclean.errors import InputError
from almaclean.kinds.aliases import ALMA_ID_COLUMNS, JOIN_SEPARATOR, REQUIRED, canonical_columns
from almaclean.kinds.headers import HeaderChange, report_header_changes
from almaclean.kinds.mapping import UserMapping, require_columns, resolve_columns
from almaclean.model.columns import blank
from almaclean.read.table import TextTable, check_text_columns, read_table

log = logging.getLogger(__name__)

# Alma IDs (portfolio, MMS, collection...): 15 to 19 ASCII digits, the first not 0 (docs:
# alma-formats.md; they end in the institution's 4-digit code). Only 0-9: a regex \d would
# also take fullwidth or Arabic-Indic digits, which Alma never writes.
ALMA_ID_MIN_DIGITS, ALMA_ID_MAX_DIGITS = 15, 19
ALMA_ID = rf"^[1-9][0-9]{{{ALMA_ID_MIN_DIGITS - 1},{ALMA_ID_MAX_DIGITS - 1}}}$"
_ALMA_ID = re.compile(ALMA_ID)


@dataclass(frozen=True)
class KindRead:
    kind: str
    table: TextTable
    canonical: pl.DataFrame   # "row" (Int64, Excel row) + every canonical column (String, stripped)
    present: frozenset[str]   # canonical columns found in the file
    sources: Mapping[str, tuple[int, ...]] = field(default_factory=dict)  # column -> table positions
    header_changes: tuple[HeaderChange, ...] = ()   # header cells recognised only once normalised

    def source_name(self, column: str) -> str | None:
        """Header (or Excel letter) of the first file column feeding a canonical column."""
        positions = self.sources.get(column)
        return self.table.column_name(positions[0]) if positions else None


def unmapped_cells(read: KindRead, key: str) -> tuple[tuple[str, ...], pl.DataFrame]:
    """The headers of the file's columns no canonical column was read from, and their non-empty
    cells as key, header, value (key: a canonical column of the kind, e.g. portfolio_id)."""
    used = {j for positions in read.sources.values() for j in positions}
    names = {f"c{j}": header for j, header in enumerate(read.table.header) if j not in used and header.strip()}
    empty = pl.DataFrame(schema={key: pl.String, "header": pl.String, "value": pl.String})
    if not names:
        return (), empty
    rows = read.table.frame.select(
        pl.int_range(read.table.first_row, read.table.first_row + read.table.frame.height, dtype=pl.Int64)
        .alias("row"), *names)
    cells = (rows.unpivot(index="row", variable_name="header", value_name="value")
             .filter(~blank(pl.col("value")))
             .join(read.canonical.select("row", key), on="row")
             .select(key, pl.col("header").replace_strict(names, return_dtype=pl.String), "value"))
    return tuple(dict.fromkeys(names.values())), cells


Source = str | Path | TextTable   # a file, or its table when read already


def as_table(source: Source) -> TextTable:
    """The file read (read.table), or the table given: a fetched report's rows, as its canonical
    CSV reads (analytics.canonical), so the file is not read back."""
    return source if isinstance(source, TextTable) else read_table(source)


def read_with_aliases(kind: str, source: Source, mapping: UserMapping | None = None) -> KindRead:
    """The path for kinds whose columns are all found by header name."""
    table = as_table(source)
    columns = resolve_columns(kind, table.header, file=table.path, mapping=mapping)
    require_columns(kind, columns, table.header, file=table.path, mapping=mapping)
    return finish(kind, table, columns)


def finish(kind: str, table: TextTable, columns: Mapping[str, Sequence[int]],
           text_id_columns: Sequence[str] = ALMA_ID_COLUMNS) -> KindRead:
    """ID cells checked, canonical frame built, required values and Alma IDs checked."""
    check_text_columns(table, [j for column in text_id_columns for j in columns.get(column, ())])
    read = KindRead(kind, table, canonical_frame(table, kind, columns), frozenset(columns),
                    {column: tuple(positions) for column, positions in columns.items()},
                    report_header_changes(table.path, table.header))
    for column in REQUIRED[kind]:
        require_values(read, column)
    for column in ALMA_ID_COLUMNS:
        if column in read.present:
            require_alma_ids(read, column)
    log.info("%s %s: %d rows; columns found: %s", kind, table.path.name, read.canonical.height,
             ", ".join(f"{c} <- {read.source_name(c)!r}" for c in canonical_columns(kind) if c in read.present))
    return read


def canonical_frame(table: TextTable, kind: str, columns: Mapping[str, Sequence[int]]) -> pl.DataFrame:
    """"row" + every canonical column, stripped, empty -> null; rows with no cell left out."""
    frame = table.frame
    expressions = [table.excel_rows()]
    clean = _already_clean(frame, {f"c{p[0]}" for p in columns.values() if len(p) == 1})
    for column in canonical_columns(kind):
        positions = columns.get(column, ())
        if not positions:
            value = pl.lit(None, dtype=pl.String)
        elif len(positions) == 1:
            name = f"c{positions[0]}"
            value = pl.col(name) if name in clean else _stripped(pl.col(name))
        else:
            joined = pl.concat_str([_stripped(pl.col(f"c{j}")) for j in positions],
                                   separator=JOIN_SEPARATOR, ignore_nulls=True)
            value = pl.when(joined == "").then(None).otherwise(joined)
        expressions.append(value.alias(column))
    # Only rows with no cell at all: a row holding just spaces is reported, not skipped.
    blank = pl.all_horizontal(pl.col(name).is_null() for name in frame.columns) if frame.width else pl.lit(True)
    canonical = frame.select(*expressions, blank.alias("__blank"))
    skipped = canonical.get_column("__blank").sum()
    if not skipped:
        return canonical.drop("__blank")  # no copy of a million-row frame for nothing
    log.info("%s: %d blank rows left out", table.path.name, skipped)
    return canonical.filter(~pl.col("__blank")).drop("__blank")


def _already_clean(frame: pl.DataFrame, names: set[str]) -> set[str]:
    """Columns with no value that stripping would change: used as they are, sharing memory
    with the table instead of a stripped copy (most exports have no stray spaces)."""
    if not names:
        return set()
    dirty = frame.select(pl.col(n).str.contains(r"^\s|\s$|^$").any().alias(n) for n in sorted(names))
    return {n for n in dirty.columns if not dirty.item(0, n)}


def _stripped(expr: pl.Expr) -> pl.Expr:
    text = expr.str.strip_chars()
    return pl.when(text == "").then(None).otherwise(text)


def require_values(read: KindRead, column: str) -> None:
    """InputError at the first row whose required column is empty."""
    missing = read.canonical.filter(pl.col(column).is_null())
    if missing.height:
        raise InputError(f"{column} is empty in this row; every row needs one",
                         file=read.table.path, row=missing.item(0, "row"), column=read.source_name(column))


def require_alma_ids(read: KindRead, column: str) -> None:
    """Alma IDs only (ALMA_ID): InputError at the first row holding anything else."""
    bad = read.canonical.filter(pl.col(column).is_not_null() & ~pl.col(column).str.contains(ALMA_ID))
    if bad.height:
        value = bad.item(0, column)
        raise InputError(f"{column} {value!r} is not an Alma ID: {alma_id_problem(value)}",
                         file=read.table.path, row=bad.item(0, "row"), column=read.source_name(column))


def is_alma_id(value: str) -> bool:
    return _ALMA_ID.fullmatch(value) is not None


def alma_id_problem(value: str) -> str | None:
    """Why a text is not an Alma ID (None when it is one), in words for the user."""
    if is_alma_id(value):
        return None
    rule = f"Alma IDs are {ALMA_ID_MIN_DIGITS} to {ALMA_ID_MAX_DIGITS} digits 0-9"
    if not value.isascii() and any(c.isdigit() for c in value):
        return f"it holds digits other than 0-9 (fullwidth or another script's); {rule}"
    if not (value.isascii() and value.isdigit()):
        return f"it holds characters other than digits; {rule}"
    if value.startswith("0"):
        return f"it starts with 0 (zero-padded, or not an ID); {rule} and never start with 0"
    return f"it has {len(value)} digits; {rule}"
