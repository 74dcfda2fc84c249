"""Coverage from Alma statements and KBART/Extended Export columns, and containment."""
from __future__ import annotations

import polars as pl
import pytest

from almaclean.normalize.coverage import (
    UNREADABLE,
    UNSTATED,
    Coverage,
    Point,
    Span,
    contains,
    from_columns,
    parse_statement,
)
from conftest import all_titles

NOW = 2026


def kbart(source: str) -> pl.DataFrame:
    """Every row of one real list (the table bundled with the package, tests/data/kbart/README.md)."""
    return all_titles(source)


def kbart_coverage(row: dict) -> Coverage:
    return from_columns(row["date_first"], row["date_last"], row["embargo"], current_year=NOW)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Available from 1997 until 2005.", Coverage(1997, 2005, None, True)),
        (
            "Available from 1998 volume: 1 issue: 1. Most recent 1 year(s) not available.",
            Coverage(1998, None, 1.0, True),
        ),
        ("Available from 2001.", Coverage(2001, None, None, True)),
        ("Most recent 6 month(s) not available.", Coverage(None, None, 0.5, True)),
        (
            "Available from 1998 volume: 1 issue: 1 until 2005 volume: 8 issue: 4.",
            Coverage(1998, 2005, None, True),
        ),
        ("Available from 01/01/1997 until 12/31/2005.", Coverage(1997, 2005, None, True)),
        ("Available until 2005.", Coverage(None, 2005, None, True)),
        ("  available FROM 1987 ", Coverage(1987, None, None, True)),
        ("Most recent 2 year(s) available.", Coverage(NOW - 1, None, None, True)),
        ("Available from 2010. Most recent 18 month(s) not available.", Coverage(2010, None, 1.5, True)),
        # two ranges that join up are one range; with a gap the span is not exact
        ("Available from 1990 until 1999. Available from 2000.", Coverage(1990, None, None, True)),
        ("Available from 1990 until 1995. Available from 2000.", Coverage(1990, None, None, True, exact=False)),
        ("", UNSTATED),
        ("   ", UNSTATED),
        (None, UNSTATED),
        # text with no range in it is not absent: it is a statement almaclean cannot read
        ("Only local", UNREADABLE),
    ],
)
def test_parse_statement(text, expected):
    assert parse_statement(text, current_year=NOW) == expected


@pytest.mark.parametrize(
    ("start", "end", "embargo", "expected"),
    [
        ("1987-09-01", "2022-12-01", "P4Y", Coverage(1987, 2022, 4.0, True)),  # JSTOR row
        ("1996", "", "", Coverage(1996, None, None, True)),  # MUSE bare year, open end
        ("2002-03", None, "P6M", Coverage(2002, None, 0.5, True)),
        ("1990", None, "R2Y", Coverage(NOW - 1, None, None, True)),  # only the last 2 years
        ("2025", None, "R5Y", Coverage(2025, None, None, True)),  # the later start wins
        (None, None, "r1y", Coverage(NOW, None, None, True)),
        # a window in months or days starts in the earliest year it can reach: 18 months back from any
        # day of this year reach at most two years back, 30 days at most one
        (None, None, "R18M", Coverage(NOW - 2, None, None, True)),
        (None, None, "R30D", Coverage(NOW - 1, None, None, True)),
        ("1950", "1960", 3, Coverage(1950, 1960, 3.0, True)),  # a number of years
        ("1950", "1960", "0", Coverage(1950, 1960, None, True)),
        ("1950", "1960", "3", Coverage(1950, 1960, 3.0, True)),  # a number of years, written
        (None, None, None, UNSTATED),
        ("", " ", "", UNSTATED),
    ],
)
def test_from_columns(start, end, embargo, expected):
    assert from_columns(start, end, embargo, current_year=NOW) == expected


@pytest.mark.parametrize(
    ("start", "end", "embargo"),
    [("19xx", None, None), ("01/09/1987", None, None), (None, "soon", None), (None, None, "4 years"), ("1990", None, "P4W")],
)
def test_from_columns_rejects_what_it_cannot_read(start, end, embargo):
    with pytest.raises(ValueError):
        from_columns(start, end, embargo, current_year=NOW)


@pytest.mark.parametrize(("start", "end", "said"), [
    ("19xx", None, "start '19xx' is not a year or a YYYY-MM-DD date"),
    ("1990", "soon", "end 'soon' is not a year or a YYYY-MM-DD date"),
    ("1990", None, "embargo '4 years' is not a KBART embargo (P4Y, R2Y, P6M) or a number of years"),
])
def test_a_date_that_cannot_be_read_is_named_with_its_side_and_what_was_expected(start, end, said):
    # the caller adds the file, row and column: the message says which value and why
    embargo = "4 years" if said.startswith("embargo") else None
    with pytest.raises(ValueError) as refused:
        from_columns(start, end, embargo, current_year=NOW)
    assert str(refused.value) == said


