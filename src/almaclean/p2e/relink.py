"""The POL guard: a P2E portfolio or bib with a PO line is never deleted by a set.

A PO line is tied to a P2E portfolio by the portfolio export (``po_line``, and its additional PO
lines: ``additional_po_lines``, or read again from stored cells), by the P2E file (``po_number``
of each of its lines) or by the PO line export (its ``portfolio_id``, or its ``mms_id`` = the P2E
bib). Every such portfolio is guarded (``guarded_portfolios``), whatever happens next.

A relink row is written for each (PO line, P2E portfolio) that has a CZ duplicate or a match
to review: the target is the keeper chosen by ``match.decide``. A P2E portfolio with a PO line
and no duplicate has nothing to relink: it is kept, with its PO line, and goes to the local
groups and link-to-CZ candidates instead.

As the CARLI guide's TIP 2 (step 13) does, a CLOSED line is relinked too: in the PO Line
look-up's "Select PO Line" list the filter is set to "All POLs" instead of "Active POLs"
(Alma: "When the filter is set to All, closed PO lines are included", SEARCHING_PO_LINES).
A CANCELLED line stays blocked: cancelling deletes the line's inventory or, when Alma cannot,
removes the link between the line and its inventory; a cancelled line can be reopened
(CLOSING_CANCELLING_RELINKING).
Other blocked rows are real conflicts: several keepers that disagree, or a match to review. A
blocked row has no relink steps: its blocked_reason says what to settle first. A P2E portfolio
with local data of its own (localdata) gets a first step: copy it to the keeper.
"""
from __future__ import annotations

import logging

import polars as pl

from almaclean.p2e.classify import PO_LINE_COLUMNS, with_columns
from almaclean.p2e.localdata import COPY_FIRST
from almaclean.p2e.match import DELETE, DISAGREE, NO_DUPLICATE, REVIEW
from almaclean.p2e.sources import CLOSING_CANCELLING_RELINKING, GUIDE, SEARCHING_PO_LINES

log = logging.getLogger(__name__)

CLOSED_STATUSES = ("closed",)
CANCELLED_STATUSES = ("cancelled", "canceled")
CANCELLED = (
    "PO line cancelled: on cancelling, Alma deletes the line's inventory or, when it cannot, removes the "
    "link between the line and its inventory; a cancelled line can be reopened: reopen it first if the "
    f"order must follow the title (Alma: Closing/Cancelling, Reopening, and Relinking PO Lines, "
    f"{CLOSING_CANCELLING_RELINKING})"
)
NEEDS_REVIEW = "needs review first: "
NO_KEEPER_YET = "needs review first (no keeper chosen yet): "
SEVERAL_KEEPERS = "several keepers (they disagree): choose one"
ADD_ON_KEEPER = "2. Edit the keeper portfolio (target_portfolio_id), Acquisition tab: add the PO line, Save. "
ADD_CLOSED_ON_KEEPER = (
    "2. Edit the keeper portfolio (target_portfolio_id), Acquisition tab: in the PO Line field choose "
    "'Select from a List', set the filter of the 'Select PO Line' list to 'All POLs' (a closed line is not "
    "in 'Active POLs'), select the PO line, Save. "
)
CZ_RECORD_CHECK = ("Then search the title again: the keeper's CZ-linked record shows the order (Orders, with the "
                   "green cart), and the P2E record is gone (the guide's steps 9 and 19).")
RELINK_STEPS = (
    "1. Search the title (All Titles); on the P2E bib's Orders, Change Bib Reference to the keeper's bib "
    "(target_mms_id). "
    + ADD_ON_KEEPER
    + "3. Delete the P2E portfolio with 'Delete bibliographic record(s)' for the bib left without inventory (or "
    "suppress the bib: the guide's step 15). 4. " + CZ_RECORD_CHECK
)
CLOSED_RELINK_STEPS = RELINK_STEPS.replace(ADD_ON_KEEPER, ADD_CLOSED_ON_KEEPER) + (
    f" (CARLI P2E guide, steps 13 and TIP 2: {GUIDE}; Alma: {SEARCHING_PO_LINES})"
)
UNKNOWN_STATUS_STEP = ("0. This PO line's status is not in the PO line export: check in Alma that it is "
                       "still open or closed (a cancelled line cannot be relinked; for a closed one use "
                       "'All POLs' in step 2). ")
RELINK_COLUMNS = ("po_line", "po_line_status", "portfolio_id", "mms_id", "title", "target_portfolio_id",
                  "target_mms_id", "target_title", "blocked_reason")
COPY_STEP = "0. Copy the P2E portfolio's own data to the keeper portfolio first: "
_EMPTY_LINKS = {"portfolio_id": pl.String, "po_line": pl.String, "source": pl.String}
_SEPARATORS = r"\s*[;,|]\s*"


def _split(column: str) -> pl.Expr:
    return pl.col(column).str.replace_all(_SEPARATORS, ";").str.split(";")


