"""What an Excel worksheet can hold (limits the reader checks inputs against and the writer
checks outputs against) and Sheet, the plan of one worksheet that rules build and write/xlsx.py
writes."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import polars as pl

EXCEL_MAX_ROWS = 1_048_576
EXCEL_MAX_COLS = 16_384
EXCEL_MAX_CHARS = 32_767  # UTF-16 code units in one cell
DEFAULT_HIGHLIGHT = "#FFEB9C"

_ASTRAL = r"[\x{10000}-\x{10FFFF}]"


def utf16_length(col: pl.Expr) -> pl.Expr:
    """Length as Excel counts it: characters above U+FFFF take two UTF-16 units."""
    return col.str.len_chars() + col.str.count_matches(_ASTRAL)


@dataclass(frozen=True)
class Sheet:
    """One worksheet: an exact header row (duplicates kept) over a frame of the same width.

    highlight: (row_index, col_index) in frame coordinates (row 0 = first data row).
    validations: column index -> allowed values (a dropdown over the data rows).
    text_only: when False, numeric columns are written as numbers (counts in summaries).
    header_note: (title, message) Excel shows in a box while a header cell is selected (A1 is,
        when the file opens): a warning that is no cell value, so the header row stays exact.
    tab_color: the sheet tab's colour ("#C00000").
    """

    name: str
    header: Sequence[str]
    frame: pl.DataFrame
    freeze: bool = field(default=True, kw_only=True)
    autofilter: bool = field(default=True, kw_only=True)
    widths: dict[int, float] | None = field(default=None, kw_only=True)
    highlight: frozenset[tuple[int, int]] | set[tuple[int, int]] = field(default=frozenset(), kw_only=True)
    text_only: bool = field(default=True, kw_only=True)
    validations: dict[int, list[str]] | None = field(default=None, kw_only=True)
    highlight_color: str = field(default=DEFAULT_HIGHLIGHT, kw_only=True)
    header_note: tuple[str, str] | None = field(default=None, kw_only=True)
    tab_color: str | None = field(default=None, kw_only=True)
