"""Nightly findings and what changed since the previous run: pure functions over polars frames.

A finding is one P2E portfolio with an outcome of the P2E analysis (almaclean.p2e):
- "delete": a deletion candidate (keeper = the CZ portfolio it duplicates);
- "pol_relink": a duplicate the analysis would delete but a PO line must be relinked first
  (keeper = the relink target); P2E portfolios with a PO line but no duplicate are not findings;
- "review": a portfolio to decide by hand (keeper = the candidate keepers, as the analysis says),
  or a duplicate with local data of its own to copy to its keeper first (keeper = that keeper).
A portfolio has one outcome; if it appears in several lists the first of delete, pol_relink,
review wins. Evidence is the text that explains the outcome; it is compared by its sha256.

Changes of a run against the previous succeeded run of the same institution, one per portfolio:
- "new": a finding now, none before (every finding of an institution's first run is new);
- "changed": a finding both times with a different outcome, keeper or evidence
  (what_changed lists which: "outcome; keeper; evidence");
- "open": a finding both times, unchanged;
- "resolved": a finding before, and the portfolio is gone from the current portfolio export
  (it was deleted in Alma);
- "no longer a duplicate": a finding before, none now, yet the portfolio is still in the export
  (its keeper went, the P2E file changed, the evidence changed...).
"Still open" in reports = open + changed.
"""
from __future__ import annotations

import hashlib
import logging

import polars as pl

from almaclean.normalize import map_unique
from almaclean.p2e.analyse import P2EResult
from almaclean.p2e.relink import awaiting_relink

log = logging.getLogger(__name__)

OUTCOME_DELETE = "delete"
OUTCOME_POL_RELINK = "pol_relink"
OUTCOME_REVIEW = "review"
OUTCOMES = (OUTCOME_DELETE, OUTCOME_POL_RELINK, OUTCOME_REVIEW)  # precedence order

NEW = "new"
CHANGED = "changed"
OPEN = "open"
RESOLVED = "resolved"
NO_LONGER = "no longer a duplicate"
CHANGES = (NEW, CHANGED, RESOLVED, NO_LONGER, OPEN)  # report order

FINDING_COLUMNS = ("portfolio_id", "mms_id", "outcome", "keeper_portfolio_id", "keeper_mms_id", "evidence",
                   "evidence_sha256")
CHANGE_COLUMNS = ("portfolio_id", "mms_id", "change", "outcome", "previous_outcome", "keeper", "previous_keeper",
                  "evidence", "what_changed", "previous_evidence")
_TEXT = {c: pl.String for c in FINDING_COLUMNS}


def empty_findings() -> pl.DataFrame:
    return pl.DataFrame(schema=_TEXT)


def evidence_digest(text: str | None) -> str:
    return hashlib.sha256((text or "").encode("utf-8")).hexdigest()


def _relink_evidence() -> pl.Expr:
    """'POL-1 (ACTIVE, ready)' or 'POL-2 (CLOSED, blocked: why)' for one relink row."""
    state = pl.when(pl.col("blocked_reason").is_null()).then(pl.lit("ready")).otherwise(
        pl.lit("blocked: ") + pl.col("blocked_reason"))
    return pl.concat_str(
        [pl.col("po_line"), pl.lit(" ("), pl.col("po_line_status").fill_null("no status"), pl.lit(", "), state,
         pl.lit(")")]
    )


def findings_of(result: P2EResult) -> pl.DataFrame:
    """FINDING_COLUMNS, one row per P2E portfolio with an outcome, sorted by portfolio_id."""
    deletions = result.deletion_candidates.select(
        "portfolio_id", "mms_id", pl.lit(OUTCOME_DELETE).alias("outcome"),
        pl.col("keep_portfolio_id").alias("keeper_portfolio_id"), pl.col("keep_mms_id").alias("keeper_mms_id"),
        "evidence",
    )
    relinks = (
        awaiting_relink(result.pol_relinks)
        .sort("portfolio_id", "po_line")
        .group_by("portfolio_id", maintain_order=True)
        .agg(
            pl.col("mms_id").first(),
            pl.col("target_portfolio_id").drop_nulls().first().alias("keeper_portfolio_id"),
            pl.col("target_mms_id").drop_nulls().first().alias("keeper_mms_id"),
            pl.col("reason").first(),
            _relink_evidence().str.join("; ").alias("lines"),
        )
        .select(
            "portfolio_id", "mms_id", pl.lit(OUTCOME_POL_RELINK).alias("outcome"), "keeper_portfolio_id",
            "keeper_mms_id",
            pl.concat_str([pl.col("reason"), pl.lit("PO lines: ") + pl.col("lines")], separator=" | ",
                          ignore_nulls=True).alias("evidence"),
        )
    )
    review = result.review.select(
        "portfolio_id", "mms_id", pl.lit(OUTCOME_REVIEW).alias("outcome"),
        pl.col("candidate_keepers").alias("keeper_portfolio_id"), pl.lit(None, dtype=pl.String).alias("keeper_mms_id"),
        pl.col("reason").alias("evidence"),
    )
    # A duplicate with local data of its own is decided by a person too: copy first, then delete.
    copy_first = result.copy_first.group_by("portfolio_id", maintain_order=True).agg(
        pl.col("mms_id", "keep_portfolio_id", "keep_mms_id").first(),
        (pl.col("what") + " '" + pl.col("value") + "'").str.join("; ").alias("values"),
    ).select(
        "portfolio_id", "mms_id", pl.lit(OUTCOME_REVIEW).alias("outcome"),
        pl.col("keep_portfolio_id").alias("keeper_portfolio_id"), pl.col("keep_mms_id").alias("keeper_mms_id"),
        (pl.lit("copy to the keeper first: ") + pl.col("values")).alias("evidence"),
    )
    rank = pl.col("outcome").replace_strict({o: i for i, o in enumerate(OUTCOMES)}, return_dtype=pl.Int32)
    frames = [f.cast({c: pl.String for c in f.columns}) for f in (deletions, relinks, review, copy_first)]
    findings = pl.concat(frames).sort(rank, "portfolio_id").unique("portfolio_id", keep="first", maintain_order=True)
    # An empty cell is null, as everywhere in almaclean: the findings then read back the same from
    # a CSV (the previous findings a nightly bundle keeps), e.g. a review with no candidate keeper.
    findings = findings.with_columns(pl.when(pl.col(c) != "").then(pl.col(c)).alias(c) for c in findings.columns)
    findings = findings.with_columns(
        map_unique(findings["evidence"], evidence_digest, pl.String).alias("evidence_sha256")
    ).select(FINDING_COLUMNS).sort("portfolio_id")
    log.info("nightly findings: %d (%s)", findings.height,
             ", ".join(f"{o} {findings.filter(pl.col('outcome') == o).height}" for o in OUTCOMES))
    return findings


