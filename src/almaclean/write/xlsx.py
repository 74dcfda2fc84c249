"""The one Excel writer: every cell is written as text, output is deterministic and atomic.

Uses xlsxwriter in constant_memory mode for everything but the cells (styles, widths, panes,
filters, validations, packaging); the cells' XML is built with polars, a chunk of rows at a time
(write/xlsx_cells.py), and streamed into the worksheet's row file: the same bytes xlsxwriter's
write_string would produce, ~4x faster, memory bounded. "=1+2", "+33", "0012", "http://..." stay
literal text, "<r>x</r>" too (xlsxwriter would copy it raw as rich text), and no string is ever
truncated silently.
"""
from __future__ import annotations

import logging
import math
import types
import zipfile
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from pathlib import Path

import polars as pl
import xlsxwriter
import xlsxwriter.workbook
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

from almaclean.errors import AlmacleanError
from almaclean.excel import EXCEL_MAX_CHARS, EXCEL_MAX_COLS, EXCEL_MAX_ROWS, Sheet, utf16_length
from almaclean.write.atomic import atomic_path
from almaclean.write.xlsx_cells import CellStyles, frame_rows_xml, rows_xml

log = logging.getLogger(__name__)

FIXED_CREATED = datetime(2000, 1, 1)
MIN_WIDTH, MAX_WIDTH = 8.0, 60.0
WIDTH_SAMPLE_ROWS = 1_000
_BAD_SHEET_CHARS = set("[]:*?/\\")
ZIP_LEVEL = 1  # zlib level of the package: a third the time of the default 6, a sixth larger


