"""Coverage of a portfolio: parsed from Alma's statement text or from date/embargo columns.

Years are the unit: a range "from 1997 until 2005" covers the years 1997 to 2005 inclusive,
an open end ("Available from 2001.") goes on: it reaches the current year today and every
later year as it comes, so a range that ends never contains it; an embargo ("moving wall") of N years hides the
last N years before now (months and days count as fractions of a year).

A "Most recent N ... available" window (KBART "R") is a rolling start: for years it starts
at current_year - N + 1 (R1Y is the current year only); for months or days it starts in
the year the window may reach back into, current_year - ceil(N in years).

`contains(outer, inner)` answers whether keeping `outer` loses nothing of `inner`.
"""
from __future__ import annotations

import datetime
import math
import re
from dataclasses import dataclass

import polars as pl

from almaclean.normalize import map_unique


@dataclass(frozen=True)
class Coverage:
    from_year: int | None  # None: from the first issue
    to_year: int | None  # None: up to now
    embargo_years: float | None  # the last N years are not available
    stated: bool  # False: nothing was said about coverage (empty or not a coverage text)
    # False when a statement lists ranges with a gap between them: from/to are then the
    # span, which must not be taken as covering the gap
    exact: bool = True


UNSTATED = Coverage(None, None, None, False)

_YEAR = r"(1[5-9]\d\d|20\d\d)"
_UNIT_YEARS = {"Y": 1.0, "M": 1 / 12, "D": 1 / 365}
_AVAILABLE = re.compile(r"\bavailable\b(?=\s+(?:from|until)\b)", re.IGNORECASE)
_FROM_YEAR = re.compile(r"\bfrom\b.*?\b" + _YEAR + r"\b", re.IGNORECASE)
_UNTIL = re.compile(r"\buntil\b.*?\b" + _YEAR + r"\b", re.IGNORECASE)
_MOST_RECENT = re.compile(
    r"\bmost\s+recent\s+(\d+)\s+(year|month|day)\(?s?\)?\s+(not\s+)?available\b", re.IGNORECASE
)
_KBART_EMBARGO = re.compile(r"^([PR])(\d+)([YMD])$", re.IGNORECASE)
_DATE_YEAR = re.compile(r"^(\d{4})(?:-\d{1,2}(?:-\d{1,2})?)?$")


def _this_year(current_year: int | None) -> int:
    return current_year if current_year is not None else datetime.date.today().year


def _rolling_start(amount: int, unit: str, current_year: int) -> int:
    if unit == "Y":
        return current_year - amount + 1
    return current_year - math.ceil(amount * _UNIT_YEARS[unit])


def _later(first: int | None, second: int | None) -> int | None:
    if first is None or second is None:
        return first if second is None else second
    return max(first, second)


def _merged(ranges: list[tuple[int | None, int | None]]) -> tuple[int | None, int | None, bool]:
    """Span of the ranges, and whether they join up without a gap."""
    ordered = sorted(ranges, key=lambda r: -math.inf if r[0] is None else r[0])
    start, end = ordered[0]
    exact = True
    for next_start, next_end in ordered[1:]:
        if end is not None and next_start is not None and next_start > end + 1:
            exact = False
        end = None if end is None or next_end is None else max(end, next_end)
    return start, end, exact


def parse_statement(text: str | None, *, current_year: int | None = None) -> Coverage:
    """Coverage from Alma's coverage statement text.

    "Available from 1997 until 2005." -> 1997..2005; "Available from 1998 volume: 1 issue: 1.
    Most recent 1 year(s) not available." -> from 1998, embargo 1; "Most recent 6 month(s)
    not available." -> embargo 0.5. Empty text, or text that states no range or embargo
    ("Only local"), -> stated False.
    """
    if text is None or not text.strip():
        return UNSTATED
    ranges: list[tuple[int | None, int | None]] = []
    for chunk in _AVAILABLE.split(text)[1:]:
        chunk = _MOST_RECENT.split(chunk)[0]  # the embargo sentence is not part of the range
        until = _UNTIL.search(chunk)
        start = _FROM_YEAR.search(chunk[: until.start()] if until else chunk)
        ranges.append((int(start.group(1)) if start else None, int(until.group(1)) if until else None))
    embargo: float | None = None
    rolling_from: int | None = None
    for amount, unit, negated in _MOST_RECENT.findall(text):
        unit = unit[0].upper()
        if negated:
            embargo = max(embargo or 0.0, int(amount) * _UNIT_YEARS[unit])
        else:
            rolling_from = _later(rolling_from, _rolling_start(int(amount), unit, _this_year(current_year)))
    if not ranges and embargo is None and rolling_from is None:
        return UNSTATED
    from_year, to_year, exact = _merged(ranges) if ranges else (None, None, True)
    return Coverage(_later(from_year, rolling_from), to_year, embargo, True, exact)


