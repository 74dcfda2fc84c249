"""Report pages in the one shape Analytics writes them, read without building an element tree.

Analytics writes every row of a page alike: `<Row>`, Analytics' constant `<Column0>0</Column0>`,
then the cells in schema order, each `<ColumnN>text</ColumnN>` (a cell without a value left
out, or written `<ColumnN/>`), then `</Row>`; rows one after another, perhaps each on a line of
its own. ElementTree makes an element per cell, which takes about as long as all of ingest
does for the same rows. A page in that shape is read here with a few passes over its bytes in C
and Rust (a regular expression, one polars replace_many, polars' CSV reader); a page in any
other shape gets None, and protocol.parse_page reads it exactly as before (or refuses it as
before). So a page is never read here otherwise than ElementTree reads it:

- the rows must be exactly that grammar, a strict subset of XML: the schema's element names in
  schema order, each open tag closed by its own name, no attributes, comments, CDATA,
  processing instructions, nested elements or text between elements (whitespace only);
- the text of the cells: the pass that turns the tags into separators also turns every
  character XML forbids (C0 controls but tab, LF and CR; U+FFFE, U+FFFF), "]]>" and every "&"
  that starts no reference into a NUL, which no text can hold: one NUL and the page is not
  read here; numeric references are decoded and checked one by one, in Python (they are rare);
- the encoding: UTF-8, declared or not (polars refuses any invalid byte sequence);
- everything around the rows (token, IsFinished, schema, the rowset element and its namespace)
  is read by protocol.parse_page from the page with one empty `<Row/>` in place of the rows,
  which must then be the page's only row, and no other Row start tag (of any prefix) may stand
  around the rows: so that row is the marker, and the rows sit where ElementTree finds them
  (not in a comment, CDATA or another element beside an empty row of the rowset's own).

The text comes out as XML gives it: CR LF and a lone CR read as LF, references decoded, an
empty cell as no value (None), whitespace kept.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import polars as pl

from almaclean.analytics.protocol import (
    CONSTANT_COLUMN, Column, Page, ProtocolError, parse_error, parse_page, parse_xml,
)

ROW_OPEN, ROW_CLOSE = b"<Row>", b"</Row>"
ROW_MARK = b"<Row/>"
_NUL = "\x00"
_FIELD, _RECORD = "\x1f", "\x1e"   # separators of the intermediate text: C0 controls, which no cell holds
_RECORD_MARK = "R"                 # first field of every record: a row with no cell is still a record
_CR = "\x02"                       # a CR from a character reference, until polars has read the fields
_SPACE = rb"[ \t\r\n]"
_ELEMENT = re.compile(r"Column[0-9]+")
# Past its leading zeros, at most the digits of any character Unicode has: a longer reference
# keeps its "&", which makes the page ElementTree's (and int() is never handed thousands of digits).
_NUMERIC = re.compile(rb"&#(?:x0*+([0-9a-fA-F]{1,6})|0*+([0-9]{1,7}));")
_DECLARATION = re.compile(rb"<\?xml" + _SPACE + rb"+version" + _SPACE + rb"*=" + _SPACE + rb"*(['\"])1\.0\1"
                          rb"(?:" + _SPACE + rb"+encoding" + _SPACE + rb"*=" + _SPACE + rb"*(['\"])(?i:utf-8)\2)?"
                          rb"(?:" + _SPACE + rb"+standalone" + _SPACE + rb"*=" + _SPACE + rb"*(['\"])(?:yes|no)\3)?"
                          + _SPACE + rb"*\?>")
_BOM = b"\xef\xbb\xbf"
_ROW_TAG = re.compile(rb"<(?:[^<>/!?:" + _SPACE[1:-1] + rb"]+:)?Row[/>" + _SPACE[1:-1] + rb"]")
_NAMED = {"&lt;": "<", "&gt;": ">", "&quot;": '"', "&apos;": "'", "&amp;": "&", "&#13;": _CR}
# What XML forbids in text: the pass that finds the tags turns each into a NUL (after the
# references, so that "&" alone is one).
_FORBIDDEN = [chr(c) for c in range(0x20) if chr(c) not in "\t\n\r"] + ["]]>", "\ufffe", "\uffff", "&"]
_BETWEEN_TAGS = r"(</Row>|<Row>|</Column[0-9]+>|<Column[0-9]+/>)[ \t\r\n]+"


class _NotThisShape(Exception):
    """The page is not in the shape read here: ElementTree reads it."""


@dataclass(frozen=True)
class _Shape:
    """What reading the rows of a report with these columns takes (made once per report)."""

    width: int
    compact: re.Pattern[bytes]     # rows with nothing between elements (but a line end after a row)
    loose: re.Pattern[bytes]       # rows with whitespace between elements
    self_closing: tuple[list[str], list[str]]   # <ColumnN/> -> <ColumnN></ColumnN>
    tags: tuple[list[str], list[str]]           # the one replace pass: tags, references, forbidden


def fast_page(body: bytes, known: tuple[Column, ...] | None) -> Page | None:
    """The page, read as protocol.parse_page(parse_xml(body), known) reads it; None when the
    page is not in the shape read here (or is no page at all: then parse_page says why)."""
    page = checked_page(body, known)
    if page is None:
        return None
    rows = page.rows.frame()
    if rows is None:
        return None
    return Page(page.finished, page.token, page.columns, rows)


@dataclass(frozen=True)
class Rows:
    """A page's rows in the shape read here (their grammar checked), not read yet: `height`
    rows. frame() reads them (no Python objects, so on any thread), or gives None when their
    text is not in the shape (a reference, character or byte sequence read by ElementTree
    only): the rows stand where ElementTree finds them, so parse_page of the whole body then
    gives the same envelope, and these rows or why the page is refused."""

    data: bytes
    shape: _Shape
    loose: bool
    height: int

    def frame(self) -> pl.DataFrame | None:
        try:
            return _frame(self.data, self.loose, self.shape)
        except _NotThisShape:
            return None


@dataclass(frozen=True)
class CheckedPage:
    """A page as fast_page reads it, but for its rows, only checked (Rows)."""

    finished: bool
    token: str | None
    columns: tuple[Column, ...] | None
    rows: Rows


def checked_page(body: bytes, known: tuple[Column, ...] | None) -> CheckedPage | None:
    """The page's envelope (as parse_page reads it) and its rows checked against the grammar of
    the shape read here; None when the page is not in that shape."""
    first = body.find(ROW_OPEN)
    if first < 0 or not _utf8_declared(body):
        return None
    end = body.rfind(ROW_CLOSE) + len(ROW_CLOSE)
    if end <= first or _ROW_TAG.search(body, 0, first) or _ROW_TAG.search(body, end):
        return None
    try:
        envelope = parse_page_around(body[:first] + ROW_MARK + body[end:], known)
    except ProtocolError:
        return None
    if envelope is None:
        return None
    columns = envelope.columns if envelope.columns is not None else known
    shape = _shape(columns)
    if shape is None:
        return None
    try:
        data, loose = _checked_rows(body[first:end], shape)
    except _NotThisShape:
        return None
    return CheckedPage(envelope.finished, envelope.token, envelope.columns,
                       Rows(data, shape, loose, data.count(ROW_OPEN)))


def parse_page_around(skeleton: bytes, known: tuple[Column, ...] | None) -> Page | None:
    """The page without its rows: one <Row/> in their place, which must be its only row."""
    root = parse_xml(skeleton)
    if parse_error(root) is not None:
        return None
    page = parse_page(root, known)
    if page.rows.height != 1:
        return None
    return page


def _utf8_declared(body: bytes) -> bool:
    """UTF-8 (so the rows can be read as such): an XML declaration saying so, or none at all."""
    start = body[len(_BOM):] if body.startswith(_BOM) else body
    if not start.startswith(b"<"):
        return False
    if not start.startswith(b"<?xml"):
        return True
    return _DECLARATION.match(start) is not None


@lru_cache(maxsize=32)
def _shape(columns: tuple[Column, ...]) -> _Shape | None:
    names = [column.element for column in columns]
    if not names or len(set(names)) != len(names) or not all(_ELEMENT.fullmatch(n) for n in names):
        return None
    constant = CONSTANT_COLUMN not in names
    return _Shape(len(names), _grammar(names, constant, loose=False), _grammar(names, constant, loose=True),
                  ([f"<{n}/>" for n in names], [f"<{n}></{n}>" for n in names]), _tag_replacements(names, constant))


def _grammar(names: list[str], constant: bool, *, loose: bool) -> re.Pattern[bytes]:
    """Rows of this shape, one after another (possessive throughout: linear, never backtracking).
    Cell text is anything but "<" here; the replace pass checks its characters."""
    space = _SPACE + b"*+" if loose else b""
    row = [ROW_OPEN, space]
    if constant:
        row.append(b"(?:<Column0>0</Column0>" + space + b")?+")
    for name in (n.encode() for n in names):
        row.append(b"(?:<" + name + b">[^<]*+</" + name + b">" + space + b"|<" + name + b"/>" + space + b")?+")
    row.append(ROW_CLOSE + (space if loose else b"\n?+"))
    return re.compile(b"(?:" + b"".join(row) + b")*+")


def _tag_replacements(names: list[str], constant: bool) -> tuple[list[str], list[str]]:
    """One record per row: "R", then a field per column, a cell left out an empty field. Each
    pair of tags between two cells becomes as many separators as columns it steps over."""
    patterns: list[str] = []
    replacements: list[str] = []

    def add(pattern: str, replacement: str) -> None:
        patterns.append(pattern)
        replacements.append(replacement)

    width = len(names)
    starts = ["<Row><Column0>0</Column0>", "<Row>"] if constant else ["<Row>"]
    for start in starts:
        for j, name in enumerate(names):
            add(f"{start}<{name}>", _RECORD_MARK + _FIELD * (j + 1))
        for line_end in ("\n", ""):
            add(f"{start}</Row>{line_end}", _RECORD_MARK + _FIELD * width + _RECORD)
    for i, name in enumerate(names):
        for j in range(i + 1, width):
            add(f"</{name}><{names[j]}>", _FIELD * (j - i))
        for line_end in ("\n", ""):
            add(f"</{name}></Row>{line_end}", _FIELD * (width - 1 - i) + _RECORD)
    for reference, text in _NAMED.items():
        add(reference, text)
    for forbidden in _FORBIDDEN:
        add(forbidden, _NUL)
    return patterns, replacements


def _checked_rows(rows: bytes, shape: _Shape) -> tuple[bytes, bool]:
    """The rows of a page (its bytes from the first <Row> to the last </Row>) with XML's line ends, and whether they are loose (whitespace between elements);
    _NotThisShape when they are not in the grammar. Each row then starts "<Row>", as no cell
    text holds a "<"."""
    if b"\r" in rows:   # XML reads CR LF and a lone CR as LF, everywhere
        rows = rows.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    loose = shape.compact.fullmatch(rows) is None
    if loose and shape.loose.fullmatch(rows) is None:
        raise _NotThisShape
    return rows, loose


def _frame(rows: bytes, loose: bool, shape: _Shape) -> pl.DataFrame:
    """Rows in the grammar as parse_page's frame; _NotThisShape when their text is not in the shape."""
    text = _utf8(rows)
    if text.str.contains("&#", literal=True).item():   # polars' search: a bytes one costs 10 times more
        text = _utf8(_NUMERIC.sub(_character, rows))
    if loose:
        text = text.str.replace_all(_BETWEEN_TAGS, "$1")
    if text.str.contains("/>", literal=True).item():
        text = text.str.replace_many(*shape.self_closing, leftmost=True)
    records = text.str.replace_many(*shape.tags, leftmost=True).cast(pl.Binary).item()
    if _NUL.encode() in records:
        raise _NotThisShape
    frame = pl.read_csv(records, has_header=False, separator=_FIELD, eol_char=_RECORD, quote_char=None,
                        infer_schema=False, new_columns=["record", *(f"c{j}" for j in range(shape.width))])
    if frame.width != shape.width + 1:
        raise _NotThisShape
    frame = frame.drop("record")
    if _CR.encode() in records:
        frame = frame.with_columns(pl.all().str.replace_all(_CR, "\r", literal=True))
    return frame


def _utf8(rows: bytes) -> pl.Series:
    try:
        return pl.Series([rows]).cast(pl.String)
    except pl.exceptions.PolarsError:   # not UTF-8
        raise _NotThisShape from None


def _character(reference: re.Match[bytes]) -> bytes:
    """A numeric character reference, decoded: as a named reference where the character would
    read as markup ("<", "&", ">" after "]]") or be taken apart (CR, see _frame); _NotThisShape for a
    character XML forbids (expat refuses those)."""
    hexadecimal, decimal = reference.groups()
    code = int(hexadecimal, 16) if hexadecimal is not None else int(decimal)
    if not _xml_character(code):
        raise _NotThisShape
    if code in _AS_REFERENCE:
        return _AS_REFERENCE[code]
    return chr(code).encode()


_AS_REFERENCE = {ord("<"): b"&lt;", ord("&"): b"&amp;", ord(">"): b"&gt;", ord("\r"): b"&#13;"}


def _xml_character(code: int) -> bool:
    """XML 1.0's Char production."""
    return code in (0x9, 0xA, 0xD) or 0x20 <= code <= 0xD7FF or 0xE000 <= code <= 0xFFFD or 0x10000 <= code <= 0x10FFFF
