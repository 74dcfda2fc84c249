"""Audit an Extended Export for local and acquisitions data, by what each column means.

Pure functions over the exact header and the positional text frame (c0..cN) of `read.table`.
Every header cell is looked up in the Extended Export model (`almaclean.model.extended_export`,
after `column_key`):
- a local column with a local value in a row puts that row in its category (a review sheet):
  a value that is not empty, not neutral (LOCALIZED "Y", AVAILABILITY "ACTIVE", PROXY_ENABLE
  "false"), matching the column's pattern if it has one (COVERAGE_STATEMENT "Only local"), and
  different from its GLOBAL_ twin when it has one (a local embargo is PUBLICATION_DATE_* differing
  from, or without, GLOBAL_PUBLICATION_DATE_*);
- global and system columns never count;
- an unknown column is judged by its content: empty in every row, it is checked and holds
  nothing; with values, those rows are "not checked" (category unknown_columns);
- a local column that real exports carry (`required`) and this export lacks leaves its
  category "not checked".
The decision is "reactivate_all" only when every category is checked and no row holds local data.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import polars as pl

from almaclean.model import header_key
from almaclean.model.columns import blank, text_of
from almaclean.model import extended_export as model
from almaclean.read.table import excel_letter

log = logging.getLogger(__name__)

# Model topic of a local column -> the review category (sheet) its rows go to.
TOPIC_CATEGORY = {
    "localized": "localized_n", "coverage": "local_coverage", "availability": "inactive", "notes": "notes",
    "acquisitions": "acquisitions", "linking": "override_url", "access": "local_settings",
}
UNKNOWN = "unknown_columns"
CATEGORIES = (*TOPIC_CATEGORY.values(), UNKNOWN)
CATEGORY_TOPIC = {category: topic for topic, category in TOPIC_CATEGORY.items()}

CATEGORY_TITLES = {
    "localized_n": "Localized portfolios (LOCALIZED = N, not linked to the CZ)",
    "local_coverage": "Local coverage (local dates, volumes, issues, embargo or a local coverage statement)",
    "inactive": "Inactive portfolios (AVAILABILITY = INACTIVE)",
    "notes": "Notes (authentication, public, internal description, notes)",
    "acquisitions": "Acquisitions data (licenses, PDA, EBA, PO lines)",
    "override_url": "Override URLs (URL column filled)",
    "local_settings": "Other local settings (proxy, group or library, access type, simultaneous users)",
    UNKNOWN: "Columns almaclean does not know, holding values (not checked)",
}

REACTIVATE_ALL, MANUAL_LOAD, NOTHING_TO_LOAD = "reactivate_all", "manual_load", "nothing_to_load"

# The category of each guide column (what a look-alike header is compared with).
GUIDE_COLUMNS: dict[str, str] = {c.name: TOPIC_CATEGORY[c.topic] for c in model.COLUMNS if c.name in model.GUIDE}

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


def column_key(name: str | None) -> str:
    """How a header cell is compared with the model's names: the model's header_key (Unicode
    NFKC, format characters removed, spaces around it stripped; case and spelling kept)."""
    return header_key(name)


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
    """A cell holds data: not blank (model.columns.blank)."""
    return ~blank(pl.col(col))


@dataclass(frozen=True)
class LocalCell:
    """One local column of the export: where it is, what it is, and its GLOBAL_ twin's position."""
    position: int
    name: str              # the model's name (after column_key)
    category: str
    twin: int | None = None

    def local(self) -> pl.Expr:
        """True in the rows where this cell holds local data (see the module notes)."""
        spec = model.BY_NAME[self.name]
        value = text_of(pl.col(f"c{self.position}"))
        found = value.is_not_null()
        if spec.neutral:
            found = found & ~value.str.to_lowercase().is_in([v.lower() for v in spec.neutral])
        if spec.local_pattern:
            found = found & value.str.contains(spec.local_pattern)
        if self.twin is not None:
            found = found & value.ne_missing(text_of(pl.col(f"c{self.twin}")))
        return found   # never null: an empty cell is False in the first term


def local_cells(header) -> tuple[LocalCell, ...]:
    """The local columns of the export, in header order (a repeated name at each position)."""
    positions = column_positions(header)
    cells = []
    for position, name in enumerate(header):
        spec = model.column(name)
        if spec is None or spec.role != model.LOCAL:
            continue
        twin = positions[spec.twin][0] if spec.twin in positions else None
        cells.append(LocalCell(position, spec.name, TOPIC_CATEGORY[spec.topic], twin))
    return tuple(cells)


def unknown_positions(header) -> list[int]:
    """Header cells the model does not know (blank header cells included)."""
    return [i for i, name in enumerate(header) if model.column(name) is None]


def category_positions(header, category: str) -> list[int]:
    """The export columns that decide a category's rows: each local column followed by its
    GLOBAL_ twin (a twin once, after its first local column)."""
    shown: list[int] = []
    for cell in local_cells(header):
        if cell.category != category:
            continue
        shown.append(cell.position)
        if cell.twin is not None and cell.twin not in shown:
            shown.append(cell.twin)
    return shown


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
    """A header cell the model does not know but that looks like a guide column."""
    position: int
    header: str
    category: str
    looks_like: str | None   # the guide column it resembles; None when only its words point to the category

    def place(self) -> str:
        return f"{self.header!r} (column {excel_letter(self.position)})"

    def fix(self) -> str:
        names = [self.looks_like] if self.looks_like else [n for n, c in GUIDE_COLUMNS.items() if c == self.category]
        target = names[0] if len(names) == 1 else "one of " + ", ".join(names)
        return (f"if this column is the guide's {target}, rename its header cell to exactly that name in the "
                "export (the Portfolio Loader reads columns by their exact names) and run almaclean again; "
                "if it is not, check its cells by hand before deciding")


