"""Analytics report pages read without an element tree (analytics.fastpage) give exactly what
ElementTree gives (protocol.parse_page), and any page outside the shape read fast goes to
ElementTree; the canonical CSV's rows, written by polars, are the bytes Python's csv module
writes. Pages are generated (hypothesis): cell texts of every kind XML can carry, every way of
writing them that XML allows."""
from __future__ import annotations

import csv
import io

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from almaclean.analytics.canonical import csv_lines
from almaclean.analytics.fastpage import fast_page
from almaclean.analytics.protocol import ProtocolError, parse_page, parse_xml

ROWSET = "urn:schemas-microsoft-com:xml-analysis:rowset"
HEADINGS = ["Portfolio Id", "Title", "Coverage, from", 'Note "x"']


def _xml_char(c: str) -> bool:
    code = ord(c)
    return code in (0x9, 0xA, 0xD) or 0x20 <= code <= 0xD7FF or 0xE000 <= code <= 0xFFFD or code >= 0x10000


CHARACTER = st.characters(blacklist_categories=("Cs",)).filter(_xml_char)
TEXT = st.one_of(
    st.text(CHARACTER, max_size=10),
    st.sampled_from(["", " ", "  \t ", "<", "&", "]]>", "a]]>b", "&amp;", "&lt;Row&gt;", "</Column2><Column3>",
                     "\r", "\r\n", "a\rb", "\n", "a,b", '"', 'say "hi"', "'", ">", "\x7f\x85", "\U0001f600", "\ufffd",
                     "\ufeffBOM", "=1+2", "0", "R"]),
    st.lists(st.sampled_from(["a", "<", "&", "]]", ">", "\r", "\n", '"', ",", " ", "é", "\U00010400", "#", ";"]),
             max_size=8).map("".join),
)
CELL = st.one_of(st.none(), TEXT)


def _escape(text: str, style: str, draw) -> str:
    """The text as XML may write it: each special character in one of its allowed forms."""
    out = []
    for i, c in enumerate(text):
        after_brackets = text[max(0, i - 2):i] == "]]"
        if style == "minimal":
            forms = {"<": ["&lt;"], "&": ["&amp;"], ">": ["&gt;"] if after_brackets else [">"]}.get(c, [c])
        elif style == "named":
            forms = {"<": ["&lt;"], "&": ["&amp;"], ">": ["&gt;"], '"': ["&quot;"], "'": ["&apos;"],
                     "\r": ["&#13;"]}.get(c, [c])
        else:   # any allowed form, character references included
            forms = [f"&#{ord(c)};", f"&#x{ord(c):X};", f"&#x{ord(c):x};", f"&#000{ord(c)};"]
            if c not in "<&" and not (c == ">" and after_brackets):
                forms.append(c)
            forms += {"<": ["&lt;"], "&": ["&amp;"], ">": ["&gt;"], '"': ["&quot;"], "'": ["&apos;"]}.get(c, [])
        out.append(draw(st.sampled_from(forms)) if len(forms) > 1 else forms[0])
    return "".join(out)


@st.composite
def pages(draw, *, schema: bool = True):
    """(body, rows as ElementTree should read them): a page in the shape Analytics writes."""
    width = len(HEADINGS)
    rows = draw(st.lists(st.tuples(*[CELL] * width), min_size=1, max_size=6))
    style = draw(st.sampled_from(["minimal", "named", "references"]))
    layout = draw(st.sampled_from(["compact", "lines", "crlf", "pretty"]))
    between = {"compact": "", "lines": "", "crlf": "", "pretty": "\n    "}[layout]
    after_row = {"compact": "", "lines": "\n", "crlf": "\r\n", "pretty": "\n  "}[layout]
    constant = draw(st.booleans())
    parts = []
    for row in rows:
        cells = [f"{between}<Column0>0</Column0>"] if constant else []
        for k, value in enumerate(row, start=1):
            if value is None or value == "":
                form = draw(st.sampled_from(["absent", "self-closing", "open-close"]) if value is None
                            else st.sampled_from(["self-closing", "open-close"]))
                cells.append({"absent": "", "self-closing": f"{between}<Column{k}/>",
                              "open-close": f"{between}<Column{k}></Column{k}>"}[form])
            else:
                cells.append(f"{between}<Column{k}>{_escape(value, style, draw)}</Column{k}>")
        parts.append(f"<Row>{''.join(cells)}{between}</Row>{after_row}")
    return _page("".join(parts), schema=schema).encode("utf-8")


