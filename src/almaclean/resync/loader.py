"""The loader spreadsheet: the export with the guide's changes applied, and a change log
line for every changed cell and every removed row. Pure functions over polars frames.

Edits are planned as data (`Edits`), merged (review decisions override the guide's
defaults), then applied column by column; untouched cells are never rewritten.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

import polars as pl

from almaclean.errors import AlmacleanError
from almaclean.resync.audit import positions_of
from almaclean.resync.pending import inactive

log = logging.getLogger(__name__)

ROW_REMOVED = "*row*"
CHANGE_COLUMNS = ("row", "portfolio_pid", "column", "old", "new", "reason")
REASON_INACTIVE = "INACTIVE row removed"
REASON_LOCALIZED = "LOCALIZED N changed to Y (link the portfolio to the CZ, as the guide recommends)"

_CELL_SCHEMA = {"index": pl.Int64, "pos": pl.Int64, "new": pl.String, "reason": pl.String}
_DROP_SCHEMA = {"index": pl.Int64, "reason": pl.String}


@dataclass(frozen=True)
class Edits:
    cells: pl.DataFrame   # index (frame row), pos (column position), new (null = empty cell), reason
    drops: pl.DataFrame   # index, reason


def cell_edits(rows: list[tuple[int, int, str | None, str]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=_CELL_SCHEMA, orient="row")


def drop_edits(rows: list[tuple[int, str]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=_DROP_SCHEMA, orient="row")


def guide_edits(header, frame: pl.DataFrame, *, keep_localized_n: bool = False,
                hold: Iterable[int] = (), keep_n: Iterable[int] = ()) -> Edits:
    """The guide's default changes: remove INACTIVE rows, except the `hold` rows (a pending
    order or activation, waiting for an explicit decision); LOCALIZED N -> Y, unless kept, except
    the `keep_n` rows (they would duplicate a CZ-linked row)."""
    index = pl.int_range(pl.len()).alias("index")
    held, kept_n = sorted(set(hold)), sorted(set(keep_n))
    drops = (
        frame.select(index, inactive(header).alias("_inactive"))
        .filter(pl.col("_inactive") & ~pl.col("index").is_in(held))
        .select("index", pl.lit(REASON_INACTIVE).alias("reason"))
    )
    cells = [pl.DataFrame(schema=_CELL_SCHEMA)]
    if not keep_localized_n:
        for pos in positions_of(header, ["LOCALIZED"]):
            col = pl.col(f"c{pos}")
            is_n = (col.str.strip_chars().str.to_uppercase() == "N").fill_null(False)
            cells.append(
                frame.select(index, is_n.alias("_n")).filter(pl.col("_n") & ~pl.col("index").is_in(kept_n)).select(
                    "index", pl.lit(pos, pl.Int64).alias("pos"),
                    pl.lit("Y").alias("new"), pl.lit(REASON_LOCALIZED).alias("reason"))
            )
    return Edits(pl.concat(cells), drops)


def merge_edits(base: Edits, override: Edits, *, undrop: set[int] = frozenset()) -> Edits:
    """Later edits win on the same cell; a row removed by both keeps the first reason (the
    guide's); `undrop` rows are kept despite a base removal. Order does not matter:
    apply_edits sorts."""
    cells = pl.concat([base.cells, override.cells]).unique(subset=["index", "pos"], keep="last")
    base_drops = base.drops.filter(~pl.col("index").is_in(sorted(undrop)))
    drops = pl.concat([base_drops, override.drops]).unique(subset="index", keep="first")
    return Edits(cells, drops)


@dataclass(frozen=True)
class Loader:
    frame: pl.DataFrame      # c0..cN, kept rows in original order, edited cells applied
    rows: pl.Series          # Excel row in the export of each kept row
    changes: pl.DataFrame    # CHANGE_COLUMNS, sorted by row then column


def apply_edits(header, frame: pl.DataFrame, first_row: int, pids: pl.Series, edits: Edits) -> Loader:
    """Apply edits; log each cell whose text really changes and each removed row."""
    dropped = edits.drops["index"].unique()
    cells = edits.cells.filter(~pl.col("index").is_in(dropped.implode()))
    work = frame.with_columns(pl.int_range(pl.len()).alias("__i"))
    logged: list[pl.DataFrame] = []
    for pos in sorted(cells["pos"].unique().to_list()):
        col = f"c{pos}"
        these = cells.filter(pl.col("pos") == pos).select(
            pl.col("index").alias("__i"), pl.col("new").alias("__new"), pl.col("reason").alias("__why"),
            pl.lit(True).alias("__hit"))
        joined = work.select("__i", col).join(these, on="__i", how="left", maintain_order="left")
        changed = pl.col("__hit").fill_null(False) & pl.col(col).ne_missing(pl.col("__new"))
        new_col = joined.select(pl.when(changed).then(pl.col("__new")).otherwise(pl.col(col)).alias(col))
        work = work.with_columns(new_col.to_series())
        logged.append(joined.filter(changed).select(
            pl.col("__i").alias("index"), pl.lit(pos, pl.Int64).alias("pos"),
            pl.col(col).alias("old"), pl.col("__new").alias("new"), pl.col("__why").alias("reason")))
    removed = edits.drops.select(
        "index", pl.lit(-1, pl.Int64).alias("pos"), pl.lit(None, pl.String).alias("old"),
        pl.lit(None, pl.String).alias("new"), "reason")
    plan = pl.concat([removed, *logged]).sort(["index", "pos"])
    names = pl.Series([ROW_REMOVED, *header])
    changes = pl.DataFrame({
        "row": plan["index"] + first_row,
        "portfolio_pid": pids.cast(pl.String).gather(plan["index"]),
        "column": names.gather(plan["pos"] + 1),
        "old": plan["old"],
        "new": plan["new"],
        "reason": plan["reason"],
    })
    kept = work.filter(~pl.col("__i").is_in(dropped.implode()))
    rows = kept["__i"] + first_row
    log.info("loader: %d rows kept, %d change log lines", kept.height, changes.height)
    return Loader(kept.drop("__i"), rows, changes)


def check_logged(frame: pl.DataFrame, first_row: int, header, loader: Loader) -> None:
    """The loader differs from the export only as its change log says: every removed row is
    logged as removed, every changed cell is logged with its old and new text, and nothing
    logged is missing. Refuses (AlmacleanError, nothing written) otherwise."""
    changes = loader.changes
    removed = set(changes.filter(pl.col("column") == ROW_REMOVED)["row"].to_list())
    kept_rows = loader.rows.to_list()
    expected = [r for r in range(first_row, first_row + frame.height) if r not in removed]
    if kept_rows != expected or loader.frame.width != frame.width:
        unlogged = sorted(set(range(first_row, first_row + frame.height)) - set(kept_rows) - removed)
        raise AlmacleanError(f"the loader file would lose rows {unlogged[:5]} without a change log line "
                             "(or keep a row the log says is removed); nothing was written")
    before = frame.filter(pl.int_range(pl.len()).is_in([r - first_row for r in kept_rows]))
    logged = {(r, c): (o, n) for r, c, o, n in
              changes.filter(pl.col("column") != ROW_REMOVED).select("row", "column", "old", "new").iter_rows()}
    seen: set[tuple[int, str]] = set()
    rows = loader.rows
    for j, name in enumerate(header):
        col = f"c{j}"
        differs = before[col].ne_missing(loader.frame[col])
        for row, old, new in zip(rows.filter(differs).to_list(), before[col].filter(differs).to_list(),
                                 loader.frame[col].filter(differs).to_list()):
            if logged.get((row, name)) != (old, new):
                raise AlmacleanError(f"the loader file would change {name} in export row {row} from {old!r} "
                                     f"to {new!r} without that change in the change log; nothing was written")
            seen.add((row, name))
    if set(logged) - seen:
        row, name = sorted(set(logged) - seen)[0]
        raise AlmacleanError(f"the change log says {name} of export row {row} changes, but the loader file "
                             "does not change it; nothing was written")