def compare(previous: pl.DataFrame | None, current: pl.DataFrame, exported_ids: pl.Series) -> pl.DataFrame:
    """CHANGE_COLUMNS, one row per portfolio found now or before, in CHANGES order then portfolio_id.

    previous: the previous succeeded run's findings (None or empty: every finding is new);
    exported_ids: portfolio_id of every row of the current portfolio export."""
    previous = empty_findings() if previous is None else previous
    prev = previous.select(FINDING_COLUMNS).rename({c: f"{c}_previous" for c in FINDING_COLUMNS if c != "portfolio_id"})
    exported = pl.DataFrame({"portfolio_id": exported_ids.cast(pl.String)}).unique().with_columns(
        pl.lit(True).alias("exported"))
    both = (
        current.select(FINDING_COLUMNS).with_columns(pl.lit(True).alias("now"))
        .join(prev.with_columns(pl.lit(True).alias("before")), on="portfolio_id", how="full", coalesce=True)
        .join(exported, on="portfolio_id", how="left")
        .with_columns(pl.col("now", "before", "exported").fill_null(False))
    )

    def differs(column: str) -> pl.Expr:
        return pl.col(column).ne_missing(pl.col(f"{column}_previous"))

    what = pl.concat_str(
        [pl.when(differs("outcome")).then(pl.lit("outcome")),
         pl.when(differs("keeper_portfolio_id")).then(pl.lit("keeper")),
         pl.when(differs("evidence_sha256")).then(pl.lit("evidence"))],
        separator="; ", ignore_nulls=True,
    )
    both = both.with_columns(pl.when(pl.col("now") & pl.col("before")).then(what).alias("what_changed"))
    change = (
        pl.when(~pl.col("before")).then(pl.lit(NEW))
        .when(~pl.col("now") & ~pl.col("exported")).then(pl.lit(RESOLVED))
        .when(~pl.col("now")).then(pl.lit(NO_LONGER))
        .when(pl.col("what_changed") != "").then(pl.lit(CHANGED))
        .otherwise(pl.lit(OPEN))
    )
    order = pl.col("change").replace_strict({c: i for i, c in enumerate(CHANGES)}, return_dtype=pl.Int32)
    changes = (
        both.with_columns(change.alias("change"))
        .with_columns(
            pl.when(pl.col("change") == CHANGED).then(pl.col("what_changed")).alias("what_changed"),
            pl.when((pl.col("change") == CHANGED) & differs("evidence_sha256"))
            .then(pl.col("evidence_previous")).alias("previous_evidence"),
        )
        .select(
            "portfolio_id",
            pl.coalesce("mms_id", "mms_id_previous").alias("mms_id"),
            "change",
            "outcome",
            pl.col("outcome_previous").alias("previous_outcome"),
            pl.col("keeper_portfolio_id").alias("keeper"),
            pl.col("keeper_portfolio_id_previous").alias("previous_keeper"),
            pl.coalesce("evidence", "evidence_previous").alias("evidence"),
            "what_changed",
            "previous_evidence",
        )
        .sort(order, "portfolio_id")
    )
    log.info("nightly changes: %s", change_counts(changes))
    return changes


def findings_and_changes(result: P2EResult, previous: pl.DataFrame | None,
                         exported_ids: pl.Series) -> tuple[pl.DataFrame, pl.DataFrame]:
    """A run's findings and its changes against the previous run's findings (None: first run)."""
    findings = findings_of(result)
    return findings, compare(previous, findings, exported_ids)


def outcome_counts(findings: pl.DataFrame) -> dict[str, int]:
    """Findings per outcome (only outcomes found), by outcome name."""
    return dict(findings.group_by("outcome").len().sort("outcome").iter_rows())


def change_counts(changes: pl.DataFrame) -> dict[str, int]:
    """Rows per change, every change named (0 when none), plus "still open" = open + changed."""
    counts = {c: changes.filter(pl.col("change") == c).height for c in CHANGES}
    counts["still open"] = counts[OPEN] + counts[CHANGED]
    return counts