def _page(rows_xml: str, *, schema: bool = True, token: str | None = "T0K3N", finished: bool = False,
          declaration: str = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n',
          rowset_open: str = f'<rowset:rowset xmlns:rowset="{ROWSET}" xmlns="{ROWSET}">',
          rowset_close: str = "</rowset:rowset>") -> str:
    elements = ['<xsd:element name="Column0" saw-sql:columnHeading="0"/>'] + [
        f'<xsd:element name="Column{k}" saw-sql:columnHeading="{h.replace(chr(34), "&quot;")}"/>'
        for k, h in enumerate(HEADINGS, start=1)]
    xsd = ('<xsd:schema xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:saw-sql="urn:saw-sql">'
           + "".join(elements) + "</xsd:schema>") if schema else ""
    head = (f"{declaration}<report>\n<QueryResult>\n"
            + (f"<ResumptionToken>\n   {token}\n   </ResumptionToken>\n" if token else "")
            + f"<IsFinished>{str(finished).lower()}</IsFinished>\n<ResultXml>")
    return f"{head}{rowset_open}{xsd}{rows_xml}{rowset_close}</ResultXml>\n</QueryResult>\n</report>\n"


def _slow(body: bytes, known=None):
    return parse_page(parse_xml(body), known)


def _same(fast, slow) -> None:
    assert (fast.finished, fast.token, fast.columns) == (slow.finished, slow.token, slow.columns)
    assert fast.rows.schema == slow.rows.schema
    assert fast.rows.rows() == slow.rows.rows()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pages())
def test_a_page_in_the_shape_analytics_writes_is_read_fast_and_exactly_as_elementtree_reads_it(body):
    fast = fast_page(body, None)
    assert fast is not None, body
    _same(fast, _slow(body))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pages(schema=False))
def test_a_later_page_without_schema_is_read_with_the_first_pages_columns(body):
    known = _slow(pages_first()).columns
    fast = fast_page(body, known)
    assert fast is not None and fast.columns is None
    _same(fast, _slow(body, known))


def pages_first() -> bytes:
    return _page("<Row><Column0>0</Column0><Column1>1</Column1></Row>").encode()


# One change each that takes a page out of the shape read fast: ElementTree reads the page (or
# refuses it) exactly as it did before the fast reader existed.
ROW = "<Row><Column0>0</Column0><Column1>531</Column1><Column2>A title</Column2></Row>"
OUTSIDE = {
    "an attribute on a cell": ROW.replace("<Column2>", '<Column2 lang="en">'),
    "an attribute on a row": ROW.replace("<Row>", '<Row n="1">'),
    "a comment between rows": ROW + "<!-- page 2 -->" + ROW,
    "a comment in a cell": ROW.replace("A title", "A <!--x--> title"),
    "CDATA in a cell": ROW.replace("A title", "<![CDATA[A & title]]>"),
    "a processing instruction": ROW + "<?php x?>" + ROW,
    "a nested element": ROW.replace("A title", "A <i>title</i>"),
    "text between cells": ROW.replace("</Column1><Column2>", "</Column1>x<Column2>"),
    "text between rows": ROW + "x" + ROW,
    "cells out of schema order": "<Row><Column2>A</Column2><Column1>531</Column1></Row>",
    "a cell twice": "<Row><Column1>531</Column1><Column1>532</Column1></Row>",
    "a column the schema does not name": ROW.replace("</Row>", "<Column9>x</Column9></Row>"),
    "a prefixed row": f"<rowset:Row>{ROW[5:-6]}</rowset:Row>" + ROW,
    "a close tag of another cell": ROW.replace("A title</Column2>", "A title</Column3>"),
    "an unclosed cell": ROW.replace("</Column2>", ""),
    "Column0 not the constant": ROW.replace("<Column0>0<", "<Column0>7<"),
    "a C0 control character": ROW.replace("A title", "A\x01title"),
    "a separator character": ROW.replace("A title", "A\x1ftitle"),
    "]]> in text": ROW.replace("A title", "A ]]> title"),
    "U+FFFE": ROW.replace("A title", "A\ufffe"),
    "a bare ampersand": ROW.replace("A title", "A & title"),
    "an unknown entity": ROW.replace("A title", "A &eacute; title"),
    "an upper-case X reference": ROW.replace("A title", "A &#X41; title"),
    "a reference to a forbidden character": ROW.replace("A title", "A &#1; title"),
    "a reference to a surrogate": ROW.replace("A title", "&#xD800;"),
    "a reference past Unicode": ROW.replace("A title", "&#x110000;"),
    "a reference of thousands of digits": ROW.replace("A title", "&#" + "1" * 5000 + ";"),
    "a hexadecimal one of thousands": ROW.replace("A title", "&#x" + "f" * 5000 + ";"),
    "a self-closing row": ROW + "<Row/>",
}


