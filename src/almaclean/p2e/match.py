"""Duplicates of P2E portfolios among CZ-linked portfolios (rule 3).

Evidence is a shared normalised ISSN or ISBN, any value against any value (print, electronic,
ISBN-10 against ISBN-13), taken from the portfolio's bib and from its P2E line.

Per P2E portfolio, first matching case wins:

1. Identifier hits on keepers (CZ-linked, available, in a collection):
   - The keepers' bibs *disagree* when the P2E's identifiers reach keepers on different MMS
     records that are not tied together by identifiers of their own (the MMS records, linked
     whenever two share a non-junk value, form more than one group). Example: the P2E carries
     the ISSN of one journal and the ISBN of an unrelated book. -> review.
     Several keepers of one title (same bib, or bibs sharing identifiers, e.g. the journal on
     JSTOR and on MUSE) agree: one is kept.
   - The keeper is chosen deterministically: one whose coverage contains the P2E's first,
     then the smallest portfolio id; the evidence lists the others.
   - Deletion candidate only when the keeper's coverage contains the P2E's or neither states
     coverage; otherwise review with the coverage reason (partial or disjoint, cannot be
     compared, stated on one side only).
2. Hits only on CZ-linked portfolios that are not available (or in no collection): review
   "keeper not available".
3. Its only hits are junk values (a value carried by more than ``junk_threshold`` distinct
   titles among all portfolios): review "junk identifier".
4. Identifiers present but none valid: review "invalid identifier" with the raw values.
5. No identifier evidence but a similar keeper title (see ``titles``): review "title match only".
6. Otherwise: no duplicate (the portfolio goes to a local-collection group).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache

import polars as pl

from almaclean.normalize.coverage import contains, parse_statement
from almaclean.normalize.identifiers import identifier_table
from almaclean.p2e.titles import with_title_key

log = logging.getLogger(__name__)

DEFAULT_JUNK_THRESHOLD = 5

DELETE = "delete"
REVIEW = "review"
NO_DUPLICATE = "no duplicate"

CONTAINED = "keeper coverage contains the P2E coverage"
NEITHER_STATED = "neither states coverage"
PARTIAL = "partial or disjoint coverage"
NOT_COMPARABLE = "coverage cannot be compared"
ONE_SIDED = "coverage stated on one side only"
DELETABLE_VERDICTS = (CONTAINED, NEITHER_STATED)

DISAGREE = "several keepers that disagree"
NOT_AVAILABLE = "keeper not available"
JUNK = "junk identifier"
INVALID = "invalid identifier"
TITLE_ONLY = "title match only"


@dataclass(frozen=True)
class Evidence:
    p2e_ids: pl.DataFrame   # portfolio_id, source_column, raw, id_type, value, valid (bib + P2E line)
    junk: pl.DataFrame      # value, n_titles
    pairs: pl.DataFrame     # portfolio_id, keep_portfolio_id, shared, + keep_* attributes, keeper
    cz_ids: pl.DataFrame    # keep_portfolio_id, keep_mms_id, id_type, value: CZ-linked valid non-junk values


def collection_label() -> pl.Expr:
    """The keeper's group: collection name, else interface name, else collection id."""
    return pl.coalesce("collection_name", "interface_name", "collection_id", pl.lit("no collection"))


def junk_values(all_ids: pl.DataFrame, flagged: pl.DataFrame, threshold: int,
                values: pl.DataFrame | None = None) -> pl.DataFrame:
    """Values carried by more than `threshold` distinct titles (title key, else MMS id).

    values: only these values are counted (the ones that matter), when given.
    """
    carriers = all_ids.lazy().filter(pl.col("valid")).select("portfolio_id", "value")
    if values is not None:
        carriers = carriers.join(values.lazy().select("value").unique(), on="value", how="semi")
    carriers = carriers.collect()  # lazily: no copy of the whole identifier table on the way
    titles = with_title_key(
        flagged.join(carriers.select("portfolio_id").unique(), on="portfolio_id", how="semi")
        .select("portfolio_id", "mms_id", "title")
    ).select("portfolio_id", pl.coalesce("tkey", pl.lit("mms:") + pl.col("mms_id")).alias("tkey"))
    return (
        carriers
        .join(titles, on="portfolio_id")
        .group_by("value")
        .agg(pl.col("tkey").n_unique().alias("n_titles"))
        .filter(pl.col("n_titles") > threshold)
    )


