"""The answers of the Alma Analytics reports API, read (bytes in, values out; no I/O).

`GET /almaws/v1/analytics/reports?path=PATH&limit=1000&col_names=true` answers the first page
of a report; `?token=TOKEN&limit=1000` the next ones, until IsFinished is true
(developers.exlibrisgroup.com, "Working with Analytics REST APIs"). A page:

    <report><QueryResult>
      <ResumptionToken>E95A...</ResumptionToken>     first page only, often wrapped in blanks
      <IsFinished>false</IsFinished>
      <ResultXml><rowset xmlns="urn:schemas-microsoft-com:xml-analysis:rowset">
        <xsd:schema ...>                              first page only (col_names=true)
          <xsd:element name="Column0" saw-sql:columnHeading="0" .../>
          <xsd:element name="Column1" saw-sql:columnHeading="Portfolio Id" .../>
        </xsd:schema>
        <Row><Column0>0</Column0><Column1>53496702580003681</Column1></Row>
      </rowset></ResultXml>
    </QueryResult></report>

What public scripts that page through it show (README, "Fetching reports from Alma
Analytics"): a cell with no value has no ColumnN element at all; Column0 is a constant "0"
that Analytics adds, not data; while a report is still being computed a page can hold no row
(sometimes not even the schema) with IsFinished false. An error, with any HTTP status (500 for
a wrong path, 400 for a refused key, sometimes 200), is

    <web_service_result xmlns="http://com/exlibris/urm/general/xmlbeans">
      <errorsExist>true</errorsExist>
      <errorList><error><errorCode>INTERNAL_SERVER_ERROR</errorCode>
        <errorMessage>Path not found (/shared/...)</errorMessage><trackingId>E01-...</trackingId>
      </error></errorList>
    </web_service_result>

Answers are parsed with the standard library's expat-based ElementTree, which never fetches
an external entity; a DTD (the only way to declare entities) is refused first, as the xlsx
reader does.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from operator import attrgetter, itemgetter
from xml.parsers import expat

import polars as pl

ROWSET_NS = "urn:schemas-microsoft-com:xml-analysis:rowset"
XSD_NS = "http://www.w3.org/2001/XMLSchema"
SAW_SQL_NS = "urn:saw-sql"
HEADING = f"{{{SAW_SQL_NS}}}columnHeading"
SCHEMA = f"{{{XSD_NS}}}schema"
CONSTANT_COLUMN = "Column0"       # Analytics' constant "0" column
CONSTANT_HEADING = "0"
_PROLOG_CHUNK = 1 << 16


class ProtocolError(ValueError):
    """An answer that is not what the API sends: not XML, a DTD, a page without IsFinished..."""


@dataclass(frozen=True)
class Column:
    element: str     # "Column3"
    heading: str     # saw-sql:columnHeading, exactly as Analytics gives it


@dataclass(frozen=True)
class Page:
    finished: bool
    token: str | None                       # the resumption token (first page only)
    columns: tuple[Column, ...] | None      # the data columns of the schema (None: no schema here)
    rows: pl.DataFrame                      # a String column per data column ("c0", "c1"...), null where
                                            # Analytics sent no text


@dataclass(frozen=True)
class ApiError:
    code: str | None
    message: str
    tracking_id: str | None = None

    def text(self) -> str:
        return f"{self.code}: {self.message}" if self.code else self.message


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


class _Root(Exception):
    pass


def refuse_dtd(body: bytes) -> None:
    """ProtocolError when the document declares a DTD; reads only up to its first element."""
    parser = expat.ParserCreate()
    declared = []

    def dtd(*_args) -> None:
        declared.append(True)
        raise _Root

    def root(*_args) -> None:
        raise _Root

    parser.StartDoctypeDeclHandler = dtd
    parser.EntityDeclHandler = dtd
    parser.StartElementHandler = root
    try:
        for start in range(0, len(body), _PROLOG_CHUNK):
            parser.Parse(body[start:start + _PROLOG_CHUNK], False)
        parser.Parse(b"", True)
    except _Root:
        pass
    except expat.ExpatError:
        pass  # not well-formed: the full parse says so
    if declared:
        raise ProtocolError("the answer declares a DTD, which the Analytics API never sends")


def parse_xml(body: bytes) -> ET.Element:
    refuse_dtd(body)
    try:
        return ET.fromstring(body)
    except ET.ParseError as exc:
        raise ProtocolError(f"the answer is not well-formed XML ({exc})") from None


def parse_error(root: ET.Element) -> list[ApiError] | None:
    """The errors of a web_service_result with errorsExist true, else None."""
    if _local(root.tag) != "web_service_result":
        return None
    exists = next((e for e in root.iter() if _local(e.tag) == "errorsExist"), None)
    if exists is None or (exists.text or "").strip().lower() != "true":
        return None
    errors = []
    for error in (e for e in root.iter() if _local(e.tag) == "error"):
        fields = {_local(child.tag): (child.text or "").strip() for child in error}
        errors.append(ApiError(fields.get("errorCode") or None, " ".join(fields.get("errorMessage", "").split()),
                               fields.get("trackingId") or None))
    return errors or [ApiError(None, "errorsExist is true but no error is listed")]


def _child(parent: ET.Element, name: str) -> ET.Element | None:
    return next((e for e in parent if _local(e.tag) == name), None)


def parse_page(root: ET.Element, known: tuple[Column, ...] | None = None) -> Page:
    """A report page. `known`: the columns of an earlier page's schema, for a page without one.

    ProtocolError for anything a page never holds: no QueryResult or IsFinished, rows before any
    schema, a ColumnN the schema does not name, a schema that changes during the report."""
    if _local(root.tag) != "report":
        raise ProtocolError(f"the answer is a <{_local(root.tag)}>, not a report page")
    result = _child(root, "QueryResult")
    finished_element = _child(result, "IsFinished") if result is not None else None
    if finished_element is None:
        raise ProtocolError("the answer has no QueryResult/IsFinished")
    finished_text = (finished_element.text or "").strip().lower()
    if finished_text not in ("true", "false"):
        raise ProtocolError(f"IsFinished is {finished_element.text!r}, neither true nor false")
    token_element = _child(result, "ResumptionToken")
    token = ((token_element.text or "").strip() or None) if token_element is not None else None
    xml = _child(result, "ResultXml")
    rowset = next(iter(xml), None) if xml is not None else None
    columns = None
    rows: list[tuple[str | None, ...]] = []
    if rowset is not None:
        schema = next((e for e in rowset if e.tag == SCHEMA), None)   # the rowset's first child
        if schema is not None:
            columns = schema_columns(schema)
            if known is not None and columns != known:
                raise ProtocolError("the report's columns changed between two pages")
        rows = _rows(rowset, columns if columns is not None else known)
    width = len(columns if columns is not None else known or ())
    return Page(finished_text == "true", token, columns, rows_frame(rows, width))


def rows_frame(rows: list[tuple[str | None, ...]], width: int) -> pl.DataFrame:
    """Rows of `width` cells as a page's frame: String columns c0, c1..., None as null."""
    return pl.DataFrame(rows, schema=[(f"c{j}", pl.String) for j in range(width)], orient="row")


