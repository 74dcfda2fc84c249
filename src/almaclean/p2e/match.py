"""Duplicates of P2E portfolios among CZ-linked portfolios.

Evidence is a shared normalised identifier that proves the same resource (model.identifiers):
an ISBN shared by two books, an ISSN shared by two serials, any value against any value (print,
online, ISBN-10 against ISBN-13), taken from the portfolio's bib and from its P2E line. An ISSN
on a book is its series' ISSN, and a book and a serial are never one resource: such a shared
value is no evidence at all.

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
3. Hits only on local portfolios inside an electronic collection (not linked to the CZ): review
   LOCAL_KEEPER; Alma holds the title twice, but the guide keeps CZ-linked portfolios only.
4. Its only hits are junk values (a value carried by more than ``junk_threshold`` distinct
   titles among all portfolios): review "junk identifier".
5. Identifiers present but none valid: review "invalid identifier" with the raw values.
6. No identifier evidence but a similar keeper title (see ``titles``): review "title match only".
7. Otherwise: no duplicate (the portfolio goes to a local-collection group).

Rules a (P2E portfolio, keeper) pair must pass to be a deletion, each with its reason:

- Evidence: every rule's columns were in the inputs (EVIDENCE_RULES). A rule that could not
  be checked is no pass: review "not checked: ...", naming the missing columns. A rule is only
  asked for where it can change the decision (the publication year: see the next rule).
- Same edition: an ISBN shared by both is the same edition (one ISBN per format of an edition),
  whatever the bibs' dates say. When the P2E also carries an ISBN the keeper does not (its print
  ISBN, or another edition's), the publication years tell: more than one year apart is another
  edition (EDITION_YEARS); a year missing on one side does not block.
- Same title: print and online ISSNs (or ISBNs) of one resource are one resource, so an
  identifier of the P2E the keeper lacks is no evidence of another work. Another title is: a
  shared identifier between titles with next to nothing in common (titles.with_titles_differ: at
  most half the words of the shorter title in the other; a wrong identifier in one record, a
  series ISSN on a book whose material type the export does not say) is review (DIFFERENT_TITLE).
- Coverage (normalize.coverage.contains): the keeper's coverage contains the P2E's, or
  neither states coverage. Otherwise:
  - a statement that cannot be read, on either side: not checked (coverage), never "neither";
  - the keeper's coverage ends ("until 2026") and the P2E's is open-ended ("Available from
    2001."): the open end goes on past any end year (OPEN_END);
  - the keeper starts later, ends earlier, has a gap where the P2E has years, or hides recent
    years by an embargo (PARTIAL);
  - only one side states coverage (ONE_SIDED).
"""
from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

import polars as pl

from almaclean.kinds.aliases import ALIASES
from almaclean.model.identifiers import OWN_IDENTIFIER, SERIAL, material_kind, proves_identity
from almaclean.normalize.coverage import Coverage, contains, ends_before_open_end, parse_statement
from almaclean.normalize.identifiers import identifier_table
from almaclean.p2e.titles import with_title_key, with_titles_differ, year_of

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
LOCAL_KEEPER = ("duplicates a local portfolio in an electronic collection (not linked to the CZ): keep one by hand; "
                "the guide keeps CZ-linked portfolios")
JUNK = "junk identifier"
INVALID = "invalid identifier"
TITLE_ONLY = "title match only"
EDITION_YEARS = ("different edition? the P2E carries an ISBN the keeper does not, and the publication years are "
                 "more than one apart")
DIFFERENT_TITLE = "different title? the identifier is shared, the titles have next to nothing in common"
NOT_CHECKED = "not checked"