def identifier_evidence(
    flagged: pl.DataFrame, p2e: pl.DataFrame, *, junk_threshold: int = DEFAULT_JUNK_THRESHOLD,
) -> Evidence:
    """Identifier tables, junk values and (P2E, CZ-linked portfolio) pairs sharing a value."""
    all_ids = identifier_table(flagged.select("portfolio_id", "issn", "isbn"), "portfolio_id", ["issn", "isbn"])
    line_ids = identifier_table(
        p2e.select("portfolio_id", "p2e_issn", "p2e_isbn"), "portfolio_id", ["p2e_issn", "p2e_isbn"]
    )
    p2e_ids = pl.concat(
        [all_ids.join(p2e.select("portfolio_id"), on="portfolio_id", how="semi"), line_ids]
    )
    junk = junk_values(all_ids, flagged, junk_threshold, values=p2e_ids.filter(pl.col("valid")))
    # Only the columns used below: a filter of every analysed column copies hundreds of MB.
    cz = flagged.select(
        "portfolio_id", "mms_id", "collection_name", "interface_name", "collection_id", "coverage_statement", "url",
        "keeper", "cz_linked",
    ).filter(pl.col("cz_linked"))
    cz_ids = (
        all_ids.lazy().filter(pl.col("valid"))
        .join(cz.lazy().select("portfolio_id"), on="portfolio_id", how="semi")
        .join(junk.lazy(), on="value", how="anti")
        .select(pl.col("portfolio_id").alias("keep_portfolio_id"), "id_type", "value")
        .unique()
        .join(cz.lazy().select(pl.col("portfolio_id").alias("keep_portfolio_id"),
                               pl.col("mms_id").alias("keep_mms_id")), on="keep_portfolio_id")
        .collect()
    )
    hits = (
        p2e_ids.filter(pl.col("valid"))
        .join(junk, on="value", how="anti")
        .select("portfolio_id", "id_type", "value")
        .unique()
        .join(cz_ids.drop("keep_mms_id"), on=["id_type", "value"])
    )
    pairs = (
        hits.sort("portfolio_id", "keep_portfolio_id", "id_type", "value")
        .group_by("portfolio_id", "keep_portfolio_id", maintain_order=True)
        .agg((pl.col("id_type").str.to_uppercase() + " " + pl.col("value")).alias("shared_values"))
        .with_columns(pl.col("shared_values").list.join("; ").alias("shared"))
        .join(
            cz.select(
                pl.col("portfolio_id").alias("keep_portfolio_id"),
                pl.col("mms_id").alias("keep_mms_id"),
                collection_label().alias("keep_collection"),
                pl.col("coverage_statement").alias("keep_coverage"),
                pl.col("url").alias("keep_url"),
                "keeper",
            ),
            on="keep_portfolio_id",
        )
    )
    log.info(
        "identifier evidence: %d P2E identifier tokens, %d junk values (> %d titles), "
        "%d (P2E, CZ portfolio) pairs sharing a value",
        p2e_ids.height, junk.height, junk_threshold, pairs.height,
    )
    return Evidence(p2e_ids=p2e_ids, junk=junk, pairs=pairs, cz_ids=cz_ids)


@lru_cache(maxsize=200_000)
def _parsed(statement: str | None):
    return parse_statement(statement)


def coverage_verdict(keeper_statement: str | None, p2e_statement: str | None) -> str:
    """Whether the keeper's coverage covers the P2E portfolio's, as a short verdict."""
    keeper, p2e = _parsed(keeper_statement), _parsed(p2e_statement)
    if not keeper.stated and not p2e.stated:
        return NEITHER_STATED
    if keeper.stated != p2e.stated:
        return ONE_SIDED
    verdict = contains(keeper, p2e)
    if verdict is None:
        return NOT_COMPARABLE
    return CONTAINED if verdict else PARTIAL