def po_line_links(p2e: pl.DataFrame, po_lines: pl.DataFrame | None,
                  more: pl.DataFrame | None = None) -> pl.DataFrame:
    """portfolio_id, po_line, source: every PO line tied to a P2E portfolio or its bib.

    more: portfolio_id, po_line, source: further PO lines of the P2E portfolios (their additional
    PO lines, localdata.LocalData.po_lines)."""
    lines = with_columns(po_lines, PO_LINE_COLUMNS).filter(pl.col("po_line").is_not_null())
    from_portfolio = p2e.select("portfolio_id", _split("po_line").alias("po_line"), pl.lit("portfolio export").alias("source"))
    from_p2e = p2e.select("portfolio_id", _split("p2e_po_number").alias("po_line"), pl.lit("P2E file").alias("source"))
    by_portfolio = lines.join(p2e.select("portfolio_id"), on="portfolio_id").select(
        "portfolio_id", pl.concat_list("po_line"), pl.lit("PO line export").alias("source")
    )
    by_bib = lines.drop("portfolio_id").join(p2e.select("portfolio_id", "mms_id"), on="mms_id").select(
        "portfolio_id", pl.concat_list("po_line"), pl.lit("PO line export").alias("source")
    )
    extra = (more if more is not None else pl.DataFrame(schema=_EMPTY_LINKS)).select(
        "portfolio_id", _split("po_line").alias("po_line"), "source")
    links = (
        pl.concat([from_portfolio, from_p2e, by_portfolio, by_bib, extra])
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


def guarded_portfolios(p2e: pl.DataFrame, po_lines: pl.DataFrame | None,
                       more: pl.DataFrame | None = None) -> pl.DataFrame:
    """portfolio_id, po_lines ("; "-joined) of every P2E portfolio with a PO line: never in a deletion set."""
    return (
        po_line_links(p2e, po_lines, more)
        .group_by("portfolio_id", maintain_order=True)
        .agg(pl.col("po_line").unique(maintain_order=True).str.join("; ").alias("po_lines"))
    )


def _status_is(statuses: tuple[str, ...]) -> pl.Expr:
    return pl.col("po_line_status").str.strip_chars().str.to_lowercase().is_in(statuses).fill_null(False)


def relinks(p2e: pl.DataFrame, decisions: pl.DataFrame, po_lines: pl.DataFrame | None,
            more: pl.DataFrame | None = None) -> pl.DataFrame:
    """One row per (PO line, P2E portfolio) to relink: RELINK_COLUMNS plus "steps", "decision", "reason".

    decisions: match.decide's, with "local_data" (localdata.per_portfolio) when known.
    Portfolios with no duplicate (nothing to relink) have no row; ``guarded_portfolios`` still
    lists them.
    """
    links = po_line_links(p2e, po_lines, more)
    status = po_line_status(po_lines)
    decided = with_columns(decisions, ("keep_title", "local_data"))
    frame = (
        links.join(with_columns(p2e, ("title", "p2e_title")).select(
            "portfolio_id", "mms_id", pl.coalesce("title", "p2e_title").alias("title")), on="portfolio_id")
        .join(status, on="po_line", how="left")
        .join(decided.select("portfolio_id", "decision", "reason", "keep_portfolio_id", "keep_mms_id", "keep_title",
                             "local_data"), on="portfolio_id", how="left")
    )
    frame = frame.filter(pl.col("decision").is_not_null() & (pl.col("decision") != NO_DUPLICATE))
    cancelled = _status_is(CANCELLED_STATUSES)
    closed = _status_is(CLOSED_STATUSES)
    disagree = pl.col("reason") == DISAGREE
    keeper_reason = (
        pl.when(disagree).then(pl.lit(SEVERAL_KEEPERS))
        .when(pl.col("keep_portfolio_id").is_null()).then(pl.lit(NO_KEEPER_YET) + pl.col("reason"))
        .when(pl.col("decision") == REVIEW).then(pl.lit(NEEDS_REVIEW) + pl.col("reason"))
    )
    blocked = pl.concat_str(
        [pl.when(cancelled).then(pl.lit(CANCELLED)), keeper_reason], separator="; ", ignore_nulls=True
    )
    has_target = (pl.col("decision").is_in([DELETE, REVIEW, COPY_FIRST])) & ~disagree.fill_null(False)
    copy_first = pl.when(pl.col("local_data").is_not_null()).then(pl.lit(COPY_STEP) + pl.col("local_data") + ". ")
    steps = pl.concat_str([
        copy_first,
        pl.when(pl.col("po_line_status").is_null()).then(pl.lit(UNKNOWN_STATUS_STEP + RELINK_STEPS))
        .when(closed).then(pl.lit(CLOSED_RELINK_STEPS))
        .otherwise(pl.lit(RELINK_STEPS)),
    ], ignore_nulls=True)
    result = frame.with_columns(
        pl.when(blocked == "").then(None).otherwise(blocked).alias("blocked_reason"),
        pl.when(has_target).then(pl.col("keep_portfolio_id")).alias("target_portfolio_id"),
        pl.when(has_target).then(pl.col("keep_mms_id")).alias("target_mms_id"),
        pl.when(has_target).then(pl.col("keep_title")).alias("target_title"),
    ).with_columns(
        # A blocked row has nothing to do yet but what its reason says: no relink steps.
        pl.when(pl.col("blocked_reason").is_null()).then(steps).alias("steps"),
    ).select(*RELINK_COLUMNS, "source", "decision", "reason", "steps").sort("portfolio_id", "po_line")
    log.info(
        "POL relinks: %d rows, %d ready, %d blocked",
        result.height, result.filter(pl.col("blocked_reason").is_null()).height,
        result.filter(pl.col("blocked_reason").is_not_null()).height,
    )
    return result


def awaiting_relink(pol: pl.DataFrame) -> pl.DataFrame:
    """The relink rows of the P2E portfolios whose deletion waits only on their PO lines (a CZ
    duplicate decided "delete"): one P2E portfolio per relink finding, counted once however many
    PO lines it has. The other relink rows belong to portfolios in review (blocked until their
    review is decided), counted with the review."""
    return pol.filter(pl.col("decision") == DELETE)
