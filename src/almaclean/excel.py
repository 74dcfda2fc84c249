"""What an Excel worksheet can hold: limits the reader checks inputs against and the writer
checks outputs against."""
from __future__ import annotations

import polars as pl

EXCEL_MAX_ROWS = 1_048_576
EXCEL_MAX_COLS = 16_384
EXCEL_MAX_CHARS = 32_767  # UTF-16 code units in one cell

_ASTRAL = r"[\x{10000}-\x{10FFFF}]"


def utf16_length(col: pl.Expr) -> pl.Expr:
    """Length as Excel counts it: characters above U+FFFF take two UTF-16 units."""
    return col.str.len_chars() + col.str.count_matches(_ASTRAL)