@dataclass(frozen=True)
class EvidenceRule:
    """A rule of the P2E clean-up and the columns it reads: any one of `needs` is enough."""
    name: str
    needs: tuple[tuple[str, str], ...]  # (kind, canonical column)
    why: str
    # Applies only to pairs where the P2E carries an ISBN the keeper does not share.
    unshared_isbn_only: bool = False


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
                 "an ISBN of the P2E that the keeper does not share may be another edition's: publication years "
                 "more than one apart say so", unshared_isbn_only=True),
    EvidenceRule(PO_LINES_RULE, (("portfolios", "po_line"), ("portfolios", "additional_po_lines"),
                                 ("p2e", "po_number"), ("po-lines", "po_line")),
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
    pairs: pl.DataFrame     # portfolio_id, keep_portfolio_id, shared_values, shared + keep_* attributes,
                            # keeper, keep_local
    cz_ids: pl.DataFrame    # keep_portfolio_id, keep_mms_id, id_type, value: the valid non-junk values of
                            # their own kind (ISBN of a book, ISSN of a serial) of the portfolios reached
    p2e_kinds: pl.DataFrame  # portfolio_id, p2e_kind (model.identifiers: book or serial)


def collection_label() -> pl.Expr:
    """The keeper's group: collection name, else interface name, else collection id."""
    return pl.coalesce("collection_name", "interface_name", "collection_id", pl.lit("no collection"))


def junk_values(all_ids: pl.DataFrame, flagged: pl.DataFrame, threshold: int) -> pl.DataFrame:
    """Values carried by more than `threshold` distinct titles (title key, else MMS id).

    all_ids: portfolio_id and value of every portfolio's valid identifiers.
    """
    carriers = all_ids.lazy().select("portfolio_id", "value")
    # A value on at most `threshold` rows is on at most that many titles: only the values on more
    # rows are counted by title (a few, against every identifier of the export).
    crowded = carriers.group_by("value").agg(pl.len().alias("rows")).filter(pl.col("rows") > threshold)
    carriers = carriers.join(crowded.select("value"), on="value", how="semi").collect()
    titles = with_title_key(
        flagged.select("portfolio_id", "mms_id", "title")
        .join(carriers.select("portfolio_id").unique(), on="portfolio_id", how="semi")
    ).select(
        # Each title key as a number (the same key, the same number): the join below repeats
        # it once per identifier, and a number is far smaller than the text.
        "portfolio_id", pl.coalesce("tkey", pl.lit("mms:") + pl.col("mms_id")).rank("dense").alias("tkey"),
    )
    return (
        carriers.lazy()
        .join(titles.lazy(), on="portfolio_id")
        .group_by("value")
        .agg(pl.col("tkey").n_unique().alias("n_titles"))
        .filter(pl.col("n_titles") > threshold)
        .collect()
    )


def candidate_keepers(flagged: pl.LazyFrame) -> pl.LazyFrame:
    """Portfolios a P2E portfolio may duplicate: CZ-linked ones (keepers when available and in a
    collection), and local ones inside an electronic collection (review only), with their kind."""
    local_in_collection = ~pl.col("cz_linked") & pl.col("in_collection") & ~pl.col("standalone")
    return flagged.filter(pl.col("cz_linked") | local_in_collection).select(
        pl.col("portfolio_id").alias("keep_portfolio_id"), pl.col("mms_id").alias("keep_mms_id"),
        collection_label().alias("keep_collection"), pl.col("coverage_statement").alias("keep_coverage"),
        pl.col("url").alias("keep_url"), year_of("publication_date").alias("keep_year"),
        pl.col("title").alias("keep_title"), "keeper", (~pl.col("cz_linked")).alias("keep_local"),
        material_kind(pl.col("material_type"), pl.col("isbn").is_not_null()).alias("keep_kind"),
    )


def identifier_evidence(
    flagged: pl.DataFrame, p2e: pl.DataFrame, *, junk_threshold: int = DEFAULT_JUNK_THRESHOLD,
) -> Evidence:
    """Identifier tables, junk values and (P2E, candidate keeper) pairs sharing a value that
    proves one resource (model.identifiers)."""
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
    # Whether a value is junk depends on the value alone: counted once, for the P2E's values and the
    # keepers' alike (only values on more rows than the threshold are counted by title).
    junk = junk_values(all_ids, flagged, junk_threshold)
    p2e_kinds = p2e.select(
        "portfolio_id",
        material_kind(pl.col("material_type"), pl.col("isbn").is_not_null() | pl.col("p2e_isbn").is_not_null())
        .alias("p2e_kind"))
    # Lazily throughout: the CZ-linked portfolios are most of the export, and only those that
    # share a value with a P2E portfolio are ever materialised.
    candidates = candidate_keepers(flagged.lazy())
    p2e_values = valid_p2e_values(p2e_ids, junk).collect()
    # The candidates' values equal to a P2E value (a P2E value is never junk): the identifier
    # table is narrowed to those first, then to the candidate portfolios.
    shared = (
        all_ids.lazy()
        .join(p2e_values.lazy().select("id_type", "value").unique(), on=["id_type", "value"], how="semi")
        .select(pl.col("portfolio_id").alias("keep_portfolio_id"), "id_type", "value")
        .join(candidates.select("keep_portfolio_id"), on="keep_portfolio_id", how="semi")
        .unique()
        .collect()
    )
    kinds = candidates.select("keep_portfolio_id", "keep_kind").join(
        shared.lazy().select("keep_portfolio_id").unique(), on="keep_portfolio_id", how="semi").collect()
    hits = (
        p2e_values.join(shared, on=["id_type", "value"])
        .join(p2e_kinds, on="portfolio_id")
        .join(kinds, on="keep_portfolio_id")
        .filter(proves_identity(pl.col("id_type"), pl.col("p2e_kind"), pl.col("keep_kind")))
        .select("portfolio_id", "keep_portfolio_id", "id_type", "value")
    )
    reached_ids = hits.select(pl.col("keep_portfolio_id").alias("portfolio_id")).unique()
    # The keepers reached, their attributes worked out once (a few of the export's portfolios).
    reached = candidate_keepers(flagged.lazy().join(reached_ids.lazy(), on="portfolio_id", how="semi")).collect()
    own = pl.col("id_type") == pl.col("keep_kind").replace_strict(OWN_IDENTIFIER, return_dtype=pl.String)
    # Every own-kind value of a keeper reached, shared with the P2E or not: they tie keeper bibs
    # together, and say which identifiers the keeper carries that the P2E does not. Junk ties
    # nothing, whether the P2E carries it or not.
    cz_ids = (
        all_ids.lazy()
        .join(reached_ids.lazy(), on="portfolio_id", how="semi")
        .join(junk.lazy(), on="value", how="anti")
        .select(pl.col("portfolio_id").alias("keep_portfolio_id"), "id_type", "value")
        .unique()
        .join(reached.lazy().select("keep_portfolio_id", "keep_mms_id", "keep_kind"), on="keep_portfolio_id")
        .filter(own)
        .select("keep_portfolio_id", "keep_mms_id", "id_type", "value")
        .collect()
    )
    del all_ids  # the identifiers of every portfolio: not needed below, and the biggest table here
    pairs = (
        hits.sort("portfolio_id", "keep_portfolio_id", "id_type", "value")
        .group_by("portfolio_id", "keep_portfolio_id", maintain_order=True)
        .agg((pl.col("id_type").str.to_uppercase() + " " + pl.col("value")).alias("shared_values"))
        .with_columns(pl.col("shared_values").list.join("; ").alias("shared"))
        .join(reached, on="keep_portfolio_id", maintain_order="left")
    )
    log.info(
        "identifier evidence: %d P2E identifier tokens, %d junk values in the export (> %d titles), "
        "%d (P2E, candidate keeper) pairs sharing a value that proves one resource",
        p2e_ids.height, junk.height, junk_threshold, pairs.height,
    )
    return Evidence(p2e_ids=p2e_ids, junk=junk, pairs=pairs, cz_ids=cz_ids, p2e_kinds=p2e_kinds)


@lru_cache(maxsize=200_000)
def _parsed(statement: str | None):
    return parse_statement(statement)


def verdict_of(keeper: Coverage, p2e: Coverage, keeper_text: str | None = None, p2e_text: str | None = None,
               *, keeper_name: str = "keeper's") -> str:
    """Whether the keeper's coverage covers the P2E portfolio's, as a short verdict; text that
    cannot be read on either side is "not checked", never "neither states"."""
    if not keeper.readable or not p2e.readable:
        unread = [f"the {name} coverage statement {text!r}" for name, coverage, text in
                  ((keeper_name, keeper, keeper_text), ("P2E", p2e, p2e_text)) if not coverage.readable]
        return f"{NOT_CHECKED} ({COVERAGE_RULE}): almaclean cannot read {' nor '.join(unread)}"
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


def coverage_verdict(keeper_statement: str | None, p2e_statement: str | None) -> str:
    """verdict_of the two coverage statements."""
    return verdict_of(_parsed(keeper_statement), _parsed(p2e_statement), keeper_statement, p2e_statement)


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


def _joined(values: pl.Expr) -> pl.Expr:
    return pl.when(values.list.len() > 0).then(values.list.join("; "))


def pair_reasons(pairs: pl.DataFrame, unshared: pl.DataFrame, unchecked: Mapping[str, str] | None = None
                 ) -> pl.DataFrame:
    """Keeper pairs plus "pair_reason": why this keeper cannot be the basis of a deletion
    (the first failing rule of the module docstring), null when it can; and "unshared": the
    P2E's own-kind identifiers the keeper does not carry.

    pairs: portfolio_id, keep_portfolio_id, shared_values, shared, verdict, keep_year, p2e_year,
    p2e_kind, title, keep_title.
    unshared: portfolio_id, keep_portfolio_id, p2e_only (unshared_values: sorted list, pairs with any).
    unchecked: rule name -> "not checked" reason, for rules whose columns were absent.
    """
    unchecked = {rule: text for rule, text in (unchecked or {}).items() if rule != PO_LINES_RULE}
    year_rules = {r.name for r in EVIDENCE_RULES if r.unshared_isbn_only}
    every_pair = "; ".join(text for rule, text in unchecked.items() if rule not in year_rules)
    year_unchecked = "; ".join(text for rule, text in unchecked.items() if rule in year_rules)
    frame = (
        pairs.join(unshared, on=["portfolio_id", "keep_portfolio_id"], how="left", maintain_order="left")
        .with_columns(pl.col("p2e_only").fill_null([]))
    )
    frame = with_titles_differ(frame, "title", "keep_title")
    unshared_isbn = (pl.col("p2e_kind") != SERIAL) & (pl.col("p2e_only").list.len() > 0)
    years_apart = (pl.col("p2e_year") - pl.col("keep_year")).abs() > 1
    reason = (
        pl.when(pl.lit(every_pair != "")).then(pl.lit(every_pair))
        .when(unshared_isbn & pl.lit(year_unchecked != "")).then(pl.lit(year_unchecked))
        .when(unshared_isbn & years_apart.fill_null(False))
        .then(pl.format(EDITION_YEARS + ": {} shared, the P2E also has {}; P2E bib published {}, keeper bib {}",
                        "shared", pl.col("p2e_only").list.join("; "), "p2e_year", "keep_year"))
        .when(pl.col("differ"))
        .then(pl.format(DIFFERENT_TITLE + ": {} shared; titles {} and {}", "shared", "title", "keep_title"))
        .when(~pl.col("verdict").is_in(DELETABLE_VERDICTS)).then(pl.col("verdict"))
    )
    return frame.with_columns(reason.alias("pair_reason"), _joined(pl.col("p2e_only")).alias("unshared")).with_columns(
        pl.col("pair_reason").is_null().alias("deletable")
    )


def valid_p2e_values(p2e_ids: pl.DataFrame, junk: pl.DataFrame) -> pl.LazyFrame:
    """portfolio_id, id_type, value: each P2E portfolio's distinct valid values that are not junk."""
    return (
        p2e_ids.lazy().filter(pl.col("valid"))
        .join(junk.lazy(), on="value", how="anti")
        .select("portfolio_id", "id_type", "value")
        .unique()
    )


def _labelled() -> pl.Expr:
    return pl.col("id_type").str.to_uppercase() + " " + pl.col("value")


def unshared_values(ev: Evidence) -> pl.DataFrame:
    """portfolio_id, keep_portfolio_id, p2e_only: for each (P2E, candidate keeper) pair with any,
    the P2E's own-kind identifiers ("ISBN 978...") that the keeper does not carry, sorted.

    Built again from the evidence rather than kept in it: held from identifier_evidence through
    the title tier, four 1M runs peaked at 1,460-1,532 MB against 1,455-1,493 MB (target 1,536)."""
    own = pl.col("id_type") == pl.col("p2e_kind").replace_strict(OWN_IDENTIFIER, return_dtype=pl.String)
    p2e_own = (
        valid_p2e_values(ev.p2e_ids, ev.junk)
        .join(ev.p2e_kinds.lazy(), on="portfolio_id")
        .filter(own)
        .select("portfolio_id", _labelled().alias("v"))
    )
    keeper_own = ev.cz_ids.lazy().select("keep_portfolio_id", _labelled().alias("v"))
    return (
        ev.pairs.lazy().select("portfolio_id", "keep_portfolio_id").unique()
        .join(p2e_own, on="portfolio_id")
        .join(keeper_own, on=["keep_portfolio_id", "v"], how="anti")
        .group_by("portfolio_id", "keep_portfolio_id")
        .agg(pl.col("v").unique().sort().alias("p2e_only"))
        .collect()
    )


KEEPER_DETAIL = ("keep_title", "keep_coverage", "keep_url")
DECISION_COLUMNS = (
    "portfolio_id", "decision", "reason", "keep_portfolio_id", "keep_mms_id", "keep_collection", "shared", "unshared",
    "verdict", *KEEPER_DETAIL, "other_keepers", "candidate_keepers",
)


def decide(p2e: pl.DataFrame, ev: Evidence, title_hits: pl.DataFrame, *,
           unchecked: Mapping[str, str] | None = None) -> pl.DataFrame:
    """One row per P2E portfolio: decision (delete / review / no duplicate) and its evidence.

    Columns: DECISION_COLUMNS. keep_title, keep_coverage and keep_url are the chosen keeper's, else
    (review) the first candidate's that is not available or local (title candidates: none here).
    title_hits: id, candidate_ids (list) for P2E portfolios with no identifier hit.
    unchecked: rule name -> "not checked" reason (see pair_reasons).
    """
    base = p2e.select("portfolio_id", "coverage_statement", year_of("publication_date").alias("p2e_year"),
                      pl.coalesce("title", "p2e_title").alias("title"))
    pairs = ev.pairs.join(base, on="portfolio_id").join(ev.p2e_kinds, on="portfolio_id")
    keeper_pairs = pair_reasons(with_coverage_verdicts(pairs.filter(pl.col("keeper"))), unshared_values(ev),
                                unchecked)
    keeper_ids = ev.cz_ids.join(
        keeper_pairs.select("keep_portfolio_id").unique(), on="keep_portfolio_id", how="semi"
    ).select("keep_mms_id", "value")
    disagree = disagreeing(keeper_pairs, keeper_ids)
    del keeper_ids

    ranked = keeper_pairs.sort(["portfolio_id", "deletable", "keep_portfolio_id"], descending=[False, True, False])
    chosen = (
        ranked.group_by("portfolio_id", maintain_order=True)
        .agg(
            pl.col("keep_portfolio_id", "keep_mms_id", "keep_collection", "shared", "unshared", "verdict",
                   *KEEPER_DETAIL, "deletable", "pair_reason").first(),
            pl.col("keep_portfolio_id").slice(1).alias("others"),
            pl.col("keep_portfolio_id").alias("all_keepers"),
        )
        .with_columns(pl.col("others").list.join("; ").alias("other_keepers"))
        .drop("others")
    )
    del ranked, keeper_pairs  # each frame here is let go of once used: the pairs of a big export are large
    not_kept = (
        pairs.filter(~pl.col("keeper"))
        .sort("portfolio_id", "keep_local", "keep_portfolio_id")
        .group_by("portfolio_id", maintain_order=True)
        .agg(
            pl.col("keep_portfolio_id").filter(~pl.col("keep_local")).alias("unavailable_keepers"),
            pl.col("keep_portfolio_id").filter(pl.col("keep_local")).alias("local_keepers"),
            *[pl.col(c).first().alias(f"other_{c}") for c in KEEPER_DETAIL],
        )
        .with_columns(pl.when(pl.col(c).list.len() > 0).then(pl.col(c)).alias(c)
                      for c in ("unavailable_keepers", "local_keepers"))
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
        .join(not_kept, on="portfolio_id", how="left")
        .join(junk_only, on="portfolio_id", how="left")
        .join(token_summary, on="portfolio_id", how="left")
        .join(titles, on="portfolio_id", how="left")
        .with_columns(pl.col("disagree").fill_null(False))
    )
    del chosen, disagree, not_kept, junk_only, token_summary, titles
    has_keeper = pl.col("keep_portfolio_id").is_not_null()
    unavailable, local = pl.col("unavailable_keepers").is_not_null(), pl.col("local_keepers").is_not_null()
    no_hit = ~has_keeper & ~unavailable & ~local
    decision = (
        pl.when(has_keeper & ~pl.col("disagree") & pl.col("deletable")).then(pl.lit(DELETE))
        .when(has_keeper | unavailable | local).then(pl.lit(REVIEW))
        .when(pl.col("junk_values").is_not_null()).then(pl.lit(REVIEW))
        .when(pl.col("any_valid").not_() & pl.col("invalid_raw").is_not_null()).then(pl.lit(REVIEW))
        .when(pl.col("title_candidates").is_not_null()).then(pl.lit(REVIEW))
        .otherwise(pl.lit(NO_DUPLICATE))
    )
    reason = (
        pl.when(has_keeper & pl.col("disagree")).then(pl.lit(DISAGREE))
        .when(has_keeper & pl.col("deletable")).then(pl.col("verdict"))
        .when(has_keeper).then(pl.col("pair_reason"))
        .when(unavailable).then(pl.lit(NOT_AVAILABLE))
        .when(local).then(pl.lit(LOCAL_KEEPER))
        .when(no_hit & pl.col("junk_values").is_not_null()).then(_reason_with_values(JUNK, "junk_values"))
        .when(no_hit & pl.col("any_valid").not_() & pl.col("invalid_raw").is_not_null())
        .then(_reason_with_values(INVALID, "invalid_raw"))
        .when(pl.col("title_candidates").is_not_null()).then(pl.lit(TITLE_ONLY))
    )
    candidates = (
        pl.when(has_keeper).then(pl.col("all_keepers"))
        .when(unavailable).then(pl.col("unavailable_keepers"))
        .when(local).then(pl.col("local_keepers"))
        .otherwise(pl.col("title_candidates"))
    )
    result = frame.with_columns(
        decision.alias("decision"),
        reason.alias("reason"),
        candidates.list.join("; ").alias("candidate_keepers"),
        *[pl.when(has_keeper).then(pl.col(c)).otherwise(pl.col(f"other_{c}")).alias(c) for c in KEEPER_DETAIL],
    ).select(DECISION_COLUMNS)
    counts = dict(result.group_by("decision").len().iter_rows())
    log.info("P2E decisions: %s", counts)
    return result
