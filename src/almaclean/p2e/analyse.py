"""The whole P2E clean-up analysis as one pure function over canonical frames."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

import polars as pl

from almaclean.kinds.aliases import ALIASES
from almaclean.kinds.kbart import CZTitleList
from almaclean.model.portfolio import LOCAL_DATA, PO_LINE_COLUMNS
from almaclean.normalize.urls import strip_proxies
from almaclean.p2e.classify import (
    P2E_COLUMNS, PO_LINE_COLUMNS as PO_LINE_EXPORT_COLUMNS, PORTFOLIO_COLUMNS, classify_p2e, flag_portfolios,
    is_database_record, with_columns,
)
from almaclean.p2e.cz_link import KEPT, LINK_COLLECTION, cz_link_candidates, empty_candidates, empty_groups
from almaclean.p2e.groups import local_groups
from almaclean.p2e.localdata import (
    COPY_FIRST, COPY_FIRST_REASON, COPY_STEPS, LOCAL_DATA_RULE, ExtraCells, judged_lines, local_data,
    no_extra_cells, per_portfolio, unknown_reason,
)
from almaclean.p2e.match import (
    DEFAULT_JUNK_THRESHOLD, DELETE, KEEPER_DETAIL, NO_DUPLICATE, NOT_CHECKED, PO_LINES_RULE, REVIEW, TITLE_ONLY,
    decide, identifier_evidence, not_checked_reason, not_checked_rules,
)
from almaclean.p2e.relink import awaiting_relink, guarded_portfolios, relinks
from almaclean.p2e.titles import title_matches, year_of

log = logging.getLogger(__name__)

DATABASE_REASON = "database/package P2E record"
REPEATED_ID_REASON = "portfolio id on more than one row of the portfolio export: check it in Alma"
INPUT_COLUMNS = {"portfolios": PORTFOLIO_COLUMNS, "p2e": P2E_COLUMNS, "po-lines": PO_LINE_EXPORT_COLUMNS}
DELETION_COLUMNS = ("portfolio_id", "mms_id", "keep_portfolio_id", "keep_mms_id", "keep_collection", "evidence", "group")
REVIEW_COLUMNS = ("portfolio_id", "mms_id", "reason", "candidate_keepers")
# What the Review sheet shows beside REVIEW_COLUMNS: both coverages, both URLs (proxy stripped),
# both titles and the P2E portfolio's own local data.
REVIEW_DETAIL = ("legacy_id", "title", "keep_title", "p2e_coverage", "keep_coverage", "p2e_url", "keep_url",
                 "local_data")
COPY_FIRST_COLUMNS = ("portfolio_id", "mms_id", "title", "keep_portfolio_id", "keep_mms_id", "keep_title",
                      "keep_collection", "what", "value", "steps")
PROXY_COLUMNS = ("portfolio_id", "mms_id", "group", "url", "url_without_proxy")
GROUP_COLUMNS = ("portfolio_id", "group", "host")
# The portfolio columns the analysis reads (the others are dropped at once to save memory).
ANALYSED_COLUMNS = (
    "portfolio_id", "mms_id", "title", "publication_date", "issn", "isbn", "network_number", "collection_id",
    "collection_name", "interface_name", "portfolio_linked_to_cz", "availability", "url", "po_line",
    "coverage_statement", "is_standalone", "material_type",
)
# Each P2E portfolio is in exactly one of these (summary.json "buckets"; overlaps named apart).
BUCKETS = ("deletion_candidates", "copy_first", "pol_relink_portfolios_ready", "pol_relink_portfolios_blocked",
           "review_only", "group_portfolios")


@dataclass(frozen=True)
class P2EResult:
    deletion_candidates: pl.DataFrame  # DELETION_COLUMNS + evidence detail columns
    pol_relinks: pl.DataFrame          # relink.RELINK_COLUMNS + source, decision, reason, steps
    review: pl.DataFrame               # REVIEW_COLUMNS + REVIEW_DETAIL
    groups: pl.DataFrame               # GROUP_COLUMNS + mms_id, provider, domain, po_lines (kept PO lines)
    not_in_p2e: pl.DataFrame           # standalone, not in the P2E file
    unmatched_lines: pl.DataFrame      # P2E lines that match no portfolio
    counts: dict[str, int] = field(default_factory=dict)
    cz_link_candidates: pl.DataFrame = field(default_factory=empty_candidates)  # cz_link.CZ_LINK_COLUMNS + detail
    cz_link_groups: pl.DataFrame = field(default_factory=empty_groups)          # cz_link.CZ_GROUP_COLUMNS
    # Rule -> the columns it needs ("kind.column"), for rules none of whose columns was given.
    not_checked: dict[str, list[str]] = field(default_factory=dict)
    # Rule -> the same in plain words, as review reasons and the summary say it.
    not_checked_text: dict[str, str] = field(default_factory=dict)
    # Headers that look meaningful but no alias recognised: kind, header, mapping-file line.
    not_recognised: list[tuple[str, str, str]] = field(default_factory=list)
    # For the deletion-set writer's own checks, ids that must never be in a deletion set:
    # every CZ-linked portfolio (keepers among them) and every P2E portfolio with a PO line.
    keeper_ids: pl.Series = field(default_factory=lambda: pl.Series("portfolio_id", [], dtype=pl.String))
    po_linked_ids: pl.Series = field(default_factory=lambda: pl.Series("portfolio_id", [], dtype=pl.String))
    # P2E portfolios with local data of their own (never in a deletion set): one row per value.
    copy_first: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(
        schema={c: pl.String for c in COPY_FIRST_COLUMNS}))
    local_data_ids: pl.Series = field(default_factory=lambda: pl.Series("portfolio_id", [], dtype=pl.String))
    # What could not be seen without blocking a deletion (local data columns the export lacks) and
    # how the columns no alias recognised counted, in words.
    caveats: list[tuple[str, str]] = field(default_factory=list)
    # P2E portfolios that stay, whose URL carries a proxy prefix: PROXY_COLUMNS.
    proxy_urls: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema={c: pl.String for c in PROXY_COLUMNS}))

    @property
    def po_lines_checked(self) -> bool:
        return PO_LINES_RULE not in self.not_checked


def _evidence_text() -> pl.Expr:
    def part(label: str, column: str) -> pl.Expr:
        return pl.lit(f"{label}: ") + pl.col(column).fill_null("-")

    return pl.concat_str(
        [
            part("shared", "shared"),
            pl.when(pl.col("unshared").is_not_null()).then(pl.lit("P2E only: ") + pl.col("unshared")),
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


def present_columns(frames: dict[str, pl.DataFrame | None],
                    present: dict[str, frozenset[str]] | None) -> dict[str, frozenset[str]]:
    """Canonical columns given per input kind.

    `present` (KindRead.present of each file read) is the truth and is used as given. A kind
    it does not name falls back to "the column has at least one value": frames from the store
    carry every canonical column, null where the file had none, so a column that exists but is
    empty in every row counts as absent there (the safe side: its rule is not checked).
    """
    result: dict[str, frozenset[str]] = {}
    for kind, frame in frames.items():
        if present is not None and kind in present:
            result[kind] = frozenset(present[kind])
        elif frame is None or frame.height == 0:
            result[kind] = frozenset()
        else:
            counts = frame.select(pl.col(c).is_not_null().any() for c in INPUT_COLUMNS[kind] if c in frame.columns)
            result[kind] = frozenset(c for c in counts.columns if counts.item(0, c))
    return result


def _local_caveat(present: frozenset[str], rederived: dict[str, str]) -> list[tuple[str, str]]:
    missing = [c for c in LOCAL_DATA if c not in present and c not in rederived]
    if not missing:
        return []
    names = ", ".join(repr(_header_of(c)) for c in missing)
    return [(NOT_CHECKED, f"{LOCAL_DATA_RULE}: the portfolio export has no {names} column: almaclean cannot see "
                          "whether the P2E portfolios carry these of their own (Delete Portfolios deletes them with "
                          "the portfolio). Add them to the export to have them checked; a P2E portfolio that "
                          "carries one is then listed to copy to its keeper first, never put in a deletion set")]


def _header_of(column: str) -> str:
    return ALIASES["portfolios"][column][0]


def analyse_p2e(
    portfolios: pl.DataFrame,
    p2e_lines: pl.DataFrame,
    po_lines: pl.DataFrame | None = None,
    *,
    junk_threshold: int = DEFAULT_JUNK_THRESHOLD,
    title_cutoff: float = 90.0,
    cz_titles: list[CZTitleList] | None = None,
    present: dict[str, frozenset[str]] | None = None,
    not_recognised: list[tuple[str, str, str]] | None = None,
    extra: ExtraCells | None = None,
) -> P2EResult:
    """Classify, match, guard and group: every output of the P2E clean-up as frames.

    present: canonical columns each input file had ({"portfolios": read.present, ...}); see
    present_columns for what happens without it. A rule none of whose columns is present is
    "not checked" (match.EVIDENCE_RULES): the portfolios whose deletion depends on it go to
    review. not_recognised: (kind, header, mapping line) from kinds.identify, reported as is.
    extra: the portfolio export's cells no canonical column holds (localdata.ExtraCells), read
    for the P2E portfolios only.
    """
    given = present_columns({"portfolios": portfolios, "p2e": p2e_lines, "po-lines": po_lines}, present)
    flagged = flag_portfolios(with_columns(portfolios, PORTFOLIO_COLUMNS).select(ANALYSED_COLUMNS))
    classes = classify_p2e(flagged, with_columns(p2e_lines, P2E_COLUMNS))
    # The P2E portfolios' own local data, read for them only (a third of a big export at most).
    p2e_ids = classes.p2e.get_column("portfolio_id")
    local_columns = [c for c in (*LOCAL_DATA, *PO_LINE_COLUMNS[1:]) if c in portfolios.columns]
    wide = portfolios.select("portfolio_id", *local_columns).join(classes.p2e.select("portfolio_id"),
                                                                  on="portfolio_id", how="semi")
    local = local_data(p2e_ids, wide, extra or no_extra_cells())
    del wide
    if local.rederived:
        given["portfolios"] = given["portfolios"] | frozenset(local.rederived)
    not_checked = not_checked_rules(given)
    given_kinds = frozenset({"portfolios", "p2e"} | ({"po-lines"} if given["po-lines"] else set()))
    not_checked_text = {rule: not_checked_reason(rule, columns, given_kinds) for rule, columns in not_checked.items()}
    for rule, text in not_checked_text.items():
        log.info("P2E rule %s: %s", rule, text)
    conflicts = classes.conflicts
    settled = classes.p2e.join(conflicts, on="portfolio_id", how="anti") if conflicts.height else classes.p2e
    databases = settled.filter(is_database_record())
    p2e = settled.filter(~is_database_record()) if databases.height else settled
    p2e_portfolios = classes.p2e.height
    # A portfolio's PO-line guard is its own (its rows, its bib): the P2E portfolios' guard is the
    # guard of all of them less the database records' and the conflicting ones'.
    guarded_all = guarded_portfolios(classes.p2e, po_lines, local.po_lines)
    po_linked_ids = guarded_all.get_column("portfolio_id").unique().sort()
    guarded = (guarded_all.join(p2e.select("portfolio_id"), on="portfolio_id", how="semi")
               if databases.height or conflicts.height else guarded_all)
    all_p2e = classes.p2e
    # From here on the P2E portfolios are held once, as p2e and databases.
    repeated_ids, standalone_not_in_p2e, unmatched_lines = (
        classes.repeated_ids, classes.not_in_p2e, classes.unmatched_lines)
    del classes, settled

    evidence = identifier_evidence(flagged, p2e, junk_threshold=junk_threshold)
    with_hit = evidence.pairs.select("portfolio_id").unique()
    queries = p2e.join(with_hit, on="portfolio_id", how="anti").select(
        pl.col("portfolio_id").alias("id"),
        pl.coalesce("title", "p2e_title").alias("title"),
        year_of("publication_date").alias("year"),
    )
    # Lazily, so that only the selected columns are filtered (flagged is a million wide rows).
    keepers = flagged.lazy().filter(pl.col("keeper")).select(
        pl.col("portfolio_id").alias("id"), "title", year_of("publication_date").alias("year")
    ).collect()
    title_hits = title_matches(queries, keepers, cutoff=title_cutoff)
    del queries, keepers
    # The first title candidate's title, coverage and URL, for the Review sheet.
    title_keeper = title_hits.select("id", pl.col("candidate_ids").list.first().alias("cid")).join(
        flagged.lazy().select(pl.col("portfolio_id").alias("cid"), pl.col("title").alias("cand_title"),
                              pl.col("coverage_statement").alias("cand_coverage"), pl.col("url").alias("cand_url"))
        .unique("cid", keep="first", maintain_order=True)  # a repeated id is one candidate
        .collect(), on="cid").drop("cid")
    portfolio_counts = {"portfolios": flagged.height, "keepers": int(flagged.get_column("keeper").sum())}
    keeper_ids = (flagged.lazy().filter(pl.col("cz_linked") | pl.col("keeper")).select("portfolio_id").collect()
                  .get_column("portfolio_id").unique().sort())
    # The portfolio export is not read below: when the caller passed it on without keeping it
    # (services.p2e does), its memory goes back before the decisions and outputs are built.
    del flagged, portfolios
    decisions = decide(p2e, evidence, title_hits, unchecked=not_checked_text)
    decisions = _with_local_data(decisions, local)
    decisions = _with_title_keepers(decisions, title_keeper)
    # The P2E identifiers that are not junk: all the CZ link step needs of the evidence, which is
    # let go of here (the identifier pairs and tables are hundreds of MB in a big export).
    cz_link_ids = (evidence.p2e_ids.join(evidence.junk.select("value"), on="value", how="anti")
                   if cz_titles else None)
    del evidence

    pol = relinks(p2e, decisions, po_lines, local.po_lines)
    # The P2E portfolio's own fields, joined only to the rows each output keeps.
    p2e_fields = p2e.select("portfolio_id", "mms_id", pl.coalesce("title", "p2e_title").alias("title"), "legacy_id",
                            pl.col("coverage_statement").alias("p2e_coverage"),
                            pl.coalesce("url", "p2e_url").alias("p2e_url"))
    deletion = (
        decisions.filter(pl.col("decision") == DELETE)
        .join(guarded, on="portfolio_id", how="anti")
        .join(p2e_fields, on="portfolio_id")
        .with_columns(_evidence_text().alias("evidence"), pl.col("keep_collection").alias("group"))
        .select(*DELETION_COLUMNS, "title", "shared", "unshared", "verdict", "p2e_coverage", "keep_coverage",
                "p2e_url", "keep_url", "keep_title", "other_keepers")
        .sort("group", "portfolio_id")
    )
    copy_first = (
        decisions.filter(pl.col("decision") == COPY_FIRST)
        .join(guarded, on="portfolio_id", how="anti")
        .join(p2e_fields.select("portfolio_id", "mms_id", "title"), on="portfolio_id")
        .join(local.values, on="portfolio_id")
        .with_columns(pl.lit(COPY_STEPS).alias("steps"))
        .select(COPY_FIRST_COLUMNS).sort("portfolio_id", "what", "value")
    )
    review = _review(decisions, p2e_fields, databases, conflicts, all_p2e, repeated_ids)
    groups = local_groups(p2e.join(decisions.filter(pl.col("decision") == NO_DUPLICATE), on="portfolio_id", how="semi"))
    groups = groups.join(guarded, on="portfolio_id", how="left", maintain_order="left")
    not_in_p2e = standalone_not_in_p2e.sort("portfolio_id")
    unmatched = unmatched_lines.select(*P2E_COLUMNS).sort("legacy_id")
    proxy_urls = _proxy_urls(groups, p2e_fields)

    counts = {
        **portfolio_counts,
        "p2e_lines": with_columns(p2e_lines, P2E_COLUMNS).height,
        "p2e_portfolios": p2e_portfolios,
        "standalone_not_in_p2e": not_in_p2e.height,
        "p2e_lines_unmatched": unmatched.height,
        "deletion_candidates": deletion.height,
        "copy_first": copy_first["portfolio_id"].n_unique(),
        "pol_relinks": pol.height,
        "pol_relink_portfolios": awaiting_relink(pol)["portfolio_id"].n_unique(),
        "pol_relinks_in_review": pol.filter(pl.col("decision") == REVIEW).height,
        "pol_relinks_ready": pol.filter(pl.col("blocked_reason").is_null()).height,
        "pol_relinks_blocked": pol.filter(pl.col("blocked_reason").is_not_null()).height,
        **_relink_portfolios(pol),
        "review": review.height,
        "review_only": 0,
        "review_also_pol_relink_blocked": 0,
        "repeated_ids": repeated_ids.height,
        "group_portfolios": groups.height,
        "groups": groups["group"].n_unique(),
        "p2e_proxy_urls": proxy_urls.height,
    }
    blocked_review = pol.filter(pl.col("blocked_reason").is_not_null() & (pl.col("decision") == REVIEW))
    counts["review_also_pol_relink_blocked"] = blocked_review["portfolio_id"].n_unique()
    counts["review_only"] = counts["review"] - counts["review_also_pol_relink_blocked"] - counts["repeated_ids"]
    cz_candidates, cz_groups = _cz_link(p2e, decisions, cz_link_ids, cz_titles)
    if cz_titles:
        counts["cz_link_candidates"] = cz_candidates["portfolio_id"].n_unique()
        counts["cz_link_collections"] = cz_groups.filter(pl.col("proposal") == LINK_COLLECTION).height
    _check_partition(counts)
    log.info("P2E analysis: %s", counts)
    caveats = _local_caveat(given["portfolios"], local.rederived) + [("not recognised", line)
                                                                     for line in judged_lines(local)]
    return P2EResult(
        deletion_candidates=deletion, pol_relinks=pol, review=review,
        groups=groups.select(*GROUP_COLUMNS, "mms_id", "provider", "domain", "po_lines"),
        not_in_p2e=not_in_p2e, unmatched_lines=unmatched, counts=counts,
        cz_link_candidates=cz_candidates, cz_link_groups=cz_groups,
        not_checked=not_checked, not_checked_text=not_checked_text, not_recognised=list(not_recognised or []),
        keeper_ids=keeper_ids,
        po_linked_ids=po_linked_ids,
        copy_first=copy_first,
        local_data_ids=local.values.get_column("portfolio_id").unique().sort(),
        caveats=caveats,
        proxy_urls=proxy_urls,
    )


def _with_local_data(decisions: pl.DataFrame, local) -> pl.DataFrame:
    """A would-be deletion with local data of its own is copied first (COPY_FIRST); one with
    unrecognised local-looking cells is reviewed (not checked); every row says its local data."""
    frame = decisions.join(per_portfolio(local), on="portfolio_id", how="left")
    would_delete = pl.col("decision") == DELETE
    return frame.with_columns(
        pl.when(would_delete & pl.col("unknown_local").is_not_null()).then(pl.lit(REVIEW))
        .when(would_delete & pl.col("local_data").is_not_null()).then(pl.lit(COPY_FIRST))
        .otherwise(pl.col("decision")).alias("decision"),
        pl.when(would_delete & pl.col("unknown_local").is_not_null()).then(unknown_reason())
        .when(would_delete & pl.col("local_data").is_not_null())
        .then(pl.lit(COPY_FIRST_REASON + ": ") + pl.col("local_data"))
        .otherwise(pl.col("reason")).alias("reason"),
        pl.concat_str([pl.col("local_data"), pl.col("unknown_local")], separator="; ", ignore_nulls=True)
        .alias("local_data"),
    ).drop("unknown_local").with_columns(
        pl.when(pl.col("local_data") != "").then(pl.col("local_data")).alias("local_data"))


def _with_title_keepers(decisions: pl.DataFrame, title_keeper: pl.DataFrame) -> pl.DataFrame:
    """Title-only reviews show their first candidate's title, coverage and URL."""
    frame = decisions.join(title_keeper.rename({"id": "portfolio_id"}), on="portfolio_id", how="left")
    title_only = pl.col("reason") == TITLE_ONLY
    return frame.with_columns(
        pl.when(title_only & pl.col(c).is_null()).then(pl.col(f"cand_{c.removeprefix('keep_')}"))
        .otherwise(pl.col(c)).alias(c) for c in KEEPER_DETAIL
    ).drop("cand_title", "cand_coverage", "cand_url")


