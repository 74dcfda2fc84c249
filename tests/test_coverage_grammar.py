"""The coverage statement grammar: every wording it reads, read whole; everything else unreadable
(never "not stated"); containment by spans at the finest granularity both sides give."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from almaclean.normalize.coverage import (
    UNREADABLE, UNSTATED, Coverage, Point, Span, contains, parse_statement,
)

NOW = 2026


def spans(text: str) -> tuple[Span, ...]:
    coverage = parse_statement(text, current_year=NOW)
    assert coverage.readable, text
    return coverage.spans


@pytest.mark.parametrize(("text", "expected"), [
    ("Available from 1998 volume: 1 issue: 3.", (Span(Point(1998, 1, 3), None),)),
    ("Available from 1998 volume: 1 issue: 1 until 2005 volume: 8 issue: 4.",
     (Span(Point(1998, 1, 1), Point(2005, 8, 4)),)),
    ("1990 - 2010", (Span(Point(1990), Point(2010)),)),
    ("1990-2010", (Span(Point(1990), Point(2010)),)),
    ("1990 – 2010", (Span(Point(1990), Point(2010)),)),  # an en dash
    ("1990 -", (Span(Point(1990), None),)),
    ("1990 - present", (Span(Point(1990), None),)),
    ("since 1990", (Span(Point(1990), None),)),
    ("v.1 (1990) - v.20 (2010)", (Span(Point(1990, 1), Point(2010, 20)),)),
    ("1998, vol. 2, no. 3 - 2001", (Span(Point(1998, 2, 3), Point(2001)),)),
    ("1980-1999; 2005-", (Span(Point(1980), Point(1999)), Span(Point(2005), None))),
    ("Disponible à partir de 1990 jusqu'à 2010.", (Span(Point(1990), Point(2010)),)),
    ("Disponible à partir de 1998 volume: 1 numéro: 1.", (Span(Point(1998, 1, 1), None),)),
    ("Disponible de 1990 à 2010", (Span(Point(1990), Point(2010)),)),
    ("Verfügbar ab 1990 bis 2010.", (Span(Point(1990), Point(2010)),)),
    ("Disponible desde 1990 hasta 2010.", (Span(Point(1990), Point(2010)),)),
])
def test_wordings_read_whole(text, expected):
    assert spans(text) == expected


@pytest.mark.parametrize(("text", "embargo"), [
    ("Most recent 1 year(s) not available.", 1.0),
    ("Les 2 dernières années ne sont pas disponibles.", 2.0),
    ("Les 6 derniers mois ne sont pas disponibles.", 0.5),
    ("Die letzten 2 Jahre sind nicht verfügbar.", 2.0),
    ("Embargo: 3 year(s).", 3.0),                       # a colon and a comma belong to the wording
    ("Most recent 1 year(s), not available.", 1.0),
])
def test_embargo_wordings(text, embargo):
    assert parse_statement(text, current_year=NOW).embargo_years == embargo


@pytest.mark.parametrize("text", [
    "Only local", "see note", "Available", "from 1990 until sometime", "1990 or so", "Available from 2010 until 2005.",
    "Disponible jusqu'à nouvel ordre", "1990 - 2010 (print only)", "12345", "Most recent year not available.",
    "Coverage varies", "vol. 1-20",
    # only a comma may stand between a year and its volume or issue: anything else is not read as one
    "Available from 2000 - volume: 3.", "Available from 2000 and volume: 3.", "Available from 2000 volume: 2 - issue: 3.",
    # a year is one from 1500 to 2099
    "Available from 1499.", "Available from 2000 until 2100.",
    # a year in parentheses belongs to the volume or issue before it, closed
    "Available from (1998).", "Available from volume: 3 (1998.",
    # a window says whether its years are available or not, and nothing else
    "Most recent 2 year(s).", "Most recent 2 year(s) available for members.",
])
def test_text_not_read_whole_is_unreadable_never_unstated(text):
    coverage = parse_statement(text, current_year=NOW)
    assert coverage == UNREADABLE
    assert coverage.stated and not coverage.readable


def test_unreadable_on_either_side_cannot_be_told():
    keeper, p2e = parse_statement("2000 - 2005 (check)"), parse_statement("1990 - 2010")
    assert contains(keeper, p2e) is None and contains(p2e, keeper) is None
    assert contains(UNREADABLE, UNSTATED) is None and contains(UNSTATED, UNREADABLE) is None


@pytest.mark.parametrize(("outer", "inner", "expected"), [
    # the keeper starting at issue 3 of the first year does not hold issue 1
    ("Available from 1998 volume: 1 issue: 3.", "Available from 1998 volume: 1 issue: 1.", False),
    ("Available from 1998 volume: 1 issue: 1.", "Available from 1998 volume: 1 issue: 3.", True),
    ("Available from 1998 volume: 2.", "Available from 1998 volume: 1.", False),
    # where one side gives only the year, the year is the finest level both give
    ("Available from 1998.", "Available from 1998 volume: 1 issue: 3.", True),
    ("Available from 1998 volume: 1 issue: 3.", "Available from 1998.", True),
    ("Available from 1990 until 2005 volume: 8 issue: 2.", "Available from 1995 until 2005 volume: 8 issue: 4.", False),
    # a keeper with a gap holds what lies inside one of its ranges
    ("1980-1999; 2005-", "Available from 2008.", True),
    ("1980-1999; 2005-", "1985 - 1990", True),
    ("1980-1999; 2005-", "1998 - 2006", False),
    ("1980-1999; 2005-", "Available from 1980.", False),
    # a P2E with two ranges: each must be inside a keeper range
    ("Available from 1980.", "1980-1999; 2005-", True),
    ("Available from 1981.", "1980-1999; 2005-", False),
])
def test_containment_at_the_finest_granularity_and_across_gaps(outer, inner, expected):
    assert contains(parse_statement(outer, current_year=NOW), parse_statement(inner, current_year=NOW),
                    current_year=NOW) is expected


# Properties ------------------------------------------------------------------------------------

points = st.builds(Point, st.integers(1800, 2020), st.none() | st.integers(1, 300), st.none() | st.integers(1, 52))


@st.composite
def statements(draw):
    """Disjoint spans (a gap of at least two years between them) and how they are worded."""
    count = draw(st.integers(1, 3))
    years = sorted(draw(st.lists(st.integers(1800, 2020), min_size=2 * count, max_size=2 * count, unique=True)))
    built = []
    for k in range(count):
        start, end = years[2 * k], years[2 * k + 1]
        if built and built[-1].end is not None and start <= built[-1].end.year + 1:
            start = built[-1].end.year + 2
        if end < start:
            end = start
        open_end = k == count - 1 and draw(st.booleans())
        with_detail = draw(st.booleans())
        first = Point(start, draw(st.integers(1, 99)) if with_detail else None,
                      draw(st.integers(1, 12)) if with_detail else None)
        built.append(Span(first, None if open_end else Point(end)))
    return tuple(built), draw(st.sampled_from(["alma", "french", "dash"]))


def worded(span_list: tuple[Span, ...], wording: str) -> str:
    def point(p: Point, volume: str, issue: str) -> str:
        text = str(p.year)
        if p.volume is not None:
            text += f" {volume}: {p.volume}"
        if p.issue is not None:
            text += f" {issue}: {p.issue}"
        return text

    if wording == "dash":
        return "; ".join(f"{point(s.start, 'vol', 'no')} - {'' if s.end is None else point(s.end, 'vol', 'no')}"
                         for s in span_list)
    start_word, until_word, volume, issue = (
        ("Available from", "until", "volume", "issue") if wording == "alma"
        else ("Disponible à partir de", "jusqu'à", "volume", "numéro"))
    return " ".join(f"{start_word} {point(s.start, volume, issue)}"
                    + ("" if s.end is None else f" {until_word} {point(s.end, volume, issue)}") + "."
                    for s in span_list)


@settings(max_examples=300, deadline=None)
@given(statements())
def test_every_worded_statement_reads_back_its_spans(statement):
    span_list, wording = statement
    coverage = parse_statement(worded(span_list, wording), current_year=NOW)
    assert coverage.readable and coverage.stated
    assert coverage.spans == span_list
    assert coverage.exact == (len(span_list) == 1)
    # a statement holds itself and each of its ranges, and no range across a gap
    assert contains(coverage, coverage, current_year=NOW) is True
    for span in span_list:
        assert contains(coverage, Coverage(None, None, None, True, spans=(span,)), current_year=NOW) is True
    for before, after in zip(span_list, span_list[1:]):
        across = Coverage(None, None, None, True, spans=(Span(before.start, after.start),))
        assert contains(coverage, across, current_year=NOW) is False


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_any_text_is_read_or_unreadable_never_absent(text):
    coverage = parse_statement(text, current_year=NOW)
    if text.strip():
        assert coverage.stated  # read, or unreadable: never "nothing was said"
    else:
        assert coverage == UNSTATED


@settings(max_examples=200, deadline=None)
@given(statements(), statements())
def test_containment_is_transitive_and_unreadable_poisons_it(first, second):
    a = parse_statement(worded(*first), current_year=NOW)
    b = parse_statement(worded(*second), current_year=NOW)
    if contains(a, b, current_year=NOW) and contains(b, a, current_year=NOW):
        assert a.from_year == b.from_year and a.to_year == b.to_year
    garbled = parse_statement(worded(*second) + " (see note)", current_year=NOW)
    assert contains(a, garbled, current_year=NOW) is None


@pytest.mark.parametrize(("text", "start", "end"), [
    ("Available from 1500.", (1500, None, None), None),
    ("Available from 2000 until 2099.", (2000, None, None), (2099, None, None)),
    # a point written volume and issue first, its year in parentheses
    ("Available from volume: 3 issue: 2 (1998).", (1998, 3, 2), None),
    ("Available from 1998 volume: 3 issue: 2.", (1998, 3, 2), None),
    ("Available from issue: 2 (1998).", (1998, None, 2), None),
    # typographic and grave apostrophes, "n°" for an issue number
    ("Disponible de 1998 jusqu\u2019à 2005.", (1998, None, None), (2005, None, None)),
    ("Disponible de 1998 jusqu`à 2005.", (1998, None, None), (2005, None, None)),
    ("Disponible à partir de 1998 vol. 3 n° 2.", (1998, 3, 2), None),
    ("Disponible à partir de 1998 vol. 3 nº 2.", (1998, 3, 2), None),
    # a plural ending in parentheses is read as the plural: "letzte(n)" is "letzten"
    ("Die letzte(n) 2 Jahr(e) verfügbar.", (NOW - 1, None, None), None),
    # invisible format characters (a zero-width space, a soft hyphen) are not text
    ("Available from 1998\u200b until 20\u00ad05.", (1998, None, None), (2005, None, None)),
])
def test_each_wording_is_read_to_its_start_and_end_points(text, start, end):
    (span,) = parse_statement(text, current_year=NOW).ranges()
    assert (span.start.year, span.start.volume, span.start.issue) == start
    assert (None if span.end is None else (span.end.year, span.end.volume, span.end.issue)) == end


@pytest.mark.parametrize("joined_by", [",", "and", "et", "und", "y", "&", "+"])
def test_spans_of_one_clause_are_joined_by_a_comma_or_a_word_for_and(joined_by):
    coverage = parse_statement(f"1990 - 2000 {joined_by} 2005 - 2010", current_year=NOW)
    assert [(s.start.year, s.end.year) for s in coverage.ranges()] == [(1990, 2000), (2005, 2010)]


@pytest.mark.parametrize(("text", "start", "embargo"), [
    # every clause is read, a window's as well as the spans after it
    ("Most recent 1 year(s) not available. Available from 1998.", 1998, 1.0),
    # of two rolling windows the shorter one holds: its start is the later
    ("Most recent 2 year(s) available. Most recent 5 year(s) available.", NOW - 1, None),
    ("Most recent 5 year(s) available. Most recent 2 year(s) available.", NOW - 1, None),
])
def test_windows_and_spans_of_one_statement_are_read_together(text, start, embargo):
    coverage = parse_statement(text, current_year=NOW)
    assert (coverage.from_year, coverage.embargo_years) == (start, embargo)
