"""Read any input file as a lossless text table: every cell text, Excel row numbers kept.

Choices worth knowing:
- Nothing is stripped or dropped here: blank rows and columns stay (in xlsx, blank columns
  left of the data too), so frame row i is Excel row first_row + i and column c{j} is
  Excel column j (A = 0). Empty cells, including quoted "" in CSV, become null.
- CSV/TSV: encoding decided from the whole file (read.detect). RFC 4180 quoting; CRLF, LF or
  CR-only line ends; last line with or without newline. A row with fewer fields than the
  header is read with nulls for the missing trailing fields (some tools drop trailing
  empties); a row with more fields than the header is refused, since the extra values would
  belong to no column. A TSV whose stray quotes break RFC 4180 (KBART-style, never quoted)
  is re-read with quoting off. A CSV the fast parser refuses is re-read with Python's csv
  module, as Excel reads it (a quote inside an unquoted value is a character); an unclosed
  quote or text after a closing quote is refused at its own row. A first row with more
  fields than Excel has columns is refused before parsing.
- Every format: no cell longer than an Excel cell holds (32,767 UTF-16 units), so a stored
  cell can always be written to a report.
- xlsx: read.xlsx_check looks inside first (sizes, grid, sheet choice: the only visible sheet
  with data unless told). fastexcel renders a number cell as text, but a number at or above
  2**53 has already lost digits in the file, so ID columns (text_columns) are checked: such
  number cells are found with an XML parse of the sheet and refused, as are text cells
  holding scientific notation or a ".0" ending.
"""
from __future__ import annotations

import codecs
import csv
import io
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

import fastexcel
import polars as pl

from almaclean.errors import InputError
from almaclean.read.detect import (
    SEPARATOR_FORMAT,
    check_regular_file,
    container_format,
    detect_encoding,
    first_line,
    sniff_separator,
    to_utf8,
    whole_file_encoding,
)
from almaclean.read.xlsx_check import EXCEL_COLUMNS, numeric_cells, plan_xlsx
from almaclean.write.xlsx import EXCEL_MAX_CHARS
from almaclean.write.xlsx_cells import utf16_length

log = logging.getLogger(__name__)

EXACT_FLOAT_LIMIT = 2**53
HEAD_BYTES = 1 << 16
FIRST_LINE_LIMIT = 16 << 20
# "9.97704E+15", "9977047322103681.0", "1,23E+15" (a decimal comma from a European Excel)
NUMBER_AS_TEXT = r"^\s*(?:[+-]?[0-9]+(?:[.,][0-9]*)?[eE][+-]?[0-9]+|[+-]?[0-9]+[.,]0+)\s*$"


@dataclass(frozen=True)
class TextTable:
    path: Path
    header: tuple[str, ...]   # exact header cells ('' for blank); () for a headerless file
    frame: pl.DataFrame       # columns "c0".."c{n-1}" by position, all pl.String, empty -> null
    first_row: int            # Excel row / line number of frame row 0
    format: str               # "xlsx" | "csv" | "tsv"
    encoding: str | None      # for text formats
    sheet: int | str = 0      # xlsx: the sheet read (its name once read; index or name when asked)

    def column_name(self, position: int) -> str:
        """The header cell of a column, or its Excel letter when the header is blank or absent."""
        if position < len(self.header) and self.header[position].strip():
            return self.header[position]
        return excel_letter(position)

    def excel_row(self, frame_row: int) -> int:
        return self.first_row + frame_row


