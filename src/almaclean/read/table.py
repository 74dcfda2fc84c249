"""Read any input file as a lossless text table: every cell text, Excel row numbers kept.

Choices worth knowing:
- Nothing is stripped or changed here: blank rows and columns stay (in xlsx, blank columns
  left of the data too), so column c{j} is Excel column j (A = 0) and frame row i is Excel
  row first_row + i, except that the empty lines of a text file are left out (TextTable.rows
  then gives each frame row's row): millions of them cost nothing. Empty cells, including
  quoted "" in CSV, become null.
- CSV/TSV: encoding decided from the whole file (read.detect). RFC 4180 quoting; CRLF, LF or
  CR-only line ends; last line with or without newline. A row with more or fewer fields than
  the header is refused at its row: the extra values would belong to no column, and missing
  ones would be read as empty cells (a cut file, a value joined to the next by a stray
  separator). So is a control character (NUL, ESC, ... anything below 0x20 but tab, CR and LF):
  no XML document, so no Alma export, holds one. A TSV whose stray quotes break RFC 4180 (KBART-style, never
  quoted) is re-read with quoting off. A CSV the fast parser refuses is re-read with Python's
  csv module, as Excel reads it (a quote inside an unquoted value is a character); an unclosed
  quote or text after a closing quote is refused at its own row. A first row with more
  fields than Excel has columns is refused before parsing.
- Every format: no cell longer than an Excel cell holds (32,767 UTF-16 units), so a stored
  cell can always be written to a report.
- xlsx: read.xlsx_check looks inside first (sizes, grid, cells written twice, sheet choice: the
  only visible sheet with data unless told), and notes the cells fastexcel would give otherwise
  than Excel shows them: a formula with no saved result and an error cell are refused, never
  read as empty; a boolean reads TRUE / FALSE; a number shown through a number format reads as
  Excel shows it or is refused (read.xlsx_formats). fastexcel renders a number cell as text, but a number at or above
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

from almaclean import interrupts
from almaclean.errors import InputError
from almaclean.excel import EXCEL_MAX_CHARS, utf16_length
from almaclean.read.detect import (
    CHUNK_BYTES,
    SEPARATOR_FORMAT,
    check_regular_file,
    container_format,
    detect_encoding,
    named_like_excel,
    first_line,
    sniff_separator,
    to_utf8,
    whole_file_encoding,
)
from almaclean.read.xlsx_check import EXCEL_COLUMNS, CellNote, numeric_cells, plan_xlsx

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
    # Excel row of each frame row when blank lines were left out of a text file (None: frame row
    # i is row first_row + i). A run of empty lines costs nothing then, however long.
    rows: pl.Series | None = None

    def column_name(self, position: int) -> str:
        """The header cell of a column, or its Excel letter when the header is blank or absent."""
        if position < len(self.header) and self.header[position].strip():
            return self.header[position]
        return excel_letter(position)

    def excel_row(self, frame_row: int) -> int:
        return self.first_row + frame_row if self.rows is None else int(self.rows[frame_row])

    def excel_rows(self) -> pl.Expr:
        """The Excel row of every frame row, as a column "row" (Int64) of a select on the frame."""
        if self.rows is not None:
            return pl.lit(self.rows.rename("row"))
        return pl.int_range(self.first_row, self.first_row + pl.len(), dtype=pl.Int64).alias("row")

    def positions(self, excel_rows: pl.Series) -> pl.Series:
        """The frame rows of these Excel rows (each one a row of the frame)."""
        if self.rows is None:
            return excel_rows - self.first_row
        return self.rows.search_sorted(excel_rows)

    @property
    def row_span(self) -> int:
        """Rows from first_row to the last frame row, blank lines left out included."""
        if self.rows is None or not len(self.rows):
            return self.frame.height
        return int(self.rows[-1]) - self.first_row + 1

    def dense(self) -> TextTable:
        """The same table with a null row for each blank line left out (frame row i = first_row + i)."""
        if self.rows is None:
            return self
        rows = pl.DataFrame({"row": pl.int_range(self.first_row, self.first_row + self.row_span, dtype=pl.Int64,
                                                 eager=True)})
        frame = rows.join(self.frame.with_columns(self.rows.rename("row")), on="row", how="left",
                          maintain_order="left").drop("row")
        return replace(self, frame=frame, rows=None)


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
    """Read an xlsx, CSV or TSV file (decided by content) as text; see the module notes.

    The parsers (fastexcel, polars) cannot stop half-way through a file: the reading runs on a
    thread of its own, so that Ctrl-C stops the command at once (interrupts.call)."""
    return interrupts.call(_read_table, Path(path), has_header=has_header, text_columns=text_columns,
                           sheet=sheet)


def _read_table(path: Path, *, has_header: bool, text_columns: Iterable[str],
                sheet: int | str | None) -> TextTable:
    check_regular_file(path)
    try:
        with path.open("rb") as handle:
            head = handle.read(8)
    except OSError as exc:
        raise InputError(f"cannot read the file: {exc.strerror or exc}", file=path) from None
    if container_format(head, path) == "xlsx":
        table = _read_xlsx(path, has_header, sheet)
    elif named_like_excel(path):
        table = _read_text_named_like_excel(path, has_header)
    else:
        table = _read_text(path, has_header)
    log.info("read %s: %s%s, %d data rows x %d columns", path.name, table.format,
             f" ({table.encoding})" if table.encoding else "", table.frame.height, table.frame.width)
    refuse_overlong_cells(table)
    names = list(text_columns)
    if names:
        check_text_columns(table, names)
    return table


def csv_table(path: Path, header: tuple[str, ...], records: pl.DataFrame) -> TextTable:
    """The table of a UTF-8 CSV file whose header and records are at hand already (String
    columns "c0"..., one record per row, no blank line): what read_table gives for it, with the
    same checks of the cells, without reading the file. Empty text is an empty cell."""
    parsed = _Parsed(_empty_to_null(records), None, True, True)
    _refuse_control_characters(path, parsed)
    table = TextTable(path, header, parsed.frame, 2, "csv", "utf-8")
    log.info("read %s: %s (%s), %d data rows x %d columns (as written)", path.name, table.format, table.encoding,
             table.frame.height, table.frame.width)
    refuse_overlong_cells(table)
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
    frame = _as_excel_shows(path, frame, plan.notes, has_header)
    table = _split_header(path, _empty_to_null(frame), has_header, "xlsx", None)
    return replace(table, sheet=plan.sheet.name)


def _as_excel_shows(path: Path, frame: pl.DataFrame, notes: tuple[CellNote, ...], has_header: bool) -> pl.DataFrame:
    """The cells read.xlsx_check noted: the first refused one is an InputError (row as Excel shows
    it, column by its header), the others take the text Excel shows (frame row i = Excel row i + 1)."""
    refused = [note for note in notes if note.shown is None]
    if refused:
        first = min(refused, key=lambda note: (note.row, note.column))
        header = frame.row(0) if has_header and frame.height else ()
        named = first.row > 1 and first.column < len(header) and header[first.column]
        raise InputError(first.problem, file=path, row=first.row,
                         column=header[first.column] if named else excel_letter(first.column))
    by_column: dict[int, list[CellNote]] = {}
    for note in notes:
        if note.row - 1 < frame.height and note.column < frame.width:
            by_column.setdefault(note.column, []).append(note)
    for j, column in by_column.items():
        cells = frame.get_column(f"c{j}").scatter([note.row - 1 for note in column], [note.shown for note in column])
        frame = frame.with_columns(cells)
    return frame


# --- CSV / TSV ----------------------------------------------------------------------------

# C0 control characters but tab, line feed and carriage return: no XML document can hold one, so
# no Alma export or API answer does, and a file with one is damaged, binary or decoded with the
# wrong encoding. (DEL and C1 controls are characters XML carries: text, kept.) (?-u: a byte
# class, the fastest scan polars' regex engine has.)
CONTROL_CHARACTERS = r"(?-u:[\x00-\x08\x0B\x0C\x0E-\x1F])"
_CONTROL = re.compile("[\x00-\x08\x0B\x0C\x0E-\x1F]")
# A line end and the empty lines after it (a character class: sre repeats a group with memory
# per repetition, ~100 bytes for each of ten million empty lines).
_BLANK_RUN = re.compile(rb"\n[\r\n]*\n")


@dataclass(frozen=True)
class _Parsed:
    frame: pl.DataFrame        # every record (the header too), columns by position
    rows: pl.Series | None     # record -> Excel row, when blank lines were left out
    quoting: bool              # quotes were read as CSV quotes
    fields_checked: bool       # each record's field count is known to be the first record's
    lines: int | None = None   # lines of the text parsed, when counted


class _NotUtf8(Exception):
    """The text taken for UTF-8 holds a byte sequence that is not (polars or the csv module said so)."""


def _read_text_named_like_excel(path: Path, has_header: bool) -> TextTable:
    """A text file named .xlsx (a CSV saved under an Excel name): read by its content."""
    log.warning("%s is named like an Excel workbook but holds text: read as CSV/TSV", path.name)
    try:
        return _read_text(path, has_header)
    except InputError as exc:
        raise InputError(f"the name ends in {path.suffix} but this is not an Excel workbook (no zip container: "
                         f"damaged, or another format renamed), nor a CSV or TSV: {exc.message}",
                         file=path, row=exc.row, column=exc.column) from None


def _read_text(path: Path, has_header: bool) -> TextTable:
    """UTF-8 is taken on trust first: polars refuses any invalid byte sequence while parsing, and
    only then is the whole file looked at (read.detect.whole_file_encoding: Windows-1252 when no
    UTF-8 sequence is anywhere, else refused at the row of the first odd byte). A UTF-8 file, the
    common case, is so read once, not twice."""
    head = _head(path)
    encoding = detect_encoding(head, path, utf8_checked_later=True)
    try:
        return _read_as(path, head, encoding, has_header)
    except _NotUtf8:
        if encoding not in ("utf-8", "utf-8-sig"):
            raise InputError(f"cannot decode the text as {encoding}: save it as UTF-8", file=path) from None
        separator = sniff_separator(first_line(head.removeprefix(codecs.BOM_UTF8)))
        decided = whole_file_encoding(path, separator, bom=encoding == "utf-8-sig")
        if decided in ("utf-8", "utf-8-sig"):
            raise InputError("the file is not valid UTF-8 text, yet no byte of it is out of place: save it again as "
                             "UTF-8 (in Excel: CSV UTF-8) and try again", file=path) from None
        return _read_as(path, head, decided, has_header)


def _read_as(path: Path, head: bytes, encoding: str, has_header: bool) -> TextTable:
    # Plain UTF-8 (the common case) goes to polars as the file itself, without a copy.
    source: bytes | Path = path if encoding == "utf-8" else to_utf8(_read_all(path), encoding, path)
    start = head if encoding == "utf-8" else source[:HEAD_BYTES]
    _refuse_compressed(path, start)
    separator = sniff_separator(first_line(start))
    width = _refuse_too_wide(path, source, separator)
    if b"\r" in start and b"\n" not in start:
        log.info("%s: lines end with CR only (old Mac style): reading each CR as a line end", path.name)
        source = re.sub(rb"\r(?!\n)", b"\n", source if isinstance(source, bytes) else _read_all(path))
    parsed = _parse_delimited(path, source, separator, width)
    _refuse_control_characters(path, parsed)
    if not parsed.fields_checked:
        _refuse_short_records(path, source, separator, parsed)
    return _split_header(path, _empty_to_null(parsed.frame), has_header, SEPARATOR_FORMAT[separator], encoding,
                         parsed.rows)


# polars unpacks a source starting like a gzip, zlib or zstd stream on its own: such a file is no
# export as given (and "x^" starting a text would be taken for zlib: read by the slow reader).
_COMPRESSED = (b"\x1f\x8b", b"\x28\xb5\x2f\xfd", b"\x78\x01", b"\x78\x9c", b"\x78\xda")
_LOOKS_COMPRESSED = (b"\x78\x5e",)


def _refuse_compressed(path: Path, start: bytes) -> None:
    if start.startswith(_COMPRESSED):
        raise InputError("this is a compressed file (gzip, zlib or zstd), not a text export: unpack it first and "
                         "give the file inside", file=path)


def _refuse_too_wide(path: Path, source: bytes | Path, separator: str) -> int:
    """More fields in the first row than Excel has columns: refused before the parser makes a
    column for each (a 5 MB line of commas would take minutes and gigabytes). Returns how many
    fields the first row has."""
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
    return fields


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


# A parsed frame holds about 16 bytes per cell. A line that is not empty carries at least one
# byte per field (its separators and its line end), so only empty lines can make lines x fields
# x 16 exceed 16 x the file's size; past that by this much, they are left out before parsing.
BLANK_LINE_BUDGET = 64 * 2**20
CELL_BYTES = 16


def _lines_and_size(path: Path, source: bytes | Path) -> tuple[int, int]:
    """How many lines a text has (the last one with or without its line end), and its bytes."""
    if isinstance(source, bytes):
        return source.count(b"\n") + (1 if source and not source.endswith(b"\n") else 0), len(source)
    size = lines = 0
    last = b""
    try:
        with source.open("rb") as handle:
            while chunk := handle.read(CHUNK_BYTES):
                size += len(chunk)
                lines += chunk.count(b"\n")
                last = chunk[-1:]
    except OSError as exc:
        raise InputError(f"cannot read the file: {exc.strerror or exc}", file=path) from None
    return lines + (1 if last and last != b"\n" else 0), size


def without_blank_lines(data: bytes) -> tuple[bytes, list[tuple[int, int]]]:
    """The text with every empty line after the first line left out, and where: (line of the
    result, 0-based, that the left-out lines stood before; how many)."""
    first = data.find(b"\n")
    if first < 0:
        return data, []
    parts: list[bytes] = []
    removed: list[tuple[int, int]] = []
    last = kept_lines = 0
    for run in _BLANK_RUN.finditer(data, first):
        kept_lines += data.count(b"\n", last, run.start() + 1)
        parts.append(data[last: run.start() + 1])
        removed.append((kept_lines, run.group().count(b"\n") - 1))
        last = run.end()
    if not removed:
        return data, []
    parts.append(data[last:])
    return b"".join(parts), removed


def record_rows(records: int, removed: list[tuple[int, int]]) -> pl.Series:
    """The line (1-based) of each record of a text whose empty lines were left out as `removed`
    says (without_blank_lines), when every record is one line."""
    at = pl.Series([line for line, _ in removed], dtype=pl.Int64)
    before = pl.concat([pl.Series([0], dtype=pl.Int64), pl.Series([n for _, n in removed], dtype=pl.Int64).cum_sum()])
    index = pl.int_range(0, records, dtype=pl.Int64, eager=True)
    return (index + 1 + before.gather(at.search_sorted(index, side="right"))).rename("row")


def _multiline_cells(frame: pl.DataFrame) -> bool:
    if not frame.width or not frame.height:
        return False
    return any(frame.select(pl.all().str.contains(r"[\r\n]").any()).row(0))


def _parse_delimited(path: Path, source: bytes | Path, separator: str, width: int = 1) -> _Parsed:
    """The records of a delimited text. Empty lines that would cost memory (BLANK_LINE_BUDGET)
    are left out before parsing, so a file of millions of them costs nothing, unless a cell spans
    lines: then a line is not a record and the text is parsed as it is."""
    slow_quoting = csv.QUOTE_NONE if separator == "\t" else csv.QUOTE_MINIMAL
    lines, size = _lines_and_size(path, source)
    # Would the empty lines cost more than BLANK_LINE_BUDGET as frame rows?
    if lines * max(width, 1) * CELL_BYTES > CELL_BYTES * size + BLANK_LINE_BUDGET:
        data = source if isinstance(source, bytes) else _read_all(path)
        compact, removed = without_blank_lines(data)
        if removed:
            try:
                parsed = _parse_fast(path, compact, separator)
            except pl.exceptions.PolarsError as exc:  # the slow reader leaves empty lines out itself
                return _parse_slowly(path, data, separator, slow_quoting, str(exc))
            if not _multiline_cells(parsed.frame):
                log.info("%s: %s empty line(s) left out", path.name, f"{sum(n for _, n in removed):,}")
                return replace(parsed, rows=record_rows(parsed.frame.height, removed))
            del compact, parsed
    try:
        return replace(_parse_fast(path, source, separator), lines=lines)
    except pl.exceptions.PolarsError as exc:
        data = source if isinstance(source, bytes) else _read_all(path)
        return _parse_slowly(path, data, separator, slow_quoting, str(exc))


def _parse_fast(path: Path, source: bytes | Path, separator: str) -> _Parsed:
    """polars' parser; PolarsError when it refuses the text (a TSV whose stray quotes break the
    CSV rules, KBART-style, is read again without quoting first)."""
    def parse(quote: str | None) -> pl.DataFrame:
        if _starts_like(source, _LOOKS_COMPRESSED):
            raise pl.exceptions.ComputeError("the text starts like a zlib stream: read by the slow reader")
        return pl.read_csv(source, has_header=False, separator=separator, quote_char=quote,
                           infer_schema=False, empty_string_is_null=True,
                           truncate_ragged_lines=False, raise_if_empty=False)

    quoting = True
    try:
        try:
            frame = parse('"')
        except pl.exceptions.PolarsError:
            if separator != "\t":
                raise
            log.info("%s: quotes do not follow CSV rules; reading the tab-separated file without quoting", path.name)
            frame, quoting = parse(None), False
    except pl.exceptions.PolarsError as exc:
        if "invalid utf-8" in str(exc).lower():
            raise _NotUtf8() from None
        raise
    return _Parsed(frame.rename({name: f"c{j}" for j, name in enumerate(frame.columns)}), None, quoting, False)


def _starts_like(source: bytes | Path, starts: tuple[bytes, ...]) -> bool:
    if isinstance(source, bytes):
        return source.startswith(starts)
    with source.open("rb") as handle:
        return handle.read(4).startswith(starts)


SLOW_PARSE_LIMIT = 256 * 2**20


def _parse_slowly(path: Path, text: bytes, separator: str, quoting: int, error: str) -> _Parsed:
    """What the fast parser refused, read with Python's csv module (strict quoting), as Excel
    would: a quote inside an unquoted value is a character. Refused at its row: a row with more
    or fewer fields than the first, an unclosed quote, text after a closing quote. Empty lines
    are left out (their row numbers kept)."""
    if len(text) > SLOW_PARSE_LIMIT:
        raise InputError(f"cannot parse the file as CSV: {error.splitlines()[0]}", file=path,
                         row=_row_at_offset(text, error))
    try:
        decoded = text.decode("utf-8")
    except UnicodeDecodeError:
        raise _NotUtf8() from None
    reader = csv.reader(io.StringIO(decoded, newline=""), delimiter=separator, quoting=quoting, strict=True)
    del decoded
    rows: list[list[str]] = []
    numbers: list[int] = []
    width = None
    limit = csv.field_size_limit()
    csv.field_size_limit(2**31 - 1)
    number = 0
    try:
        for number, row in enumerate(reader, start=1):
            if width is None:
                width = len(row)
            elif not row:
                continue
            elif len(row) > width:
                raise InputError(
                    f"this row has {len(row)} fields but the first row has {width}: a separator inside "
                    "an unquoted value, or values beyond the last column",
                    file=path, row=number, column=excel_letter(width))
            elif len(row) < width:
                _short_record(path, number, len(row), width)
            rows.append(row)
            numbers.append(number)
    except csv.Error as exc:
        if "unexpected end of data" in str(exc):
            problem = ('a quoted value starts in this row but its closing quote (") is missing, '
                       "so the rest of the file would be one cell")
        else:
            problem = ('a quote (") inside a quoted value is not doubled, or text follows a '
                       "closing quote")
        raise InputError(f"cannot parse the file as CSV: {problem}", file=path, row=number + 1) from None
    finally:
        csv.field_size_limit(limit)
    log.info("%s: read with the slower CSV reader (%s)", path.name, error.splitlines()[0][:120])
    columns = [[row[j] if j < len(row) and row[j] != "" else None for row in rows] for j in range(width or 0)]
    frame = pl.DataFrame({f"c{j}": pl.Series(values, dtype=pl.String) for j, values in enumerate(columns)})
    sparse = len(numbers) != number   # numbers rise from 1 to number: as many means all
    return _Parsed(frame, pl.Series("row", numbers, dtype=pl.Int64) if sparse else None,
                   quoting != csv.QUOTE_NONE, True)


def _row_at_offset(text: bytes, message: str) -> int | None:
    found = re.search(r"offset in the file is (\d+) bytes", message)
    return text[: int(found.group(1))].count(b"\n") + 1 if found else None


def _short_record(path: Path, row: int, fields: int, width: int) -> None:
    """Column: the first one left without a value, by its letter (a headerless file has no names)."""
    raise InputError(
        f"this row has {fields} field{'s' if fields != 1 else ''} but the first row has {width}: values are "
        "missing, or the file was cut or joined from pieces. Export the file again (a row must have a value, "
        "even an empty one, for every column)", file=path, row=row, column=excel_letter(fields))


def _refuse_control_characters(path: Path, parsed: _Parsed) -> None:
    """No control character (NUL, ESC, ...) in a text file: InputError at the first one's row."""
    frame = parsed.frame
    if not frame.width or not frame.height:
        return
    found = frame.select(pl.all().str.contains(CONTROL_CHARACTERS).any()).row(0)
    if not any(found):
        return
    hits = frame.select(pl.any_horizontal(pl.all().str.contains(CONTROL_CHARACTERS).fill_null(False))
                        .arg_true().first()).item()
    row = hits + 1 if parsed.rows is None else int(parsed.rows[hits])
    values = frame.row(hits)
    position = next(j for j, value in enumerate(values) if value is not None and _CONTROL.search(value))
    character = _CONTROL.search(values[position]).group()
    raise InputError(
        f"this cell holds a control character (0x{ord(character):02X}{', NUL' if character == chr(0) else ''}) that "
        "no export contains: the file is damaged, binary, or not the text it looks like. Export it again",
        file=path, row=row, column=excel_letter(position))


