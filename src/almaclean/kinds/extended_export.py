"""Extended Export of one e-collection (the Portfolio Loader's UPPER_SNAKE columns).

ISSN, ISBN and OTHER_SYSTEM_NUMBER each appear three times under the same header: their
non-empty values are joined with "; " (aliases.MULTI_VALUE). Every other column of the
export stays, cell for cell, in the KindRead's table.
"""
from __future__ import annotations

from pathlib import Path

from almaclean.kinds.common import KindRead, Source, read_with_aliases
from almaclean.kinds.mapping import UserMapping

# Alma names an Extended Export after its collection: `JSTOR+Open+Access_portfolios.xlsx`.
EXTENDED_EXPORT_SUFFIX = "_portfolios"

KIND = "extended-export"


def read(source: Source, mapping: UserMapping | None = None) -> KindRead:
    return read_with_aliases(KIND, source, mapping)


def collection_name_of(path: Path) -> str:
    """`JSTOR+Open+Access_portfolios.xlsx` -> `JSTOR Open Access` (Alma's naming convention)."""
    stem = Path(path).stem
    if stem.endswith(EXTENDED_EXPORT_SUFFIX):
        stem = stem[: -len(EXTENDED_EXPORT_SUFFIX)]
    return stem.replace("+", " ").strip() or Path(path).stem
