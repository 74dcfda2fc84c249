"""A realistic institution's Alma exports, built on real KBART titles, with its ground truth.

`generate(out_dir, seed=1, scale=1.0)` writes portfolios.csv, p2e.txt, p2e_report.xlsx,
po_lines.csv, a few `<Collection+Name>_portfolios.xlsx` Extended Exports and truth.json.
Same seed -> byte-identical files: all randomness comes from one random.Random(seed) (and the
labelled hard cases from a second one, so that asking for them changes nothing else).

The portfolio export is shaped like a common Analytics report: no optional "Publication Date"
column unless asked for (publication_date=True), a "Portfolio Public Note" column, and CZ
serials carrying their online ISSN only (the usual shape of a CZ portfolio), while the P2E copies
carry the print and online ISSNs their ILS record had. With hard_cases=True some P2E portfolios
get what a careful librarian finds on a real institution (HARD_CASES): local data of their own,
an additional PO line, a series ISSN shared with a CZ serial, issue-level or gap coverage,
coverage written as a plain range or in French; truth.json labels each.
"""
from __future__ import annotations

import json
import logging
import math
import random
import time
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
from stdnum import isbn as stdnum_isbn
from stdnum import issn as stdnum_issn

from almaclean.errors import InputError
from almaclean.sample import fields as F
from almaclean.sample.extended import EXTENDED_EXPORT_HEADER, HOSTILE_VALUES, extended_export_frame
from almaclean.sample.realdata import load_titles
from almaclean.write.atomic import atomic_path
from almaclean.write.csvfile import write_csv
from almaclean.write.xlsx import Sheet, write_workbook

log = logging.getLogger(__name__)

BASE_PORTFOLIOS = 5_000
MAX_PORTFOLIOS = 1_000_000
LEGACY_LIBRARY = "EDU01"
JUNK_ISSN = "0000-0000"
JUNK_ISBN = "9780000000002"
PROXY = "https://ezproxy.example.edu/login?url="

PORTFOLIO_HEADER = {
    "portfolio_id": "Portfolio Id",
    "mms_id": "MMS Id",
    "title": "Title",
    "publisher": "Publisher",
    "publication_date": "Publication Date",
    "issn_cell": "ISSN",
    "isbn_cell": "ISBN",
    "network_number": "Network Number",
    "collection_id": "Electronic Collection Id",
    "collection_name": "Electronic Collection Public Name",
    "interface": "Interface Name",
    "linked_cz": "Portfolio Linked To CZ",
    "availability": "Availability",
    "url": "Portfolio Static URL",
    "po_line": "PO Line Reference",
    "coverage": "Coverage Statement",
    "material_type": "Material Type",
    "standalone": "Is Standalone",
    "public_note": "Portfolio Public Note",
    "additional_po_lines": "Portfolio Additional PO Lines",
}
OPTIONAL_HEADER = ("publication_date",)  # columns an Analytics report often leaves out: written only when asked
# Labelled hard cases (share of the P2E duplicates or P2E-only records each one takes).
HARD_CASES = {"local_data": 0.03, "additional_po": 0.02, "series_book": 0.04, "issue_start": 0.02,
              "gap_keeper": 0.03, "dash_partial": 0.02, "french_contained": 0.02}
# Coverage hard cases: the keeper's statement and the P2E's from the keeper's first year, and what
# the P2E's coverage really is when it is not contained.
def _after_gap(start: int) -> int:
    """The P2E's first year in the gap case: in the keeper's second range."""
    return max(start + 6, 2008)


COVERAGE_CASES = {
    "issue_start": (lambda y: f"Available from {y} volume: 1 issue: 3.",
                    lambda y: f"Available from {y} volume: 1 issue: 1.", "partial"),
    "gap_keeper": (lambda y: f"Available from {y} until {_after_gap(y) - 4}. Available from {_after_gap(y) - 1}.",
                   lambda y: f"Available from {_after_gap(y)} until {_after_gap(y) + 2}.", None),
    "dash_partial": (lambda y: f"{y + 10} - {y + 15}", lambda y: f"{y} - {y + 20}", "partial"),
    "french_contained": (lambda y: f"Available from {y}.",
                         lambda y: f"Disponible à partir de {y + 1} jusqu'à {y + 3}.", None),
}
LOCAL_NOTES = ("Law School users only, 3 simultaneous users", "Access from the medical library only.",
               "Licence: walk-in users not allowed")
P2E_REPORT_HEADER = ["Legacy ID", "Type", "Title", "ISSN", "ISBN", "856 URL", "Provider", "PO Number"]
PO_LINES_HEADER = ["PO Line Reference", "PO Line Title", "Status", "Order Line Type", "Vendor Name", "MMS Id", "Portfolio Id"]


@dataclass(frozen=True)
class CollectionSpec:
    name: str
    interface: str
    source: str
    share: float  # of the CZ portfolios
    available: bool = True
    export: str | None = None  # "review" (local data of every kind) | "clean" (none) | None


COLLECTIONS = (
    CollectionSpec("JSTOR Arts and Sciences I", "JSTOR", "JSTOR", 0.30, export="review"),
    CollectionSpec("JSTOR Life Sciences Archive", "JSTOR", "JSTOR", 0.06, available=False),
    CollectionSpec("Project MUSE Premium Collection", "Project MUSE", "MUSE", 0.14, export="review"),
    CollectionSpec("Classiques Garnier Numerique", "Classiques Garnier", "GARNIER", 0.40),
    CollectionSpec("Erudit Revues", "Erudit", "ERUDIT", 0.10, export="clean"),
)
BIG_EXPORT_COLLECTION = "Classiques Garnier Numerique"
# A second export of the clean collection, as a newer Alma release might write it: two more columns
# that look like guide columns (an additional PO lines column, a second notes column), empty.
EXTRA_EMPTY_COLUMNS = ("ADDITIONAL_PO_LINES", "PUBLIC_NOTE")
EXTRA_COLUMNS_SUFFIX = "+extra+columns_portfolios.xlsx"
EXPORTED_COLLECTION_CAP = 5_000
VENDORS = {"JSTOR": "JSTOR", "MUSE": "Johns Hopkins University Press", "GARNIER": "Casalini Libri", "ERUDIT": "Erudit Consortium"}
OTHER_SHARES = {"JSTOR": 0.30, "MUSE": 0.10, "GARNIER": 0.50, "ERUDIT": 0.10}