def _refuse_short_records(path: Path, source: bytes | Path, separator: str, parsed: _Parsed) -> None:
    """A record with fewer fields than the first is refused at its row: polars fills the missing
    fields with nulls, which would read a cut or misaligned row as empty cells. Only records whose
    last cell is empty (and that are not blank) can be short, and only they are looked at."""
    frame = parsed.frame
    width = frame.width
    if width < 2 or not frame.height:
        return
    others = pl.any_horizontal(pl.col(f"c{j}").is_not_null() for j in range(width - 1))
    candidates = frame.select(pl.int_range(pl.len(), dtype=pl.Int64).filter(pl.col(f"c{width - 1}").is_null()
                                                                             & others)).to_series()
    if not len(candidates):
        return
    counts = _field_counts(path, source, separator, parsed, candidates)
    short = counts.filter(counts.get_column("fields") < width)
    if short.height:
        index, fields = short.row(0)
        row = index + 1 if parsed.rows is None else int(parsed.rows[index])
        _short_record(path, row, fields, width)


def _field_counts(path: Path, source: bytes | Path, separator: str, parsed: _Parsed,
                  candidates: pl.Series) -> pl.DataFrame:
    """("index", "fields") of the candidate records. Records are lines unless a cell spans lines
    (then Python's csv module counts them, record by record); the lines are taken a block at a
    time, so only the candidates' lines are ever held."""
    text = source if parsed.rows is None else without_blank_lines(
        source if isinstance(source, bytes) else _read_all(path))[0]
    lines = parsed.lines if parsed.lines is not None else _lines_and_size(path, text)[0]
    if lines == parsed.frame.height:   # no cell spans lines: each record is a line
        try:
            lines = _lines_at(path, text, candidates)
        except _NotLines:
            lines = None
        if lines is not None:
            if parsed.quoting:
                lines = lines.str.replace_all(r'"[^"]*"', "")
            return pl.DataFrame({"index": candidates,
                                 "fields": lines.str.count_matches(separator, literal=True).cast(pl.Int64) + 1})
    data = source if isinstance(source, bytes) else _read_all(path)
    reader = csv.reader(io.StringIO(data.decode("utf-8", "replace"), newline=""), delimiter=separator,
                        quoting=csv.QUOTE_MINIMAL if parsed.quoting else csv.QUOTE_NONE)
    wanted = set(candidates.to_list())
    limit = csv.field_size_limit()
    csv.field_size_limit(2**31 - 1)
    try:
        found = [(index, len(row)) for index, row in enumerate(reader) if index in wanted]
    finally:
        csv.field_size_limit(limit)
    return pl.DataFrame(found, schema={"index": pl.Int64, "fields": pl.Int64}, orient="row")