def _review(decisions: pl.DataFrame, p2e_fields: pl.DataFrame, databases: pl.DataFrame, conflicts: pl.DataFrame,
            all_p2e: pl.DataFrame, repeated_ids: pl.DataFrame) -> pl.DataFrame:
    """Review rows: REVIEW_COLUMNS + REVIEW_DETAIL (URLs without their proxy prefix)."""
    def side_of(frame: pl.DataFrame, reason: pl.Expr) -> pl.DataFrame:
        return frame.select(
            "portfolio_id", "mms_id", reason.alias("reason"), pl.lit(None, dtype=pl.String).alias("candidate_keepers"),
            "legacy_id", pl.coalesce("title", "p2e_title").alias("title"),
            *[pl.lit(None, dtype=pl.String).alias(c) for c in ("keep_title",)],
            pl.col("coverage_statement").alias("p2e_coverage"), pl.lit(None, dtype=pl.String).alias("keep_coverage"),
            pl.coalesce("url", "p2e_url").alias("p2e_url"), pl.lit(None, dtype=pl.String).alias("keep_url"),
            pl.lit(None, dtype=pl.String).alias("local_data"),
        )

    frame = pl.concat([
        decisions.filter(pl.col("decision") == REVIEW).join(p2e_fields, on="portfolio_id")
        .select(*REVIEW_COLUMNS, *REVIEW_DETAIL),
        side_of(databases, pl.lit(DATABASE_REASON)),
        side_of(all_p2e.join(conflicts, on="portfolio_id"), pl.col("reason")),
        repeated_ids.select(
            "portfolio_id", "mms_id", pl.lit(REPEATED_ID_REASON).alias("reason"),
            pl.lit(None, dtype=pl.String).alias("candidate_keepers"), pl.lit(None, dtype=pl.String).alias("legacy_id"),
            "title", pl.lit(None, dtype=pl.String).alias("keep_title"),
            pl.col("coverage_statement").alias("p2e_coverage"), pl.lit(None, dtype=pl.String).alias("keep_coverage"),
            pl.col("url").alias("p2e_url"), pl.lit(None, dtype=pl.String).alias("keep_url"),
            pl.lit(None, dtype=pl.String).alias("local_data"),
        ),
    ])
    frame = frame.with_columns(strip_proxies(frame.get_column(c)).alias(c) for c in ("p2e_url", "keep_url"))
    return frame.sort("reason", "portfolio_id")


