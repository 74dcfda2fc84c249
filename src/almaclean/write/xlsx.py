"""The one Excel writer: every cell is written as text, output is deterministic and atomic.

Uses xlsxwriter in constant_memory mode (rows are streamed in order), so a 100,000 x 99
sheet stays low-memory. Never calls worksheet.write(): "=1+2", "+33", "0012", "http://..."
stay literal text, and no string is ever truncated silently.
"""
from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import polars as pl
import xlsxwriter

from almaclean.errors import AlmacleanError
from almaclean.write.atomic import atomic_path

log = logging.getLogger(__name__)

EXCEL_MAX_ROWS = 1_048_576
EXCEL_MAX_COLS = 16_384
EXCEL_MAX_CHARS = 32_767
FIXED_CREATED = datetime(2000, 1, 1)
DEFAULT_HIGHLIGHT = "#FFEB9C"
MIN_WIDTH, MAX_WIDTH = 8.0, 60.0
WIDTH_SAMPLE_ROWS = 1_000
_BAD_SHEET_CHARS = set("[]:*?/\\")


@dataclass(frozen=True)
class Sheet:
    """One worksheet: an exact header row (duplicates kept) over a frame of the same width.

    highlight: (row_index, col_index) in frame coordinates (row 0 = first data row).
    validations: column index -> allowed values (a dropdown over the data rows).
    text_only: when False, numeric columns are written as numbers (counts in summaries).
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


def _check_sheet(sheet: Sheet, seen: set[str]) -> None:
    name = sheet.name
    if not name or len(name) > 31 or set(name) & _BAD_SHEET_CHARS or name.startswith("'"):
        raise AlmacleanError(f"invalid Excel sheet name {name!r} (1-31 chars, none of []:*?/\\)")
    if name.lower() in seen:
        raise AlmacleanError(f"duplicate Excel sheet name {name!r}")
    seen.add(name.lower())
    if len(sheet.header) != sheet.frame.width:
        raise AlmacleanError(
            f"sheet {name!r}: header has {len(sheet.header)} names but the frame has {sheet.frame.width} columns"
        )
    if sheet.frame.height + 1 > EXCEL_MAX_ROWS or sheet.frame.width > EXCEL_MAX_COLS:
        raise AlmacleanError(
            f"sheet {name!r}: {sheet.frame.height} rows x {sheet.frame.width} columns do not fit in Excel"
        )


def default_widths(header: Sequence[str], frame: pl.DataFrame) -> list[float]:
    """Readable widths from the header and the first rows' values, capped."""
    sample = frame.head(WIDTH_SAMPLE_ROWS)
    if sample.width and sample.height:
        lengths = sample.select(pl.all().cast(pl.String).str.len_chars().max().fill_null(0)).row(0)
    else:
        lengths = (0,) * len(header)
    return [min(MAX_WIDTH, max(MIN_WIDTH, max(len(str(h)), n) + 2.0)) for h, n in zip(header, lengths)]


def _text_frame(sheet: Sheet) -> tuple[pl.DataFrame, list[bool]]:
    """Frame whose cells are str/None (numbers too unless text_only) and which columns are numeric."""
    numeric = [(not sheet.text_only) and dt.is_numeric() for dt in sheet.frame.dtypes]
    casts = [
        pl.col(c) if num or dt == pl.String else pl.col(c).cast(pl.String)
        for c, dt, num in zip(sheet.frame.columns, sheet.frame.dtypes, numeric)
    ]
    return sheet.frame.select(casts), numeric


def _too_long(sheet: Sheet, row: int, col: int) -> AlmacleanError:
    return AlmacleanError(
        f"sheet {sheet.name!r}, row {row + 2}, column {sheet.header[col]!r}: text longer than "
        f"Excel's {EXCEL_MAX_CHARS} characters; almaclean does not truncate"
    )


def _write_sheet(book: xlsxwriter.Workbook, sheet: Sheet, formats: dict[str, object]) -> None:
    ws = book.add_worksheet(sheet.name)
    frame, numeric = _text_frame(sheet)
    n_rows, n_cols = frame.height, frame.width
    widths = default_widths(sheet.header, frame)
    for col, width in (sheet.widths or {}).items():
        widths[col] = width
    for col, width in enumerate(widths):
        ws.set_column(col, col, width)
    if sheet.freeze:
        ws.freeze_panes(1, 0)
    if sheet.autofilter and n_cols:
        ws.autofilter(0, 0, max(n_rows, 1), n_cols - 1)
    if n_cols:
        ws.ignore_errors({"number_stored_as_text": f"A1:XFD{max(n_rows + 1, 1)}"})
    for col, values in (sheet.validations or {}).items():
        source = [str(v) for v in values]
        if sum(len(v) + 1 for v in source) > 255:
            raise AlmacleanError(f"sheet {sheet.name!r}: dropdown values for column {col} exceed 255 characters")
        ws.data_validation(1, col, max(n_rows, 1), col, {"validate": "list", "source": source})

    write_string = ws.write_string
    bold = formats["header"]
    for col, name in enumerate(sheet.header):
        if write_string(0, col, str(name), bold) == -2:
            raise _too_long(sheet, -1, col)

    fill = book.add_format({"bg_color": sheet.highlight_color}) if sheet.highlight else None
    marked: dict[int, set[int]] = defaultdict(set)
    for r, c in sheet.highlight:
        marked[r].add(c)
    any_numeric = any(numeric)
    write_number = ws.write_number
    for r, values in enumerate(frame.iter_rows()):
        excel_row = r + 1
        hl = marked.get(r)
        if hl is None and not any_numeric:
            # Hot path: plain text cells, nulls left empty.
            for c, v in enumerate(values):
                if v and write_string(excel_row, c, v) == -2:  # null and "" -> empty cell
                    raise _too_long(sheet, r, c)
            continue
        for c, v in enumerate(values):
            fmt = fill if hl is not None and c in hl else None
            if v is None or v == "":
                if fmt is not None:
                    ws.write_blank(excel_row, c, None, fmt)
            elif numeric[c]:
                write_number(excel_row, c, v, fmt)
            elif write_string(excel_row, c, v, fmt) == -2:
                raise _too_long(sheet, r, c)
    log.info("sheet %r: %d rows x %d columns", sheet.name, n_rows, n_cols)


def write_workbook(path: Path, sheets: list[Sheet], *, created: datetime | None = None) -> Path:
    """Write `sheets` to a new file at `path` (refuses to overwrite); same input -> same bytes."""
    if not sheets:
        raise AlmacleanError("a workbook needs at least one sheet")
    seen: set[str] = set()
    for sheet in sheets:
        _check_sheet(sheet, seen)
    path = Path(path)
    with atomic_path(path) as temp:
        book = xlsxwriter.Workbook(
            str(temp),
            {
                "constant_memory": True,
                "strings_to_numbers": False,
                "strings_to_formulas": False,
                "strings_to_urls": False,
            },
        )
        try:
            book.set_properties({"created": created or FIXED_CREATED})
            formats = {"header": book.add_format({"bold": True})}
            for sheet in sheets:
                _write_sheet(book, sheet, formats)
        finally:
            book.close()
    log.info("wrote %s (%d sheets)", path, len(sheets))
    return path