LINE_BLOCK = 8 << 20


def _lines_at(path: Path, text: bytes | Path, wanted: pl.Series) -> pl.Series:
    """The lines (0-based, rising) `wanted` of a UTF-8 text, without their line end. Read by
    polars a block of whole lines at a time, so only one block's lines are held at once."""
    found: list[pl.Series] = []
    number, rest = 0, b""

    def blocks():
        if isinstance(text, bytes):
            yield from (text[at: at + LINE_BLOCK] for at in range(0, len(text), LINE_BLOCK))
            return
        try:
            with text.open("rb") as handle:
                while block := handle.read(LINE_BLOCK):
                    yield block
        except OSError as exc:
            raise InputError(f"cannot read the file: {exc.strerror or exc}", file=path) from None

    def take(block: bytes) -> None:
        nonlocal number
        lines = pl.read_csv(block, has_header=False, separator="\x1f", quote_char=None, infer_schema=False,
                            empty_string_is_null=False, raise_if_empty=False)
        height = lines.height
        if lines.width != 1 or height != block.count(b"\n") + (0 if block.endswith(b"\n") else 1):
            raise _NotLines()
        local = wanted.filter((wanted >= number) & (wanted < number + height)) - number
        found.append(lines.to_series().gather(local).fill_null(""))
        number += height

    for block in blocks():
        block = rest + block
        cut = block.rfind(b"\n")
        if cut < 0:
            rest = block
            continue
        take(block[: cut + 1])
        rest = block[cut + 1:]
    if rest:
        take(rest)
    return pl.concat(found).rename("line") if found else pl.Series("line", [], dtype=pl.String)


