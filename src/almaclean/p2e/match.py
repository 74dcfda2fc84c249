"""Duplicates of P2E portfolios among CZ-linked portfolios.

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
   - The keeper is chosen deterministically: one that passes every rule below first, then
     the smallest portfolio id; the evidence lists the others.
   - Deletion candidate only when the chosen keeper passes every rule below; otherwise
     review with the first failing rule's reason.
2. Hits only on CZ-linked portfolios that are not available (or in no collection): review
   "keeper not available".
3. Its only hits are junk values (a value carried by more than ``junk_threshold`` distinct
   titles among all portfolios): review "junk identifier".
4. Identifiers present but none valid: review "invalid identifier" with the raw values.
5. No identifier evidence but a similar keeper title (see ``titles``): review "title match only".
6. Otherwise: no duplicate (the portfolio goes to a local-collection group).

Rules a (P2E portfolio, keeper) pair must pass to be a deletion, each with its reason:

- Evidence: every rule's columns were in the inputs (EVIDENCE_RULES). A rule that could not
  be checked is no pass: review "not checked: ...", naming the missing columns.
- Same edition, all identifiers: when the P2E carries several identifiers (e.g. an ISBN cell
  "9784444444446; 9781111111113"), the keeper shares all of them; sharing only some may be
  another edition or another title (SOME_IDENTIFIERS).
- Same edition, same years: a shared ISBN with publication years more than one year apart
  is another edition of the book (EDITION_YEARS). A missing year on one side does not block.
- Coverage (normalize.coverage.contains): the keeper's coverage contains the P2E's, or
  neither states coverage. Otherwise:
  - the keeper's coverage ends ("until 2026") and the P2E's is open-ended ("Available from
    2001."): the open end goes on past any end year (OPEN_END);
  - the keeper starts later, ends earlier or hides recent years by an embargo (PARTIAL);
  - the keeper's statement has a gap between ranges (NOT_COMPARABLE);
  - only one side states coverage (ONE_SIDED).
"""
from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

import polars as pl

from almaclean.kinds.aliases import ALIASES
from almaclean.normalize.coverage import contains, ends_before_open_end, parse_statement
from almaclean.normalize.identifiers import identifier_table
from almaclean.p2e.titles import with_title_key, year_of

log = logging.getLogger(__name__)

DEFAULT_JUNK_THRESHOLD = 5

DELETE = "delete"
REVIEW = "review"
NO_DUPLICATE = "no duplicate"

CONTAINED = "keeper coverage contains the P2E coverage"
NEITHER_STATED = "neither states coverage"
PARTIAL = "partial or disjoint coverage"
OPEN_END = "partial coverage: the keeper's coverage ends, the P2E coverage is open-ended"
NOT_COMPARABLE = "coverage cannot be compared"
ONE_SIDED = "coverage stated on one side only"
DELETABLE_VERDICTS = (CONTAINED, NEITHER_STATED)

DISAGREE = "several keepers that disagree"
NOT_AVAILABLE = "keeper not available"
JUNK = "junk identifier"
INVALID = "invalid identifier"
TITLE_ONLY = "title match only"
SOME_IDENTIFIERS = "different edition or title? the keeper shares only some of the P2E identifiers"
EDITION_YEARS = "different edition? shared ISBN, publication years more than one apart"
NOT_CHECKED = "not checked"


@dataclass(frozen=True)
class EvidenceRule:
    """A rule of the P2E clean-up and the columns it reads: any one of `needs` is enough."""
    name: str
    needs: tuple[tuple[str, str], ...]  # (kind, canonical column)
    why: str
    isbn_only: bool = False             # applies only to pairs sharing an ISBN


COVERAGE_RULE = "coverage"
PO_LINES_RULE = "PO lines"
YEAR_RULE = "publication year"
EVIDENCE_RULES = (
    EvidenceRule(COVERAGE_RULE, (("portfolios", "coverage_statement"),),
                 "the keeper must cover every year the P2E portfolio covers"),
    EvidenceRule("availability", (("portfolios", "availability"),), "the keeper must be available"),
    EvidenceRule("collection", (("portfolios", "collection_id"), ("portfolios", "collection_name"),
                                ("portfolios", "interface_name")),
                 "the keeper must be in an electronic collection"),
    EvidenceRule("CZ link", (("portfolios", "portfolio_linked_to_cz"),),
                 "the keeper must be linked to the Community Zone, the P2E portfolio must not"),
    EvidenceRule(YEAR_RULE, (("portfolios", "publication_date"),),
                 "a shared ISBN with publication years more than one apart is another edition", isbn_only=True),
    EvidenceRule(PO_LINES_RULE, (("portfolios", "po_line"), ("p2e", "po_number"), ("po-lines", "po_line")),
                 "a portfolio with a PO line must have the PO line relinked, never be deleted by a set"),
)
KIND_NAMES = {"portfolios": "the portfolio export", "p2e": "the P2E file", "po-lines": "the PO line export"}


