"""Is a file the kind it was given as? And which of its headers did no alias recognise?

Each kind has marks: header names only that kind of export carries.
- Extended Export: the Portfolio Loader's UPPER_SNAKE names that no other export has
  (LOCALIZED, FROM_YEAR, GLOBAL_..., PROXY_ENABLE, ...), exactly as written.
- PO line export: a PO line header together with order-line fields (Order Line Type,
  Vendor, PO Line Title, ...).
- Portfolio export: a portfolio id header together with inventory fields (collection, CZ
  link, availability, coverage).
A file read as one kind that carries another kind's marks (and, for the portfolio and P2E
kinds, lacks its own) is refused: InputError naming the kind it looks like.

A portfolio export repeats no portfolio id: a repeated id is refused naming both rows.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path

import polars as pl

from almaclean.errors import InputError
from almaclean.kinds.aliases import ALIASES, fold
from almaclean.kinds.common import KindRead, Source, as_table
from almaclean.kinds.headers import normalise_header

KIND_LABELS = {
    "portfolios": "a portfolio export",
    "p2e": "a P2E file",
    "po-lines": "a PO line export",
    "extended-export": "an Extended Export",
}

# Names only the Extended Export / Portfolio Loader uses (compared exactly, case included).
EXTENDED_EXPORT_ONLY = frozenset({
    "LOCALIZED", "FROM_YEAR", "TO_YEAR", "FROM_MONTH", "TO_MONTH", "FROM_DAY", "TO_DAY", "FROM_VOLUME",
    "TO_VOLUME", "FROM_ISSUE", "TO_ISSUE", "WARNINGS", "PUBLICATION_DATE_OPERATOR", "PUBLICATION_DATE_YEAR",
    "PUBLICATION_DATE_MONTH", "GLOBAL_FROM_YEAR", "GLOBAL_TO_YEAR", "GLOBAL_WARNINGS", "PARSER_PARAMETERS",
    "PROXY_ENABLE", "PROXY_SELECTED", "PROXY_LEVEL", "ELECTRONIC_MATERIAL_TYPE", "OWNERSHIP", "GROUP_NAME",
    "AUTHENTICATION_NOTES", "PUBLIC_NOTES", "INTERNAL_DESCRIPTION", "ACTIVATION_DATE",
    "EXPECTED_ACTIVATION_DATE", "COLLECTION_LICENSE", "COLLECTION_LICENSE_NAME", "PDA", "EBA", "ACCESS_TYPE",
    "OTHER_SYSTEM_NUMBER", "PLACE_OF_PUBLICATION", "DATE_OF_PUBLICATION",
})
EXTENDED_EXPORT_MARKS = 4
ORDER_LINE_FIELDS = frozenset(fold(n) for n in (
    "Order Line Type", "PO Line Title", "Vendor Name", "Vendor", "Vendor Code", "PO Line Status",
    "Acquisition Method", "Order Line Type Name", "PO Line Owner",
))
INVENTORY_FIELDS = frozenset(fold(n) for column in (
    "collection_id", "collection_name", "interface_name", "portfolio_linked_to_cz", "collection_linked_to_cz",
    "availability", "coverage_statement", "is_standalone",
) for n in ALIASES["portfolios"][column])


def _names(kind: str, column: str) -> frozenset[str]:
    return frozenset(fold(n) for n in ALIASES[kind][column])


def marks(header: Iterable[str]) -> dict[str, bool]:
    """Kind -> whether the header carries that kind's marks (and "any loader name")."""
    cells = [normalise_header(cell) for cell in header]
    folded = {fold(cell) for cell in cells} - {""}
    loader_names = sum(cell in EXTENDED_EXPORT_ONLY for cell in cells)
    extended = loader_names >= EXTENDED_EXPORT_MARKS
    po_line = bool(folded & _names("po-lines", "po_line")) and len(folded & ORDER_LINE_FIELDS) >= 1
    portfolio = bool(folded & _names("portfolios", "portfolio_id")) and len(folded & INVENTORY_FIELDS) >= 1
    legacy = bool(folded & _names("p2e", "legacy_id"))
    return {"extended-export": extended, "po-lines": po_line, "portfolios": portfolio and not extended,
            "p2e": legacy, "any loader name": loader_names > 0}


def looks_like(kind: str, header: Iterable[str]) -> str | None:
    """The other kind a file read as `kind` looks like, or None when nothing says otherwise."""
    found = marks(header)
    if kind == "portfolios":
        order = ("extended-export", "po-lines")
    elif kind == "p2e":
        order = () if found["p2e"] else ("extended-export", "po-lines", "portfolios")
    elif kind == "po-lines":
        order = ("extended-export",) + (() if found["po-lines"] else ("portfolios",))
    else:  # extended-export: an old or trimmed export may carry only a few loader names
        order = () if found["any loader name"] else ("po-lines", "portfolios")
    return next((other for other in order if found[other]), None)


