"""PO line exports: PO Line Reference required; status upper-cased (ACTIVE, CLOSED, ...)."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import polars as pl

from almaclean.kinds.common import KindRead, read_with_aliases
from almaclean.kinds.mapping import UserMapping

KIND = "po-lines"


def read(path: str | Path, mapping: UserMapping | None = None) -> KindRead:
    kind_read = read_with_aliases(KIND, path, mapping)
    return replace(kind_read, canonical=kind_read.canonical.with_columns(pl.col("status").str.to_uppercase()))
