"""The canonical CSV of a fetched report: what almaclean stores, keeps and names in bundles.

Header = each data column's Analytics heading (saw-sql:columnHeading), in report order; then one
line per report row, each cell exactly as Analytics sent it (a cell Analytics left out is
empty). UTF-8 without BOM, CRLF line ends (RFC 4180: so a cell holding a lone CR is quoted too),
minimal quoting, the header fully quoted (so a heading holding ';' or a tab never makes the
reader take another separator). Nothing in it depends on when it was fetched: the same report
content gives the same bytes, so the sha256 "unchanged" check of ingest works as for a file.
The header is written by Python's csv module, the rows by polars, whose minimal quoting is the
csv module's (a cell is quoted when it holds a comma, a quote, CR or LF) for every cell a page
holds: text or null, never "" (a test holds them to the same bytes); only a record of one empty
field, which polars would write as an empty line, is written '""' as the csv module does.

Rows are written as pages arrive, into a temporary file beside the final name; the file gets
its name only when the whole report is in (write.atomic), and a report read again from its
start (a lost answer) starts the file again. The sink keeps the pages and hashes the bytes as
it writes them, so the fetched rows are stored without reading the file back (CsvSink.table,
CsvSink.digest): what read_table and file_digest would give for it.
"""
from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import polars as pl

from almaclean import settings
from almaclean.read.table import TextTable, csv_table, read_table
from almaclean.read.xlsx_check import EXCEL_COLUMNS
from almaclean.write.atomic import atomic_path, safe_label

LINE_END = "\r\n"

def fetched_folder(institution: str, kind: str) -> Path:
    """data folder/fetched/<institution>/<kind>/: where fetched reports are kept."""
    return settings.fetched_dir() / safe_label(institution) / kind


def new_csv_path(institution: str, kind: str, report: str, *, now: datetime | None = None) -> Path:
    """A new file name: the report's name and the fetch time (UTC), never an existing file."""
    folder = fetched_folder(institution, kind)
    stem = f"{safe_label(report.rstrip('/').rsplit('/', 1)[-1])}-" \
           f"{(now or datetime.now(timezone.utc)).strftime('%Y%m%dT%H%M%SZ')}"
    path, n = folder / f"{stem}.csv", 2
    while path.exists():
        path, n = folder / f"{stem}-{n}.csv", n + 1
    return path


class CsvSink:
    """Receives the report as it is read: its headings once, then rows page by page. Keeps the
    pages and the sha256 of the bytes written, so that the file need not be read back (table)."""

    def __init__(self, handle: io.BufferedIOBase) -> None:
        self._handle = handle
        self._clear()

    def _clear(self) -> None:
        self.headings: tuple[str, ...] | None = None
        self.rows = 0
        self._pages: list[pl.DataFrame] = []
        self._sha256 = hashlib.sha256()
        self.size = 0

    def _write(self, data: bytes) -> None:
        self._handle.write(data)
        self._sha256.update(data)
        self.size += len(data)

    def start(self, headings: Sequence[str]) -> None:
        self.headings = tuple(headings)
        line = io.StringIO()
        csv.writer(line, lineterminator=LINE_END, quoting=csv.QUOTE_ALL).writerow(self.headings)
        self._write(line.getvalue().encode("utf-8"))

    def add(self, rows: pl.DataFrame) -> None:
        """A page's rows: a String column per heading, null where the cell is empty."""
        self._write(csv_lines(rows))
        self._pages.append(rows)
        self.rows += rows.height

    def reset(self) -> None:
        """Forget everything written (the report is read again from its start)."""
        self._handle.seek(0)
        self._handle.truncate()
        self._clear()

    @property
    def digest(self) -> tuple[str, int]:
        """sha256 (hex) and size of the bytes written: store.ingest.file_digest of the file."""
        return self._sha256.hexdigest(), self.size

    def table(self, path: Path) -> TextTable:
        """The file at `path` (written here) as read.table.read_table reads it, made from the
        pages kept rather than by reading it back: the same header, cells and row numbers (a
        test holds the two to equal on every kind of text). A file of no row, or too wide for a
        sheet, is read back, which says what is wrong with it as for any file."""
        if not self._pages or self.headings is None or not 0 < len(self.headings) <= EXCEL_COLUMNS:
            return read_table(path)
        return csv_table(path, self.headings, pl.concat(self._pages, how="vertical", rechunk=False))


def csv_lines(rows: pl.DataFrame) -> bytes:
    """The canonical CSV lines of these rows (String columns, null for an empty cell)."""
    if not rows.height:
        return b""
    out = io.BytesIO()
    rows.write_csv(out, include_header=False, line_terminator=LINE_END, quote_style="necessary",
                   null_value='""' if rows.width == 1 else "")
    return out.getvalue()


@contextmanager
def canonical_csv(final: Path) -> Iterator[CsvSink]:
    """A sink writing the canonical CSV; `final` appears only when the block ends without error."""
    with atomic_path(final) as temp, open(temp, "wb") as handle:
        yield CsvSink(handle)
