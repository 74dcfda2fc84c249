"""The CSV writers, one per reader of the file. All UTF-8, header row, minimal quoting, atomic.

- write_csv: data files that come back in (stored files written back, findings a later run
  reads, sample inputs): every cell exactly as is, no BOM.
- write_csv_for_people: files someone opens in Excel (deletion_candidates.csv, review.csv,
  changes.csv...). A UTF-8 BOM, so Excel shows accents right, and OWASP's CSV-injection
  rule: a cell starting with = + - @ tab CR (or NUL, or their fullwidth forms) gets a
  leading ' so no spreadsheet runs it as a formula. Alma IDs stay plain digits here, so
  scripts read them exactly; a double-click in Excel shows a 17-digit ID as 5.35E+16,
  which is why every such table is also in the run's xlsx report, where IDs are text.
  To open the CSV itself in Excel: Data > From Text/CSV, ID columns as Text.
- write_id_set: itemized set files for Alma: a header naming the ID column, then one
  validated Alma ID per line; no BOM (no source says Alma's set upload accepts one, and a
  BOM would become part of the header name), no neutralising (IDs are digits only).
"""
from __future__ import annotations

import codecs
import csv
import io
import logging
from collections.abc import Iterable, Sequence
from pathlib import Path

import polars as pl

from almaclean.errors import AlmacleanError, InputError
from almaclean.write.atomic import atomic_path

log = logging.getLogger(__name__)

# OWASP CSV injection: cells starting with these are formulas to Excel, LibreOffice or Sheets.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\x00", "＝", "＋", "－", "＠")
_FORMULA_START_PATTERN = "^[=+\\-@\\t\\r\\x00＝＋－＠]"
SET_HEADER_MAX = 100


def write_csv(path: Path, frame: pl.DataFrame, *, header: Sequence[str] | None = None) -> Path:
    """Write `frame` to a new CSV file (refuses to overwrite), every cell as is; nulls empty.

    header: exact header cells to write instead of the column names (duplicates allowed).
    """
    return _write(path, frame, header, for_people=False)


def write_csv_in_slices(path: Path, slices: Iterable[pl.DataFrame], *, header: Sequence[str] | None) -> Path:
    """write_csv of the frame these slices make up, written a slice at a time (none of them held
    after it is written); header None: no header line (a headerless P2E file written back)."""
    rows = 0
    with atomic_path(Path(path)) as temp:
        with open(temp, "wb") as out:
            if header is not None:
                line = io.StringIO()
                csv.writer(line, lineterminator="\n").writerow(list(header))
                out.write(line.getvalue().encode("utf-8"))
            for part in slices:
                if header is not None and len(header) != part.width:
                    raise AlmacleanError(f"{path}: header has {len(header)} names but the rows have {part.width} "
                                         "columns")
                part.write_csv(out, include_header=False, line_terminator="\n", quote_style="necessary")
                rows += part.height
    log.info("wrote %s (%d rows)", path, rows)
    return Path(path)


def write_csv_for_people(path: Path, frame: pl.DataFrame, *, header: Sequence[str] | None = None) -> Path:
    """Like write_csv, for a file people open in a spreadsheet: BOM, formula-like cells neutralised."""
    return _write(path, frame, header, for_people=True)


def neutralise_formulas(frame: pl.DataFrame) -> pl.DataFrame:
    """Every text cell starting like a formula (FORMULA_START) gets a leading apostrophe."""
    text = [name for name, dtype in frame.schema.items() if dtype == pl.String]
    return frame.with_columns(
        pl.when(pl.col(name).str.contains(_FORMULA_START_PATTERN)).then("'" + pl.col(name))
        .otherwise(pl.col(name)).alias(name) for name in text)


def neutralise_cell(cell: str) -> str:
    return "'" + cell if cell.startswith(FORMULA_START) else cell


def write_id_set(path: Path, ids: Iterable[str] | pl.Series, *, header: str) -> Path:
    """An itemized set file for Alma: `header`, then one Alma ID per line; every ID checked.

    InputError for a header that is not one plain line (it comes from the user's settings);
    AlmacleanError for an ID that is not an Alma ID (input IDs are checked when read, so one
    here is a fault of this program, and no set file must carry it).
    """
    from almaclean.kinds.common import alma_id_problem  # the one ID rule; kinds imports the readers

    path = Path(path)
    check_set_header(header)
    values = ids.to_list() if isinstance(ids, pl.Series) else list(ids)
    for number, value in enumerate(values, start=2):
        problem = "it is empty" if value is None else alma_id_problem(str(value))
        if problem:
            raise AlmacleanError(f"{path}: line {number}: {value!r} is not an Alma ID ({problem}); "
                                 "the set file was not written")
    with atomic_path(path) as temp:
        temp.write_bytes(("\n".join([header, *values]) + "\n").encode("utf-8"))
    log.info("wrote set file %s (%d ids)", path, len(values))
    return path


def check_set_header(header: str) -> str:
    """The header line of a set file: one line of plain text, no separators or quotes."""
    if not isinstance(header, str) or not header.strip():
        raise InputError("the set header is empty: give the ID column's name, e.g. 'Portfolio Id'")
    if header != header.strip() or len(header) > SET_HEADER_MAX or not header.isprintable() \
            or any(c in header for c in ',;"\t'):
        raise InputError(f"the set header {header[:40]!r} must be one line of plain text (no line breaks, "
                         f"tabs, commas, semicolons or quotes, at most {SET_HEADER_MAX} characters), "
                         "e.g. 'Portfolio Id'")
    return header


def _write(path: Path, frame: pl.DataFrame, header: Sequence[str] | None, *, for_people: bool) -> Path:
    path = Path(path)
    if header is not None and len(header) != frame.width:
        raise AlmacleanError(f"{path}: header has {len(header)} names but the frame has {frame.width} columns")
    names = list(header) if header is not None else frame.columns
    if for_people:
        names = [neutralise_cell(name) for name in names]
        frame = neutralise_formulas(frame)
    line = io.StringIO()
    csv.writer(line, lineterminator="\n").writerow(names)
    with atomic_path(path) as temp:
        with open(temp, "wb") as out:
            if for_people:
                out.write(codecs.BOM_UTF8)
            out.write(line.getvalue().encode("utf-8"))
            frame.write_csv(out, include_header=False, line_terminator="\n", quote_style="necessary")
    log.info("wrote %s (%d rows)", path, frame.height)
    return path
