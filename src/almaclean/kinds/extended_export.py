"""Extended Export of one e-collection (the Portfolio Loader's UPPER_SNAKE columns).

ISSN, ISBN and OTHER_SYSTEM_NUMBER each appear three times under the same header: their
non-empty values are joined with "; " (aliases.MULTI_VALUE). Every other column of the
export stays, cell for cell, in the KindRead's table.
"""
from __future__ import annotations

from pathlib import Path

from almaclean.kinds.common import KindRead, read_with_aliases
from almaclean.kinds.mapping import UserMapping

KIND = "extended-export"


def read(path: str | Path, mapping: UserMapping | None = None) -> KindRead:
    return read_with_aliases(KIND, path, mapping)