# Shares of all portfolios, and rates within a group (exact counts, drawn without replacement).
CZ_SHARE, P2E_DUP_SHARE, LOCAL_SHARE = 0.64, 0.16, 0.03
RATES = {
    "cz_inactive": 0.03, "cz_url_override": 0.03, "cz_pol": 0.02,
    "p2e_inactive": 0.08, "p2e_pol": 0.15, "p2e_only_pol": 0.20, "partial": 0.15, "no_coverage": 0.20,
    "lookalike": 0.03, "junk": 0.015, "database_lines": 0.03, "deleted_lines": 0.03, "unlinked_pols": 0.02,
    "ee_localized": 0.04, "ee_local_coverage": 0.05, "ee_notes": 0.03, "ee_license_pda": 0.02,
    "ee_local_settings": 0.02,
}
NOTES_TEXT = ["Access from campus network only.", "Simultaneous users: 3", "Trial 2019 - check renewal."]


@dataclass(frozen=True)
class SampleManifest:
    out_dir: Path
    seed: int
    scale: float
    files: dict[str, str]  # role -> file name in out_dir
    extended_exports: tuple[str, ...]
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def path(self, role: str) -> Path:
        return self.out_dir / self.files[role]


def _pick(rng: random.Random, n: int, rate: float, *, minimum: int = 1) -> list[int]:
    """A sorted exact-size random subset of range(n)."""
    k = min(n, max(minimum, round(rate * n))) if n else 0
    return sorted(rng.sample(range(n), k))


def _flag(n: int, chosen: list[int]) -> pl.Series:
    flags = [False] * n
    for i in chosen:
        flags[i] = True
    return pl.Series(flags, dtype=pl.Boolean)


def _id_key(col: str) -> pl.Expr:
    return pl.col(col).str.replace_all("-", "").str.to_uppercase()


def _valid_identifier(values: pl.Series) -> dict[str, bool]:
    """Per unique value: is it a valid ISSN or ISBN (stdnum), for choosing clean keepers."""
    return {v: bool(stdnum_issn.is_valid(v) or stdnum_isbn.is_valid(v)) for v in values.drop_nulls().unique()}