def with_coverage_verdicts(pairs: pl.DataFrame) -> pl.DataFrame:
    """Pairs (with keep_coverage and coverage_statement) plus a "verdict" column; once per distinct pair."""
    distinct = pairs.select("keep_coverage", "coverage_statement").unique()
    verdicts = distinct.with_columns(
        pl.Series(
            "verdict",
            [coverage_verdict(k, p) for k, p in distinct.iter_rows()],
            dtype=pl.String,
        )
    )
    return pairs.join(verdicts, on=["keep_coverage", "coverage_statement"], how="left", nulls_equal=True)


def disagreeing(keeper_pairs: pl.DataFrame, keeper_ids: pl.DataFrame) -> pl.DataFrame:
    """P2E portfolio ids whose keeper MMS records fall into more than one identifier-linked group.

    keeper_pairs: portfolio_id, keep_mms_id. keeper_ids: keep_mms_id, value (valid, not junk).
    """
    nodes = keeper_pairs.select("portfolio_id", "keep_mms_id").unique()
    multi = nodes.group_by("portfolio_id").agg(pl.len().alias("n")).filter(pl.col("n") > 1)
    nodes = nodes.join(multi.select("portfolio_id"), on="portfolio_id", how="semi")
    if nodes.height == 0:
        return pl.DataFrame(schema={"portfolio_id": pl.String})
    member = nodes.join(keeper_ids.unique(), on="keep_mms_id")
    edges = (
        member.join(member, on=["portfolio_id", "value"], suffix="_b")
        .filter(pl.col("keep_mms_id") != pl.col("keep_mms_id_b"))
        .select("portfolio_id", pl.col("keep_mms_id").alias("a"), pl.col("keep_mms_id_b").alias("b"))
        .unique()
    )
    labels = nodes.select("portfolio_id", pl.col("keep_mms_id").alias("a"), pl.col("keep_mms_id").alias("label"))
    # Minimum-label propagation: converges in at most (group size) rounds; groups are tiny.
    for _ in range(64):
        neighbour = (
            edges.join(labels.rename({"a": "b", "label": "nlabel"}), on=["portfolio_id", "b"])
            .group_by("portfolio_id", "a")
            .agg(pl.col("nlabel").min())
        )
        updated = labels.join(neighbour, on=["portfolio_id", "a"], how="left").with_columns(
            pl.min_horizontal("label", "nlabel").alias("new")
        )
        if updated.filter(pl.col("new") != pl.col("label")).height == 0:
            break
        labels = updated.select("portfolio_id", "a", pl.col("new").alias("label"))
    return (
        labels.group_by("portfolio_id")
        .agg(pl.col("label").n_unique().alias("groups"))
        .filter(pl.col("groups") > 1)
        .select("portfolio_id")
    )


def _reason_with_values(reason: str, values: str) -> pl.Expr:
    return pl.lit(reason + ": ") + pl.col(values)