def schema_columns(schema: ET.Element) -> tuple[Column, ...]:
    """The data columns of an xsd:schema, in order: every ColumnN element but Analytics' constant
    Column0 (kept, with a warning left to the caller, if it ever carries a real heading)."""
    columns = []
    for element in schema.iter(f"{{{XSD_NS}}}element"):
        name = element.get("name", "")
        if not name.startswith("Column"):
            continue
        heading = element.get(HEADING)
        if name == CONSTANT_COLUMN and (heading is None or heading.strip() == CONSTANT_HEADING):
            continue
        columns.append(Column(name, heading if heading is not None else name))
    return tuple(columns)


def _rows(rowset: ET.Element, columns: tuple[Column, ...] | None) -> list[tuple[str | None, ...]]:
    """Each Row's cells in schema order. Rows are read by their pattern of ColumnN elements
    (which cells Analytics left out): each distinct pattern is worked out once, then a row is two
    C-level passes (its texts, then the pattern's picker), never a Python step per cell."""
    namespace = rowset.tag[:rowset.tag.index("}") + 1] if rowset.tag.startswith("{") else ""
    found = rowset.findall(f"{namespace}Row")
    if not found:
        return []
    if columns is None:
        raise ProtocolError("rows came before the report's schema (its column headings)")
    pickers: dict[tuple[str, ...], itemgetter] = {}
    rows = []
    for row in found:
        tags = tuple(map(_TAG, row))
        picker = pickers.get(tags)
        if picker is None:
            picker = pickers[tags] = _picker(tags, columns, namespace)
        texts = list(map(_TEXT, row))
        texts.append(None)
        rows.append(picker(texts))
    return rows


_TAG, _TEXT = attrgetter("tag"), attrgetter("text")


def _picker(tags: tuple[str, ...], columns: tuple[Column, ...], namespace: str) -> itemgetter:
    """For a row whose children have these tags: an itemgetter giving, from the row's texts plus
    a final None, one cell per schema column (None where the row has no such element)."""
    at = {}
    for position, tag in enumerate(tags):
        if tag.startswith(namespace) and tag[len(namespace):].startswith("Column"):
            at[tag[len(namespace):]] = position
        else:
            raise ProtocolError(f"a row holds <{_local(tag)}>, which is not a column")
    known = {column.element for column in columns}
    unknown = sorted(set(at) - known - {CONSTANT_COLUMN})
    if unknown:
        raise ProtocolError(f"a row holds {unknown[0]}, which the report's schema does not name")
    missing = len(tags)
    positions = [at.get(column.element, missing) for column in columns]
    if len(positions) == 1:
        single = positions[0]
        return lambda texts: (texts[single],)
    return itemgetter(*positions)
