"""CZ collection title lists: a provider's KBART file or an Alma portfolio export of a CZ collection.

A list tells which titles a Community Zone collection holds, to find the P2E portfolios that
could be linked to it. Two shapes, told apart by their headers (read.table decides the file
format and encoding by content):
- KBART (the format the CZ loads; tab-separated UTF-8, never quoted): ``publication_title``,
  ``print_identifier``, ``online_identifier``, ``date_first_issue_online``,
  ``date_last_issue_online``, ``embargo_info``, ``title_url``, ``publication_type``.
- an Alma portfolio export of a CZ collection (Analytics, repository search export or the
  Extended Export): ``Title``/``TITLE``, every ``ISSN``/``ISBN`` column, the coverage as
  ``GLOBAL_FROM_YEAR``/``GLOBAL_TO_YEAR`` (the CZ's own, before ``FROM_YEAR``/``TO_YEAR``)
  or a ``Coverage Statement`` text, and the URL.
Columns are found by header name (``CZ_TITLE_ALIASES``). A list needs at least one identifier
column. A date or embargo that cannot be read is an InputError at its row and column: the
coverage check must never guess.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from almaclean.errors import InputError
from almaclean.kinds.aliases import CZ_TITLE_ALIASES, CZ_TITLE_MULTI, JOIN_SEPARATOR, fold
from almaclean.kinds.headers import report_header_changes
from almaclean.normalize import map_unique
from almaclean.normalize.coverage import from_columns
from almaclean.read.table import TextTable, read_table

log = logging.getLogger(__name__)

KBART = "KBART"
ALMA_EXPORT = "Alma portfolio export"
CZ_TITLE_COLUMNS = tuple(CZ_TITLE_ALIASES)
_KBART_MARKERS = ("publicationtitle", "printidentifier", "onlineidentifier")


@dataclass(frozen=True)
class CZTitleList:
    name: str             # the list's name in outputs: the file name without extension
    path: Path
    shape: str            # KBART | ALMA_EXPORT
    titles: pl.DataFrame  # "row" (Int64, as Excel/the editor shows it) + CZ_TITLE_COLUMNS (String)


def _columns(header: tuple[str, ...]) -> dict[str, list[int]]:
    """Canonical column -> header positions; the first alias found wins (multi-value: all)."""
    folded = [fold(cell) for cell in header]
    found: dict[str, list[int]] = {}
    for column, names in CZ_TITLE_ALIASES.items():
        if column in CZ_TITLE_MULTI:
            wanted = {fold(name) for name in names}
            positions = [j for j, cell in enumerate(folded) if cell in wanted]
        else:
            positions = next(([folded.index(fold(n))] for n in names if fold(n) in folded), [])
        if positions:
            found[column] = positions
    return found


def _value(table: TextTable, positions: list[int]) -> pl.Expr:
    cells = [pl.col(f"c{j}").str.strip_chars() for j in positions]
    joined = cells[0] if len(cells) == 1 else pl.concat_str(cells, separator=JOIN_SEPARATOR, ignore_nulls=True)
    return pl.when(joined == "").then(None).otherwise(joined)


def _check_coverage(read_titles: pl.DataFrame, table: TextTable, columns: dict[str, list[int]]) -> None:
    """InputError at the first date or embargo value from_columns cannot read."""
    checks = {"date_first": ("from", None, None), "date_last": (None, "to", None), "embargo": (None, None, "e")}
    for column, (start, end, embargo) in checks.items():
        if column not in columns:
            continue

        def problem(value, start=start, end=end, embargo=embargo):
            try:
                from_columns(value if start else None, value if end else None, value if embargo else None)
            except ValueError as error:
                return str(error)
            return None

        errors = map_unique(read_titles[column], problem, pl.String)
        bad = read_titles.with_columns(errors.alias("_error")).filter(pl.col("_error").is_not_null())
        if bad.height:
            raise InputError(bad.item(0, "_error"), file=table.path, row=bad.item(0, "row"),
                             column=table.column_name(columns[column][0]))


def read_cz_titles(path: str | Path) -> CZTitleList:
    """Read one CZ collection title list (KBART or Alma portfolio export); InputError when unusable."""
    table = read_table(path)
    report_header_changes(table.path, table.header)
    columns = _columns(table.header)
    if "identifiers" not in columns:
        raise InputError(
            "no identifier column: a CZ title list needs print_identifier / online_identifier (KBART) "
            "or ISSN / ISBN (Alma portfolio export)", file=table.path,
        )
    shape = KBART if any(fold(cell) in _KBART_MARKERS for cell in table.header) else ALMA_EXPORT
    frame = table.frame
    titles = frame.select(
        table.excel_rows(),
        *[
            (_value(table, columns[c]) if c in columns else pl.lit(None, dtype=pl.String)).alias(c)
            for c in CZ_TITLE_COLUMNS
        ],
    ).filter(pl.any_horizontal(pl.col(c).is_not_null() for c in CZ_TITLE_COLUMNS))
    _check_coverage(titles, table, columns)
    log.info("CZ title list %s (%s): %d titles; columns found: %s", table.path.name, shape, titles.height,
             ", ".join(f"{c} <- {', '.join(table.column_name(j) for j in p)}" for c, p in columns.items()))
    return CZTitleList(name=table.path.stem, path=table.path, shape=shape, titles=titles)


def read_cz_title_lists(paths) -> list[CZTitleList]:
    """Every list read and checked before any is used (the first bad one raises)."""
    return [read_cz_titles(path) for path in paths]