def decide(p2e: pl.DataFrame, ev: Evidence, title_hits: pl.DataFrame) -> pl.DataFrame:
    """One row per P2E portfolio: decision (delete / review / no duplicate) and its evidence.

    Columns: portfolio_id, decision, reason, keep_portfolio_id, keep_mms_id, keep_collection,
    shared, verdict, keep_coverage, keep_url, other_keepers, candidate_keepers.
    title_hits: id, candidate_ids (list) for P2E portfolios with no identifier hit.
    """
    base = p2e.select("portfolio_id", "coverage_statement")
    pairs = ev.pairs.join(base, on="portfolio_id")
    keeper_pairs = with_coverage_verdicts(pairs.filter(pl.col("keeper")))
    keeper_values = ev.cz_ids.join(
        keeper_pairs.select("keep_portfolio_id").unique(), on="keep_portfolio_id", how="semi"
    ).select("keep_mms_id", "value")
    disagree = disagreeing(keeper_pairs, keeper_values)

    ranked = keeper_pairs.with_columns(
        pl.col("verdict").is_in(DELETABLE_VERDICTS).alias("deletable")
    ).sort(["portfolio_id", "deletable", "keep_portfolio_id"], descending=[False, True, False])
    chosen = (
        ranked.group_by("portfolio_id", maintain_order=True)
        .agg(
            pl.col("keep_portfolio_id", "keep_mms_id", "keep_collection", "shared", "verdict",
                   "keep_coverage", "keep_url", "deletable").first(),
            pl.col("keep_portfolio_id").slice(1).alias("others"),
            pl.col("keep_portfolio_id").alias("all_keepers"),
        )
        .with_columns(pl.col("others").list.join("; ").alias("other_keepers"))
        .drop("others")
    )
    unavailable = (
        pairs.filter(~pl.col("keeper"))
        .group_by("portfolio_id")
        .agg(pl.col("keep_portfolio_id").unique().sort().alias("unavailable_keepers"))
    )
    junk_only = (
        ev.p2e_ids.filter(pl.col("valid"))
        .join(ev.junk, on="value")
        .group_by("portfolio_id")
        .agg(
            (pl.col("value") + " (" + pl.col("n_titles").cast(pl.String) + " titles)")
            .unique().sort().str.join("; ").alias("junk_values")
        )
    )
    token_summary = ev.p2e_ids.group_by("portfolio_id").agg(
        pl.col("valid").any().alias("any_valid"),
        pl.col("raw").filter(~pl.col("valid")).unique().sort().str.join("; ").alias("invalid_raw"),
    )
    titles = title_hits.select(pl.col("id").alias("portfolio_id"), pl.col("candidate_ids").alias("title_candidates"))

    frame = (
        base.select("portfolio_id")
        .join(chosen, on="portfolio_id", how="left")
        .join(disagree.with_columns(pl.lit(True).alias("disagree")), on="portfolio_id", how="left")
        .join(unavailable, on="portfolio_id", how="left")
        .join(junk_only, on="portfolio_id", how="left")
        .join(token_summary, on="portfolio_id", how="left")
        .join(titles, on="portfolio_id", how="left")
        .with_columns(pl.col("disagree").fill_null(False))
    )
    has_keeper = pl.col("keep_portfolio_id").is_not_null()
    no_hit = ~has_keeper & pl.col("unavailable_keepers").is_null()
    decision = (
        pl.when(has_keeper & ~pl.col("disagree") & pl.col("deletable")).then(pl.lit(DELETE))
        .when(has_keeper | pl.col("unavailable_keepers").is_not_null()).then(pl.lit(REVIEW))
        .when(pl.col("junk_values").is_not_null()).then(pl.lit(REVIEW))
        .when(pl.col("any_valid").not_() & pl.col("invalid_raw").is_not_null()).then(pl.lit(REVIEW))
        .when(pl.col("title_candidates").is_not_null()).then(pl.lit(REVIEW))
        .otherwise(pl.lit(NO_DUPLICATE))
    )
    reason = (
        pl.when(has_keeper & pl.col("disagree")).then(pl.lit(DISAGREE))
        .when(has_keeper & pl.col("deletable")).then(pl.col("verdict"))
        .when(has_keeper).then(pl.col("verdict"))
        .when(pl.col("unavailable_keepers").is_not_null()).then(pl.lit(NOT_AVAILABLE))
        .when(no_hit & pl.col("junk_values").is_not_null()).then(_reason_with_values(JUNK, "junk_values"))
        .when(no_hit & pl.col("any_valid").not_() & pl.col("invalid_raw").is_not_null())
        .then(_reason_with_values(INVALID, "invalid_raw"))
        .when(pl.col("title_candidates").is_not_null()).then(pl.lit(TITLE_ONLY))
    )
    candidates = (
        pl.when(has_keeper).then(pl.col("all_keepers"))
        .when(pl.col("unavailable_keepers").is_not_null()).then(pl.col("unavailable_keepers"))
        .otherwise(pl.col("title_candidates"))
    )
    result = frame.with_columns(
        decision.alias("decision"),
        reason.alias("reason"),
        candidates.list.join("; ").alias("candidate_keepers"),
    ).select(
        "portfolio_id", "decision", "reason", "keep_portfolio_id", "keep_mms_id", "keep_collection",
        "shared", "verdict", "keep_coverage", "keep_url", "other_keepers", "candidate_keepers",
    )
    counts = dict(result.group_by("decision").len().iter_rows())
    log.info("P2E decisions: %s", counts)
    return result

