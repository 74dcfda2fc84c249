"""Worksheet `<row>`/`<c>` XML built with polars string expressions, a chunk of rows at a time.

Produces exactly the text xlsxwriter (constant_memory mode, inline strings) writes for the same
cells, except that a value shaped like rich text (`<r>...</r>`) is escaped like any other string
instead of being copied raw into the XML. Pure text building (xlsxwriter only names columns);
xlsx.py streams the result into the workbook.

Cell rules (xlsxwriter's `_write_cell`/`_xml_inline_string`):
- null and "" -> no cell (unless highlighted: `<c r=".." s=".."/>`); a row without cells -> no `<row>`;
- text -> `<c r="B7"[ s="N"] t="inlineStr"><is><t[ xml:space="preserve"]>escaped</t></is></c>`;
- number (already formatted as `{:.16G}`) -> `<c r="B7"[ s="N"]><v>12</v></c>`.
"""
from __future__ import annotations

import logging
import re
from bisect import bisect_left
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field

import polars as pl
from xlsxwriter.utility import xl_col_to_name

from almaclean import interrupts

log = logging.getLogger(__name__)

CHUNK_CELLS = 50_000  # cells per chunk: bounds memory whatever the sheet's width; bigger chunks were slower
MIN_CHUNK_ROWS = 1_000
XML_THREADS = 2
# Up to this many cells a chunk is written cell by cell in Python: building and running the polars
# query costs 10-25 ms whatever the chunk's size, Python about 1 microsecond a cell.
PYTHON_CELLS = 4_000

# Cells needing xlsxwriter's control-character escaping: computed one by one in Python (rare).
_NEEDS_CONTROL_ESCAPE = r"[\x00-\x08\x0B-\x1F\x{FFFE}\x{FFFF}]|_x[0-9a-fA-F]{4}_"
_ESCAPE_LIKE = re.compile(r"(_x[0-9a-fA-F]{4}_)")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f]")
# Exactly the characters Python's re `\s` matches (xlsxwriter decides xml:space="preserve" with
# r"^\s" / r"\s$"); the Rust regex `\s` is a different set, so it is spelled out.
PYTHON_WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
_PYTHON_WHITESPACE_SET = frozenset(PYTHON_WHITESPACE)
_PRESERVED_TEXT = '<t xml:space="preserve">'
_WS_CLASS = "[" + "".join(f"\\x{{{ord(c):X}}}" for c in PYTHON_WHITESPACE) + "]"


@dataclass(frozen=True)
class CellStyles:
    """xf indexes for the `s` attribute: `every` on all cells, `marked` on highlighted ones.

    marked: column index -> sorted frame row indexes (0 = the frame's first row).
    """

    every: int | None = None
    highlight: int | None = None
    marked: Mapping[int, Sequence[int]] = field(default_factory=dict)


def escape_control_characters(text: str) -> str:
    """xlsxwriter's `_escape_control_characters`: `_xHHHH_` for control characters and U+FFFE/F."""
    text = _ESCAPE_LIKE.sub(r"_x005F\1", text)
    text = _CONTROL.sub(lambda m: f"_x{ord(m.group()):04X}_", text)
    return text.replace("\ufffe", "_xFFFE_").replace("\uffff", "_xFFFF_")


