"""The one CSV writer: UTF-8 without BOM, header row, minimal quoting, text as is, atomic."""
from __future__ import annotations

import csv
import io
import logging
from collections.abc import Sequence
from pathlib import Path

import polars as pl

from almaclean.errors import AlmacleanError
from almaclean.write.atomic import atomic_path

log = logging.getLogger(__name__)


def write_csv(path: Path, frame: pl.DataFrame, *, header: Sequence[str] | None = None) -> Path:
    """Write `frame` to a new CSV file (refuses to overwrite). Nulls become empty fields.

    header: exact header cells to write instead of the column names (duplicates allowed).
    """
    path = Path(path)
    if header is not None and len(header) != frame.width:
        raise AlmacleanError(f"{path}: header has {len(header)} names but the frame has {frame.width} columns")
    names = list(header) if header is not None else frame.columns
    line = io.StringIO()
    csv.writer(line, lineterminator="\n").writerow(names)
    with atomic_path(path) as temp:
        with open(temp, "wb") as out:
            out.write(line.getvalue().encode("utf-8"))
            frame.write_csv(out, include_header=False, line_terminator="\n", quote_style="necessary")
    log.info("wrote %s (%d rows)", path, frame.height)
    return path
