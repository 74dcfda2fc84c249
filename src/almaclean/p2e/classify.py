"""Which portfolios are P2E and which are keepers.

- *CZ-linked*: ``portfolio_linked_to_cz`` is Y / Yes / true. Everything else is *local*.
- *Standalone*: ``is_standalone`` says so; when that column is empty, a portfolio with no
  collection (no id, no name) is standalone.
- *P2E*: a local standalone portfolio whose bib carries, in an 035 (``network_number``), a
  legacy number of a P2E line (with or without its prefix; the keys come from
  ``normalize.legacy``). Other local standalone portfolios are "standalone, not in the P2E
  file"; P2E lines that match no local standalone portfolio are reported as unmatched.
- *Keeper*: CZ-linked, available (Available / ACTIVE) and in a collection. The exports carry
  no collection status, so "active collection" means the portfolio sits in a collection.
- A portfolio id on more than one row of the portfolio export (e.g. once CZ-linked, once
  local) is never P2E: such portfolios are "repeated ids", for review. So a keeper's id can
  never be a P2E portfolio's, whatever the input holds.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

import polars as pl

from almaclean.kinds.aliases import canonical_columns
from almaclean.normalize.legacy import legacy_key_table

log = logging.getLogger(__name__)

PORTFOLIO_COLUMNS = canonical_columns("portfolios")
P2E_COLUMNS = ("legacy_id", "p2e_type", "title", "issn", "isbn", "url", "provider", "po_number")
PO_LINE_COLUMNS = ("po_line", "title", "status", "order_line_type", "vendor", "mms_id", "portfolio_id")

DATABASE_TYPES = ("database", "package", "db")
NOT_IN_P2E_COLUMNS = ("portfolio_id", "mms_id", "title", "network_number", "url")
# The portfolio columns the rules read of a P2E portfolio (P2EClasses.p2e carries these and
# the P2E line's fields; a third of a big export, so no column more).
P2E_PORTFOLIO_COLUMNS = ("portfolio_id", "mms_id", "title", "publication_date", "issn", "isbn", "url", "po_line",
                         "coverage_statement", "material_type")
LINE_FIELDS = ("title", "issn", "isbn", "url", "provider", "po_number")
CONFLICT = "the P2E file lists this record on several lines that disagree"


def with_columns(frame: pl.DataFrame | None, columns: tuple[str, ...]) -> pl.DataFrame:
    """The frame with every listed column present (missing ones as null text)."""
    if frame is None:
        frame = pl.DataFrame(schema={c: pl.String for c in columns})
    missing = [pl.lit(None, dtype=pl.String).alias(c) for c in columns if c not in frame.columns]
    return frame.with_columns(missing) if missing else frame


def _lower(column: str) -> pl.Expr:
    return pl.col(column).str.strip_chars().str.to_lowercase()


def is_yes(column: str) -> pl.Expr:
    return _lower(column).is_in(["y", "yes", "true", "1"]).fill_null(False)


def is_available(column: str) -> pl.Expr:
    return _lower(column).is_in(["available", "active"]).fill_null(False)


def flag_portfolios(portfolios: pl.DataFrame) -> pl.DataFrame:
    """Portfolios with boolean columns cz_linked, standalone, available, in_collection, keeper."""
    frame = with_columns(portfolios, PORTFOLIO_COLUMNS)
    in_collection = pl.col("collection_id").is_not_null() | pl.col("collection_name").is_not_null()
    standalone = (
        pl.when(pl.col("is_standalone").is_not_null())
        .then(is_yes("is_standalone"))
        .otherwise(~in_collection)
    )
    return frame.with_columns(
        is_yes("portfolio_linked_to_cz").alias("cz_linked"),
        standalone.alias("standalone"),
        is_available("availability").alias("available"),
        in_collection.alias("in_collection"),
    ).with_columns(
        (pl.col("cz_linked") & pl.col("available") & pl.col("in_collection")).alias("keeper"),
    )


@dataclass(frozen=True)
class P2EClasses:
    p2e: pl.DataFrame              # P2E_PORTFOLIO_COLUMNS of the P2E portfolios, legacy_id, the line's p2e_*
    not_in_p2e: pl.DataFrame       # local standalone portfolios with no P2E line (NOT_IN_P2E_COLUMNS)
    unmatched_lines: pl.DataFrame  # P2E lines with no local standalone portfolio
    repeated_ids: pl.DataFrame     # local standalone rows whose portfolio id is on more than one row
    # portfolio_id, reason: P2E portfolios whose P2E lines disagree (a legacy id listed as portfolio
    # and as database, say): never settled by line order, they go to review naming the lines
    conflicts: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(
        schema={"portfolio_id": pl.String, "reason": pl.String}))


def classify_p2e(flagged: pl.DataFrame, p2e_lines: pl.DataFrame) -> P2EClasses:
    """Tie P2E lines to local standalone portfolios through the bib's legacy number (035)."""
    lines = with_columns(p2e_lines, P2E_COLUMNS).filter(pl.col("legacy_id").is_not_null())
    # Sorted, a repeated id is equal to the one before it: no hash table over a million ids.
    ids = flagged.select(pl.col("portfolio_id").sort())
    repeated = ids.filter(pl.col("portfolio_id") == pl.col("portfolio_id").shift(1)).unique()
    # Lazily: the local standalone portfolios (a third of a big export) are never copied whole;
    # each result below filters and joins only the rows and columns it keeps.
    candidates = flagged.lazy().filter(~pl.col("cz_linked") & pl.col("standalone"))
    local = candidates.join(repeated.lazy(), on="portfolio_id", how="anti") if repeated.height else candidates
    repeated_local = (candidates.join(repeated.lazy(), on="portfolio_id", how="semi")
                      .unique("portfolio_id", keep="first", maintain_order=True).collect())
    local_ids = local.select("portfolio_id", "network_number").collect()
    portfolio_keys = legacy_key_table(local_ids, "portfolio_id", "network_number").select(
        "portfolio_id", pl.col("legacy_key").alias("key")
    ).unique()
    every_line = lines.select(
        "legacy_id",
        pl.col("row") if "row" in lines.columns else pl.lit(None, dtype=pl.Int64).alias("row"),
        pl.col("p2e_type").str.strip_chars().str.to_lowercase().fill_null("portfolio").alias("p2e_type"),
        *[pl.col(c).alias(f"p2e_{c}") for c in LINE_FIELDS],
    )
    line_fields = every_line.drop("row").unique("legacy_id", keep="first", maintain_order=True)
    line_keys = legacy_key_table(line_fields, "legacy_id", "legacy_id", cells=False).select(
        "legacy_id", pl.col("legacy_key").alias("key")
    ).unique()
    links = (
        portfolio_keys.join(line_keys, on="key")
        .select("portfolio_id", "legacy_id")
        .unique()
        .sort("portfolio_id", "legacy_id")
    )
    # One P2E line per portfolio (the first legacy number); every matched line counts as matched,
    # every PO number of its lines guards it, and lines that disagree are a conflict to review.
    first_link = links.unique("portfolio_id", keep="first", maintain_order=True)
    conflicts, po_numbers = line_conflicts(links, every_line)
    p2e = (local.select(P2E_PORTFOLIO_COLUMNS).join(first_link.lazy(), on="portfolio_id", maintain_order="left")
           .join(line_fields.drop("p2e_po_number").lazy(), on="legacy_id", how="left", maintain_order="left")
           .join(po_numbers.lazy(), on="portfolio_id", how="left", maintain_order="left").collect())
    not_in_p2e = local.join(links.lazy(), on="portfolio_id", how="anti").select(NOT_IN_P2E_COLUMNS).collect()
    unmatched = lines.join(links, on="legacy_id", how="anti")
    log.info(
        "P2E: %d lines, %d local standalone portfolios; %d are P2E, %d standalone not in the P2E file, "
        "%d P2E lines match no portfolio",
        lines.height, local_ids.height, p2e.height, not_in_p2e.height, unmatched.height,
    )
    return P2EClasses(p2e=p2e, not_in_p2e=not_in_p2e, unmatched_lines=unmatched, repeated_ids=repeated_local,
                      conflicts=conflicts)


