"""The POL guard (rule 4): a P2E portfolio or bib with a PO line is never deleted by a set.

A PO line is tied to a P2E portfolio by the portfolio export (``po_line``), by the P2E file
(``po_number`` of its line) or by the PO line export (its ``portfolio_id``, or its ``mms_id``
= the P2E bib). Every such (PO line, P2E portfolio) becomes a relink row: the target is the
keeper chosen by ``match.decide``. Blocked rows say why: a closed or cancelled line cannot be
relinked; no keeper portfolio; several keepers that disagree; or the match needs review first.
"""
from __future__ import annotations

import logging

import polars as pl

from almaclean.p2e.classify import PO_LINE_COLUMNS, with_columns
from almaclean.p2e.match import DELETE, DISAGREE, NO_DUPLICATE, REVIEW

log = logging.getLogger(__name__)

CLOSED_STATUSES = ("closed", "cancelled", "canceled")
CLOSED = "PO line closed or cancelled: cannot be relinked"
NO_KEEPER = "no keeper portfolio"
SEVERAL_KEEPERS = "several keepers (they disagree): choose one"
RELINK_STEPS = (
    "1. On the P2E bib's Orders, Change Bib Reference to the keeper's bib (target_mms_id). "
    "2. Edit the keeper portfolio (target_portfolio_id), Acquisition tab: add the PO line, Save. "
    "3. Delete the P2E portfolio with 'Delete bibliographic record(s)' for the bib left without inventory."
)
UNKNOWN_STATUS_STEP = ("0. This PO line's status is not in the PO line export: check in Alma that it is "
                       "still open (only an open line can be relinked). ")
RELINK_COLUMNS = ("po_line", "po_line_status", "portfolio_id", "mms_id", "target_portfolio_id",
                  "target_mms_id", "blocked_reason")
_SEPARATORS = r"\s*[;,|]\s*"


def _split(column: str) -> pl.Expr:
    return pl.col(column).str.replace_all(_SEPARATORS, ";").str.split(";")


def po_line_links(p2e: pl.DataFrame, po_lines: pl.DataFrame | None) -> pl.DataFrame:
    """portfolio_id, po_line, source: every PO line tied to a P2E portfolio or its bib."""
    lines = with_columns(po_lines, PO_LINE_COLUMNS).filter(pl.col("po_line").is_not_null())
    from_portfolio = p2e.select("portfolio_id", _split("po_line").alias("po_line"), pl.lit("portfolio export").alias("source"))
    from_p2e = p2e.select("portfolio_id", _split("p2e_po_number").alias("po_line"), pl.lit("P2E file").alias("source"))
    by_portfolio = lines.join(p2e.select("portfolio_id"), on="portfolio_id").select(
        "portfolio_id", pl.concat_list("po_line"), pl.lit("PO line export").alias("source")
    )
    by_bib = lines.drop("portfolio_id").join(p2e.select("portfolio_id", "mms_id"), on="mms_id").select(
        "portfolio_id", pl.concat_list("po_line"), pl.lit("PO line export").alias("source")
    )
    links = (
        pl.concat([from_portfolio, from_p2e, by_portfolio, by_bib])
        .explode("po_line")
        .with_columns(pl.col("po_line").str.strip_chars())
        .filter(pl.col("po_line").is_not_null() & (pl.col("po_line") != ""))
        .unique(["portfolio_id", "po_line"], keep="first", maintain_order=True)
    )
    log.info("POL guard: %d PO lines tied to %d P2E portfolios", links.height, links["portfolio_id"].n_unique())
    return links


def po_line_status(po_lines: pl.DataFrame | None) -> pl.DataFrame:
    """po_line, po_line_status (first stated status in the PO line export)."""
    lines = with_columns(po_lines, PO_LINE_COLUMNS)
    return (
        lines.filter(pl.col("po_line").is_not_null())
        .sort(pl.col("status").is_null())
        .group_by("po_line", maintain_order=True)
        .agg(pl.col("status").first().alias("po_line_status"))
    )


def relinks(p2e: pl.DataFrame, decisions: pl.DataFrame, po_lines: pl.DataFrame | None) -> pl.DataFrame:
    """One row per (PO line, P2E portfolio): RELINK_COLUMNS plus "steps", "decision", "reason"."""
    links = po_line_links(p2e, po_lines)
    status = po_line_status(po_lines)
    frame = (
        links.join(p2e.select("portfolio_id", "mms_id"), on="portfolio_id")
        .join(status, on="po_line", how="left")
        .join(decisions.select("portfolio_id", "decision", "reason", "keep_portfolio_id", "keep_mms_id"),
              on="portfolio_id", how="left")
    )
    closed = pl.col("po_line_status").str.strip_chars().str.to_lowercase().is_in(CLOSED_STATUSES).fill_null(False)
    disagree = pl.col("reason") == DISAGREE
    keeper_reason = (
        pl.when(pl.col("decision").is_null() | (pl.col("decision") == NO_DUPLICATE)).then(pl.lit(NO_KEEPER))
        .when(disagree).then(pl.lit(SEVERAL_KEEPERS))
        .when(pl.col("keep_portfolio_id").is_null()).then(pl.lit(NO_KEEPER) + " (review: " + pl.col("reason") + ")")
        .when(pl.col("decision") == REVIEW).then(pl.lit("needs review first: ") + pl.col("reason"))
    )
    blocked = pl.concat_str(
        [pl.when(closed).then(pl.lit(CLOSED)), keeper_reason], separator="; ", ignore_nulls=True
    )
    has_target = (pl.col("decision").is_in([DELETE, REVIEW])) & ~disagree.fill_null(False)
    result = frame.with_columns(
        pl.when(blocked == "").then(None).otherwise(blocked).alias("blocked_reason"),
        pl.when(has_target).then(pl.col("keep_portfolio_id")).alias("target_portfolio_id"),
        pl.when(has_target).then(pl.col("keep_mms_id")).alias("target_mms_id"),
        pl.when(pl.col("po_line_status").is_null()).then(pl.lit(UNKNOWN_STATUS_STEP + RELINK_STEPS))
        .otherwise(pl.lit(RELINK_STEPS)).alias("steps"),
    ).select(*RELINK_COLUMNS, "source", "decision", "reason", "steps").sort("portfolio_id", "po_line")
    log.info(
        "POL relinks: %d rows, %d ready, %d blocked",
        result.height, result.filter(pl.col("blocked_reason").is_null()).height,
        result.filter(pl.col("blocked_reason").is_not_null()).height,
    )
    return result