def unrecognised_headers(header) -> list[Unrecognised]:
    """Header cells that match no known Extended Export column but look like a guide column
    (same letters spelt otherwise, one letter off, the name inside a longer one) or carry a word
    of a category (PO, order, license, coverage, note...)."""
    found = []
    for position, name in enumerate(header):
        if model.column(name) is not None or not column_key(name):
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
    flags: pl.DataFrame                      # one Boolean column per category (all False without its columns)
    counts: dict[str, int | None]            # rows holding data in the columns present; None = none present
    not_checked: dict[str, list[str]]        # category -> required columns absent / unknown columns with values
    missing_columns: dict[str, list[str]]    # per category, the required columns absent from the export
    unrecognised: tuple[Unrecognised, ...]   # unknown headers that look like a guide column
    decision: str                            # REACTIVATE_ALL | MANUAL_LOAD | NOTHING_TO_LOAD
    cells: tuple[LocalCell, ...] = ()        # the export's local columns
    unknown_with_values: tuple[int, ...] = ()  # positions of unknown columns holding a value
    empty_extra: tuple[int, ...] = ()        # positions of unknown columns empty in every row (checked)
    header: tuple[str, ...] = ()

    def place(self, position: int) -> str:
        """"'POL' (column BF)"."""
        return f"{self.header[position]!r} (column {excel_letter(position)})"


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


def _unknown_filled(header, frame: pl.DataFrame) -> tuple[list[int], list[int]]:
    """(unknown columns holding a value, unknown columns empty in every row)."""
    unknown = unknown_positions(header)
    if not unknown or not frame.height:
        return [], unknown
    has = frame.select([filled(f"c{p}").any().alias(str(p)) for p in unknown]).rows()[0]
    return [p for p, h in zip(unknown, has) if h], [p for p, h in zip(unknown, has) if not h]


def audit_table(header, frame: pl.DataFrame) -> Audit:
    """Count the rows of each category; list what could not be checked and why."""
    header = tuple(header)
    cells = local_cells(header)
    with_values, empty = _unknown_filled(header, frame)
    exprs: dict[str, list[pl.Expr]] = {}
    for cell in cells:
        exprs.setdefault(cell.category, []).append(cell.local())
    if with_values:
        exprs[UNKNOWN] = [filled(f"c{p}") for p in with_values]
    flags = frame.select([(pl.any_horizontal(exprs[c]) if c in exprs else pl.repeat(False, pl.len())).alias(c)
                          for c in CATEGORIES])
    sums = flags.select(pl.all().sum()).rows(named=True)[0]
    counts = {c: (int(sums[c] or 0) if c in exprs else None) for c in CATEGORIES}
    counts[UNKNOWN] = counts[UNKNOWN] or 0
    present = set(column_positions(header))
    missing = {c: [n for n in model.required_columns(CATEGORY_TOPIC[c]) if n not in present]
               for c in CATEGORIES if c != UNKNOWN}
    not_checked: dict[str, list[str]] = {c: m for c, m in missing.items() if m}
    if with_values:
        not_checked[UNKNOWN] = [f"{header[p]!r} (column {excel_letter(p)})" for p in with_values]
    unrecognised = tuple(unrecognised_headers(header))
    decision = decide(portfolio_rows(frame), counts, not_checked)
    log.info("audited %d rows: %s; not checked: %s; decision %s", frame.height, counts, not_checked, decision)
    return Audit(frame.height, flags, counts, not_checked, {c: m for c, m in missing.items() if m}, unrecognised,
                 decision, cells, tuple(with_values), tuple(empty), header)


def _quoted(prefix: str, col: str, suffix: str = "'") -> pl.Expr:
    """prefix + "'" + the cell (spaces around it stripped) + suffix, literally (no format string)."""
    return pl.concat_str(pl.lit(f"{prefix} '"), pl.col(col).str.strip_chars(), pl.lit(suffix))


def local_details(audit: Audit, frame: pl.DataFrame, category: str, rows_index: list[int]) -> list[str | None]:
    """Per listed row, the cells that put it in the category, in words: "FROM_YEAR '1992'
    (GLOBAL_FROM_YEAR '1990')"; for unknown columns "'POL' (column BF) 'x'"."""
    if not rows_index:
        return []
    parts = ([pl.when(filled(f"c{p}")).then(_quoted(audit.place(p), f"c{p}")) for p in audit.unknown_with_values]
             if category == UNKNOWN else [])
    for cell in audit.cells:
        if cell.category != category:
            continue
        value = _quoted(cell.name, f"c{cell.position}")
        if cell.twin is not None:
            twin = model.BY_NAME[cell.name].twin
            value = pl.concat_str(value, pl.when(blank(pl.col(f"c{cell.twin}"))).then(pl.lit(f" ({twin} empty)"))
                                  .otherwise(_quoted(f" ({twin}", f"c{cell.twin}", "')")))
        parts.append(pl.when(cell.local()).then(value))
    if not parts:
        return [None] * len(rows_index)
    listed = frame.filter(pl.int_range(pl.len()).is_in(rows_index))
    text = listed.select(pl.concat_str(parts, separator="; ", ignore_nulls=True).alias("t"))["t"]
    return [t or None for t in text.to_list()]