def test_a_rolling_embargo_counts_back_from_the_year_it_is_given():
    assert from_columns(None, None, "R2Y", current_year=2040) == Coverage(2039, None, None, True)
    assert parse_statement("Most recent 2 year(s) available.", current_year=2040).from_year == 2039


@pytest.mark.parametrize(("text", "start"), [
    # spans starting in one year are ordered by volume, then issue; none stated is the year's first
    ("Available from 2000 volume: 5 until 2001. Available from 2000 volume: 3 until 2003.", (2000, 3, None)),
    ("Available from 2000 volume: 1 until 2001. Available from 2000 until 2005.", (2000, None, None)),
    ("Available from 2000 volume: 1 issue: 5 until 2001. Available from 2000 volume: 1 issue: 2 until 2003.",
     (2000, 1, 2)),
    ("Available from 2000 volume: 1 issue: 1 until 2001. Available from 2000 volume: 1 until 2005.", (2000, 1, None)),
])
def test_overlapping_spans_are_one_from_the_earliest_start_at_the_finest_granularity_given(text, start):
    (span,) = parse_statement(text, current_year=NOW).ranges()
    assert (span.start.year, span.start.volume, span.start.issue) == start


@pytest.mark.parametrize(("text", "end"), [
    # spans ending in one year end at the later volume, then issue; an end without one counts as
    # the year's first issue (the safe side for a keeper: it is not taken to hold the whole year)
    ("Available from 2000 until 2005 volume: 12. Available from 2001 until 2005 volume: 10.", (2005, 12, None)),
    ("Available from 2000 until 2005. Available from 2001 until 2005 volume: 1.", (2005, 1, None)),
    ("Available from 2000 until 2005 volume: 1 issue: 4. Available from 2001 until 2005 volume: 1 issue: 2.",
     (2005, 1, 4)),
    ("Available from 2000 until 2005 volume: 1. Available from 2001 until 2005 volume: 1 issue: 1.", (2005, 1, 1)),
])
def test_overlapping_spans_are_one_to_the_latest_end_at_the_finest_granularity_given(text, end):
    (span,) = parse_statement(text, current_year=NOW).ranges()
    assert (span.end.year, span.end.volume, span.end.issue) == end


@pytest.mark.parametrize(("text", "spans"), [
    # the last five years of a journal whose holdings start earlier: from the rolling start on
    ("Available from 2010. Most recent 5 year(s) available.", ((NOW - 4, None),)),
    # a holding that starts inside the window keeps its own start
    ("Available from 2024. Most recent 5 year(s) available.", ((2024, None),)),
    # a closed holding is cut at the window's start and keeps its end; one ended before it is gone
    ("Available from 1990 until 2000. Available from 2010 until 2024. Most recent 5 year(s) available.",
     ((NOW - 4, 2024),)),
    ("Most recent 18 month(s) available.", ((NOW - 2, None),)),
])
def test_a_rolling_window_keeps_what_falls_inside_it(text, spans):
    coverage = parse_statement(text, current_year=NOW)
    assert [(s.start.year if s.start else None, s.end.year if s.end else None) for s in coverage.ranges()] == list(spans)
    assert (coverage.from_year, coverage.to_year) == spans[0]


@pytest.mark.parametrize(
    ("outer", "inner", "expected"),
    [
        ("Available from 1990.", "Available from 1997 until 2005.", True),
        ("Available from 1997 until 2005.", "Available from 1997 until 2005.", True),
        ("Available from 1998.", "Available from 1997 until 2005.", False),  # misses 1997
        ("Available from 1990 until 2004.", "Available from 1997 until 2005.", False),  # misses 2005
        ("Available from 1997 until 2005.", "Available from 1990.", False),
        # an embargo on the kept portfolio hides the recent years the other one has
        ("Available from 1990. Most recent 1 year(s) not available.", "Available from 1997.", False),
        ("Available from 1990. Most recent 1 year(s) not available.", "Available from 1997 until 2005.", True),
        ("Most recent 6 month(s) not available.", "Available from 2001. Most recent 1 year(s) not available.", True),
        ("Available from 2001. Most recent 1 year(s) not available.", "Most recent 6 month(s) not available.", False),
        # a range inside any one of the keeper's ranges is contained; one across the gap is not
        ("Available from 1990 until 1995. Available from 2000.", "Available from 2001.", True),
        ("Available from 1990 until 1995. Available from 2000.", "Available from 1991 until 1994.", True),
        ("Available from 1990 until 1995. Available from 2000.", "Available from 1994 until 2001.", False),
        ("Available from 1990.", "Available from 1990 until 1995. Available from 2000.", True),
        ("", "", True),
        ("Only local", "", None),  # unreadable is not absent
        ("Only local", "Only local", None),
        ("Available from 1990.", "", None),
        ("", "Available from 1990.", None),
    ],
)
def test_contains(outer, inner, expected):
    result = contains(parse_statement(outer, current_year=NOW), parse_statement(inner, current_year=NOW), current_year=NOW)
    assert result is expected


