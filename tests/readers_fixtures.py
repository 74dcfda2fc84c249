"""Small file builders for the reader tests: real KBART rows written as xlsx, CSV or TSV."""
from __future__ import annotations

from pathlib import Path

import xlsxwriter

from conftest import ERUDIT, JSTOR, KBART_DIR


def realdata_file(name: str) -> Path:
    """The excerpt of a real KBART file, byte for byte (tests/data/kbart)."""
    return KBART_DIR / name


def kbart_rows(name: str = ERUDIT, limit: int = 50, *, accented: bool = False) -> list[dict[str, str]]:
    """The first rows of a real KBART file as dicts (accented: only titles with non-ASCII letters)."""
    with realdata_file(name).open(encoding="utf-8", newline="") as handle:
        lines = handle.read().split("\r\n")
    header = lines[0].split("\t")
    rows = [dict(zip(header, line.split("\t"))) for line in lines[1:] if line]
    if accented:
        rows = [row for row in rows if not row["publication_title"].isascii()]
    return rows[:limit]


def portfolio_id(n: int) -> str:
    return f"53{n:013d}3681"


def mms_id(n: int) -> str:
    return f"99{n:013d}3681"


def write_xlsx(path: Path, rows: list[list[object]]) -> Path:
    """rows[i][j] -> cell (i, j); str written as text, int/float as an Excel number, None left empty."""
    workbook = xlsxwriter.Workbook(str(path))
    sheet = workbook.add_worksheet("Results")
    for i, row in enumerate(rows):
        for j, value in enumerate(row):
            if isinstance(value, str):
                sheet.write_string(i, j, value)
            elif isinstance(value, (int, float)):
                sheet.write_number(i, j, value)
    workbook.close()
    return path


def write_text(path: Path, rows: list[list[str]], *, separator: str = ",", encoding: str = "utf-8",
               newline: str = "\r\n", final_newline: bool = True) -> Path:
    """A delimited text file, fields quoted only when they need it (like Excel)."""
    def field(value: str) -> str:
        if any(c in value for c in (separator, '"', "\n", "\r")):
            return '"' + value.replace('"', '""') + '"'
        return value

    text = newline.join(separator.join(field(v) for v in row) for row in rows)
    path.write_bytes((text + (newline if final_newline else "")).encode(encoding))
    return path