def _proxy_urls(groups: pl.DataFrame, p2e_fields: pl.DataFrame) -> pl.DataFrame:
    """P2E portfolios that stay (no CZ duplicate) whose URL carries a proxy prefix: the URL
    without it (Ex Libris's post-migration clean-up: remove the proxy prefix, let the service's
    proxy setting add it)."""
    frame = groups.select("portfolio_id", "group", "url_without_proxy").join(
        p2e_fields.select("portfolio_id", "mms_id", "p2e_url"), on="portfolio_id")
    return (frame
            .filter(pl.col("p2e_url").is_not_null() & (pl.col("url_without_proxy") != pl.col("p2e_url").str.strip_chars()))
            .select("portfolio_id", "mms_id", "group", pl.col("p2e_url").alias("url"), "url_without_proxy")
            .sort("group", "portfolio_id"))


def _relink_portfolios(pol: pl.DataFrame) -> dict[str, int]:
    """P2E portfolios with relink rows: blocked when any of their rows is, else ready."""
    per = pol.group_by("portfolio_id").agg(pl.col("blocked_reason").is_not_null().any().alias("blocked"))
    blocked = int(per.get_column("blocked").sum()) if per.height else 0
    return {"pol_relink_portfolios_ready": per.height - blocked, "pol_relink_portfolios_blocked": blocked}


