"""The P2E portfolios' own local data: what a deletion would lose (model.portfolio).

A P2E portfolio that would be a deletion candidate but carries local data of its own (a public
note "Law School users only, 3 simultaneous users", an authentication note, an internal
description, a licence, proxy or group settings) is never put in a deletion set: it goes to the
"copy first" list, which names each value and the keeper to copy it to. A column no alias
recognises is judged by its name and content (model.portfolio.judge_unknown): values under a name
that says local data make the portfolio "not checked (local data)", for review.

The values come from two places: the canonical columns of the portfolio export, and the cells
of its other columns (`ExtraCells`, given by the caller for the P2E portfolios only). A stored
file read before almaclean knew a column (a "Portfolio Public Note" stored as an unrecognised
cell) is read again through the aliases of today: the column counts as the local data it is,
never as an empty one.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import polars as pl

from almaclean.kinds.mapping import resolve_columns
from almaclean.model.columns import blank
from almaclean.model.portfolio import (
    BY_COLUMN, DESCRIPTIVE, EMPTY_EVERYWHERE, LOCAL_DATA, LOCAL_LOOKING, PO_LINE_COLUMNS, judge_unknown,
)

log = logging.getLogger(__name__)

COPY_FIRST = "copy first"
COPY_FIRST_REASON = "the P2E portfolio has local data of its own: copy it to the keeper first"
LOCAL_DATA_RULE = "local data"
LOCAL_NOT_CHECKED = f"not checked ({LOCAL_DATA_RULE})"
COPY_STEPS = (
    "1. Open the keeper portfolio (keep_portfolio_id) in the Electronic Portfolio Editor and copy each value listed "
    "for this P2E portfolio to the same field (notes: Notes tab; licence: Acquisition tab; proxy and group "
    "settings: their own tabs), then Save. 2. Delete the P2E portfolio from its Portfolio List (Delete, "
    "'Delete bibliographic record(s)' for the bib left without inventory), or add it to a later deletion set."
)


@dataclass(frozen=True)
class ExtraCells:
    """The portfolio export's cells that no canonical column holds: the headers of those columns,
    and, for a list of portfolio ids, their non-empty cells as portfolio_id, header, value."""
    headers: tuple[str, ...]
    cells: Callable[[pl.Series], pl.DataFrame]


def no_extra_cells() -> ExtraCells:
    return ExtraCells((), lambda ids: pl.DataFrame(schema={"portfolio_id": pl.String, "header": pl.String,
                                                           "value": pl.String}))


def extra_cells_of(headers: tuple[str, ...], cells: pl.DataFrame) -> ExtraCells:
    """ExtraCells over cells already read (portfolio_id, header, value)."""
    return ExtraCells(headers, lambda ids: cells.join(pl.DataFrame({"portfolio_id": ids.cast(pl.String)}),
                                                      on="portfolio_id", how="semi"))


def combined(*extras: ExtraCells) -> ExtraCells:
    """The cells of several files (a file read now and the stored ones of other scopes)."""
    extras = tuple(e for e in extras if e.headers)
    if not extras:
        return no_extra_cells()
    return ExtraCells(tuple(dict.fromkeys(h for e in extras for h in e.headers)),
                      lambda ids: pl.concat([e.cells(ids) for e in extras]))


@dataclass(frozen=True)
class LocalData:
    values: pl.DataFrame      # portfolio_id, what, value: local data a deletion would lose
    unknown: pl.DataFrame     # portfolio_id, header, value: unrecognised local-looking cells with a value
    po_lines: pl.DataFrame    # portfolio_id, po_line, source: PO lines read from unrecognised cells
    # Unrecognised columns: (header, P2E portfolios with a value, how it counts)
    judged: list[tuple[str, int, str]] = field(default_factory=list)
    # Canonical columns read again from stored cells (files stored before the column was known)
    rederived: dict[str, str] = field(default_factory=dict)


_VALUES = {"portfolio_id": pl.String, "what": pl.String, "value": pl.String}


def _canonical_of(header: str) -> str | None:
    """The canonical portfolio column this header is read as today (kinds: the built-in aliases,
    headers compared as the readers compare them)."""
    return next(iter(resolve_columns("portfolios", (header,))), None)


def _set(column: pl.Expr, value: pl.Expr) -> pl.Expr:
    """A value that is data: not blank, and not the "nothing set" value of a flag (model.portfolio)."""
    flags = {c: sorted(BY_COLUMN[c].unset) for c in LOCAL_DATA if BY_COLUMN[c].unset}
    folded = value.str.strip_chars().str.to_lowercase()
    unset = pl.lit(False)
    for name, words in flags.items():
        unset = unset | ((column == name) & folded.is_in(words))
    return ~blank(value) & ~unset


def local_data(ids: pl.Series, wide: pl.DataFrame, extra: ExtraCells) -> LocalData:
    """Local data of the P2E portfolios `ids`.

    wide: portfolio_id and the canonical local columns the export has (any subset of LOCAL_DATA
    and additional_po_lines), one row per P2E portfolio.
    """
    columns = [c for c in (*LOCAL_DATA, *PO_LINE_COLUMNS[1:]) if c in wide.columns]
    long = (wide.unpivot(index="portfolio_id", on=columns, variable_name="column", value_name="value")
            if columns else pl.DataFrame(schema={"portfolio_id": pl.String, "column": pl.String, "value": pl.String}))
    cells = extra.cells(ids) if extra.headers else no_extra_cells().cells(ids)
    canonical = {header: _canonical_of(header) for header in extra.headers}
    rederived = {c: h for h, c in canonical.items() if c in (*LOCAL_DATA, *PO_LINE_COLUMNS[1:])}
    if rederived:
        log.info("columns read again from stored cells with today's aliases: %s", rederived)
        again = cells.filter(pl.col("header").is_in(list(rederived.values()))).select(
            "portfolio_id", pl.col("header").replace_strict({h: c for c, h in rederived.items()}).alias("column"),
            "value")
        long = pl.concat([long, again])
    long = long.filter(_set(pl.col("column"), pl.col("value")))
    po_column = PO_LINE_COLUMNS[1]
    po_lines = long.filter(pl.col("column") == po_column).select(
        "portfolio_id", pl.col("value").alias("po_line"), pl.lit("portfolio export (additional PO lines)").alias("source"))
    values = long.filter(pl.col("column") != po_column).select(
        "portfolio_id", pl.col("column").replace_strict({c: BY_COLUMN[c].what for c in LOCAL_DATA},
                                                        return_dtype=pl.String).alias("what"), "value",
    ).unique().sort("portfolio_id", "what", "value")
    unknown_headers = [h for h in extra.headers if canonical[h] is None and h.strip()]
    unknown_cells = cells.filter(pl.col("header").is_in(unknown_headers) & ~blank(pl.col("value")))
    counts = dict(unknown_cells.group_by("header").agg(pl.col("portfolio_id").n_unique()).iter_rows())
    judged = [(h, counts.get(h, 0), judge_unknown(h, counts.get(h, 0))) for h in unknown_headers]
    local_looking = [h for h, _, how in judged if how == LOCAL_LOOKING]
    unknown = unknown_cells.filter(pl.col("header").is_in(local_looking)).select("portfolio_id", "header", "value")
    log.info("local data of %d P2E portfolios: %d values; unrecognised columns: %s", ids.len(), values.height,
             {h: how for h, _, how in judged})
    return LocalData(values=values, unknown=unknown, po_lines=po_lines, judged=judged, rederived=rederived)


def per_portfolio(local: LocalData) -> pl.DataFrame:
    """portfolio_id, local_data (known values in words), unknown_local (unrecognised cells in words)."""
    known = local.values.group_by("portfolio_id").agg(
        (pl.col("what") + " " + pl.lit("'") + pl.col("value") + pl.lit("'")).str.join("; ").alias("local_data"))
    unknown = local.unknown.group_by("portfolio_id").agg(
        (pl.lit("column '") + pl.col("header") + pl.lit("' holds '") + pl.col("value") + pl.lit("'"))
        .str.join("; ").alias("unknown_local"))
    return known.join(unknown, on="portfolio_id", how="full", coalesce=True)


def unknown_reason() -> pl.Expr:
    return (pl.lit(f"{LOCAL_NOT_CHECKED}: ") + pl.col("unknown_local")
            + pl.lit(": almaclean does not know what these columns hold; check them in Alma before deleting"))


def judged_lines(local: LocalData) -> list[str]:
    """The unrecognised columns and how each counted, in words for the summary."""
    words = {EMPTY_EVERYWHERE: "empty on every P2E portfolio: nothing to lose",
             LOCAL_LOOKING: "values on {n} P2E portfolio(s) and a name that says local data: those are "
                            f"{LOCAL_NOT_CHECKED}, in Review",
             DESCRIPTIVE: "values on {n} P2E portfolio(s); its name says bibliographic description, which the "
                          "guide deletes with the P2E bib"}
    return [f"column {header!r}: {words[how].format(n=n)}" for header, n, how in local.judged]