class _Pool:
    """Each source's titles in a random order, cycled; rounds after the first get new, valid identifiers."""

    def __init__(self, titles: pl.DataFrame, rng: random.Random) -> None:
        self.by_source = {}
        for source in ("JSTOR", "MUSE", "GARNIER", "ERUDIT"):
            part = titles.filter(pl.col("source") == source)
            order = list(range(part.height))
            rng.shuffle(order)
            self.by_source[source] = part[order]
        self.cursor = {s: 0 for s in self.by_source}
        self.synthetic = 1_000_000  # 7-digit numbers for synthetic ISSN/ISBN

    def take(self, source: str, n: int) -> pl.DataFrame:
        part = self.by_source[source]
        start = self.cursor[source]
        self.cursor[source] += n
        positions = pl.int_range(start, start + n, eager=True, dtype=pl.Int64)
        rows = part[(positions % part.height).to_list()].with_columns(
            (positions // part.height).alias("round").cast(pl.Int64)
        )
        numbers = pl.int_range(self.synthetic, self.synthetic + 2 * n, 2, eager=True, dtype=pl.Int64)
        self.synthetic += 2 * n
        serial = pl.col("publication_type") == "serial"
        reused = pl.col("round") > 0
        rows = rows.with_columns(numbers.alias("_n")).with_columns(
            pl.when(reused & serial).then(F.synthetic_issn(pl.col("_n")))
            .when(reused).then(F.synthetic_isbn13(pl.col("_n")))
            .otherwise(pl.col("print_identifier")).alias("print_identifier"),
            pl.when(reused & serial).then(F.synthetic_issn(pl.col("_n") + 1))
            .when(reused).then(F.synthetic_isbn13(pl.col("_n") + 1))
            .otherwise(pl.col("online_identifier")).alias("online_identifier"),
        )
        return rows.drop("_n")


def _coverage_years(frame: pl.DataFrame) -> pl.DataFrame:
    serial = pl.col("publication_type") == "serial"
    return frame.with_columns(
        pl.when(serial).then(F.year_of(pl.col("date_first"))).alias("from_year"),
        pl.when(serial).then(F.year_of(pl.col("date_last"))).alias("to_year"),
        pl.when(serial).then(F.embargo_years(pl.col("embargo"))).alias("embargo_years"),
    )


def _cz_portfolios(pool: _Pool, rng: random.Random, n_cz: int, ee_rows: int | None) -> pl.DataFrame:
    sizes = {spec.name: max(5, round(n_cz * spec.share)) for spec in COLLECTIONS}
    # Exported collections keep a real collection's size; the big one takes the rest.
    for spec in COLLECTIONS:
        if spec.export and sizes[spec.name] > EXPORTED_COLLECTION_CAP:
            sizes[BIG_EXPORT_COLLECTION] += sizes[spec.name] - EXPORTED_COLLECTION_CAP
            sizes[spec.name] = EXPORTED_COLLECTION_CAP
    if ee_rows:
        sizes[BIG_EXPORT_COLLECTION] = ee_rows
    parts = []
    for k, spec in enumerate(COLLECTIONS):
        n = sizes[spec.name]
        rows = pool.take(spec.source, n)
        parts.append(
            rows.with_columns(
                pl.lit(spec.name).alias("collection_name"),
                pl.lit(spec.interface).alias("interface"),
                F.alma_id("61", pl.lit(k), base=2_470_000_000).alias("collection_id"),
                pl.lit(spec.available).alias("collection_available"),
                pl.lit(spec.export == "clean").alias("clean_collection"),
            )
        )
    cz = _coverage_years(pl.concat(parts))
    n = cz.height
    flags = {name: _flag(n, _pick(rng, n, RATES[name])) for name in ("cz_inactive", "cz_url_override", "cz_pol")}
    not_clean = ~pl.col("clean_collection")
    cz = cz.with_columns(
        (pl.lit(flags["cz_inactive"]) & not_clean & pl.col("collection_available")).alias("inactive"),
        (pl.lit(flags["cz_url_override"]) & not_clean).alias("url_override"),
        (pl.lit(flags["cz_pol"]) & not_clean).alias("has_pol"),
        pl.lit(F.uniform(rng, n) < 0.3).alias("_ckb"),
    )
    return cz.with_columns(
        pl.lit("cz").alias("role"),
        pl.when(pl.col("_ckb"))
        .then(pl.concat_str(pl.lit("(CKB)111"), pl.int_range(0, n).cast(pl.String).str.zfill(10)))
        .alias("network_number"),
        pl.lit("Y").alias("linked_cz"),
        pl.when(pl.col("collection_available") & ~pl.col("inactive"))
        .then(pl.lit("Available")).otherwise(pl.lit("Not Available")).alias("availability"),
        pl.when(pl.col("url_override"))
        .then(pl.concat_str(pl.lit(PROXY), pl.col("title_url")))
        .otherwise(pl.col("title_url")).alias("url"),
        F.coverage_statement(pl.col("from_year"), pl.col("to_year"), pl.col("embargo_years")).alias("coverage"),
        pl.lit("No").alias("standalone"),
        pl.col("publisher"),
    ).drop("_ckb")


def _eligible_keepers(cz: pl.DataFrame) -> pl.DataFrame:
    """CZ portfolios a P2E copy can unambiguously duplicate: active, valid id, ids unique in CZ."""
    real = cz.filter(pl.col("round") == 0)  # later rounds carry synthetic, valid identifiers
    valid = _valid_identifier(pl.concat([real["print_identifier"], real["online_identifier"]]))
    keys = (
        cz.with_row_index("_i")
        .select("_i", pl.concat_list(_id_key("print_identifier"), _id_key("online_identifier")).alias("k"))
        .explode("k")
        .drop_nulls("k")
    )
    shared = keys.group_by("k").agg(pl.col("_i").n_unique().alias("n")).filter(pl.col("n") > 1)["k"]
    unique_rows = keys.filter(~pl.col("k").is_in(shared.implode()))["_i"].unique()
    has_shared = keys.filter(pl.col("k").is_in(shared.implode()))["_i"].unique()
    is_valid = (pl.col("round") > 0) | pl.col("print_identifier").replace_strict(valid, default=False, return_dtype=pl.Boolean) | pl.col(
        "online_identifier"
    ).replace_strict(valid, default=False, return_dtype=pl.Boolean)
    return (
        cz.with_row_index("_i")
        .filter(
            pl.col("_i").is_in(unique_rows.implode())
            & ~pl.col("_i").is_in(has_shared.implode())
            & (pl.col("availability") == "Available")
            & is_valid
        )
        .drop("_i")
    )


def _identifier_cells(frame: pl.DataFrame, rng: random.Random, *, messy: bool) -> pl.DataFrame:
    """ISSN / ISBN cells from the print and online identifiers (messy for local records)."""
    n = frame.height
    serial = pl.col("publication_type") == "serial"
    p, o = pl.col("print_identifier"), pl.col("online_identifier")
    if messy:
        frame = frame.with_columns(F.uniform(rng, n).alias("_d1"), F.uniform(rng, n).alias("_d2"))
        p, o = F.messy(p, pl.col("_d1")), F.messy(o, pl.col("_d1"))
        isbn10 = pl.when(pl.col("_d2") < 0.25).then(F.isbn10_of(pl.col("online_identifier")))
        isbn = F.join_cells(o, p, isbn10)
    else:
        isbn = F.join_cells(o, p)
    # A CZ serial carries its online ISSN (its print one only when it has no online one); the P2E
    # copy, from an ILS record, carries both.
    issn = F.join_cells(p, o) if messy else pl.coalesce(o, p)
    frame = frame.with_columns(
        pl.when(serial).then(issn).alias("issn_cell"),
        pl.when(~serial).then(isbn).alias("isbn_cell"),
    )
    return frame.drop("_d1", "_d2", strict=False)


def _p2e_copies(keepers: pl.DataFrame, rng: random.Random) -> pl.DataFrame:
    """Local standalone copies made by P2E of titles the CZ collections already hold."""
    n = keepers.height
    partial = _flag(n, _pick(rng, n, RATES["partial"]))
    no_cov = _flag(n, _pick(rng, n, RATES["no_coverage"]))
    shift = pl.Series([rng.randrange(0, 6) for _ in range(n)], dtype=pl.Int64)
    frame = keepers.select(
        "title", "publisher", "print_identifier", "online_identifier", "publication_type", "source",
        "title_url", "from_year", "to_year", "embargo_years", "date_first", "date_last", "date_monograph",
        "embargo", "round",
        pl.col("portfolio_id").alias("keeper_portfolio_id"),
        pl.col("mms_id").alias("keeper_mms_id"),
        pl.col("interface").alias("provider"),
    ).with_columns(partial.alias("_partial"), no_cov.alias("_no_cov"), shift.alias("_shift"))
    has_cov = pl.col("from_year").is_not_null()
    end = F.effective_end(pl.col("to_year"), pl.col("embargo_years"))
    narrow_from = pl.min_horizontal(pl.col("from_year") + pl.col("_shift"), end)
    frame = frame.with_columns(
        pl.when(~has_cov | pl.col("_no_cov")).then(pl.lit("unknown"))
        .when(pl.col("_partial")).then(pl.lit("partial"))
        .otherwise(pl.lit("contained")).alias("coverage_relation"),
    ).with_columns(
        pl.when(pl.col("coverage_relation") == "partial")
        .then(F.coverage_statement(pl.col("from_year") - 5, pl.col("to_year"), pl.lit(None, pl.Int64)))
        .when(pl.col("coverage_relation") == "contained")
        .then(F.coverage_statement(narrow_from, pl.max_horizontal(narrow_from, end - pl.col("_shift") % 3), pl.lit(None, pl.Int64)))
        .alias("coverage")
    )
    return frame.with_columns(pl.lit("p2e_dup").alias("role")).drop("_partial", "_no_cov", "_shift")


def _local_records(frame: pl.DataFrame, rng: random.Random, *, role: str, pol_rate: float) -> pl.DataFrame:
    """Fields shared by every local standalone record (P2E copies, P2E-only and other local)."""
    n = frame.height
    d_title, d_url, d_pub = F.uniform(rng, n), F.uniform(rng, n), F.uniform(rng, n)
    inactive = _flag(n, _pick(rng, n, RATES["p2e_inactive"], minimum=0))
    pol = _flag(n, _pick(rng, n, pol_rate, minimum=0))
    first_upper = pl.col("title").str.slice(0, 1) + pl.col("title").str.slice(1).str.to_lowercase()
    title = (
        pl.when(d_title < 0.4).then(pl.concat_str(pl.col("title"), pl.lit(" [electronic resource]")))
        .when(d_title < 0.6).then(first_upper)
        .otherwise(pl.col("title"))
    )
    frame = frame.with_columns(
        title.alias("title"),
        pl.when(d_pub < 0.3).then(None).otherwise(pl.col("publisher")).alias("publisher"),
        pl.when(d_url < 0.7).then(pl.concat_str(pl.lit(PROXY), pl.col("title_url")))
        .when(d_url < 0.9).then(pl.col("title_url")).alias("url"),
        pl.when(inactive).then(pl.lit("Not Available")).otherwise(pl.lit("Available")).alias("availability"),
        pl.Series(inactive).alias("inactive"),
        pl.Series(pol).alias("has_pol"),
        pl.lit(role).alias("role"),
        pl.lit("N").alias("linked_cz"),
        pl.lit("Yes").alias("standalone"),
    )
    if "coverage" not in frame.columns:
        frame = _coverage_years(frame).with_columns(
            F.coverage_statement(pl.col("from_year"), pl.col("to_year"), pl.col("embargo_years")).alias("coverage")
        )
    return _identifier_cells(frame, rng, messy=True)


def _other_candidates(pool: _Pool, cz: pl.DataFrame, rng: random.Random, need: int) -> pl.DataFrame:
    """Titles for P2E-only and other local records: no identifier shared with any CZ portfolio."""
    parts = [pool.take(s, max(1, math.ceil(need * share * 1.6))) for s, share in OTHER_SHARES.items()]
    cand = pl.concat(parts)
    cz_keys = pl.concat([cz.select(_id_key(c).alias("k")) for c in ("print_identifier", "online_identifier")])["k"]
    cz_keys = cz_keys.drop_nulls().unique().implode()
    cand = cand.filter(
        ~_id_key("print_identifier").fill_null("").is_in(cz_keys) & ~_id_key("online_identifier").fill_null("").is_in(cz_keys)
    )
    order = list(range(cand.height))
    rng.shuffle(order)
    cand = cand[order[:need]]
    if cand.height < need:
        log.warning("only %d of %d local titles without a CZ identifier", cand.height, need)
    return cand


def _assign_ids(frame: pl.DataFrame) -> pl.DataFrame:
    i = pl.int_range(0, pl.len())
    return frame.with_columns(
        F.alma_id("53", i, base=4_966_979_100).alias("portfolio_id"),
        F.alma_id("99", i, base=7_704_732_210).alias("mms_id"),
    )


def _legacy_lines(rng: random.Random, n_records: int) -> tuple[list[str], list[str], list[str]]:
    """Legacy bib numbers for P2E records, 'database' lines and lines deleted since migration."""
    n_db = max(1, round(n_records * RATES["database_lines"]))
    n_del = max(1, round(n_records * RATES["deleted_lines"]))
    roles = ["record"] * n_records + ["database"] * n_db + ["deleted"] * n_del
    rng.shuffle(roles)
    out: dict[str, list[str]] = {"record": [], "database": [], "deleted": []}
    for i, role in enumerate(roles):
        out[role].append(f"{LEGACY_LIBRARY}{100_000 + 3 * i + (i * 7) % 3:09d}")
    return out["record"], out["database"], out["deleted"]


def _po_lines(portfolios: pl.DataFrame, rng: random.Random) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Give POL references to portfolios with has_pol; return (portfolios, po_lines frame)."""
    linked = portfolios.filter(pl.col("has_pol")).select("portfolio_id", "mms_id", "title", "source", "publication_type", "role")
    n_unlinked = max(1, round(portfolios.height * RATES["unlinked_pols"]))
    total = linked.height + n_unlinked
    numbers = sorted(rng.sample(range(10_000, 10_000 + total * 7), total))
    order = list(range(total))
    rng.shuffle(order)
    refs = [f"POL-{numbers[j]}" for j in order]
    statuses = [
        "ACTIVE" if u < 0.7 else "CLOSED" if u < 0.9 else "CANCELLED" if u < 0.97 else "IN_REVIEW"
        for u in (rng.random() for _ in range(linked.height))
    ]
    linked = linked.with_columns(
        pl.Series(refs[: linked.height], dtype=pl.String).alias("po_line"),
        pl.when(pl.col("role") == "cz").then(pl.lit("ACTIVE"))
        .otherwise(pl.Series(statuses, dtype=pl.String)).alias("pol_status"),
    )
    unlinked_titles = portfolios["title"].gather(rng.sample(range(portfolios.height), n_unlinked))
    unlinked = pl.DataFrame({
        "po_line": refs[linked.height:],
        "title": unlinked_titles,
        "pol_status": ["CLOSED" if rng.random() < 0.7 else "CANCELLED" for _ in range(n_unlinked)],
    })
    serial = pl.col("publication_type") == "serial"
    lines = pl.concat([
        linked.select(
            "po_line", "title", pl.col("pol_status").alias("status"),
            pl.when(serial).then(pl.lit("Electronic Title - Subscription"))
            .otherwise(pl.lit("Electronic Title - One Time")).alias("order_line_type"),
            pl.col("source").replace_strict(VENDORS, default="EBSCO").alias("vendor"),
            "mms_id", "portfolio_id",
        ),
        unlinked.select(
            "po_line", "title", pl.col("pol_status").alias("status"),
            pl.lit("Electronic Title - Subscription").alias("order_line_type"),
            pl.lit("EBSCO").alias("vendor"),
            pl.lit(None, pl.String).alias("mms_id"), pl.lit(None, pl.String).alias("portfolio_id"),
        ),
    ]).sort("po_line")
    portfolios = portfolios.join(
        linked.select("portfolio_id", "po_line", "pol_status"), on="portfolio_id", how="left", maintain_order="left"
    )
    return portfolios, lines


def _extended_export(frame: pl.DataFrame, spec: CollectionSpec, rng: random.Random) -> tuple[pl.DataFrame, dict]:
    """EE frame for one collection's CZ portfolios and the truth about its rows."""
    rows = frame.sort("portfolio_id")
    n = rows.height
    review = spec.export != "clean"
    picks = {
        c: (_pick(rng, n, RATES[f"ee_{c}"], minimum=2) if review else [])
        for c in ("localized", "local_coverage", "notes", "license_pda", "local_settings")
    }
    flags = {c: _flag(n, v) for c, v in picks.items()}
    serial = pl.col("publication_type") == "serial"
    note_no = pl.int_range(0, pl.len()) % len(NOTES_TEXT)
    notes = pl.Series(flags["notes"])
    local_cov = pl.Series(flags["local_coverage"])
    lic = pl.Series(flags["license_pda"])
    settings = pl.Series(flags["local_settings"])
    ee = rows.with_columns(
        pl.when(pl.Series(flags["localized"])).then(pl.lit("N")).otherwise(pl.lit("Y")).alias("LOCALIZED"),
        pl.when(serial).then(pl.col("print_identifier")).alias("issn_1"),
        pl.when(serial).then(pl.col("online_identifier")).alias("issn_2"),
        pl.when(~serial).then(pl.col("online_identifier")).alias("isbn_1"),
        pl.when(~serial).then(pl.col("print_identifier")).alias("isbn_2"),
        pl.col("network_number").alias("osn_1"),
        pl.col("portfolio_id").alias("PORTFOLIO_PID"),
        pl.col("mms_id").alias("MMS"),
        pl.col("title").alias("TITLE"),
        pl.when(local_cov).then((pl.col("from_year").fill_null(1990) + 2).cast(pl.String)).alias("FROM_YEAR"),
        pl.when(local_cov).then(pl.col("to_year").cast(pl.String)).alias("TO_YEAR"),
        pl.col("from_year").cast(pl.String).alias("GLOBAL_FROM_YEAR"),
        pl.col("to_year").cast(pl.String).alias("GLOBAL_TO_YEAR"),
        pl.when(pl.col("embargo_years").is_not_null()).then(pl.lit("<")).alias("GLOBAL_PUBLICATION_DATE_OPERATOR"),
        pl.col("embargo_years").cast(pl.String).alias("GLOBAL_PUBLICATION_DATE_YEAR"),
        pl.when(pl.col("inactive")).then(pl.lit("INACTIVE")).otherwise(pl.lit("ACTIVE")).alias("AVAILABILITY"),
        pl.col("publisher").alias("PUBLISHER"),
        pl.when(pl.col("url_override")).then(pl.col("url")).alias("URL"),
        pl.when(serial).then(pl.lit("Journal")).otherwise(pl.lit("Book")).alias("ELECTRONIC_MATERIAL_TYPE"),
        pl.when(notes).then(pl.lit(NOTES_TEXT[0])).alias("AUTHENTICATION_NOTES"),
        pl.when(notes).then(pl.lit(NOTES_TEXT[1])).alias("PUBLIC_NOTES"),
        pl.when(notes).then(note_no.replace_strict(dict(enumerate(NOTES_TEXT)), return_dtype=pl.String)).alias("INTERNAL_DESCRIPTION"),
        pl.when(local_cov).then(pl.lit("Only local")).alias("COVERAGE_STATEMENT"),
        pl.lit("2019-07-15").alias("ACTIVATION_DATE"),
        pl.when(lic).then(pl.lit("LIC-2019-004")).alias("LICENSE"),
        pl.when(lic).then(pl.lit(f"{spec.interface} consortium licence 2019")).alias("LICENSE_NAME"),
        pl.when(lic & (pl.int_range(0, pl.len()) % 2 == 0)).then(pl.lit("PDA-0007")).alias("PDA"),
        pl.col("po_line").alias("PO_LINE"),
        # The library's own access settings, on a few portfolios: perpetual access, a user limit.
        pl.when(settings).then(pl.lit("Perpetual")).alias("ACCESS_TYPE"),
        pl.when(settings & (pl.int_range(0, pl.len()) % 2 == 0)).then(pl.lit("3")).alias("CONCURRENT_USERS"),
        pl.col("collection_id").alias("ELECTRONIC_COLLECTION_ID"),
        pl.col("collection_name").alias("ELECTRONIC_COLLECTION_NAME"),
        pl.col("interface").alias("INTERFACE_NAME"),
    )
    hostile = []
    if review:
        first_note, first_cov = picks["notes"][0], picks["local_coverage"][0]
        updates = {c: first_note for c in HOSTILE_VALUES if c != "FROM_VOLUME"} | {"FROM_VOLUME": first_cov}
        for column, row in updates.items():
            value = HOSTILE_VALUES[column]
            if column not in ee.columns:
                ee = ee.with_columns(pl.lit(None, pl.String).alias(column))
            ee = ee.with_columns(
                pl.when(pl.int_range(0, pl.len()) == row).then(pl.lit(value)).otherwise(pl.col(column)).alias(column)
            )
            hostile.append({"portfolio_id": rows["portfolio_id"][row], "column": column, "value": value})
    pids = rows["portfolio_id"]
    categories = {c: pids.gather(v).to_list() for c, v in picks.items()}
    categories["inactive"] = rows.filter(pl.col("inactive"))["portfolio_id"].to_list()
    categories["url_override"] = rows.filter(pl.col("url_override"))["portfolio_id"].to_list()
    categories["po_line"] = rows.filter(pl.col("po_line").is_not_null())["portfolio_id"].to_list()
    truth = {
        "collection_id": rows["collection_id"][0],
        "collection_name": spec.name,
        "rows": n,
        "reactivate_all": not any(categories.values()),
        "categories": categories,
        "hostile_cells": hostile,
    }
    return extended_export_frame(ee), truth


def _json_text(truth: dict) -> str:
    """One top-level key per line; the fast C encoder for the (possibly huge) values."""
    body = ",\n".join(f"{json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}" for k, v in truth.items())
    return "{\n" + body + "\n}\n"


def _write_text(path: Path, text: str) -> None:
    with atomic_path(path) as temp:
        temp.write_bytes(text.encode("utf-8"))


SAMPLE_FILES = {"portfolios": "portfolios.csv", "p2e": "p2e.txt", "p2e_report": "p2e_report.xlsx",
                "po_lines": "po_lines.csv", "truth": "truth.json"}


def _exported(ee_rows: int | None) -> list[CollectionSpec]:
    """The collections written as Extended Exports (the big one only with ee_rows)."""
    return [spec for spec in COLLECTIONS if spec.export or (ee_rows and spec.name == BIG_EXPORT_COLLECTION)]


def _export_name(spec: CollectionSpec) -> str:
    return spec.name.replace(" ", "+") + "_portfolios.xlsx"


def _export_names(ee_rows: int | None) -> list[str]:
    return [_export_name(spec) for spec in _exported(ee_rows)]


def generate(
    out_dir: Path,
    *,
    seed: int = 1,
    scale: float = 1.0,
    ee_rows: int | None = None,
    titles_dir: Path | None = None,
    publication_date: bool = False,
    hard_cases: bool = False,
) -> SampleManifest:
    """Write a realistic institution's exports and truth.json into out_dir (new files only).

    publication_date: write the optional "Publication Date" column. hard_cases: the labelled
    hard cases (HARD_CASES), drawn from a random stream of their own."""
    started = time.perf_counter()
    out_dir = Path(out_dir)
    n_total = _checked_request(out_dir, scale, ee_rows)
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    titles = load_titles(titles_dir)
    pool = _Pool(titles, rng)

    # CZ collections and their portfolios get IDs first, so keepers are known to the copies.
    cz = _cz_portfolios(pool, rng, round(n_total * CZ_SHARE), ee_rows)
    n_dup = round(n_total * P2E_DUP_SHARE)
    n_local = max(1, round(n_total * LOCAL_SHARE))
    n_only = max(1, n_total - round(n_total * CZ_SHARE) - n_dup - n_local)
    others = _other_candidates(pool, cz, rng, n_only + n_local)
    cz = _assign_ids(cz)
    keepers = _eligible_keepers(cz)
    chosen = sorted(rng.sample(range(keepers.height), min(n_dup, keepers.height)))
    dups = _local_records(_p2e_copies(keepers[chosen], rng), rng, role="p2e_dup", pol_rate=RATES["p2e_pol"])
    only = _local_records(others.head(n_only), rng, role="p2e_only", pol_rate=RATES["p2e_only_pol"])
    local = _local_records(others.slice(n_only), rng, role="local", pol_rate=0.0)

    only = _with_lookalikes(only, keepers, rng)
    p2e, db_lines, deleted = _p2e_records(dups, only, rng)
    portfolios, po_lines = _all_portfolios(cz, p2e, local, rng)
    if hard_cases:
        portfolios = _hard_cases(portfolios, random.Random(seed * 7919 + 1))
    manifest_files = dict(SAMPLE_FILES)

    # portfolios.csv, sorted by title like an Analytics report.
    header = {k: v for k, v in PORTFOLIO_HEADER.items() if publication_date or k not in OPTIONAL_HEADER}
    out = portfolios.sort("title", "portfolio_id").select(list(header))
    write_csv(out_dir / manifest_files["portfolios"], out, header=list(header.values()))

    lines = _write_p2e_files(out_dir, manifest_files, portfolios, db_lines, deleted, po_lines)
    ee_truth, ee_files = _write_extended_exports(out_dir, portfolios, ee_rows, rng)

    counts = {
        "portfolios": portfolios.height,
        "cz": cz.height,
        "p2e_duplicates": dups.height,
        "p2e_only": only.height,
        "local_other": local.height,
        "p2e_lines": lines.height,
        "po_lines": po_lines.height,
        "extended_export_rows": sum(t["rows"] for t in ee_truth.values()),
    }
    truth = _truth(portfolios, db_lines, deleted, ee_truth, seed, scale, manifest_files, ee_files, counts)
    _write_text(out_dir / manifest_files["truth"], _json_text(truth))
    seconds = time.perf_counter() - started
    log.info("sample seed=%s scale=%s: %s in %.1fs", seed, scale, counts, seconds)
    return SampleManifest(out_dir, seed, scale, manifest_files, tuple(ee_files), counts, seconds)


def _all_portfolios(cz: pl.DataFrame, p2e: pl.DataFrame, local: pl.DataFrame,
                    rng: random.Random) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(portfolios, PO lines): the CZ portfolios with their identifier cells, then the P2E and
    other local records with IDs continuing the CZ portfolios' sequences, and the PO lines."""
    local = local.with_columns(
        pl.concat_str(pl.lit("(OCoLC)"), (pl.int_range(0, pl.len()) * 41 + 88_000_003).cast(pl.String)).alias("network_number")
    )

    cz_local_cols = _identifier_cells(cz, rng, messy=False)
    start = cz.height
    rest = _assign_ids(pl.concat([p2e, local], how="diagonal_relaxed").with_row_index("_k"))
    # Continue the ID sequences after the CZ portfolios.
    k = pl.col("_k") + start
    rest = rest.with_columns(
        F.alma_id("53", k, base=4_966_979_100).alias("portfolio_id"),
        F.alma_id("99", k, base=7_704_732_210).alias("mms_id"),
    ).drop("_k")
    portfolios = pl.concat([cz_local_cols, rest], how="diagonal_relaxed").with_columns(
        pl.when(pl.col("publication_type") == "serial").then(pl.lit("Journal")).otherwise(pl.lit("Book")).alias("material_type"),
        # The bib's date (Analytics "Publication Date"): a book's year of publication online.
        pl.when(pl.col("publication_type") != "serial").then(pl.col("date_monograph").str.slice(0, 4))
        .alias("publication_date"),
        pl.col("url_override").fill_null(False),
        pl.col("inactive").fill_null(False),
    )
    portfolios, po_lines = _po_lines(portfolios, rng)
    portfolios = portfolios.with_columns(pl.lit(None, pl.String).alias("public_note"),
                                         pl.lit(None, pl.String).alias("additional_po_lines"),
                                         pl.lit(None, pl.String).alias("hard_case"))
    return portfolios, po_lines


def _checked_request(out_dir: Path, scale: float, ee_rows: int | None) -> int:
    """The number of portfolios the scale gives; InputError for a scale or --ee-rows out of range,
    or a sample already in out_dir (never overwritten)."""
    n_total = round(BASE_PORTFOLIOS * scale)
    if not 100 <= n_total <= MAX_PORTFOLIOS:
        raise InputError(f"--scale {scale:g} gives {n_total:,} portfolios; the scale must give 100 to "
                         f"{MAX_PORTFOLIOS:,} ({100 / BASE_PORTFOLIOS:g} to {MAX_PORTFOLIOS / BASE_PORTFOLIOS:g})")
    if ee_rows is not None and not 1 <= ee_rows <= 100_000:
        raise InputError(f"--ee-rows {ee_rows}: must be 1 to 100,000 (an Extended Export's limit)")
    taken = [name for name in [*SAMPLE_FILES.values(), *_export_names(ee_rows)] if (out_dir / name).exists()]
    if taken:
        raise InputError(f"a sample is there already ({', '.join(taken)}): almaclean never overwrites a file; "
                         "choose another --out folder", file=out_dir)
    return n_total


def _with_lookalikes(only: pl.DataFrame, keepers: pl.DataFrame, rng: random.Random) -> pl.DataFrame:
    """Title-only lookalikes: P2E-only records that carry a keeper's title but their own identifiers."""
    look_rows = _pick(rng, only.height, RATES["lookalike"], minimum=3)
    look_src = keepers[rng.sample(range(keepers.height), len(look_rows))]
    look_title = [None] * only.height
    look_of = [None] * only.height
    for r, t, pid in zip(look_rows, look_src["title"], look_src["portfolio_id"]):
        look_title[r], look_of[r] = t, pid
    return only.with_columns(
        pl.coalesce(pl.Series(look_title, dtype=pl.String), pl.col("title")).alias("title"),
        pl.Series(look_of, dtype=pl.String).alias("lookalike_of"),
    )


def _p2e_records(dups: pl.DataFrame, only: pl.DataFrame,
                 rng: random.Random) -> tuple[pl.DataFrame, list[str], list[str]]:
    """(P2E records, database lines, lines of deleted records): legacy numbers, 035 network
    numbers and the junk identifiers."""
    p2e = pl.concat([dups, only], how="diagonal_relaxed")
    records, db_lines, deleted = _legacy_lines(rng, p2e.height)
    d_osn = F.uniform(rng, p2e.height)
    junk = _flag(p2e.height, _pick(rng, p2e.height, RATES["junk"], minimum=20))
    legacy = pl.Series(records, dtype=pl.String)
    osn = pl.concat_str(pl.lit(f"({LEGACY_LIBRARY})"), pl.col("legacy_id").str.slice(len(LEGACY_LIBRARY)))
    ocolc = pl.concat_str(pl.lit("(OCoLC)"), (pl.int_range(0, pl.len()) * 37 + 12_000_017).cast(pl.String))
    p2e = p2e.with_columns(legacy.alias("legacy_id"), pl.Series(junk).alias("junk")).with_columns(
        pl.when(d_osn < 0.25).then(pl.concat_str(osn, pl.lit("; "), ocolc))
        .when(d_osn < 0.35).then(pl.concat_str(ocolc, pl.lit("; "), osn))
        .otherwise(osn).alias("network_number"),
        pl.when(pl.col("junk") & (pl.col("publication_type") == "serial"))
        .then(F.join_cells(pl.col("issn_cell"), pl.lit(JUNK_ISSN))).otherwise(pl.col("issn_cell")).alias("issn_cell"),
        pl.when(pl.col("junk") & (pl.col("publication_type") != "serial"))
        .then(F.join_cells(pl.col("isbn_cell"), pl.lit(JUNK_ISBN))).otherwise(pl.col("isbn_cell")).alias("isbn_cell"),
        pl.when(pl.col("role") == "p2e_only")
        .then(pl.col("source").replace_strict(VENDORS, default=None)).otherwise(pl.col("provider")).alias("provider"),
    )
    return p2e, db_lines, deleted


def _write_p2e_files(out_dir: Path, manifest_files: dict[str, str], portfolios: pl.DataFrame, db_lines: list[str],
                     deleted: list[str], po_lines: pl.DataFrame) -> pl.DataFrame:
    """p2e.txt, the consortium report for the same lines and the PO line export; returns the P2E lines."""
    p2e_final = portfolios.filter(pl.col("role").is_in(["p2e_dup", "p2e_only"]))
    lines = pl.concat([
        p2e_final.select("legacy_id", pl.lit("portfolio").alias("type")),
        pl.DataFrame({"legacy_id": db_lines, "type": ["database"] * len(db_lines)}),
        pl.DataFrame({"legacy_id": deleted, "type": ["portfolio"] * len(deleted)}),
    ]).sort("legacy_id")
    _write_text(out_dir / manifest_files["p2e"], "".join(f"{a},{b}\n" for a, b in lines.iter_rows()))
    report = lines.join(
        p2e_final.select(
            "legacy_id", "title", "issn_cell", "isbn_cell",
            pl.coalesce(pl.col("url").str.strip_prefix(PROXY), pl.col("title_url")).alias("url_856"),
            "provider", "po_line",
        ),
        on="legacy_id", how="left", maintain_order="left",
    )
    write_workbook(out_dir / manifest_files["p2e_report"], [Sheet("P2E", P2E_REPORT_HEADER, report)])
    write_csv(out_dir / manifest_files["po_lines"], po_lines, header=PO_LINES_HEADER)
    return lines


def _write_extended_exports(out_dir: Path, portfolios: pl.DataFrame, ee_rows: int | None,
                            rng: random.Random) -> tuple[dict, list[str]]:
    """Each exported collection's Extended Export (and the clean one again with empty extra
    columns); returns their truth by file name and the file names."""
    ee_truth = {}
    ee_files = []
    for spec in _exported(ee_rows):
        rows = portfolios.filter(pl.col("collection_name") == spec.name)
        frame, truth = _extended_export(rows, spec, rng)
        name = _export_name(spec)
        write_workbook(out_dir / name, [Sheet("Sheet1", list(EXTENDED_EXPORT_HEADER), frame, freeze=False, autofilter=False)])
        ee_truth[name] = truth
        ee_files.append(name)
        if spec.export == "clean":
            # The same collection exported with two extra columns, empty in every row: still "Activate all".
            extra = spec.name.replace(" ", "+") + EXTRA_COLUMNS_SUFFIX
            header = [*EXTENDED_EXPORT_HEADER, *EXTRA_EMPTY_COLUMNS]
            wide = frame.with_columns(pl.lit(None, pl.String).alias(f"c{len(EXTENDED_EXPORT_HEADER) + k}")
                                      for k in range(len(EXTRA_EMPTY_COLUMNS)))
            write_workbook(out_dir / extra, [Sheet("Sheet1", header, wide, freeze=False, autofilter=False)])
            ee_truth[extra] = dict(truth, extra_empty_columns=list(EXTRA_EMPTY_COLUMNS))
            ee_files.append(extra)
    return ee_truth, ee_files


def _hard_cases(portfolios: pl.DataFrame, rng: random.Random) -> pl.DataFrame:
    """Labelled hard cases on some P2E portfolios (HARD_CASES), each on portfolios no other case
    took: "hard_case" names the case, and coverage_relation says what the coverage really is."""
    dups = portfolios.filter((pl.col("role") == "p2e_dup") & pl.col("po_line").is_null())
    serial_dups = dups.filter((pl.col("publication_type") == "serial") & (pl.col("coverage_relation") == "contained")
                              & pl.col("from_year").is_not_null())
    books = portfolios.filter((pl.col("role") == "p2e_only") & (pl.col("publication_type") != "serial"))
    taken: set[str] = set()

    def pick(frame: pl.DataFrame, case: str) -> list[str]:
        ids = [i for i in frame["portfolio_id"].to_list() if i not in taken]
        chosen = sorted(rng.sample(ids, min(len(ids), max(1, round(HARD_CASES[case] * frame.height)))))
        taken.update(chosen)
        return chosen

    early = serial_dups.filter(pl.col("from_year") <= 2005)  # room for a gap or a longer range before today
    source = {"local_data": dups, "additional_po": dups, "series_book": books, "issue_start": serial_dups,
              "gap_keeper": early, "dash_partial": early, "french_contained": early}
    cases = {case: pick(source[case], case) for case in HARD_CASES}
    keeper_of = dict(portfolios.filter(pl.col("role") == "p2e_dup").select("portfolio_id", "keeper_portfolio_id")
                     .iter_rows())
    # Book series the CZ holds as serials, with no coverage stated (as a series portfolio often is);
    # never the keeper of a P2E duplicate
    kept = portfolios.get_column("keeper_portfolio_id").drop_nulls().implode()
    series_rows = (portfolios.filter((pl.col("role") == "cz") & (pl.col("publication_type") == "serial")
                                     & pl.col("issn_cell").is_not_null() & (pl.col("availability") == "Available")
                                     & ~pl.col("portfolio_id").is_in(kept))
                   .select("portfolio_id", "issn_cell").head(max(1, round(HARD_CASES["series_book"] * books.height))))
    series = series_rows.get_column("issn_cell").to_list()
    rows = {r["portfolio_id"]: r for r in portfolios.filter(pl.col("portfolio_id").is_in(list(taken) + [
        keeper_of[i] for i in taken if i in keeper_of])).iter_rows(named=True)}
    updates: dict[str, dict] = {}
    for n, pid in enumerate(cases["local_data"]):
        updates[pid] = {"public_note": LOCAL_NOTES[n % len(LOCAL_NOTES)], "hard_case": "local_data"}
    for n, pid in enumerate(cases["additional_po"]):
        updates[pid] = {"additional_po_lines": f"POL-A{100 + n}", "hard_case": "additional_po"}
    for pid in series_rows.get_column("portfolio_id"):
        updates[pid] = {"coverage": None}
    for n, pid in enumerate(cases["series_book"]):  # every other one has only its series' ISSN, no ISBN
        updates[pid] = {"issn_cell": series[n % len(series)], "material_type": "Book", "hard_case": "series_book",
                        **({"isbn_cell": None} if n % 2 else {})}
    for case, (keeper_text, p2e_text, relation) in COVERAGE_CASES.items():
        for pid in cases[case]:
            start = rows[keeper_of[pid]]["from_year"]
            updates[keeper_of[pid]] = {"coverage": keeper_text(start)}
            updates[pid] = {"coverage": p2e_text(start), "hard_case": case,
                            **({"coverage_relation": relation} if relation else {})}
    columns = sorted({c for change in updates.values() for c in change})
    frame = pl.DataFrame([{"portfolio_id": pid, **{c: change.get(c) for c in columns}, **{
        f"_set_{c}": c in change for c in columns}} for pid, change in updates.items()],
        schema={"portfolio_id": pl.String, **{c: portfolios.schema[c] for c in columns},
                **{f"_set_{c}": pl.Boolean for c in columns}})
    joined = portfolios.join(frame, on="portfolio_id", how="left", suffix="_new", maintain_order="left")
    return joined.with_columns(
        pl.when(pl.col(f"_set_{c}").fill_null(False)).then(pl.col(f"{c}_new")).otherwise(pl.col(c)).alias(c)
        for c in columns
    ).select(portfolios.columns)


def _truth(portfolios, db_lines, deleted, ee_truth, seed, scale, files, ee_files, counts) -> dict:
    held = (pl.col("coverage_relation") == "contained") | (pl.col("coverage").is_null()
                                                           & pl.col("keeper_coverage").is_null())
    p2e = portfolios.filter(pl.col("role").is_in(["p2e_dup", "p2e_only"]))
    dups = p2e.filter(pl.col("role") == "p2e_dup")
    with_pol = portfolios.filter(pl.col("po_line").is_not_null())
    junk = p2e.filter(pl.col("junk"))
    collections = (
        portfolios.filter(pl.col("role") == "cz")
        .group_by("collection_id", "collection_name", "interface", "collection_available")
        .agg(pl.len().alias("portfolios"))
        .sort("collection_id")
    )
    return {
        "seed": seed,
        "scale": scale,
        "institution_suffix": F.INSTITUTION_SUFFIX,
        "legacy_library": LEGACY_LIBRARY,
        "proxy_prefix": PROXY,
        "files": files,
        "extended_exports": ee_files,
        "counts": counts,
        "collections": collections.to_dicts(),
        "p2e_duplicates": dups.join(
            portfolios.select(pl.col("portfolio_id").alias("keeper_portfolio_id"),
                              pl.col("coverage").alias("keeper_coverage")), on="keeper_portfolio_id", how="left",
        ).select(
            "portfolio_id", "mms_id", "legacy_id", "keeper_portfolio_id", "keeper_mms_id",
            "coverage_relation", "availability", "po_line", "pol_status", "public_note", "additional_po_lines",
            "hard_case",
            # the keeper holds every year of it: contained, or neither states coverage
            held.alias("coverage_held"),
            # a deletion set may hold it: the same resource, its coverage held, nothing local on it
            (held & pl.col("po_line").is_null() & pl.col("additional_po_lines").is_null()
             & pl.col("public_note").is_null()).alias("safe_for_set"),
        ).sort("portfolio_id").to_dicts(),
        # P2E books sharing only their series' ISSN with a CZ serial: not duplicates
        "series_books": p2e.filter(pl.col("hard_case") == "series_book")["portfolio_id"].sort().to_list(),
        "p2e_only": p2e.filter(pl.col("role") == "p2e_only").select(
            "portfolio_id", "mms_id", "legacy_id", "availability", "po_line", "pol_status"
        ).sort("portfolio_id").to_dicts(),
        "p2e_database_lines": sorted(db_lines),
        "p2e_deleted_lines": sorted(deleted),
        "partial_coverage": dups.filter(pl.col("coverage_relation") == "partial")["portfolio_id"].sort().to_list(),
        "title_only_lookalikes": p2e.filter(pl.col("lookalike_of").is_not_null())
        .select("portfolio_id", "lookalike_of").sort("portfolio_id").to_dicts(),
        "junk_identifiers": {JUNK_ISSN: junk.filter(pl.col("publication_type") == "serial")["portfolio_id"].sort().to_list(),
                             JUNK_ISBN: junk.filter(pl.col("publication_type") != "serial")["portfolio_id"].sort().to_list()},
        "inactive_portfolios": portfolios.filter(pl.col("availability") == "Not Available")["portfolio_id"].sort().to_list(),
        "not_available_collections": collections.filter(~pl.col("collection_available"))["collection_id"].to_list(),
        "cz_url_overrides": portfolios.filter(pl.col("url_override"))["portfolio_id"].sort().to_list(),
        "po_lines": with_pol.select("po_line", "pol_status", "portfolio_id", "role").sort("po_line").to_dicts(),
        "extended_export_truth": ee_truth,
    }
