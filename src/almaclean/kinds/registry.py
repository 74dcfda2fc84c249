"""The kinds of input file, in one table: every other list of kinds derives from it (the CLI's
choices, the storage tables, the nightly inbox folders, the header aliases in kinds.aliases).
Data only, so that the command line can read it without loading the readers."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    name: str                   # as the command line and bundle.json say it
    what: str                   # in words, for messages
    table: str                  # the storage table of its canonical rows (sql/schema.sql)
    folders: tuple[str, ...]    # inbox sub-folder names that hold it (docs/nightly.md)
    key: str                    # the canonical column that names a row (its history: store/history.py)
    # Whether a file of no rows says something true. An Extended Export of an empty collection
    # does (nothing to load); an institution-wide export of no rows is a failed or filtered report,
    # and made current it would hide every row of the real one (store.ingest refuses it).
    empty_is_news: bool = False


KINDS: tuple[Kind, ...] = (
    Kind("p2e", "P2E file", "p2e_lines", ("p2e",), "legacy_id"),
    Kind("portfolios", "portfolio export", "portfolios", ("portfolios",), "portfolio_id"),
    Kind("extended-export", "Extended Export", "extended_export_rows", ("extended-export", "extended_export"),
         "portfolio_id", empty_is_news=True),
    Kind("po-lines", "PO line export", "po_lines", ("po-lines", "po_lines"), "po_line"),
)
BY_NAME: dict[str, Kind] = {kind.name: kind for kind in KINDS}
NAMES: tuple[str, ...] = tuple(BY_NAME)
TABLES: dict[str, str] = {kind.name: kind.table for kind in KINDS}
FOLDERS: dict[str, str] = {folder: kind.name for kind in KINDS for folder in kind.folders}
# The kinds a P2E clean-up analyses, in the order they are read.
P2E_INPUTS: tuple[str, ...] = ("portfolios", "p2e", "po-lines")