def _year(value: str | int | None, what: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, int):
        return value
    text = value.strip()
    if not text:
        return None
    match = _DATE_YEAR.match(text)
    if match is None:
        raise ValueError(f"{what} {value!r} is not a year or a YYYY-MM-DD date")
    return int(match.group(1))


def from_columns(
    from_year: str | int | None,
    to_year: str | int | None,
    embargo: str | int | float | None,
    *,
    current_year: int | None = None,
) -> Coverage:
    """Coverage from separate columns: Extended Export FROM_YEAR/TO_YEAR or KBART dates.

    Years may be "1987", "1987-09" or "1987-09-01". The embargo is KBART's embargo_info
    ("P4Y": the last 4 years not available; "R2Y": only the last 2 years available; M and D
    units too) or a plain number of years. Anything else raises ValueError for the caller
    to report with its file, row and column.
    """
    start, end = _year(from_year, "start"), _year(to_year, "end")
    embargo_years: float | None = None
    if isinstance(embargo, (int, float)):
        embargo_years = float(embargo) or None
    elif embargo is not None and embargo.strip():
        text = embargo.strip()
        kbart = _KBART_EMBARGO.match(text)
        if kbart:
            kind, amount, unit = kbart.group(1).upper(), int(kbart.group(2)), kbart.group(3).upper()
            if kind == "P":
                embargo_years = amount * _UNIT_YEARS[unit] or None
            else:
                start = _later(start, _rolling_start(amount, unit, _this_year(current_year)))
        elif re.fullmatch(r"\d+(?:\.\d+)?", text):
            embargo_years = float(text) or None
        else:
            raise ValueError(f"embargo {embargo!r} is not a KBART embargo (P4Y, R2Y, P6M) or a number of years")
    stated = any(v is not None and str(v).strip() != "" for v in (from_year, to_year, embargo))
    return Coverage(start, end, embargo_years, stated) if stated else UNSTATED


def _last_year(coverage: Coverage, now: int) -> float:
    end = float(coverage.to_year if coverage.to_year is not None else now)
    if coverage.embargo_years:
        end = min(end, now - coverage.embargo_years)
    return end


def ends_before_open_end(outer: Coverage, inner: Coverage) -> bool:
    """`outer` has an end year and `inner` is open-ended (no end year): every year after
    `outer`'s end is lost, whatever the current year is."""
    return outer.stated and inner.stated and outer.to_year is not None and inner.to_year is None


def contains(outer: Coverage, inner: Coverage, *, current_year: int | None = None) -> bool | None:
    """True when `outer` covers every year `inner` covers; None when that cannot be told.

    Both unstated -> True (nothing to lose); only one stated -> None; an `outer` whose
    ranges have a gap -> None. An `outer` that starts later, or ends (has an until year)
    while `inner` is open-ended, -> False: the open end is not "this year", it keeps going.
    An embargo on `outer` that hides years `inner` has -> False.
    """
    if not outer.stated and not inner.stated:
        return True
    if outer.stated != inner.stated or not outer.exact:
        return None
    if outer.from_year is not None and (inner.from_year is None or inner.from_year < outer.from_year):
        return False
    if ends_before_open_end(outer, inner):
        return False
    now = _this_year(current_year)
    return _last_year(outer, now) >= _last_year(inner, now)


COVERAGE_SCHEMA = {
    "from_year": pl.Int32,
    "to_year": pl.Int32,
    "embargo_years": pl.Float64,
    "stated": pl.Boolean,
    "exact": pl.Boolean,
}


def parse_statements(statements: pl.Series, *, current_year: int | None = None) -> pl.DataFrame:
    """parse_statement() of every value as a frame with the Coverage fields as columns
    (same length and order as `statements`), each distinct statement parsed once."""
    year = _this_year(current_year)
    parsed = map_unique(
        statements,
        lambda text: vars(parse_statement(text, current_year=year)),
        pl.Struct(COVERAGE_SCHEMA),
    )
    return pl.DataFrame({"coverage": parsed}).unnest("coverage")