def test_every_real_kbart_row_gives_a_coverage_with_the_stated_counts():
    jstor = kbart("JSTOR")
    coverages = [kbart_coverage(row) for row in jstor.iter_rows(named=True)]
    assert all(c.stated and c.from_year is not None and c.to_year is not None for c in coverages)
    assert sum(c.embargo_years is not None for c in coverages) == 2083  # SOURCES.md moving walls
    muse = kbart("MUSE")
    muse_coverages = [kbart_coverage(row) for row in muse.iter_rows(named=True)]
    assert sum(c.to_year is not None for c in muse_coverages) == 261  # SOURCES.md: only 261 end dates


def test_same_journal_on_jstor_and_muse():
    # SOURCES.md: 484 JSTOR rows match MUSE by ISSN, with different coverage and moving walls
    jstor = kbart("JSTOR").filter(pl.col("print_identifier") == "0898-5510")
    jstor_row = jstor.row(0, named=True)
    jstor_coverage = kbart_coverage(jstor_row)
    assert jstor_coverage == Coverage(1987, 2022, 4.0, True)
    later_and_open = Coverage(1990, None, None, True)
    assert contains(jstor_coverage, Coverage(1990, 2010, None, True), current_year=NOW) is True
    assert contains(jstor_coverage, later_and_open, current_year=NOW) is False
    assert contains(later_and_open, jstor_coverage, current_year=NOW) is False  # misses 1987-1989


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # ranges in any order: the span starts at the earliest, and a gap is a gap whatever the order
        ("Available from 2000 until 2005. Available from 1990 until 1995.",
         Coverage(1990, 2005, None, True, exact=False)),
        ("Available from 2000. Available from 1990 until 1999.", Coverage(1990, None, None, True)),
        # a range with no start comes first; a later open range keeps the span open
        ("Available from 1995 until 2001. Available until 1996.", Coverage(None, 2001, None, True)),
        ("Available from 1990 until 1995. Available from 1994 until 1999.", Coverage(1990, 1999, None, True)),
        ("Available from 1990 until 1998. Available from 1994 until 1996.", Coverage(1990, 1998, None, True)),
        ("Available from 1990 until 1995. Available from 1997 until 1999.",
         Coverage(1990, 1999, None, True, exact=False)),
        ("Available from 1990 until 1995. Available from 1996 until 1999.", Coverage(1990, 1999, None, True)),
    ],
)
def test_several_ranges_are_merged_into_their_span(text, expected):
    assert parse_statement(text, current_year=NOW) == expected


def test_the_current_year_given_is_the_one_used():
    assert parse_statement("Most recent 2 year(s) available.", current_year=2040).from_year == 2039
    # an embargo of 4 years hides 2036-2040 when the year is 2040, not the years before today
    keeper = Coverage(1990, None, 4.0, True)
    assert contains(keeper, Coverage(2000, 2030, None, True), current_year=2040) is True
    assert contains(keeper, Coverage(2000, 2037, None, True), current_year=2040) is False


def test_ranges_of_a_coverage_made_from_years_alone_and_of_one_not_stated_or_unreadable():
    assert Coverage(None, 2000, None, True).ranges() == (Span(None, Point(2000)),)      # from the first issue
    assert Coverage(1990, None, 2.0, True).ranges() == (Span(Point(1990), None),)       # open
    assert UNSTATED.ranges() == () and UNREADABLE.ranges() == ()                        # nothing to compare


def test_a_rolling_window_keeps_a_span_ending_in_its_first_year_and_a_start_in_it_as_written():
    # NOW - 4 is the first year of the last five: a span ending then has that one year left
    ends_then = parse_statement(f"Available from 1990 until {NOW - 4}. Most recent 5 year(s) available.",
                                current_year=NOW)
    assert ends_then.ranges() == (Span(Point(NOW - 4), Point(NOW - 4)),)
    # a span starting in that year keeps its own start, volume included
    starts_then = parse_statement(f"Available from {NOW - 4} volume: 3. Most recent 5 year(s) available.",
                                  current_year=NOW)
    assert starts_then.ranges() == (Span(Point(NOW - 4, 3), None),)
