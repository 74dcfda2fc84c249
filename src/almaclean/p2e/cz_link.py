"""Link P2E portfolios to the CZ, keeping the ILS bib (the guide's section 4): which ones would link.

Input: one or more CZ collection title lists (kinds.kbart: a provider's KBART file or an
Alma portfolio export of a CZ collection). Only P2E portfolios that stay are looked at: no
CZ duplicate, or a match still to review; never a deletion candidate (its CZ duplicate is
kept instead) and never a keeper (P2E portfolios are local, keepers CZ-linked).

A portfolio matches a list when one of its normalised ISSN/ISBN values (its bib's and its
P2E line's, normalize.identifiers: valid check digits only, any value against any value) is
on a row of the list, and its platform is the list's: the host of its URL (proxy stripped) is
the host of the row's title_url, or one is a sub-domain of the other (a JSTOR-hosted P2E copy is
not linked to the Project MUSE list of the same journal). Where either side has no URL the
platform cannot be compared: the match says so and never counts toward a group's share. Junk values are no evidence: those the duplicate check found carried by
many unrelated titles, and those on rows of more than JUNK_ROWS different titles of one list
(a title's history shares an ISSN over two or three rows, never more); invalid check digits
never match. Coverage is then compared as for duplicates (normalize.coverage): the list row's
dates and embargo (or its coverage statement) against the portfolio's statement. Per
portfolio and list the row whose coverage contains the portfolio's is shown first.
- match "identifier, coverage contained" (contained, or neither states coverage): link it;
- match "identifier, check coverage: <verdict>": the CZ holds the title, but linking may lose
  years the local portfolio has: review.
Per local group and list, the share of the group's kept portfolios that match on the same platform:
a group covered at COLLECTION_SHARE or more is a candidate to link as a whole ("link the local
collection to the CZ collection"); below that, link the matched portfolios one by one. Only kept
portfolios have a group: one still in review is linked one by one once its review is settled.
"""
from __future__ import annotations

import logging
from functools import lru_cache

import polars as pl

from almaclean.kinds.kbart import CZTitleList
from almaclean.normalize.coverage import Coverage, from_columns, parse_statement
from almaclean.normalize.identifiers import identifier_table
from almaclean.normalize.urls import target_hosts
from almaclean.p2e.sources import GUIDE, MANAGING_ELECTRONIC_RESOURCES, ORBIS_CASCADE_FAQ, POST_MIGRATION_CLEANUP
from almaclean.p2e.match import DELETABLE_VERDICTS, verdict_of

log = logging.getLogger(__name__)

COLLECTION_SHARE = 0.95
JUNK_ROWS = 5
LINK_COLLECTION = "link the local collection to the CZ collection"
LINK_PORTFOLIOS = "link the matched portfolios one by one"
MATCH_LINK = "identifier, coverage contained"
KEPT = "kept, no CZ duplicate"
MATCH_CHECK = "identifier, check coverage: "
MATCH_NO_PLATFORM = "identifier, platform not compared (no URL on one side): "
CZ_LINK_COLUMNS = ("portfolio_id", "mms_id", "group", "cz_list", "match", "evidence")
CZ_LINK_DETAIL = ("title", "cz_title", "cz_row", "shared", "verdict", "p2e_coverage", "cz_coverage", "host", "cz_host",
                  "p2e_status")
CZ_GROUP_COLUMNS = ("group", "cz_list", "portfolios", "matched", "share", "proposal")

CZ_LINK_STEPS = (
    "Link the P2E portfolios to the CZ and keep their ILS bib records as Ex Libris's 'Post migration "
    "clean-up of eResources in Alma' describes in 'Link ILS-migrated P2E portfolios to CZ but retain "
    f"ILS-migrated bib records' ({POST_MIGRATION_CLEANUP}); the CARLI P2E guide's section 'Link ILS Migrated "
    f"P2E Portfolios to CZ but Retain ILS Migrated Bib Records' points there ({GUIDE}). Alma's 'Managing "
    "Electronic Resources' covers linking local electronic resources to the Community Zone "
    f"({MANAGING_ELECTRONIC_RESOURCES}). "
    "Linking a local collection to a CZ collection turns its portfolios into the CZ's; during the linking you "
    f"choose to keep the local bib records or take the CZ's (Orbis Cascade Alliance FAQ, {ORBIS_CASCADE_FAQ}). "
    f"A group matched at {COLLECTION_SHARE:.0%} or more: {LINK_COLLECTION}; otherwise {LINK_PORTFOLIOS}. "
    "Rows whose match says 'check coverage' may lose years the local portfolio has: compare first."
)


def empty_candidates() -> pl.DataFrame:
    return pl.DataFrame(schema={c: pl.String for c in (*CZ_LINK_COLUMNS, *CZ_LINK_DETAIL)})


