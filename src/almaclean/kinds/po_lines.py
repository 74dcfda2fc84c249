"""PO line exports: PO Line Reference required; status upper-cased (ACTIVE, CLOSED, ...)."""
from __future__ import annotations

from dataclasses import replace

import polars as pl

from almaclean.kinds.common import KindRead, Source, read_with_aliases
from almaclean.kinds.mapping import UserMapping

KIND = "po-lines"


def read(source: Source, mapping: UserMapping | None = None) -> KindRead:
    kind_read = read_with_aliases(KIND, source, mapping)
    return replace(kind_read, canonical=kind_read.canonical.with_columns(pl.col("status").str.to_uppercase()))