def chunk_rows(n_cols: int) -> int:
    return max(MIN_CHUNK_ROWS, CHUNK_CELLS // max(n_cols, 1))


def _columns_containing(chunk: pl.DataFrame, pattern: str) -> set[int]:
    """Indexes of the columns with at least one cell matching `pattern` (a regex)."""
    if chunk.width == 0 or chunk.height == 0:
        return set()
    found = chunk.select(pl.col(c).str.contains(pattern).any() for c in chunk.columns).row(0)
    return {i for i, hit in enumerate(found) if hit}


def _with_control_escapes(chunk: pl.DataFrame) -> pl.DataFrame:
    """Replace the few cells that need control-character escaping by their escaped text."""
    fixed = []
    for i in sorted(_columns_containing(chunk, _NEEDS_CONTROL_ESCAPE)):
        column = chunk.to_series(i)
        rows = column.str.contains(_NEEDS_CONTROL_ESCAPE).fill_null(False).arg_true()
        escaped = [escape_control_characters(v) for v in column.gather(rows).to_list()]
        fixed.append(column.clone().scatter(rows, escaped))
        log.debug("column %d: %d cells with control characters escaped", i, len(escaped))
    return chunk.with_columns(fixed) if fixed else chunk


def _xml_text(col: pl.Expr) -> pl.Expr:
    """xlsxwriter's `_escape_data`: only &, < and > (Excel leaves quotes alone in data)."""
    return (
        col.str.replace_all("&", "&amp;", literal=True)
        .str.replace_all("<", "&lt;", literal=True)
        .str.replace_all(">", "&gt;", literal=True)
    )


def _text_open_tag(col: pl.Expr) -> pl.Expr:
    """`<t xml:space="preserve">` when the text starts or ends with whitespace."""
    edge_space = col.str.contains(f"^{_WS_CLASS}") | col.str.contains(f"{_WS_CLASS}$")
    return pl.when(edge_space).then(pl.lit(_PRESERVED_TEXT)).otherwise(pl.lit("<t>"))


def _style_attr(styles: CellStyles, highlighted: pl.Expr | None) -> pl.Expr:
    plain = pl.lit(f' s="{styles.every}"' if styles.every is not None else "")
    if highlighted is None:
        return plain
    return pl.when(highlighted).then(pl.lit(f' s="{styles.highlight}"')).otherwise(plain)


def _cell_xml(name: str, col_index: int, numeric: bool, keep_empty: bool, escape: bool, styles: CellStyles,
              highlighted: pl.Expr | None) -> pl.Expr:
    """One column's `<c>` element per row, null where xlsxwriter writes no cell."""
    value = pl.col(name)
    ref = [pl.lit(f'<c r="{xl_col_to_name(col_index)}'), pl.col("__row")]
    style = _style_attr(styles, highlighted)
    present = value.is_not_null() if numeric or keep_empty else value.is_not_null() & (value != "")
    if numeric:
        cell = pl.concat_str([*ref, pl.lit('"'), style, pl.lit("><v>"), value, pl.lit("</v></c>")])
    else:
        cell = pl.concat_str([*ref, pl.lit('"'), style, pl.lit(' t="inlineStr"><is>'), _text_open_tag(value),
                              _xml_text(value) if escape else value, pl.lit("</t></is></c>")])
    if highlighted is None:
        return pl.when(present).then(cell)
    blank = pl.concat_str([*ref, pl.lit(f'" s="{styles.highlight}"/>')])
    return pl.when(present).then(cell).when(highlighted).then(blank)


def rows_xml(chunk: pl.DataFrame, first_row: int, numeric: Sequence[bool], styles: CellStyles = CellStyles(),
             *, keep_empty: bool = False, as_bytes: bool = False) -> tuple[str | bytes, int | None]:
    """The `<row>` elements for `chunk`, whose row i is worksheet row `first_row + i` (0-based).

    Every column is String; `numeric` ones hold numbers already formatted as xlsxwriter does
    (`{:.16G}`). `marked` rows in `styles` are relative to `chunk`. keep_empty writes "" as an
    empty text cell (the header).
    Returns the XML (as_bytes: UTF-8 encoded, straight from polars, no Python text on the way)
    and the last worksheet row that got a `<row>` (None if none did).
    """
    if chunk.height * chunk.width <= PYTHON_CELLS:
        xml, last = _python_rows_xml(chunk, first_row, numeric, styles, keep_empty=keep_empty)
        return (xml.encode("utf-8") if as_bytes else xml), last
    return _polars_rows_xml(chunk, first_row, numeric, styles, keep_empty=keep_empty, as_bytes=as_bytes)


def _polars_rows_xml(chunk: pl.DataFrame, first_row: int, numeric: Sequence[bool], styles: CellStyles, *,
                     keep_empty: bool, as_bytes: bool) -> tuple[str | bytes, int | None]:
    names = [f"c{i}" for i in range(chunk.width)]
    chunk = _with_control_escapes(chunk.select(pl.nth(i).alias(name) for i, name in enumerate(names)))
    extra: list[pl.Expr | pl.Series] = [(pl.int_range(pl.len()) + first_row).alias("__index")]
    for col, rows in styles.marked.items():
        extra.append(pl.Series(f"__hl{col}", [False] * chunk.height, dtype=pl.Boolean).scatter(list(rows), True))
    chunk = chunk.with_columns(extra).with_columns((pl.col("__index") + 1).cast(pl.String).alias("__row"))
    escape = _columns_containing(chunk.select(names), "[&<>]")
    cells = [
        _cell_xml(name, i, numeric[i], keep_empty, i in escape, styles,
                  pl.col(f"__hl{i}") if i in styles.marked else None)
        for i, name in enumerate(names)
    ]
    written = (
        chunk.select(pl.concat_str(cells, ignore_nulls=True).alias("__body"), "__row", "__index")
        .filter(pl.col("__body") != "")
        .select(pl.concat_str([pl.lit('<row r="'), pl.col("__row"), pl.lit('">'), pl.col("__body"),
                               pl.lit("</row>")]).alias("xml"), "__index")
    )
    if written.height == 0:
        return (b"" if as_bytes else ""), None
    xml = written.get_column("xml").str.join("")
    return (xml.cast(pl.Binary) if as_bytes else xml).item(), written.get_column("__index").item(-1)


def _python_rows_xml(chunk: pl.DataFrame, first_row: int, numeric: Sequence[bool], styles: CellStyles, *,
                     keep_empty: bool) -> tuple[str, int | None]:
    """rows_xml, cell by cell in Python: the same text (tests/test_xlsx_cells.py compares the two),
    for a chunk too small to repay building the polars query (a header, a summary sheet)."""
    plain = f' s="{styles.every}"' if styles.every is not None else ""
    highlight = f' s="{styles.highlight}"'
    marked = {col: set(rows) for col, rows in styles.marked.items()}
    letters = [xl_col_to_name(i) for i in range(chunk.width)]
    columns = [chunk.to_series(i).to_list() for i in range(chunk.width)]
    rows, last = [], None
    for index, values in enumerate(zip(*columns), start=first_row):
        cells = []
        for col, value in enumerate(values):
            lit = index - first_row in marked[col] if col in marked else False
            ref = f'<c r="{letters[col]}{index + 1}"'
            if numeric[col] and value is not None:
                cells.append(f"{ref}{highlight if lit else plain}><v>{value}</v></c>")
            elif value is not None and (keep_empty or value != ""):
                text = escape_control_characters(value)
                edge_space = text[:1] in _PYTHON_WHITESPACE_SET or text[-1:] in _PYTHON_WHITESPACE_SET
                text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
                open_tag = _PRESERVED_TEXT if edge_space else "<t>"
                cells.append(f'{ref}{highlight if lit else plain} t="inlineStr"><is>{open_tag}{text}</t></is></c>')
            elif lit:
                cells.append(f"{ref}{highlight}/>")
        if cells:
            rows.append(f'<row r="{index + 1}">{"".join(cells)}</row>')
            last = index
    return "".join(rows), last


def frame_rows_xml(frame: pl.DataFrame, first_row: int, numeric: Sequence[bool],
                   styles: CellStyles = CellStyles(), *, as_bytes: bool = False) -> Iterator[tuple[str | bytes, int]]:
    """`rows_xml` over `frame` in chunks of about CHUNK_CELLS cells: yields (xml, last worksheet row
    written) per chunk that has cells, in order. `marked` rows in `styles` are relative to `frame`.
    XML_THREADS chunks are built at once, at most one more waits to be taken."""
    step = chunk_rows(frame.width)

    def build(start: int) -> tuple[str | bytes, int | None]:
        chunk = frame.slice(start, step)
        marked = _marked_in(styles.marked, start, chunk.height)
        return rows_xml(chunk, first_row + start, numeric, CellStyles(styles.every, styles.highlight, marked),
                        as_bytes=as_bytes)

    # polars builds one chunk's XML on little more than one core: two at once took 0.7 s instead
    # of 1.8 s for a 235,000-row sheet, and less processor time.
    with interrupts.Workers(XML_THREADS, "almaclean-xml") as pool:
        building: deque[Future] = deque()
        for start in range(0, frame.height, step):
            building.append(pool.submit(build, start))
            if len(building) > XML_THREADS:
                yield from _with_rows(interrupts.result(building.popleft()))
        while building:
            yield from _with_rows(interrupts.result(building.popleft()))


def _with_rows(built: tuple[str | bytes, int | None]) -> Iterator[tuple[str | bytes, int]]:
    xml, last = built
    if last is not None:
        yield xml, last


def _marked_in(marked: Mapping[int, Sequence[int]], start: int, height: int) -> dict[int, list[int]]:
    """The marked rows (sorted) falling in [start, start + height), made relative to start."""
    inside = {}
    for col, rows in marked.items():
        window = rows[bisect_left(rows, start):bisect_left(rows, start + height)]
        if window:
            inside[col] = [r - start for r in window]
    return inside
