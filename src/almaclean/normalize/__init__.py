"""Pure normalisation of cell values: identifiers, URLs, legacy bib numbers, coverage.

Nothing here reads or writes files. Values that cannot be normalised are kept raw and
flagged, never dropped or "fixed".

`map_unique` is the one way a per-value Python function is applied to a big column:
the function runs once per distinct value and the results are joined back, because
distinct values are far fewer than cells in real exports.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import polars as pl


_UNIT_SEPARATOR = "\x1f"  # never in a spreadsheet cell (xlsx refuses control characters)


def map_unique(series: pl.Series, function: Callable[[Any], Any], return_dtype: pl.DataType) -> pl.Series:
    """`function` applied to every value of `series` (nulls included), computed once per distinct value.

    For return_dtype List(String) an empty list comes back as null.
    """
    if series.len() and series.null_count() == series.len():  # nothing but nulls: one call, no join
        value = function(None)
        if return_dtype == pl.List(pl.String) and not value:
            return pl.Series(series.name, [None], dtype=return_dtype).extend_constant(None, series.len() - 1)
        if return_dtype != pl.List(pl.String):
            return pl.Series(series.name, [value], dtype=return_dtype).extend_constant(value, series.len() - 1)
    distinct = series.unique(maintain_order=True)
    values = [function(value) for value in distinct.to_list()]
    if return_dtype == pl.List(pl.String):
        # building a list Series from Python lists is ~20x slower than splitting joined text
        joined = [_UNIT_SEPARATOR.join(items) if items else None for items in values]
        results = pl.Series(series.name, joined, dtype=pl.String).str.split(_UNIT_SEPARATOR)
    else:
        results = pl.Series(series.name, values, dtype=return_dtype)
    lookup = pl.DataFrame({"__value": distinct, "__result": results})
    mapped = (
        pl.DataFrame({"__value": series})
        .join(lookup, on="__value", how="left", nulls_equal=True, maintain_order="left")
        .get_column("__result")
    )
    return mapped.alias(series.name)