def excel_letter(position: int) -> str:
    """0 -> "A", 25 -> "Z", 26 -> "AA"."""
    letters = ""
    position += 1
    while position:
        position, rest = divmod(position - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def read_table(path: str | Path, *, has_header: bool = True, text_columns: Iterable[str] = (),
               sheet: int | str | None = None) -> TextTable:
    """Read an xlsx, CSV or TSV file (decided by content) as text; see the module notes."""
    path = Path(path)
    check_regular_file(path)
    try:
        with path.open("rb") as handle:
            head = handle.read(8)
    except OSError as exc:
        raise InputError(f"cannot read the file: {exc.strerror or exc}", file=path) from None
    if container_format(head, path) == "xlsx":
        table = _read_xlsx(path, has_header, sheet)
    else:
        table = _read_text(path, has_header)
    log.info("read %s: %s%s, %d data rows x %d columns", path.name, table.format,
             f" ({table.encoding})" if table.encoding else "", table.frame.height, table.frame.width)
    refuse_overlong_cells(table)
    names = list(text_columns)
    if names:
        check_text_columns(table, names)
    return table


def refuse_overlong_cells(table: TextTable) -> None:
    """No cell longer than an Excel cell holds: every report carries cells into a workbook, so one
    such cell stored would make every later report of the institution fail."""
    for j, cell in enumerate(table.header):
        if len(cell.encode("utf-16-le")) // 2 > EXCEL_MAX_CHARS:
            _overlong(table, len(cell), table.first_row - 1, j)
    if not table.frame.height or not table.frame.width:
        return
    # Excel counts UTF-16 units, never more than UTF-8 bytes: only columns with a long cell in
    # bytes are measured.
    longest = table.frame.select(pl.all().str.len_bytes().max()).row(0)
    for j, most in enumerate(longest):
        if most is not None and most > EXCEL_MAX_CHARS:
            units = table.frame.select(utf16_length(pl.col(f"c{j}"))).to_series()
            over = (units > EXCEL_MAX_CHARS).arg_true()
            if len(over):
                _overlong(table, units[over[0]], table.excel_row(over[0]), j)


def _overlong(table: TextTable, length: int, row: int, position: int) -> None:
    raise InputError(f"this cell holds {length:,} characters, more than the {EXCEL_MAX_CHARS:,} an Excel cell "
                     "can hold, so no report could show it: shorten the value (or remove the row) and export "
                     "again", file=table.path, row=row, column=table.column_name(position))


# --- xlsx ---------------------------------------------------------------------------------

def _read_xlsx(path: Path, has_header: bool, sheet: int | str | None) -> TextTable:
    plan = plan_xlsx(path, sheet)
    log.info("%s: reading sheet %r (%s)", path.name, plan.sheet.name, plan.reason)
    try:
        loaded = fastexcel.read_excel(str(path)).load_sheet(plan.sheet.name, header_row=None, skip_rows=0,
                                                            dtypes="string")
        columns = loaded.available_columns()
        sheet_frame = loaded.to_polars()
    except Exception as exc:  # fastexcel raises its own error types for every kind of damage
        raise InputError(f"not a readable Excel file (damaged or truncated?): {exc}", file=path) from None
    by_position = {info.absolute_index: sheet_frame.get_column(info.name) for info in columns}
    width = max(by_position) + 1 if by_position else 0
    height = sheet_frame.height
    if height == 0 or width == 0:
        raise InputError(f"the sheet {plan.sheet.name!r} is empty", file=path)
    # Blank columns left of the data are not in fastexcel's frame: put them back so c{j} = column j.
    frame = pl.DataFrame([
        by_position[j].rename(f"c{j}") if j in by_position
        else pl.Series(f"c{j}", [None] * height, dtype=pl.String)
        for j in range(width)
    ])
    table = _split_header(path, _empty_to_null(frame), has_header, "xlsx", None)
    return replace(table, sheet=plan.sheet.name)


# --- CSV / TSV ----------------------------------------------------------------------------

def _read_text(path: Path, has_header: bool) -> TextTable:
    head = _head(path)
    encoding = detect_encoding(head, path, utf8_checked_later=True)
    if encoding in ("utf-8", "utf-8-sig"):
        separator = sniff_separator(first_line(head.removeprefix(codecs.BOM_UTF8)))
        encoding = whole_file_encoding(path, separator, bom=encoding == "utf-8-sig")
    # Plain UTF-8 (the common case) goes to polars as the file itself, without a copy.
    source: bytes | Path = path if encoding == "utf-8" else to_utf8(_read_all(path), encoding, path)
    start = head if encoding == "utf-8" else source[:HEAD_BYTES]
    separator = sniff_separator(first_line(start))
    _refuse_too_wide(path, source, separator)
    if b"\r" in start and b"\n" not in start:
        log.info("%s: lines end with CR only (old Mac style): reading each CR as a line end", path.name)
        source = re.sub(rb"\r(?!\n)", b"\n", source if isinstance(source, bytes) else _read_all(path))
    frame = _parse_delimited(path, source, separator)
    return _split_header(path, _empty_to_null(frame), has_header, SEPARATOR_FORMAT[separator], encoding)


def _refuse_too_wide(path: Path, source: bytes | Path, separator: str) -> None:
    """More fields in the first row than Excel has columns: refused before the parser makes a
    column for each (a 5 MB line of commas would take minutes and gigabytes)."""
    if isinstance(source, bytes):
        line = source[:FIRST_LINE_LIMIT]
    else:
        with source.open("rb") as handle:
            line = handle.read(FIRST_LINE_LIMIT)
    end = min((at for at in (line.find(b"\n"), line.find(b"\r")) if at >= 0), default=len(line))
    unquoted = b"".join(line[:end].split(b'"')[::2])
    fields = unquoted.count(separator.encode()) + 1
    if fields > EXCEL_COLUMNS:
        raise InputError(f"the first row has {fields:,} fields, more than the {EXCEL_COLUMNS:,} columns a sheet "
                         "can have: not an export (or the wrong separator)", file=path, row=1)


def _read_all(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read the file: {exc.strerror or exc}", file=path) from None


def _head(path: Path) -> bytes:
    """The first bytes, enough to tell encoding and separator (the whole file when it looks blank)."""
    try:
        with path.open("rb") as handle:
            head = handle.read(HEAD_BYTES)
            if not head.strip(b" \t\r\n\x00\x0b\x0c\xef\xbb\xbf\xff\xfe"):
                head += handle.read()
    except OSError as exc:
        raise InputError(f"cannot read the file: {exc.strerror or exc}", file=path) from None
    return head


def _parse_delimited(path: Path, source: bytes | Path, separator: str) -> pl.DataFrame:
    def parse(quote: str | None) -> pl.DataFrame:
        return pl.read_csv(source, has_header=False, separator=separator, quote_char=quote,
                           infer_schema=False, empty_string_is_null=True,
                           truncate_ragged_lines=False, raise_if_empty=False)

    def data() -> bytes:
        return source if isinstance(source, bytes) else _read_all(path)

    try:
        frame = parse('"')
    except pl.exceptions.PolarsError as exc:
        if separator != "\t":
            frame = _parse_slowly(path, data(), separator, csv.QUOTE_MINIMAL, str(exc))
        else:
            log.info("%s: quotes do not follow CSV rules; reading the tab-separated file without quoting",
                     path.name)
            try:
                frame = parse(None)
            except pl.exceptions.PolarsError as again:
                frame = _parse_slowly(path, data(), separator, csv.QUOTE_NONE, str(again))
    return frame.rename({name: f"c{j}" for j, name in enumerate(frame.columns)})


SLOW_PARSE_LIMIT = 256 * 2**20


def _parse_slowly(path: Path, text: bytes, separator: str, quoting: int, error: str) -> pl.DataFrame:
    """What the fast parser refused, read with Python's csv module (strict quoting), as Excel
    would: a quote inside an unquoted value is a character. Refused at its row: a row with more
    fields than the first, an unclosed quote, text after a closing quote."""
    if len(text) > SLOW_PARSE_LIMIT:
        raise InputError(f"cannot parse the file as CSV: {error.splitlines()[0]}", file=path,
                         row=_row_at_offset(text, error))
    reader = csv.reader(io.StringIO(text.decode("utf-8", "replace"), newline=""), delimiter=separator,
                        quoting=quoting, strict=True)
    rows: list[list[str]] = []
    width = None
    limit = csv.field_size_limit()
    csv.field_size_limit(2**31 - 1)
    try:
        for number, row in enumerate(reader, start=1):
            if width is None:
                width = len(row)
            elif len(row) > width:
                raise InputError(
                    f"this row has {len(row)} fields but the first row has {width}: a separator inside "
                    "an unquoted value, or values beyond the last column",
                    file=path, row=number, column=excel_letter(width))
            rows.append(row)
    except csv.Error as exc:
        if "unexpected end of data" in str(exc):
            problem = ('a quoted value starts in this row but its closing quote (") is missing, '
                       "so the rest of the file would be one cell")
        else:
            problem = ('a quote (") inside a quoted value is not doubled, or text follows a '
                       "closing quote")
        raise InputError(f"cannot parse the file as CSV: {problem}", file=path, row=len(rows) + 1) from None
    finally:
        csv.field_size_limit(limit)
    log.info("%s: read with the slower CSV reader (%s)", path.name, error.splitlines()[0][:120])
    columns = [[row[j] if j < len(row) and row[j] != "" else None for row in rows] for j in range(width or 0)]
    return pl.DataFrame({f"column_{j + 1}": pl.Series(values, dtype=pl.String) for j, values in enumerate(columns)})


def _row_at_offset(text: bytes, message: str) -> int | None:
    found = re.search(r"offset in the file is (\d+) bytes", message)
    return text[: int(found.group(1))].count(b"\n") + 1 if found else None


# --- shared ---------------------------------------------------------------------------------

def _empty_to_null(frame: pl.DataFrame) -> pl.DataFrame:
    """"" -> null (a quoted "" in CSV, an empty text cell in xlsx), only in columns that have one."""
    flags = frame.select((pl.col(name) == "").any() for name in frame.columns).row(0) if frame.height else ()
    having = [name for name, flag in zip(frame.columns, flags) if flag]
    return frame.with_columns(
        pl.when(pl.col(name) == "").then(None).otherwise(pl.col(name)).alias(name) for name in having)


def _split_header(path: Path, frame: pl.DataFrame, has_header: bool, fmt: str,
                  encoding: str | None) -> TextTable:
    if not has_header:
        return TextTable(path, (), frame, 1, fmt, encoding)
    header = tuple(cell if cell is not None else "" for cell in frame.row(0)) if frame.height else ()
    return TextTable(path, header, frame.slice(1), 2, fmt, encoding)


# --- ID columns -----------------------------------------------------------------------------

def check_text_columns(table: TextTable, columns: Iterable[str | int]) -> None:
    """Refuse ID cells that went through a number: see NUMBER_AS_TEXT and _numeric_xlsx_cells.

    columns: header names (every column with that exact header) or 0-based positions.
    """
    for position in _positions(table, columns):
        name = f"c{position}"
        cells = table.frame.get_column(name)
        _refuse_number_text(table, position, cells)
        if table.format == "xlsx":
            _refuse_big_number_cells(table, position, cells)


def _positions(table: TextTable, columns: Iterable[str | int]) -> list[int]:
    positions: list[int] = []
    for column in columns:
        if isinstance(column, int):
            positions.append(column)
        else:
            positions.extend(j for j, cell in enumerate(table.header) if cell == column)
    return sorted(set(p for p in positions if p < table.frame.width))


def _refuse_number_text(table: TextTable, position: int, cells: pl.Series) -> None:
    bad = cells.str.contains(NUMBER_AS_TEXT).fill_null(False)
    if bad.any():
        index = bad.arg_true()[0]
        raise InputError(f"the ID {cells[index]!r} was converted to a number (scientific notation or "
                         "'.0'), so its digits are lost: export the column as text again",
                         file=table.path, row=table.excel_row(index), column=table.column_name(position))


def _refuse_big_number_cells(table: TextTable, position: int, cells: pl.Series) -> None:
    # A number cell comes back as the exact integer of its double: only digit strings >= 2**53
    # that a double holds exactly can be one. Most real text IDs are not, so the sheet XML is
    # read only when such a value shows up.
    digits = cells.filter(cells.str.contains(r"^[0-9]{16,}$").fill_null(False))
    as_int = digits.cast(pl.UInt64, strict=False)
    as_double = digits.cast(pl.Float64).cast(pl.UInt64, strict=False)
    could_be_number = ((as_int >= EXACT_FLOAT_LIMIT) & (as_double == as_int)) | as_int.is_null()
    if not could_be_number.any():
        return
    for row, value in numeric_cells(table.path, table.sheet, position):
        if row >= table.first_row and abs(float(value)) >= EXACT_FLOAT_LIMIT:
            raise InputError(
                f"this ID is stored as an Excel number ({value}); numbers of 16 or more digits lose "
                "their last digits in Excel: format the column as Text and export the file again",
                file=table.path, row=row, column=table.column_name(position))


def as_headerless(table: TextTable) -> TextTable:
    """The same file read as if it had no header: the header cells become data row 1."""
    if not table.header:
        return table
    first = pl.DataFrame([pl.Series(name, [cell if cell != "" else None], dtype=pl.String)
                          for name, cell in zip(table.frame.columns, table.header)])
    return replace(table, header=(), frame=pl.concat([first, table.frame]), first_row=table.first_row - 1)
