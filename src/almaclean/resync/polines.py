"""Check the export's PO_LINE cells against a PO line export (guide: "verify that the
correct POL is attached to the correct portfolio"). Flags only; never edits."""
from __future__ import annotations

import logging

import polars as pl

from almaclean.model.columns import text_of

log = logging.getLogger(__name__)

CLOSED_STATUSES = ("CLOSED", "CANCELLED", "CANCELED")

ISSUE_COLUMNS = ("index", "row", "portfolio_pid", "po_line", "reason", "closed_only")


def check_po_lines(rows: pl.DataFrame, po_lines: pl.DataFrame) -> pl.DataFrame:
    """Flag each row whose PO line is unknown, closed/cancelled or linked to another title.

    rows: "index" (frame row), "row" (Excel row), "portfolio_pid", "mms", "po_line".
    po_lines: the po-lines kind's canonical frame (po_line, status, mms_id, portfolio_id, ...).
    Returns ISSUE_COLUMNS, one line per flagged row (reasons joined with "; "); closed_only:
    the line's only problem is that it is CLOSED (a finished order that stays on the portfolio).
    """
    cells = rows.with_columns(text_of(pl.col("po_line")).alias("_pol")).filter(pl.col("_pol").is_not_null())
    pols = (
        po_lines.select(
            text_of(pl.col("po_line")).alias("_pol"),
            text_of(pl.col("status")).str.to_uppercase().alias("_status"),
            text_of(pl.col("mms_id")).alias("_pol_mms"),
            text_of(pl.col("portfolio_id")).alias("_pol_pid"),
        )
        .filter(pl.col("_pol").is_not_null())
        .unique(subset="_pol", keep="first")
    )
    joined = cells.join(pols, on="_pol", how="left")
    pid = pl.col("portfolio_pid").str.strip_chars()
    mms = pl.col("mms").str.strip_chars()
    reasons = [
        pl.when(~pl.col("_pol").is_in(pols["_pol"].implode())).then(pl.lit("PO line not found in the PO line export")),
        pl.when(pl.col("_status").is_in(list(CLOSED_STATUSES)))
        .then(pl.format("PO line is {}", pl.col("_status"))),
        pl.when(pl.col("_pol_pid").is_not_null() & (pl.col("_pol_pid") != pid).fill_null(True))
        .then(pl.format("PO line is linked to another portfolio ({})", pl.col("_pol_pid"))),
        pl.when(pl.col("_pol_mms").is_not_null() & (pl.col("_pol_mms") != mms).fill_null(True))
        .then(pl.format("PO line is linked to another title (MMS {})", pl.col("_pol_mms"))),
    ]
    issues = (
        joined.with_columns(pl.concat_str(reasons, separator="; ", ignore_nulls=True).alias("reason"))
        .filter(pl.col("reason").is_not_null() & (pl.col("reason") != ""))
        .with_columns((pl.col("reason") == "PO line is CLOSED").alias("closed_only"))
        .sort("index")
        .select(ISSUE_COLUMNS)
    )
    log.info("checked %d PO_LINE cells against %d PO lines: %d flagged", cells.height, pols.height, issues.height)
    return issues