class _PackageZip(zipfile.ZipFile):
    """The zip file a workbook is packaged into, at ZIP_LEVEL."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("compresslevel", ZIP_LEVEL)
        super().__init__(*args, **kwargs)


class _Workbook(xlsxwriter.Workbook):
    """An xlsxwriter Workbook that packages at ZIP_LEVEL.

    Compressing the sheets was the slowest step of a big report (2.8 s of 183 MB of XML at
    level 6, 1.1 s at level 1). xlsxwriter has no option for it: Workbook._store_workbook opens
    `ZipFile` from its module's namespace. This class's copy of that method reads `ZipFile` from
    a namespace of its own, so only workbooks written here change; xlsxwriter itself, and every
    other user of it in the process (polars' write_excel), is left as it is.
    tests/test_xlsx_cells.py fails if a written package is not at ZIP_LEVEL.
    """

    _store_workbook = types.FunctionType(
        xlsxwriter.Workbook._store_workbook.__code__,
        {**vars(xlsxwriter.workbook), "ZipFile": _PackageZip},
        "_store_workbook",
        xlsxwriter.Workbook._store_workbook.__defaults__,
        xlsxwriter.Workbook._store_workbook.__closure__,
    )


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


def _first_too_long(frame: pl.DataFrame) -> tuple[int, int] | None:
    """(row, column) of the first cell, in writing order, longer than Excel allows."""
    texts = [name for name, dtype in frame.schema.items() if dtype == pl.String]
    if not texts or frame.height == 0:
        return None
    # Cheap filter first, one query for every column: a text under half the limit fits whatever
    # its characters.
    longest = dict(zip(texts, frame.select(pl.col(texts).str.len_chars().max()).row(0)))
    found = []
    for col, name in enumerate(frame.columns):
        if (longest.get(name) or 0) <= EXCEL_MAX_CHARS // 2:
            continue
        value = pl.col(name)
        rows = frame.select(pl.arg_where(value.str.len_chars() > EXCEL_MAX_CHARS // 2)).to_series()
        if rows.len():
            lengths = frame[name].gather(rows).to_frame().select(utf16_length(value)).to_series()
            over = rows.filter(lengths > EXCEL_MAX_CHARS)
            if over.len():
                found.append((over[0], col))
    return min(found) if found else None


def _numbers_as_xlsxwriter_text(sheet: Sheet, frame: pl.DataFrame, numeric: list[bool]) -> pl.DataFrame:
    """Numeric columns formatted as xlsxwriter writes a number (`{:.16G}`); small summary sheets only."""
    formatted = []
    for col, (name, is_number) in enumerate(zip(frame.columns, numeric)):
        if not is_number:
            continue
        values = frame[name].to_list()
        for row, v in enumerate(values):
            if v is not None and not math.isfinite(v):
                raise AlmacleanError(
                    f"sheet {sheet.name!r}, row {row + 2}, column {sheet.header[col]!r}: "
                    f"{v} is not a number Excel can store"
                )
        formatted.append(pl.Series(name, [None if v is None else f"{v:.16G}" for v in values], dtype=pl.String))
    return frame.with_columns(formatted) if formatted else frame


def _highlighted_rows(sheet: Sheet, n_rows: int, n_cols: int) -> dict[int, list[int]]:
    """Column -> sorted data rows to highlight; cells outside the frame are ignored."""
    marked: dict[int, list[int]] = defaultdict(list)
    for r, c in sheet.highlight:
        if 0 <= r < n_rows and 0 <= c < n_cols:
            marked[c].append(r)
    return {c: sorted(rows) for c, rows in sorted(marked.items())}


def _stream_rows(ws: Worksheet, formats: Sequence[Format], last_col: int,
                 make_rows: Callable[[list[int]], Iterable[tuple[bytes, int]]]) -> None:
    """Write ready-made `<row>` XML into `ws`, leaving it as if every cell had been written by
    write_string/write_number/write_blank, so close() produces the same file.

    Uses xlsxwriter internals (checked against xlsxwriter 3.3.1; _Workbook is the only other
    place that does); on upgrade check:
    - Format._get_xf_index(): the cells' `s` attribute; indexes are given in order of first use;
    - Worksheet.fh: in constant_memory mode, the row-data temp file that close() copies into
      `<sheetData>` (_write_optimized_sheet_data);
    - Worksheet.previous_row / table: xlsxwriter keeps the latest row in `table` and writes it
      (_write_single_row) when a later row is touched and at close; an empty table with
      previous_row on our last row makes those flushes write nothing;
    - Worksheet._check_dimensions(row, col): records dim_rowmin/max, dim_colmin/max (`<dimension>`,
      and whether `<sheetData>` is written at all).
    make_rows gets the formats' xf indexes and yields (xml, last row index written), row 0 first;
    the xml as UTF-8 bytes, written to the file under Worksheet.fh (its text layer flushed first):
    encoding a hundred megabytes of text in Python cost as much as building it.
    """
    if not (ws.constant_memory and ws.previous_row == 0 and not ws.table and ws.dim_rowmin is None):
        raise RuntimeError("xlsxwriter worksheet is not in the state _stream_rows expects (xlsxwriter upgrade?)")
    xf_indexes = [fmt._get_xf_index() for fmt in formats]
    last_row = None
    ws.fh.flush()
    for xml, last_row in make_rows(xf_indexes):
        ws.fh.buffer.write(xml)
    ws.fh.buffer.flush()
    if last_row is not None:
        ws._check_dimensions(0, 0)
        ws._check_dimensions(last_row, last_col)
        ws.previous_row = last_row


def _header_frame(sheet: Sheet) -> pl.DataFrame:
    """The header as a one-row text frame."""
    return pl.DataFrame([pl.Series(f"h{i}", [str(name)], dtype=pl.String) for i, name in enumerate(sheet.header)])


def _sheet_rows(sheet: Sheet, frame: pl.DataFrame, numeric: list[bool],
                marked: dict[int, list[int]]) -> Callable[[list[int]], Iterator[tuple[bytes, int]]]:
    """The header row (bold, "" kept as a cell) then the data rows, given [bold, fill] xf indexes."""
    header = _header_frame(sheet)

    def rows(xf_indexes: list[int]) -> Iterator[tuple[bytes, int]]:
        bold, fill = xf_indexes[0], (xf_indexes[1] if marked else None)
        yield rows_xml(header, 0, [False] * header.width, CellStyles(every=bold), keep_empty=True, as_bytes=True)
        yield from frame_rows_xml(frame, 1, numeric, CellStyles(highlight=fill, marked=marked), as_bytes=True)

    return rows


def lay_out(ws: Worksheet, sheet: Sheet, frame: pl.DataFrame) -> None:
    """Everything of a sheet but its cells: widths, frozen header, filter, ignored "number
    stored as text" warnings, dropdowns."""
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
    if sheet.header_note and n_cols:
        title, message = sheet.header_note
        if len(title) > 32 or len(message) > 255:
            raise AlmacleanError(f"sheet {sheet.name!r}: a header note holds at most 32 + 255 characters")
        ws.data_validation(0, 0, 0, n_cols - 1, {"validate": "any", "input_title": title, "input_message": message})
    if sheet.tab_color:
        ws.set_tab_color(sheet.tab_color)


def _write_sheet(book: xlsxwriter.Workbook, sheet: Sheet, formats: dict[str, Format]) -> None:
    ws = book.add_worksheet(sheet.name)
    frame, numeric = _text_frame(sheet)
    n_rows, n_cols = frame.height, frame.width
    lay_out(ws, sheet, frame)
    header_too_long = _first_too_long(_header_frame(sheet))
    if header_too_long:
        raise _too_long(sheet, -1, header_too_long[1])
    data_too_long = _first_too_long(frame)
    if data_too_long:
        raise _too_long(sheet, *data_too_long)
    frame = _numbers_as_xlsxwriter_text(sheet, frame, numeric)

    fill = book.add_format({"bg_color": sheet.highlight_color}) if sheet.highlight else None
    marked = _highlighted_rows(sheet, n_rows, n_cols)
    used_formats = [formats["header"], fill] if marked else [formats["header"]]
    if n_cols:
        _stream_rows(ws, used_formats, n_cols - 1, _sheet_rows(sheet, frame, numeric, marked))
    log.info("sheet %r: %d rows x %d columns", sheet.name, n_rows, n_cols)


def write_workbook(path: Path, sheets: list[Sheet], *, created: datetime | None = None,
                   title: str | None = None, comments: str | None = None) -> Path:
    """Write `sheets` to a new file at `path` (refuses to overwrite); same input -> same bytes.
    title / comments: the document's properties (File > Info in Excel)."""
    if not sheets:
        raise AlmacleanError("a workbook needs at least one sheet")
    seen: set[str] = set()
    for sheet in sheets:
        _check_sheet(sheet, seen)
    path = Path(path)
    with atomic_path(path) as temp:
        book = _Workbook(
            str(temp),
            {
                "constant_memory": True,
                "strings_to_numbers": False,
                "strings_to_formulas": False,
                "strings_to_urls": False,
            },
        )
        try:
            properties = {"created": created or FIXED_CREATED}
            properties |= {k: v for k, v in (("title", title), ("comments", comments)) if v}
            book.set_properties(properties)
            formats = {"header": book.add_format({"bold": True})}
            for sheet in sheets:
                _write_sheet(book, sheet, formats)
        finally:
            book.close()
    log.info("wrote %s (%d sheets)", path, len(sheets))
    return path
