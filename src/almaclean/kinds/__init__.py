"""Kinds of input file: find their columns by header name and check them.

read_kind(kind, path) reads a file (read.table), maps its headers to canonical columns
(kinds.aliases + an optional user mapping, kinds.mapping), checks the IDs and returns a
KindRead with the lossless table and the canonical frame.
"""
from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

from almaclean.errors import InputError
from almaclean.kinds import extended_export, p2e, po_lines
from almaclean.kinds.aliases import ALIASES, REQUIRED, canonical_columns, check_kind
from almaclean.kinds.registry import NAMES as KIND_NAMES
from almaclean.kinds.common import KindRead, Source, read_with_aliases
from almaclean.kinds.identify import check_read, refused_as_other_kind, unrecognised_columns
from almaclean.kinds.kbart import CZTitleList, read_cz_title_lists, read_cz_titles
from almaclean.kinds.mapping import UserMapping, load_mapping, resolve_columns

READERS: dict[str, Callable[[Source, UserMapping | None], KindRead]] = {
    "portfolios": partial(read_with_aliases, "portfolios"),
    p2e.KIND: p2e.read,
    po_lines.KIND: po_lines.read,
    extended_export.KIND: extended_export.read,
}


def read_kind(kind: str, source: Source, *, mapping: UserMapping | None = None) -> KindRead:
    """Read one file (or its table, read already) as a kind; mapping: {canonical column: [header
    names]} for this kind. A file whose columns are another kind's, or a portfolio export
    repeating an id, is refused."""
    try:
        read = READERS[check_kind(kind)](source, mapping)
    except InputError as error:
        raise refused_as_other_kind(kind, source) or error from None
    check_read(read)
    return read


__all__ = ["ALIASES", "KIND_NAMES", "REQUIRED", "CZTitleList", "KindRead", "canonical_columns", "load_mapping",
           "read_cz_title_lists", "read_cz_titles", "read_kind", "resolve_columns", "unrecognised_columns"]
