"""Audit an Extended Export against the re-sync guide's categories, by column name.

Pure functions over the exact header and the positional text frame (c0..cN) of
`read.table`. A category is checked only when every column the guide lists for it is in
the export under its own name; a category missing any of them, or beside a header that
looks like one of them under another spelling ("PO LINE"), is "not checked" and the
decision cannot be "reactivate_all". A category with none of its columns counts None.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import polars as pl

from almaclean.kinds.aliases import EXTENDED_EXPORT_KNOWN_COLUMNS
from almaclean.kinds.headers import normalise_header
from almaclean.read.table import excel_letter

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

REACTIVATE_ALL, MANUAL_LOAD, NOTHING_TO_LOAD = "reactivate_all", "manual_load", "nothing_to_load"

# The category of each guide column.
GUIDE_COLUMNS: dict[str, str] = {name: c for c, names in CATEGORY_COLUMNS.items() for name in names}

# Words that put an unknown header near a category even when it resembles no guide name.
_CATEGORY_WORDS = {
    "PO": "acquisitions", "POL": "acquisitions", "POLS": "acquisitions", "ORDER": "acquisitions",
    "LICENSE": "acquisitions", "LICENCE": "acquisitions", "PDA": "acquisitions", "EBA": "acquisitions",
    "COVERAGE": "local_coverage", "NOTE": "notes", "NOTES": "notes",
    "LOCALIZED": "localized_n", "LOCALISED": "localized_n", "AVAILABILITY": "inactive",
    "OVERRIDE": "override_url",
}
# Guide names this short are matched only when spelt the same (URL must not catch STATIC_URL).
_MIN_NEAR = 5


def column_key(name: str) -> str:
    """How a header cell is compared with the guide's column names: exactly, case included (the
    Portfolio Loader reads "PO_LINE", not "Po_Line"), once normalised (kinds.headers: spaces around
    it, invisible characters and Unicode compatibility forms aside)."""
    return normalise_header(name)


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
    """True when any of the (one or more) expressions is."""
    return pl.any_horizontal(exprs)


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


def _squashed(name: str) -> str:
    return re.sub(r"[^0-9a-z]", "", name.casefold())


def _words(name: str) -> set[str]:
    """"Po_Line" and "POLine" -> {"PO", "LINE"}."""
    return {w.upper() for w in re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+", name)}


def _one_edit_apart(a: str, b: str) -> bool:
    """One letter changed, added or left out."""
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b)) <= 1
    short, long = sorted((a, b), key=len)
    return any(long[:i] + long[i + 1:] == short for i in range(len(long)))


def _resembled(squashed: str) -> str | None:
    """The guide column a header spelt otherwise stands for, if any."""
    for name in GUIDE_COLUMNS:
        if squashed == _squashed(name):
            return name
    for name in GUIDE_COLUMNS:
        guide = _squashed(name)
        if len(guide) >= _MIN_NEAR and (_one_edit_apart(squashed, guide) or guide in squashed):
            return name
    return None


@dataclass(frozen=True)
class Unrecognised:
    """A header cell that is no guide column but looks like one: its cells are not read."""
    position: int
    header: str
    category: str
    looks_like: str | None   # the guide column it resembles; None when only its words point to the category

    def place(self) -> str:
        return f"{self.header!r} (column {excel_letter(self.position)})"

    def fix(self) -> str:
        names = [self.looks_like] if self.looks_like else list(CATEGORY_COLUMNS[self.category])
        target = names[0] if len(names) == 1 else "one of " + ", ".join(names)
        return (f"if this column is the guide's {target}, rename its header cell to exactly that name in the "
                "export (the Portfolio Loader reads columns by their exact names) and run almaclean again; "
                "if it is not, check its cells by hand before deciding")


def unrecognised_headers(header) -> list[Unrecognised]:
    """Header cells that match no guide column or known Extended Export column but look like a
    guide column (same letters spelt otherwise, one letter off, the name inside a longer one) or
    carry a word of a category (PO, order, license, coverage, note...)."""
    found = []
    for position, name in enumerate(header):
        if column_key(name) in EXTENDED_EXPORT_KNOWN_COLUMNS:   # every guide column among them
            continue
        like = _resembled(_squashed(column_key(name)))
        if like is not None:
            found.append(Unrecognised(position, name, GUIDE_COLUMNS[like], like))
            continue
        categories = sorted({_CATEGORY_WORDS[w] for w in _words(column_key(name)) if w in _CATEGORY_WORDS},
                            key=CATEGORIES.index)
        if categories:
            found.append(Unrecognised(position, name, categories[0], None))
    return found


@dataclass(frozen=True)
class Audit:
    rows: int
    flags: pl.DataFrame                      # one Boolean column per category with a column present
    counts: dict[str, int | None]            # rows holding data in the columns present; None = none present
    not_checked: dict[str, list[str]]        # category -> guide columns absent, or headers not recognised
    missing_columns: dict[str, list[str]]    # per category, the guide's columns absent from the export
    unrecognised: tuple[Unrecognised, ...]   # headers that look like a guide column but are not one
    decision: str                            # REACTIVATE_ALL | MANUAL_LOAD | NOTHING_TO_LOAD


def decide(portfolios: int, counts: dict[str, int | None], not_checked: dict[str, list[str]]) -> str:
    """Nothing to load without portfolios; reactivate all only when every category was fully
    checked and none holds data; otherwise a manual load."""
    if portfolios == 0:
        return NOTHING_TO_LOAD
    if not not_checked and all(counts.get(c) == 0 for c in CATEGORIES):
        return REACTIVATE_ALL
    return MANUAL_LOAD


def portfolio_rows(frame: pl.DataFrame) -> int:
    """Rows with at least one cell (a row of empty cells is no portfolio)."""
    if not frame.width:
        return 0
    return int(frame.select(pl.any_horizontal(pl.all().is_not_null()).sum()).item())


def audit_table(header, frame: pl.DataFrame) -> Audit:
    """Count the rows of each category; list what could not be checked and why."""
    exprs = category_expressions(header)
    flags = frame.select([e.alias(name) for name, e in exprs.items()])
    sums = flags.select(pl.all().sum()).row(0, named=True) if flags.width else {}
    counts = {c: (int(sums[c] or 0) if c in sums else None) for c in CATEGORIES}
    present = set(column_positions(header))
    missing = {c: [n for n in CATEGORY_COLUMNS[c] if n not in present] for c in CATEGORIES}
    unrecognised = tuple(unrecognised_headers(header))
    not_checked: dict[str, list[str]] = {}
    for c in CATEGORIES:
        odd = [f"{u.header!r} (not recognised)" for u in unrecognised
               if u.category == c and u.looks_like not in missing[c]]
        if missing[c] or odd:
            not_checked[c] = missing[c] + odd
    decision = decide(portfolio_rows(frame), counts, not_checked)
    log.info("audited %d rows: %s; not checked: %s; not recognised: %s; decision %s",
             frame.height, counts, not_checked or "none", [u.header for u in unrecognised] or "none", decision)
    return Audit(frame.height, flags, counts, not_checked,
                 {c: m for c, m in missing.items() if m}, unrecognised, decision)