def empty_groups() -> pl.DataFrame:
    schema = {"group": pl.String, "cz_list": pl.String, "portfolios": pl.Int64, "matched": pl.Int64,
              "share": pl.Float64, "proposal": pl.String}
    return pl.DataFrame(schema=schema)


def _coverage_of_row(date_first: str | None, date_last: str | None, embargo: str | None,
                     statement: str | None) -> Coverage:
    if any(v is not None for v in (date_first, date_last, embargo)):
        return from_columns(date_first, date_last, embargo)  # readable: kinds.kbart checked every value
    return parse_statement(statement)


def describe(coverage: Coverage) -> str:
    """"1997-2005", "1998-now, last 4 years not available", "not stated", "cannot be read"."""
    if not coverage.readable:
        return "cannot be read"
    if not coverage.stated:
        return "not stated"
    text = f"{coverage.from_year or 'first issue'}-{coverage.to_year or 'now'}"
    if coverage.embargo_years:
        text += f", last {coverage.embargo_years:g} years not available"
    return text if coverage.exact else text + " (with gaps)"


@lru_cache(maxsize=200_000)
def _verdict(row_key: tuple, p2e_statement: str | None) -> tuple[str, str, str]:
    """(verdict, CZ coverage text, P2E coverage text) for one list row and one P2E statement."""
    cz, p2e = _coverage_of_row(*row_key), parse_statement(p2e_statement)
    return verdict_of(cz, p2e, row_key[3], p2e_statement, keeper_name="CZ list's"), describe(cz), describe(p2e)


def same_platform(host: str | None, other: str | None) -> bool | None:
    """Whether two hosts are one platform (equal, or one a sub-domain of the other); None when
    either is unknown."""
    if host is None or other is None:
        return None
    return host == other or host.endswith("." + other) or other.endswith("." + host)


def _list_hits(p2e_values: pl.DataFrame, cz_list: CZTitleList) -> pl.DataFrame:
    """portfolio_id, cz_row, shared (values "; "), for every list row sharing a value."""
    titles = cz_list.titles.select(pl.col("row").cast(pl.String).alias("cz_row"), "identifiers", "title")
    values = identifier_table(titles, "cz_row", ["identifiers"]).filter(pl.col("valid")).select("cz_row", "value")
    junk = (
        values.join(titles.select("cz_row", pl.coalesce(pl.col("title").str.to_lowercase(), "cz_row").alias("t")),
                    on="cz_row")
        .group_by("value").agg(pl.col("t").n_unique().alias("n")).filter(pl.col("n") > JUNK_ROWS)
    )
    if junk.height:
        log.info("%s: %d identifier values on more than %d titles are not evidence", cz_list.name, junk.height,
                 JUNK_ROWS)
    values = values.join(junk, on="value", how="anti")
    return (
        p2e_values.join(values.unique(), on="value")
        .group_by("portfolio_id", "cz_row")
        .agg(pl.col("value").unique().sort().str.join("; ").alias("shared"))
    )


