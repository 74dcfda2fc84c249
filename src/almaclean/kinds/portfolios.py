"""Portfolio inventory exports (Analytics E-Inventory reports, repository search exports)."""
from __future__ import annotations

from pathlib import Path

from almaclean.kinds.common import KindRead, read_with_aliases
from almaclean.kinds.mapping import UserMapping

KIND = "portfolios"


def read(path: str | Path, mapping: UserMapping | None = None) -> KindRead:
    """Columns by header name; portfolio_id and mms_id required in every row, digits only."""
    return read_with_aliases(KIND, path, mapping)