def not_checked_rules(present: Mapping[str, frozenset[str]]) -> dict[str, list[str]]:
    """Rule name -> the columns it needs, as "kind.column", for every rule none of whose
    columns is present (present: kind -> canonical columns found in that input)."""
    missing: dict[str, list[str]] = {}
    for rule in EVIDENCE_RULES:
        if not any(column in present.get(kind, frozenset()) for kind, column in rule.needs):
            missing[rule.name] = [f"{kind}.{column}" for kind, column in rule.needs]
    return missing


def missing_in_words(columns: list[str], present_kinds: frozenset[str] | None = None) -> str:
    """ "the portfolio export has no 'Coverage Statement' column" for each missing column."""
    parts = []
    for item in columns:
        kind, column = item.split(".", 1)
        if present_kinds is not None and kind not in present_kinds:
            parts.append(f"no {KIND_NAMES[kind].removeprefix('the ')} was given")
        else:
            parts.append(f"{KIND_NAMES[kind]} has no {ALIASES[kind][column][0]!r} column")
    return ", ".join(dict.fromkeys(parts))


def not_checked_reason(rule: str, columns: list[str], present_kinds: frozenset[str] | None = None) -> str:
    return f"{NOT_CHECKED} ({rule}): {missing_in_words(columns, present_kinds)}"


@dataclass(frozen=True)
class Evidence:
    p2e_ids: pl.DataFrame   # portfolio_id, source_column, raw, id_type, value, valid (bib + P2E line)
    junk: pl.DataFrame      # value, n_titles
    pairs: pl.DataFrame     # portfolio_id, keep_portfolio_id, shared, + keep_* attributes, keeper
    cz_ids: pl.DataFrame    # keep_portfolio_id, keep_mms_id, id_type, value: the valid non-junk values
                            # of the CZ-linked portfolios that share one with a P2E portfolio


def collection_label() -> pl.Expr:
    """The keeper's group: collection name, else interface name, else collection id."""
    return pl.coalesce("collection_name", "interface_name", "collection_id", pl.lit("no collection"))


def junk_values(all_ids: pl.DataFrame, flagged: pl.DataFrame, threshold: int,
                values: pl.DataFrame | None = None) -> pl.DataFrame:
    """Values carried by more than `threshold` distinct titles (title key, else MMS id).

    all_ids: portfolio_id and value of every portfolio's valid identifiers.
    values: only these values are counted (the ones that matter), when given.
    """
    # Lazily, and read twice rather than held: no copy of the identifier table on the way.
    carriers = all_ids.lazy().select("portfolio_id", "value")
    if values is not None:
        carriers = carriers.join(values.lazy().select("value").unique(), on="value", how="semi")
    titles = with_title_key(
        flagged.select("portfolio_id", "mms_id", "title")
        .join(carriers.select("portfolio_id").unique().collect(), on="portfolio_id", how="semi")
    ).select(
        # Each title key as a number (the same key, the same number): the join below repeats
        # it once per identifier, and a number is far smaller than the text.
        "portfolio_id", pl.coalesce("tkey", pl.lit("mms:") + pl.col("mms_id")).rank("dense").alias("tkey"),
    )
    return (
        carriers
        .join(titles.lazy(), on="portfolio_id")
        .group_by("value")
        .agg(pl.col("tkey").n_unique().alias("n_titles"))
        .filter(pl.col("n_titles") > threshold)
        .collect()
    )