@pytest.mark.parametrize("name", OUTSIDE)
def test_a_page_outside_the_shape_goes_to_elementtree(name):
    body = _page(OUTSIDE[name]).encode()
    assert fast_page(body, None) is None
    try:
        _slow(body)   # read or refused there, as before
    except ProtocolError:
        pass


@pytest.mark.parametrize("reference", ["&#" + "0" * 5000 + "65;", "&#x" + "0" * 4999 + "41;", "&#0000065;"])
def test_a_reference_with_any_number_of_leading_zeros_is_read_fast_as_elementtree_reads_it(reference):
    body = _page(ROW.replace("A title", reference)).encode()
    fast = fast_page(body, None)
    assert fast is not None and fast.rows.rows() == [("531", "A", None, None)]
    _same(fast, _slow(body))


def test_the_envelope_must_leave_the_rows_where_elementtree_finds_them():
    """Rows that ElementTree would not count as the rowset's (inside a comment, in another
    namespace, before the rowset) or an envelope that is no page are not read fast."""
    comment_head = _page("<!-- " + ROW + " -->" + ROW)
    no_default_namespace = _page(ROW, rowset_open=f'<rs:rowset xmlns:rs="{ROWSET}">', rowset_close="</rs:rowset>")
    latin1 = _page(ROW.replace("A title", "Caf\u00e9"), declaration='<?xml version="1.0" encoding="ISO-8859-1"?>')
    xml11 = _page(ROW, declaration='<?xml version="1.1" encoding="UTF-8"?>')
    error_body = ('<web_service_result xmlns="http://com/exlibris/urm/general/xmlbeans"><errorsExist>true'
                  f'</errorsExist>{ROW}</web_service_result>')
    dtd = '<?xml version="1.0"?><!DOCTYPE report [<!ENTITY t "title">]>' + _page(ROW, declaration="")
    # An empty row of the rowset's own, with the real rows in a comment, CDATA or another element
    # after it: ElementTree reads one empty row.
    beside = [_page(f"{empty}{before}{ROW}{after}") for empty in ("<Row/>", "<Row ></Row>", f'<rs:Row xmlns:rs="{ROWSET}"/>')
              for before, after in (("<!--", "-->"), ("<w>", "</w>"), ("<![CDATA[", "]]>"))]
    beside.append(_page(f"<!--{ROW}--><Row/>"))
    for body in beside:
        assert _slow(body.encode()).rows.rows() == [(None,) * len(HEADINGS)], body
    for body in (comment_head, no_default_namespace, xml11, error_body, dtd, *beside):
        assert fast_page(body.encode("utf-8"), None) is None, body[:200]
    assert fast_page(latin1.encode("latin-1"), None) is None
    assert _slow(latin1.encode("latin-1")).rows.rows() == [("531", "Caf\u00e9", None, None)]
    assert _slow(comment_head.encode()).rows.height == 1


FRAGMENTS = ["<!--", "-->", "<![CDATA[", "]]>", "<Row/>", "<Row>", "</Row>", "<Row >", f'<rs:Row xmlns:rs="{ROWSET}">',
             "</rs:Row>", "<w>", "</w>", "<Column1>", "</Column1>", "<Column2/>", "<Column9>x</Column9>", "&", "&amp;",
             "&#x41;", "&#1;", "x", " ", "\n", "\r", "\x01", "]]", ">", "<?pi x?>", '<Row a="1">', "<Column0>7</Column0>"]


WRAPPERS = [("<!--", "-->"), ("<![CDATA[", "]]>"), ("<w>", "</w>"), ("<Row/><!--", "-->"), ("<Row/><w>", "</w>"),
            (f'<rs:Row xmlns:rs="{ROWSET}"/><w>', "</w>"), ("<!--", "--><Row/>")]


def _insert(text: str, where: float, fragment: str) -> str:
    at = int(where * len(text))
    return text[:at] + fragment + text[at:]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pages(), st.lists(st.tuples(st.floats(0, 1), st.sampled_from(FRAGMENTS)), max_size=3),
       st.lists(st.tuples(st.floats(0, 1), st.floats(0, 1), st.sampled_from(WRAPPERS)), max_size=1))