def cz_link_candidates(
    portfolios: pl.DataFrame, p2e_ids: pl.DataFrame, lists: list[CZTitleList],
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(candidates, groups) for the P2E portfolios that stay.

    portfolios: portfolio_id, mms_id, title, coverage_statement, group, host, p2e_status (one row each).
    p2e_ids: portfolio_id, value, valid (match.Evidence.p2e_ids: bib and P2E line values, junk removed).
    candidates: CZ_LINK_COLUMNS + CZ_LINK_DETAIL, one row per (portfolio, list) that match.
    groups: CZ_GROUP_COLUMNS, one row per (group, list) with at least one match.
    """
    if not lists or portfolios.height == 0:
        return empty_candidates(), empty_groups()
    values = (
        p2e_ids.filter(pl.col("valid"))
        .join(portfolios.select("portfolio_id"), on="portfolio_id", how="semi")
        .select("portfolio_id", "value").unique()
    )
    parts = []
    for cz_list in lists:
        hits = _list_hits(values, cz_list)
        if hits.height == 0:
            continue
        rows = cz_list.titles.select(
            pl.col("row").cast(pl.String).alias("cz_row"), pl.col("title").alias("cz_title"),
            "date_first", "date_last", "embargo", pl.col("coverage_statement").alias("cz_statement"),
            target_hosts(cz_list.titles.get_column("title_url")).alias("cz_host"),
        )
        pairs = hits.join(rows, on="cz_row").join(
            portfolios.select("portfolio_id", "coverage_statement", "host"), on="portfolio_id"
        )
        platform = pl.Series("platform", [same_platform(a, b) for a, b in pairs.select("host", "cz_host").iter_rows()],
                             dtype=pl.Boolean)
        other = int(platform.not_().sum())  # nulls (a side with no URL) are not "another platform"
        if other:
            log.info("%s: %d identifier matches on another platform are not link candidates", cz_list.name, other)
        pairs = pairs.with_columns(platform).filter(pl.col("platform").is_null() | pl.col("platform"))
        if pairs.height == 0:
            continue
        judged = pl.DataFrame(
            [
                _verdict((first, last, embargo, statement), p2e)
                for first, last, embargo, statement, p2e in pairs.select(
                    "date_first", "date_last", "embargo", "cz_statement", "coverage_statement"
                ).iter_rows()
            ],
            schema={"verdict": pl.String, "cz_coverage": pl.String, "p2e_coverage": pl.String},
            orient="row",
        )
        ranked = (
            pl.concat([pairs, judged], how="horizontal")
            .with_columns(pl.col("verdict").is_in(DELETABLE_VERDICTS).alias("links"),
                          pl.col("cz_row").cast(pl.Int64).alias("_row"), pl.col("platform").fill_null(False))
            .sort(["portfolio_id", "platform", "links", "_row"], descending=[False, True, True, False])
        )
        best = ranked.group_by("portfolio_id", maintain_order=True).agg(
            pl.col("cz_row", "cz_title", "shared", "verdict", "cz_coverage", "p2e_coverage", "cz_host", "links",
                   "platform").first(),
            (pl.len() - 1).alias("other_rows"),
        )
        parts.append(best.with_columns(pl.lit(cz_list.name).alias("cz_list")))
    if not parts:
        return empty_candidates(), empty_groups()
    matched = pl.concat(parts).join(
        portfolios.select("portfolio_id", "mms_id", "title", "group", "host", "p2e_status"), on="portfolio_id"
    )
    evidence = pl.concat_str(
        [
            pl.lit("shared: ") + pl.col("shared"),
            pl.lit("CZ title: ") + pl.col("cz_title").fill_null("-") + " (row " + pl.col("cz_row") + ")",
            pl.lit("CZ coverage: ") + pl.col("cz_coverage"),
            pl.lit("P2E coverage: ") + pl.col("p2e_coverage"),
            pl.col("verdict"),
            pl.lit("P2E host: ") + pl.col("host").fill_null("-") + pl.lit(", list host: ")
            + pl.col("cz_host").fill_null("-"),
            pl.when(pl.col("other_rows") > 0).then(pl.lit("other list rows: ") + pl.col("other_rows").cast(pl.String)),
            pl.lit("P2E portfolio: ") + pl.col("p2e_status"),
        ],
        separator=" | ", ignore_nulls=True,
    )
    candidates = matched.with_columns(
        pl.when(~pl.col("platform")).then(pl.lit(MATCH_NO_PLATFORM) + pl.col("verdict"))
        .when(pl.col("links")).then(pl.lit(MATCH_LINK))
        .otherwise(pl.lit(MATCH_CHECK) + pl.col("verdict")).alias("match"),
        evidence.alias("evidence"),
    ).select(*CZ_LINK_COLUMNS, *CZ_LINK_DETAIL).sort("group", "cz_list", "portfolio_id", nulls_last=True)
    groups = group_shares(portfolios, candidates)
    log.info("CZ link: %d candidates (portfolio x list) from %d lists; %d groups to link as a whole",
             candidates.height, len(lists), groups.filter(pl.col("proposal") == LINK_COLLECTION).height)
    return candidates, groups


def group_shares(portfolios: pl.DataFrame, candidates: pl.DataFrame) -> pl.DataFrame:
    """Per (local group, list): the group's kept portfolios, how many the list matches, share, proposal.

    Only kept portfolios (no CZ duplicate) count: they are the local collection of the group;
    portfolios still in review are candidates one by one. Only matches on the list's platform
    count: a title the list holds on another platform, or whose platform is unknown, is not linked
    with the collection.
    """
    kept = portfolios.filter(pl.col("p2e_status") == KEPT)
    sizes = kept.group_by("group").agg(pl.col("portfolio_id").n_unique().alias("portfolios"))
    matched = (
        candidates.filter(~pl.col("match").str.starts_with(MATCH_NO_PLATFORM))
        .join(kept.select("portfolio_id"), on="portfolio_id", how="semi")
        .group_by("group", "cz_list").agg(pl.col("portfolio_id").n_unique().alias("matched"))
    )
    return (
        matched.join(sizes, on="group")
        .with_columns((pl.col("matched") / pl.col("portfolios")).round(4).alias("share"))
        .with_columns(
            pl.when(pl.col("share") >= COLLECTION_SHARE).then(pl.lit(LINK_COLLECTION))
            .otherwise(pl.lit(LINK_PORTFOLIOS)).alias("proposal"),
            pl.col("portfolios").cast(pl.Int64), pl.col("matched").cast(pl.Int64),
        )
        .select(CZ_GROUP_COLUMNS)
        .sort(["group", "share"], descending=[False, True])
    )
