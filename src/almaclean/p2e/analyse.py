"""The whole P2E clean-up analysis as one pure function over canonical frames."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

import polars as pl

from almaclean.kinds.kbart import CZTitleList
from almaclean.p2e.classify import (
    P2E_COLUMNS, PORTFOLIO_COLUMNS, classify_p2e, flag_portfolios, is_database_record, with_columns,
)
from almaclean.p2e.cz_link import KEPT, LINK_COLLECTION, cz_link_candidates, empty_candidates, empty_groups
from almaclean.p2e.groups import local_groups
from almaclean.p2e.match import DEFAULT_JUNK_THRESHOLD, DELETE, NO_DUPLICATE, REVIEW, decide, identifier_evidence
from almaclean.p2e.relink import guarded_portfolios, relinks
from almaclean.p2e.titles import title_matches, year_of

log = logging.getLogger(__name__)

DATABASE_REASON = "database/package P2E record"
DELETION_COLUMNS = ("portfolio_id", "mms_id", "keep_portfolio_id", "keep_mms_id", "keep_collection", "evidence", "group")
REVIEW_COLUMNS = ("portfolio_id", "mms_id", "reason", "candidate_keepers")
GROUP_COLUMNS = ("portfolio_id", "group", "host")
# The portfolio columns the analysis reads (the others are dropped at once to save memory).
ANALYSED_COLUMNS = (
    "portfolio_id", "mms_id", "title", "publication_date", "issn", "isbn", "network_number", "collection_id",
    "collection_name", "interface_name", "portfolio_linked_to_cz", "availability", "url", "po_line",
    "coverage_statement", "is_standalone",
)


@dataclass(frozen=True)
class P2EResult:
    deletion_candidates: pl.DataFrame  # DELETION_COLUMNS + evidence detail columns
    pol_relinks: pl.DataFrame          # relink.RELINK_COLUMNS + source, decision, reason, steps
    review: pl.DataFrame               # REVIEW_COLUMNS + legacy_id, title
    groups: pl.DataFrame               # GROUP_COLUMNS + mms_id, provider, domain, po_lines (kept PO lines)
    not_in_p2e: pl.DataFrame           # standalone, not in the P2E file
    unmatched_lines: pl.DataFrame      # P2E lines that match no portfolio
    counts: dict[str, int] = field(default_factory=dict)
    cz_link_candidates: pl.DataFrame = field(default_factory=empty_candidates)  # cz_link.CZ_LINK_COLUMNS + detail
    cz_link_groups: pl.DataFrame = field(default_factory=empty_groups)          # cz_link.CZ_GROUP_COLUMNS


def _evidence_text() -> pl.Expr:
    def part(label: str, column: str) -> pl.Expr:
        return pl.lit(f"{label}: ") + pl.col(column).fill_null("-")

    return pl.concat_str(
        [
            part("shared", "shared"),
            pl.col("verdict"),
            part("keeper coverage", "keep_coverage"),
            part("P2E coverage", "p2e_coverage"),
            part("keeper URL", "keep_url"),
            part("P2E URL", "p2e_url"),
            pl.when(pl.col("other_keepers").is_not_null() & (pl.col("other_keepers") != ""))
            .then(pl.lit("other keepers: ") + pl.col("other_keepers")),
        ],
        separator=" | ",
        ignore_nulls=True,
    )


def analyse_p2e(
    portfolios: pl.DataFrame,
    p2e_lines: pl.DataFrame,
    po_lines: pl.DataFrame | None = None,
    *,
    junk_threshold: int = DEFAULT_JUNK_THRESHOLD,
    title_cutoff: float = 90.0,
    cz_titles: list[CZTitleList] | None = None,
) -> P2EResult:
    """Classify, match, guard and group: every output of the P2E clean-up as frames."""
    flagged = flag_portfolios(with_columns(portfolios, PORTFOLIO_COLUMNS).select(ANALYSED_COLUMNS))
    classes = classify_p2e(flagged, with_columns(p2e_lines, P2E_COLUMNS))
    databases = classes.p2e.filter(is_database_record())
    p2e = classes.p2e.filter(~is_database_record())

    evidence = identifier_evidence(flagged, p2e, junk_threshold=junk_threshold)
    with_hit = evidence.pairs.select("portfolio_id").unique()
    queries = p2e.join(with_hit, on="portfolio_id", how="anti").select(
        pl.col("portfolio_id").alias("id"),
        pl.coalesce("title", "p2e_title").alias("title"),
        year_of("publication_date").alias("year"),
    )
    keepers = flagged.filter(pl.col("keeper")).select(
        pl.col("portfolio_id").alias("id"), "title", year_of("publication_date").alias("year")
    )
    title_hits = title_matches(queries, keepers, cutoff=title_cutoff)
    decisions = decide(p2e, evidence, title_hits)

    pol = relinks(p2e, decisions, po_lines)
    guarded = guarded_portfolios(p2e, po_lines)
    detail = decisions.join(
        p2e.select("portfolio_id", "mms_id", "title", "legacy_id",
                   pl.col("coverage_statement").alias("p2e_coverage"),
                   pl.coalesce("url", "p2e_url").alias("p2e_url")),
        on="portfolio_id",
    )
    deletion = (
        detail.filter(pl.col("decision") == DELETE)
        .join(guarded, on="portfolio_id", how="anti")
        .with_columns(_evidence_text().alias("evidence"), pl.col("keep_collection").alias("group"))
        .select(*DELETION_COLUMNS, "title", "shared", "verdict", "p2e_coverage", "keep_coverage",
                "p2e_url", "keep_url", "other_keepers")
        .sort("group", "portfolio_id")
    )
    review = pl.concat(
        [
            detail.filter(pl.col("decision") == REVIEW).select(*REVIEW_COLUMNS, "legacy_id", "title"),
            databases.select(
                "portfolio_id", "mms_id", pl.lit(DATABASE_REASON).alias("reason"),
                pl.lit(None, dtype=pl.String).alias("candidate_keepers"), "legacy_id",
                pl.coalesce("title", "p2e_title").alias("title"),
            ),
        ]
    ).sort("reason", "portfolio_id")
    groups = local_groups(p2e.join(decisions.filter(pl.col("decision") == NO_DUPLICATE), on="portfolio_id", how="semi"))
    groups = groups.join(guarded, on="portfolio_id", how="left", maintain_order="left")
    not_in_p2e = classes.not_in_p2e.select("portfolio_id", "mms_id", "title", "network_number", "url").sort("portfolio_id")
    unmatched = classes.unmatched_lines.select(*P2E_COLUMNS).sort("legacy_id")

    counts = {
        "portfolios": flagged.height,
        "keepers": flagged.filter(pl.col("keeper")).height,
        "p2e_lines": with_columns(p2e_lines, P2E_COLUMNS).height,
        "p2e_portfolios": classes.p2e.height,
        "standalone_not_in_p2e": not_in_p2e.height,
        "p2e_lines_unmatched": unmatched.height,
        "deletion_candidates": deletion.height,
        "pol_relinks": pol.height,
        "pol_relinks_ready": pol.filter(pl.col("blocked_reason").is_null()).height,
        "pol_relinks_blocked": pol.filter(pl.col("blocked_reason").is_not_null()).height,
        "review": review.height,
        "group_portfolios": groups.height,
        "groups": groups["group"].n_unique(),
    }
    cz_candidates, cz_groups = _cz_link(
        p2e, decisions, evidence.p2e_ids.join(evidence.junk.select("value"), on="value", how="anti"), cz_titles
    )
    if cz_titles:
        counts["cz_link_candidates"] = cz_candidates["portfolio_id"].n_unique()
        counts["cz_link_collections"] = cz_groups.filter(pl.col("proposal") == LINK_COLLECTION).height
    log.info("P2E analysis: %s", counts)
    return P2EResult(
        deletion_candidates=deletion, pol_relinks=pol, review=review,
        groups=groups.select(*GROUP_COLUMNS, "mms_id", "provider", "domain", "po_lines"),
        not_in_p2e=not_in_p2e, unmatched_lines=unmatched, counts=counts,
        cz_link_candidates=cz_candidates, cz_link_groups=cz_groups,
    )


def _cz_link(p2e: pl.DataFrame, decisions: pl.DataFrame, p2e_ids: pl.DataFrame,
             cz_titles: list[CZTitleList] | None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """CZ link candidates among the P2E portfolios that stay (no duplicate, or in review)."""
    if not cz_titles:
        return empty_candidates(), empty_groups()
    staying = decisions.filter(pl.col("decision").is_in([NO_DUPLICATE, REVIEW]))
    frame = p2e.join(staying.select("portfolio_id", "decision", "reason"), on="portfolio_id")
    groups = local_groups(frame).select("portfolio_id", "group")
    portfolios = frame.join(groups, on="portfolio_id").select(
        "portfolio_id", "mms_id", pl.coalesce("title", "p2e_title").alias("title"), "coverage_statement", "group",
        pl.when(pl.col("decision") == REVIEW).then(pl.lit("in review: ") + pl.col("reason"))
        .otherwise(pl.lit(KEPT)).alias("p2e_status"),
    )
    return cz_link_candidates(portfolios, p2e_ids, cz_titles)