def _check_partition(counts: dict[str, int]) -> None:
    """Each P2E portfolio is in exactly one bucket: the buckets add up to the P2E portfolios."""
    total = sum(counts[b] for b in BUCKETS)
    if total != counts["p2e_portfolios"]:
        raise AssertionError(f"P2E buckets add up to {total}, not {counts['p2e_portfolios']}: "
                             + ", ".join(f"{b} {counts[b]}" for b in BUCKETS))


def _cz_link(p2e: pl.DataFrame, decisions: pl.DataFrame, p2e_ids: pl.DataFrame | None,
             cz_titles: list[CZTitleList] | None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """CZ link candidates among the P2E portfolios that stay (no duplicate, or in review). Only
    the kept ones belong to a local-collection group; one in review has no group (it is linked
    one by one, once its review is settled)."""
    if not cz_titles:
        return empty_candidates(), empty_groups()
    staying = decisions.filter(pl.col("decision").is_in([NO_DUPLICATE, REVIEW]))
    frame = p2e.join(staying.select("portfolio_id", "decision", "reason"), on="portfolio_id")
    groups = local_groups(frame).select("portfolio_id", "group", "host")
    portfolios = frame.join(groups, on="portfolio_id").select(
        "portfolio_id", "mms_id", pl.coalesce("title", "p2e_title").alias("title"), "coverage_statement",
        pl.when(pl.col("decision") == NO_DUPLICATE).then(pl.col("group")).alias("group"), "host",
        pl.when(pl.col("decision") == REVIEW).then(pl.lit("in review: ") + pl.col("reason"))
        .otherwise(pl.lit(KEPT)).alias("p2e_status"),
    )
    return cz_link_candidates(portfolios, p2e_ids, cz_titles)