def identifier_evidence(
    flagged: pl.DataFrame, p2e: pl.DataFrame, *, junk_threshold: int = DEFAULT_JUNK_THRESHOLD,
) -> Evidence:
    """Identifier tables, junk values and (P2E, CZ-linked portfolio) pairs sharing a value."""
    # The P2E portfolios' tokens are a table of their own; of the other portfolios only the valid
    # values are kept (rows taken from one table of every token would keep all of it alive).
    bib_ids = identifier_table(p2e.select("portfolio_id", "issn", "isbn"), "portfolio_id", ["issn", "isbn"])
    line_ids = identifier_table(
        p2e.select("portfolio_id", "p2e_issn", "p2e_isbn"), "portfolio_id", ["p2e_issn", "p2e_isbn"]
    )
    p2e_ids = pl.concat([bib_ids, line_ids])
    others = flagged.select("portfolio_id", "issn", "isbn").join(p2e.select("portfolio_id"), on="portfolio_id",
                                                                 how="anti", maintain_order="left")
    # Every portfolio's valid values: portfolio_id, id_type, value.
    all_ids = pl.concat([bib_ids.filter(pl.col("valid")).select("portfolio_id", "id_type", "value"),
                         identifier_table(others, "portfolio_id", ["issn", "isbn"], valid_only=True)])
    del others, bib_ids
    junk = junk_values(all_ids, flagged, junk_threshold, values=p2e_ids.filter(pl.col("valid")))
    # Lazily throughout: the CZ-linked portfolios are most of the export, and only those that
    # share a value with a P2E portfolio are ever materialised.
    cz = flagged.lazy().filter(pl.col("cz_linked")).select(
        pl.col("portfolio_id").alias("keep_portfolio_id"), pl.col("mms_id").alias("keep_mms_id"),
        collection_label().alias("keep_collection"), pl.col("coverage_statement").alias("keep_coverage"),
        pl.col("url").alias("keep_url"), year_of("publication_date").alias("keep_year"), "keeper",
    )
    p2e_values = valid_p2e_values(p2e_ids, junk).collect()
    values = (
        all_ids.lazy()
        .join(junk.lazy(), on="value", how="anti")
        .select(pl.col("portfolio_id").alias("keep_portfolio_id"), "id_type", "value")
        .join(cz.select("keep_portfolio_id"), on="keep_portfolio_id", how="semi")
    )
    hits = p2e_values.join(
        values.join(p2e_values.lazy().select("id_type", "value").unique(), on=["id_type", "value"], how="semi")
        .unique().collect(),
        on=["id_type", "value"],
    )
    reached = hits.lazy().select("keep_portfolio_id").unique()
    # Every value of a keeper reached, shared with the P2E or not: they tie keeper bibs together.
    cz_ids = (
        values.join(reached, on="keep_portfolio_id", how="semi")
        .unique()
        .join(cz.select("keep_portfolio_id", "keep_mms_id"), on="keep_portfolio_id")
        .collect()
    )
    del all_ids  # the identifiers of every portfolio: not needed below, and the biggest table here
    pairs = (
        hits.sort("portfolio_id", "keep_portfolio_id", "id_type", "value")
        .group_by("portfolio_id", "keep_portfolio_id", maintain_order=True)
        .agg((pl.col("id_type").str.to_uppercase() + " " + pl.col("value")).alias("shared_values"))
        .with_columns(pl.col("shared_values").list.join("; ").alias("shared"))
        .lazy()
        .join(cz.join(reached, on="keep_portfolio_id", how="semi"), on="keep_portfolio_id", maintain_order="left")
        .collect()
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
    if verdict:
        return CONTAINED
    return OPEN_END if ends_before_open_end(keeper, p2e) else PARTIAL


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


def pair_reasons(pairs: pl.DataFrame, p2e_values: pl.DataFrame,
                 unchecked: Mapping[str, str] | None = None) -> pl.DataFrame:
    """Keeper pairs plus "pair_reason": why this keeper cannot be the basis of a deletion
    (the first failing rule of the module docstring), null when it can.

    pairs: portfolio_id, shared_values, shared, verdict, keep_year, p2e_year.
    p2e_values: portfolio_id, n_values, p2e_values (the P2E's valid non-junk identifiers).
    unchecked: rule name -> "not checked" reason, for rules whose columns were absent.
    """
    unchecked = {rule: text for rule, text in (unchecked or {}).items() if rule != PO_LINES_RULE}
    isbn_rules = {r.name for r in EVIDENCE_RULES if r.isbn_only}
    every_pair = "; ".join(text for rule, text in unchecked.items() if rule not in isbn_rules)
    isbn_pairs = "; ".join(text for rule, text in unchecked.items() if rule in isbn_rules)
    shares_isbn = pl.col("shared_values").list.eval(pl.element().str.starts_with("ISBN ")).list.any()
    years_apart = (pl.col("p2e_year") - pl.col("keep_year")).abs() > 1
    some_only = (pl.col("n_values") >= 2) & (pl.col("shared_values").list.len() < pl.col("n_values"))
    reason = (
        pl.when(pl.lit(every_pair != "")).then(pl.lit(every_pair))
        .when(shares_isbn & pl.lit(isbn_pairs != "")).then(pl.lit(isbn_pairs))
        .when(shares_isbn & years_apart.fill_null(False))
        .then(pl.format(EDITION_YEARS + ": {} shared, P2E bib published {}, keeper bib {}",
                        "shared", "p2e_year", "keep_year"))
        .when(some_only.fill_null(False))
        .then(pl.format(SOME_IDENTIFIERS + ": keeper shares {}; the P2E has {}", "shared", "p2e_values"))
        .when(~pl.col("verdict").is_in(DELETABLE_VERDICTS)).then(pl.col("verdict"))
    )
    return (
        pairs.join(p2e_values, on="portfolio_id", how="left")
        .with_columns(reason.alias("pair_reason"))
        .with_columns(pl.col("pair_reason").is_null().alias("deletable"))
    )


def valid_p2e_values(p2e_ids: pl.DataFrame, junk: pl.DataFrame) -> pl.LazyFrame:
    """portfolio_id, id_type, value: each P2E portfolio's distinct valid values that are not junk."""
    return (
        p2e_ids.lazy().filter(pl.col("valid"))
        .join(junk.lazy(), on="value", how="anti")
        .select("portfolio_id", "id_type", "value")
        .unique()
    )


def p2e_identifier_values(ev: Evidence) -> pl.DataFrame:
    """portfolio_id, n_values, p2e_values: each P2E portfolio's distinct valid non-junk identifiers.

    Built again from the evidence rather than kept in it: held from identifier_evidence through
    the title tier, four 1M runs peaked at 1,460-1,532 MB against 1,455-1,493 MB (target 1,536)."""
    return (
        valid_p2e_values(ev.p2e_ids, ev.junk)
        .select("portfolio_id", (pl.col("id_type").str.to_uppercase() + " " + pl.col("value")).alias("v"))
        # Sorted once, joined as lists: joining the texts group by group took twice as long.
        .sort("portfolio_id", "v")
        .group_by("portfolio_id", maintain_order=True)
        .agg(pl.col("v"))
        .select("portfolio_id", pl.col("v").list.len().alias("n_values"), pl.col("v").list.join("; ").alias("p2e_values"))
        .collect()
    )


def decide(p2e: pl.DataFrame, ev: Evidence, title_hits: pl.DataFrame, *,
           unchecked: Mapping[str, str] | None = None) -> pl.DataFrame:
    """One row per P2E portfolio: decision (delete / review / no duplicate) and its evidence.

    Columns: portfolio_id, decision, reason, keep_portfolio_id, keep_mms_id, keep_collection,
    shared, verdict, keep_coverage, keep_url, other_keepers, candidate_keepers.
    title_hits: id, candidate_ids (list) for P2E portfolios with no identifier hit.
    unchecked: rule name -> "not checked" reason (see pair_reasons).
    """
    base = p2e.select("portfolio_id", "coverage_statement", year_of("publication_date").alias("p2e_year"))
    pairs = ev.pairs.join(base, on="portfolio_id")
    keeper_pairs = pair_reasons(
        with_coverage_verdicts(pairs.filter(pl.col("keeper"))), p2e_identifier_values(ev), unchecked,
    )
    keeper_values = ev.cz_ids.join(
        keeper_pairs.select("keep_portfolio_id").unique(), on="keep_portfolio_id", how="semi"
    ).select("keep_mms_id", "value")
    disagree = disagreeing(keeper_pairs, keeper_values)
    del keeper_values

    ranked = keeper_pairs.sort(["portfolio_id", "deletable", "keep_portfolio_id"], descending=[False, True, False])
    chosen = (
        ranked.group_by("portfolio_id", maintain_order=True)
        .agg(
            pl.col("keep_portfolio_id", "keep_mms_id", "keep_collection", "shared", "verdict",
                   "keep_coverage", "keep_url", "deletable", "pair_reason").first(),
            pl.col("keep_portfolio_id").slice(1).alias("others"),
            pl.col("keep_portfolio_id").alias("all_keepers"),
        )
        .with_columns(pl.col("others").list.join("; ").alias("other_keepers"))
        .drop("others")
    )
    del ranked, keeper_pairs  # each frame here is let go of once used: the pairs of a big export are large
    unavailable = (
        pairs.filter(~pl.col("keeper"))
        .group_by("portfolio_id")
        .agg(pl.col("keep_portfolio_id").unique().sort().alias("unavailable_keepers"))
    )
    del pairs
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
        pl.col("raw").filter(~pl.col("valid")).unique().sort().alias("invalid_raw"),
    ).with_columns(pl.col("invalid_raw").list.join("; "))
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
    del chosen, disagree, unavailable, junk_only, token_summary, titles
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
        .when(has_keeper).then(pl.col("pair_reason"))
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