def _line_words(row: pl.Expr) -> pl.Expr:
    """"row 12 (EDU01000123, database)" for one P2E line."""
    where = pl.when(row.is_not_null()).then(pl.lit("row ") + row.cast(pl.String) + " ").otherwise(pl.lit(""))
    details = pl.concat_str([pl.col("legacy_id"), pl.col("p2e_type"), *[pl.col(f"p2e_{c}") for c in LINE_FIELDS]],
                            separator=", ", ignore_nulls=True)
    return where + pl.lit("(") + details + pl.lit(")")


def line_conflicts(links: pl.DataFrame, every_line: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(conflicts, po_numbers) of the P2E portfolios, from every P2E line tied to each.

    conflicts: portfolio_id, reason, for portfolios whose lines (the same legacy id repeated, or
    two legacy ids of one bib) disagree in type or any field: which one migration used cannot be
    told from the file, and the order of its lines says nothing. Lines repeated word for word agree.
    po_numbers: portfolio_id, p2e_po_number: every PO number of its lines, "; "-joined.
    """
    tied = links.join(every_line, on="legacy_id")
    content = ["legacy_id", "p2e_type", *[f"p2e_{c}" for c in LINE_FIELDS]]
    # In file order, then by content where the file gives no row numbers: never by the order read.
    distinct = (tied.sort("portfolio_id", "row", *content, nulls_last=True)
                .unique(["portfolio_id", *content], keep="first", maintain_order=True))
    several = (distinct.unique(["portfolio_id", *content[1:]]).group_by("portfolio_id").len()
               .filter(pl.col("len") > 1).select("portfolio_id"))
    disagree = distinct.join(several, on="portfolio_id", how="semi", maintain_order="left")
    conflicts = (
        disagree.group_by("portfolio_id", maintain_order=True)
        .agg(_line_words(pl.col("row")).alias("lines"))
        .select("portfolio_id", (pl.lit(CONFLICT + ": ") + pl.col("lines").list.join(" and ")
                                 + pl.lit("; which one migration used cannot be told from the file: check the "
                                          "record in Alma and decide by hand")).alias("reason"))
    )
    po_numbers = (
        tied.filter(pl.col("p2e_po_number").is_not_null())
        .group_by("portfolio_id", maintain_order=True)
        .agg(pl.col("p2e_po_number").unique(maintain_order=True).str.join("; "))
    )
    if conflicts.height:
        log.warning("P2E file: %d P2E portfolios have P2E lines that disagree: sent to review", conflicts.height)
    return conflicts, po_numbers


def is_database_record() -> pl.Expr:
    """P2E lines typed database/package: not portfolios to delete by portfolio id."""
    return pl.col("p2e_type").is_in(DATABASE_TYPES)
