"""Audit an Extended Export against the re-sync guide's categories, by column name.

Pure functions over the exact header and the positional text frame (c0..cN) of
`read.table`. A category whose columns are all absent is "not checked": its count
is None, never 0, and the decision cannot be "reactivate_all".
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import polars as pl

log = logging.getLogger(__name__)

CATEGORIES = ("localized_n", "local_coverage", "inactive", "notes", "acquisitions", "override_url")

LOCAL_DATE_COLUMNS = (
    "FROM_YEAR", "TO_YEAR", "FROM_MONTH", "TO_MONTH", "FROM_DAY", "TO_DAY",
    "FROM_VOLUME", "TO_VOLUME", "FROM_ISSUE", "TO_ISSUE", "EXPECTED_ACTIVATION_DATE",
)
NOTES_COLUMNS = ("AUTHENTICATION_NOTES", "PUBLIC_NOTES", "INTERNAL_DESCRIPTION", "NOTES")
ACQUISITIONS_COLUMNS = (
    "LICENSE", "LICENSE_NAME", "COLLECTION_LICENSE", "COLLECTION_LICENSE_NAME", "PDA", "EBA", "PO_LINE",
)

CATEGORY_COLUMNS: dict[str, tuple[str, ...]] = {
    "localized_n": ("LOCALIZED",),
    "local_coverage": LOCAL_DATE_COLUMNS + ("COVERAGE_STATEMENT",),
    "inactive": ("AVAILABILITY",),
    "notes": NOTES_COLUMNS,
    "acquisitions": ACQUISITIONS_COLUMNS,
    "override_url": ("URL",),
}

CATEGORY_TITLES = {
    "localized_n": "Localized portfolios (LOCALIZED = N, not linked to the CZ)",
    "local_coverage": "Local coverage (local dates, volumes, issues or a local coverage statement)",
    "inactive": "Inactive portfolios (AVAILABILITY = INACTIVE)",
    "notes": "Notes (authentication, public, internal description, notes)",
    "acquisitions": "Acquisitions data (licenses, PDA, EBA, PO line)",
    "override_url": "Override URLs (URL column filled)",
}

_LOCAL_STATEMENT = r"(?i)\blocal\b"


def column_key(name: str) -> str:
    """How a header cell is compared with the guide's column names."""
    return name.strip().upper()


def column_positions(header: tuple[str, ...] | list[str]) -> dict[str, list[int]]:
    """Every position of each header name (duplicates keep all their positions)."""
    positions: dict[str, list[int]] = {}
    for i, name in enumerate(header):
        positions.setdefault(column_key(name), []).append(i)
    return positions


def positions_of(header, names: tuple[str, ...] | list[str]) -> list[int]:
    """Positions of the named columns present in the header, in header order."""
    wanted = set(names)
    return [i for i, name in enumerate(header) if column_key(name) in wanted]


def filled(col: str) -> pl.Expr:
    """A cell holds data: not null and not only spaces."""
    return pl.col(col).str.strip_chars().fill_null("") != ""


def _equals(col: str, value: str) -> pl.Expr:
    return (pl.col(col).str.strip_chars().str.to_uppercase() == value).fill_null(False)


def _any(exprs: list[pl.Expr]) -> pl.Expr:
    return pl.any_horizontal(exprs) if exprs else pl.lit(False)


def category_expressions(header) -> dict[str, pl.Expr]:
    """One boolean expression per checked category; not-checked categories are absent."""
    pos = column_positions(header)

    def cols(names) -> list[str]:
        return [f"c{i}" for name in names for i in pos.get(name, [])]

    exprs: dict[str, pl.Expr] = {}
    if cols(["LOCALIZED"]):
        exprs["localized_n"] = _any([_equals(c, "N") for c in cols(["LOCALIZED"])])
    coverage = [filled(c) for c in cols(LOCAL_DATE_COLUMNS)]
    coverage += [pl.col(c).str.contains(_LOCAL_STATEMENT).fill_null(False) for c in cols(["COVERAGE_STATEMENT"])]
    if coverage:
        exprs["local_coverage"] = _any(coverage)
    if cols(["AVAILABILITY"]):
        exprs["inactive"] = _any([_equals(c, "INACTIVE") for c in cols(["AVAILABILITY"])])
    for category in ("notes", "acquisitions", "override_url"):
        present = cols(CATEGORY_COLUMNS[category])
        if present:
            exprs[category] = _any([filled(c) for c in present])
    return exprs


@dataclass(frozen=True)
class Audit:
    rows: int
    flags: pl.DataFrame                      # one Boolean column per checked category, frame row order
    counts: dict[str, int | None]            # None = not checked
    not_checked: list[str]                   # categories whose columns are all absent
    missing_columns: dict[str, list[str]]    # per category, the guide's columns absent from the export
    decision: str                            # "reactivate_all" | "manual_load"


def decide(counts: dict[str, int | None]) -> str:
    """Reactivate all only when every category was checked and none holds data."""
    if all(counts.get(c) == 0 for c in CATEGORIES):
        return "reactivate_all"
    return "manual_load"


def audit_table(header, frame: pl.DataFrame) -> Audit:
    """Count the rows of each category; list what could not be checked."""
    exprs = category_expressions(header)
    flags = frame.select([e.alias(name) for name, e in exprs.items()]) if exprs else pl.DataFrame()
    sums = flags.select(pl.all().sum()).row(0, named=True) if flags.width else {}
    counts = {c: (int(sums[c]) if c in sums else None) for c in CATEGORIES}
    present = set(column_positions(header))
    missing = {c: [n for n in CATEGORY_COLUMNS[c] if n not in present] for c in CATEGORIES}
    not_checked = [c for c in CATEGORIES if counts[c] is None]
    decision = decide(counts)
    log.info("audited %d rows: %s; not checked: %s; decision %s",
             frame.height, counts, not_checked or "none", decision)
    return Audit(frame.height, flags, counts, not_checked,
                 {c: m for c, m in missing.items() if m}, decision)