def test_a_page_changed_anywhere_is_read_fast_only_as_elementtree_reads_it(body, insertions, wrappings):
    """Fragments of markup inserted anywhere in a page, or a run of its rows wrapped (in a
    comment, CDATA, another element, beside an empty row): whatever the fast reader still accepts,
    ElementTree reads the same; the rest is left to ElementTree (read or refused there)."""
    text = body.decode("utf-8")
    for where, fragment in insertions:
        text = _insert(text, where, fragment)
    for start, stop, (opening, closing) in wrappings:   # a run of whole rows, where the risk is
        starts = [i for i in range(len(text)) if text.startswith("<Row>", i)]
        ends = [i + len("</Row>") for i in range(len(text)) if text.startswith("</Row>", i)]
        if starts and ends:
            first, last = starts[int(start * len(starts) * 0.999)], ends[int(stop * len(ends) * 0.999)]
            if first < last:
                text = text[:first] + opening + text[first:last] + closing + text[last:]
    changed = text.encode("utf-8")
    fast = fast_page(changed, None)
    if fast is not None:
        _same(fast, _slow(changed))


def test_a_page_of_invalid_utf8_goes_to_elementtree_which_refuses_it():
    body = _page(ROW).encode().replace(b"A title", b"A \xff title")
    assert fast_page(body, None) is None
    with pytest.raises(ProtocolError, match="not well-formed"):
        _slow(body)


def test_a_page_whose_columns_changed_goes_to_elementtree_which_refuses_it():
    known = _slow(pages_first()).columns[:2]
    body = _page(ROW).encode()
    assert fast_page(body, known) is None
    with pytest.raises(ProtocolError, match="columns changed"):
        _slow(body, known)


NO_EMPTY_TEXT = st.one_of(st.none(), st.text(CHARACTER, min_size=1, max_size=8), TEXT.filter(bool))


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 3).flatmap(lambda w: st.lists(st.tuples(*[NO_EMPTY_TEXT] * w), max_size=5)))
def test_the_rows_are_written_as_pythons_csv_module_writes_them(rows):
    """A page's cells are text or null (never ""): polars writes them byte for byte as the csv
    module does, a lone empty field included."""
    width = len(rows[0]) if rows else 1
    frame = pl.DataFrame(rows, schema=[(f"c{j}", pl.String) for j in range(width)], orient="row")
    expected = io.StringIO()
    csv.writer(expected, lineterminator="\r\n").writerows(rows)
    assert csv_lines(frame) == expected.getvalue().encode("utf-8")


HEADING = st.one_of(TEXT, st.sampled_from(["Portfolio Id", "Title, sub", "Note; x", "a\tb", '"q"', "", " ", "\ufeffId"]))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(1, 3).flatmap(lambda w: st.tuples(st.lists(HEADING, min_size=w, max_size=w),
                                                      st.lists(st.lists(st.tuples(*[CELL] * w), min_size=1,
                                                                        max_size=4), min_size=1, max_size=3))))
def test_the_fetched_rows_are_the_table_ingest_reads_from_the_canonical_csv(tmp_path, report):
    """What a fetch stores is built from the pages as written (CsvSink.table), not read back
    from its canonical CSV: it is the table read_table gives for that file (header, cells,
    row numbers), and the digest is the file's, for headings and cells of every kind of text
    (quotes, separators, line ends, unicode, leading zeros, empty and blank cells)."""
    from almaclean.analytics.canonical import canonical_csv
    from almaclean.read.table import read_table
    from almaclean.store.ingest import file_digest

    headings, pages = report
    path = tmp_path / f"report-{len(list(tmp_path.iterdir()))}.csv"
    with canonical_csv(path) as sink:
        sink.start(headings)
        for rows in pages:
            sink.add(pl.DataFrame(rows, schema=[(f"c{j}", pl.String) for j in range(len(headings))], orient="row"))
    built, read = sink.table(path), read_table(path)
    assert (built.header, built.first_row, built.format, built.encoding) == \
           (read.header, read.first_row, read.format, read.encoding)
    assert built.rows is None and read.rows is None
    assert built.frame.equals(read.frame, null_equal=True)
    assert built.frame.columns == read.frame.columns and built.frame.dtypes == read.frame.dtypes
    assert sink.digest == file_digest(path)
