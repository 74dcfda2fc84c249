"""The canonical CSV's rows, written by polars, are the bytes Python's csv module writes."""
from __future__ import annotations

import csv
import io

import polars as pl
from hypothesis import given, settings, strategies as st

from almaclean.analytics.canonical import csv_lines


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