class _NotLines(Exception):
    """A block did not read as one line per row (the csv module counts the fields instead)."""


# --- shared ---------------------------------------------------------------------------------

def _empty_to_null(frame: pl.DataFrame) -> pl.DataFrame:
    """"" -> null (a quoted "" in CSV, an empty text cell in xlsx), only in columns that have one."""
    flags = frame.select((pl.col(name) == "").any() for name in frame.columns).row(0) if frame.height else ()
    having = [name for name, flag in zip(frame.columns, flags) if flag]
    return frame.with_columns(
        pl.when(pl.col(name) == "").then(None).otherwise(pl.col(name)).alias(name) for name in having)


def _split_header(path: Path, frame: pl.DataFrame, has_header: bool, fmt: str,
                  encoding: str | None, rows: pl.Series | None = None) -> TextTable:
    if not has_header:
        return TextTable(path, (), frame, 1, fmt, encoding, rows=rows)
    header = tuple(cell if cell is not None else "" for cell in frame.row(0)) if frame.height else ()
    data_rows = rows.slice(1) if rows is not None else None
    return TextTable(path, header, frame.slice(1), int(rows[0]) + 1 if rows is not None and len(rows) else 2, fmt,
                     encoding, rows=data_rows)


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
    rows = None if table.rows is None else pl.concat([pl.Series("row", [table.first_row - 1], dtype=pl.Int64),
                                                      table.rows])
    return replace(table, header=(), frame=pl.concat([first, table.frame]), first_row=table.first_row - 1, rows=rows)