def other_kind_error(kind: str, header: Iterable[str], path: str | Path) -> InputError | None:
    """The InputError for a file given as `kind` whose columns are another kind's, or None."""
    header = tuple(header)
    other = looks_like(kind, header)
    if other is None:
        return None
    return InputError(
        f"this file was given as {KIND_LABELS[kind]} but its columns are those of {KIND_LABELS[other]} "
        f"(headers: {', '.join(repr(h) for h in header if h.strip())[:300]}): give it as "
        f"{other}, or give the right file", file=path)


def check_kind_of(read: KindRead) -> None:
    """InputError when the file's columns are another kind's."""
    error = other_kind_error(read.kind, read.table.header, read.table.path)
    if error is not None:
        raise error


def refused_as_other_kind(kind: str, source: Source) -> InputError | None:
    """After a kind's reader refused a file: the clearer error when its columns are another
    kind's (the file is read again only on this failure path)."""
    try:
        table = as_table(source)
    except InputError:
        return None
    return other_kind_error(kind, table.header, table.path)


def check_unique_portfolio_ids(read: KindRead) -> None:
    """A portfolio export lists each portfolio once: InputError naming both rows of a repeated id."""
    if read.kind != "portfolios" or "portfolio_id" not in read.present:
        return
    repeated = read.canonical.filter(pl.col("portfolio_id").is_duplicated()).select("row", "portfolio_id")
    if repeated.height == 0:
        return
    first_id = repeated.sort("row").item(0, "portfolio_id")
    rows = repeated.filter(pl.col("portfolio_id") == first_id).get_column("row").sort().to_list()
    raise InputError(
        f"portfolio id {first_id} is on rows {rows[0]} and {rows[1]}"
        + (f" (and {len(rows) - 2} more)" if len(rows) > 2 else "")
        + f"; {repeated.get_column('portfolio_id').n_unique()} ids repeat in all. A portfolio export lists each "
        "portfolio once: remove the repeated rows (an Analytics report repeats a portfolio when a column such "
        "as PO line has several values; leave that column out or put its values in one cell)",
        file=read.table.path, row=rows[1], column=read.source_name("portfolio_id"))


def check_read(read: KindRead) -> None:
    """Every check of this module on one file just read."""
    check_kind_of(read)
    check_unique_portfolio_ids(read)


# Words in a header that say what a column is about -> the canonical column it likely is.
_HINTS: tuple[tuple[frozenset[str], dict[str, str]], ...] = (
    (frozenset({"po", "pol", "order", "orders"}),
     {"portfolios": "po_line", "p2e": "po_number", "po-lines": "po_line", "extended-export": "po_line"}),
    (frozenset({"coverage"}), {"portfolios": "coverage_statement", "extended-export": "coverage_statement"}),
    (frozenset({"license", "licence"}), {"portfolios": "license_name"}),
    (frozenset({"availability", "available", "active"}),
     {"portfolios": "availability", "extended-export": "availability"}),
    (frozenset({"collection"}), {"portfolios": "collection_name"}),
    (frozenset({"cz", "community"}), {"portfolios": "portfolio_linked_to_cz"}),
    (frozenset({"mms"}), {"portfolios": "mms_id", "po-lines": "mms_id", "extended-export": "mms_id"}),
    (frozenset({"portfolio", "pid"}), {"portfolios": "portfolio_id", "po-lines": "portfolio_id"}),
    (frozenset({"issn", "eissn"}), {"portfolios": "issn", "p2e": "issn", "extended-export": "issn"}),
    (frozenset({"isbn", "eisbn"}), {"portfolios": "isbn", "p2e": "isbn", "extended-export": "isbn"}),
    (frozenset({"publication", "published"}), {"portfolios": "publication_date"}),
    (frozenset({"standalone"}), {"portfolios": "is_standalone"}),
    (frozenset({"legacy"}), {"p2e": "legacy_id"}),
    (frozenset({"status"}), {"po-lines": "status"}),
)
_WORDS = re.compile(r"[A-Za-z]+|\d+")


def _guess(kind: str, header: str) -> str | None:
    words = {w.lower() for w in _WORDS.findall(normalise_header(header))}
    for hint, columns in _HINTS:
        if words & hint and kind in columns:
            return columns[kind]
    return None


def mapping_line(kind: str, column: str, header: str) -> str:
    """The mapping-file line, under the [kind] table, that would make `header` feed `column`."""
    return f"{column} = [{json.dumps(header, ensure_ascii=False)}]"


def unrecognised_columns(read: KindRead) -> list[tuple[str, str, str]]:
    """(kind, header, mapping line) for each header no alias recognised that names a column the
    analysis could use and that the file does not otherwise have."""
    used = {j for positions in read.sources.values() for j in positions}
    result = []
    for j, header in enumerate(read.table.header):
        if j in used or not header.strip():
            continue
        column = _guess(read.kind, header)
        if column is not None and column not in read.present and column in ALIASES[read.kind]:
            result.append((read.kind, header, mapping_line(read.kind, column, header)))
    return result
