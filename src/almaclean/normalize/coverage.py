"""Coverage of a portfolio: parsed from Alma's statement text or from date/embargo columns.

A coverage is a list of spans (ranges) and an embargo. A span starts and ends at a point: a year,
and, when the statement gives them, a volume and an issue ("Available from 1998 volume: 1 issue:
3"). A span with no start begins at the first issue; one with no end goes on: it reaches the
current year today and every later year as it comes, so a span that ends never contains it. An
embargo ("moving wall") of N years hides the last N years before now (months and days count as
fractions of a year). A "Most recent N ... available" window (KBART "R") is a rolling start: for
years it starts at current_year - N + 1 (R1Y is the current year only); for months or days it
starts in the year the window may reach back into, current_year - ceil(N in years).

Three states, never confused:
- stated: the text was read (`spans`, `embargo_years`);
- unstated: nothing was said (an empty cell);
- unreadable: there is text, but not one this parser reads whole ("Only local", "see note",
  a wording it does not know). Unreadable is not absent: `contains` cannot tell (None) for it.

The statement grammar (parse_statement) reads Alma's English statements ("Available from 1997
until 2005.", "Available from 1998 volume: 1 issue: 1 until 2005 volume: 8 issue: 4.", "Available
from 01/01/1997 until 12/31/2005.", "Most recent 1 year(s) not available."), the same in French,
German and Spanish wording ("Disponible à partir de 1990 jusqu'à 2010.", "Les 2 dernières années
ne sont pas disponibles."), and plain ranges as KBART-derived lists write them ("1990 - 2010",
"1990-", "since 1990", "v.1 (1990) - v.20 (2010)"). Every word must be read; one word it does not
know makes the whole statement unreadable rather than half-read.

`contains(outer, inner)` answers whether keeping `outer` loses nothing of `inner`: every span of
`inner` inside one span of `outer` (a span inside any one of a keeper's spans is contained, so a
keeper with a gap still contains what lies on either side of it), starts and ends compared at the
finest granularity both points give (year, then volume, then issue).
"""
from __future__ import annotations

import datetime
import math
import re
import unicodedata
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Point:
    year: int
    volume: int | None = None
    issue: int | None = None


@dataclass(frozen=True)
class Span:
    start: Point | None  # None: from the first issue
    end: Point | None    # None: goes on (open end)


@dataclass(frozen=True)
class Coverage:
    from_year: int | None  # the earliest start (None: from the first issue)
    to_year: int | None  # the latest end (None: up to now, open)
    embargo_years: float | None  # the last N years are not available
    stated: bool  # False: nothing was said about coverage (an empty cell)
    # False when the spans have a gap between them: from/to are then the outer bounds
    exact: bool = True
    # False: there is text, but not one parse_statement reads whole (never taken as unstated)
    readable: bool = True
    spans: tuple[Span, ...] = field(default=(), compare=False)

    def ranges(self) -> tuple[Span, ...]:
        """The spans (built from from_year/to_year for a coverage made without them)."""
        if self.spans or not self.stated or not self.readable:
            return self.spans
        start = Point(self.from_year) if self.from_year is not None else None
        end = Point(self.to_year) if self.to_year is not None else None
        return (Span(start, end),)


UNSTATED = Coverage(None, None, None, False)
UNREADABLE = Coverage(None, None, None, True, readable=False)

_UNIT_YEARS = {"Y": 1.0, "M": 1 / 12, "D": 1 / 365}
_KBART_EMBARGO = re.compile(r"^([PR])(\d+)([YMD])$", re.IGNORECASE)
_DATE_YEAR = re.compile(r"^(\d{4})(?:-\d{1,2}(?:-\d{1,2})?)?$")
FIRST_YEAR, LAST_YEAR = 1500, 2099


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


# The statement grammar ----------------------------------------------------------------------------

_FILLER = frozenset({"available", "availability", "disponible", "disponibles", "verfügbar", "verfugbar",
                     "accessible", "coverage", "couverture", "online", "en", "ligne"})
_FROM = frozenset({"from", "since", "starting", "depuis", "partir", "à", "a", "de", "du", "des", "ab", "von", "seit",
                   "desde", "del"})
_UNTIL = frozenset({"until", "till", "to", "through", "thru", "jusqu'à", "jusqu'a", "jusqu'en", "jusqu'au", "à", "a",
                    "au", "en", "bis", "hasta", "al", "-"})
_NOW = frozenset({"present", "current", "now", "date", "today", "ongoing", "aujourd'hui", "ce", "jour", "heute",
                  "presente", "actualidad", "cours", "la", "le"})
_VOLUME = frozenset({"volume", "vol", "v", "tome", "t", "band", "bd", "jahrgang", "jg", "année", "annee"})
_ISSUE = frozenset({"issue", "iss", "no", "number", "numéro", "numero", "num", "n", "heft", "nr", "número", "fasc",
                    "fascicule"})
_UNITS = {"year": "Y", "years": "Y", "an": "Y", "ans": "Y", "année": "Y", "années": "Y", "annee": "Y", "annees": "Y",
          "jahr": "Y", "jahre": "Y", "jahren": "Y", "año": "Y", "años": "Y", "month": "M", "months": "M", "mois": "M",
          "monat": "M", "monate": "M", "monaten": "M", "mes": "M", "meses": "M", "day": "D", "days": "D", "jour": "D",
          "jours": "D", "tag": "D", "tage": "D", "tagen": "D", "día": "D", "días": "D"}
_WINDOW_WORDS = frozenset({"most", "recent", "the", "last", "les", "la", "le", "derniers", "dernières", "dernier",
                           "dernière", "die", "letzten", "los", "últimos", "ultimos", "las", "últimas", "ultimas",
                           "are", "is", "sont", "est", "sind", "ist", "están", "estan", "está", "esta", "only",
                           "seulement", "seules", "seuls", "nur", "solo", "sólo"})
_NOT = frozenset({"not", "non", "ne", "pas", "n'est", "nicht", "no", "unavailable", "indisponible",
                  "indisponibles", "embargo", "embargoed", "wall", "moving"})
_AVAILABLE = frozenset({"available", "disponible", "disponibles", "verfügbar", "verfugbar", "accessible",
                        "accessibles"})
_TOKEN = re.compile(
    r"(?P<date>\d{1,2}[/.]\d{1,2}[/.]\d{4}(?!\d)|\d{4}-\d{1,2}-\d{1,2}(?!\d)|\d{1,2}/\d{4}(?!\d))"
    r"|(?P<num>\d+)"
    r"|(?P<word>[^\W\d_]+(?:'[^\W\d_]*)*)"
    r"|(?P<sym>[-:;,.()/&+])"
    r"|(?P<space>\s+)"
)
_ABBREVIATION = re.compile(r"\b(vol|no|nr|iss|num|bd|jg|v|t|n|fasc)\.(?=\s*\d)")


@dataclass
class _Tokens:
    items: list[tuple[str, str]]
    at: int = 0

    def peek(self, offset: int = 0) -> tuple[str, str] | None:
        i = self.at + offset
        return self.items[i] if i < len(self.items) else None

    def word(self, words: frozenset[str] | dict, offset: int = 0) -> bool:
        token = self.peek(offset)
        return token is not None and token[0] in ("word", "sym") and token[1] in words

    def take(self) -> tuple[str, str]:
        token = self.items[self.at]
        self.at += 1
        return token


class _Unreadable(Exception):
    pass


def _normalised(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
    text = text.casefold().replace("’", "'").replace("`", "'")
    text = re.sub(r"[\u2010-\u2015\u2212]", "-", text)
    text = text.replace("n°", "no ").replace("nº", "no ")
    text = re.sub(r"\((?:s|e|es|n)\)", lambda m: m.group(0)[1:-1], text)  # "year(s)" -> "years"
    return _ABBREVIATION.sub(r"\1 ", text)


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise _Unreadable
        position = match.end()
        kind = match.lastgroup
        if kind != "space":
            tokens.append((kind, match.group(kind)))
    return tokens


def _clauses(tokens: list[tuple[str, str]]) -> list[list[tuple[str, str]]]:
    """Sentences and ';'-separated parts; a '.' or ';' ends a clause."""
    clauses, current = [], []
    for token in tokens:
        if token[0] == "sym" and token[1] in ".;":
            if current:
                clauses.append(current)
            current = []
        else:
            current.append(token)
    if current:
        clauses.append(current)
    return clauses


def _year_of(token: tuple[str, str] | None) -> int | None:
    if token is None:
        return None
    kind, value = token
    if kind == "date":
        digits = re.findall(r"\d{4}", value)
        year = int(digits[0])
    elif kind == "num" and len(value) == 4:
        year = int(value)
    else:
        return None
    return year if FIRST_YEAR <= year <= LAST_YEAR else None


def _number_after(tokens: _Tokens, words: frozenset[str]) -> int | None:
    """"volume: 3" / "v 3" / "issue 2": the number after one of `words`, or None (nothing taken)."""
    if not tokens.word(words):
        return None
    offset = 1
    if tokens.word(frozenset({":"}), offset):
        offset += 1
    token = tokens.peek(offset)
    if token is None or token[0] != "num":
        return None
    tokens.at += offset + 1
    return int(token[1])


def _point(tokens: _Tokens) -> Point | None:
    """A point: YEAR [volume N] [issue N], or [volume N] [issue N] (YEAR). None when none is here."""
    year = _year_of(tokens.peek())
    if year is not None:
        tokens.take()
        _comma_before(tokens, _VOLUME | _ISSUE)
        volume = _number_after(tokens, _VOLUME)
        _comma_before(tokens, _ISSUE)
        issue = _number_after(tokens, _ISSUE)
        return Point(year, volume, issue)
    start = tokens.at
    volume = _number_after(tokens, _VOLUME)
    issue = _number_after(tokens, _ISSUE)
    if (volume is not None or issue is not None) and tokens.word(frozenset({"("})):
        year = _year_of(tokens.peek(1))
        if year is not None and tokens.word(frozenset({")"}), 2):
            tokens.at += 3
            return Point(year, volume, issue)
    tokens.at = start
    return None


def _comma_before(tokens: _Tokens, words: frozenset[str]) -> None:
    if tokens.word(frozenset({","})) and tokens.word(words, 1):
        tokens.take()


def _skip(tokens: _Tokens, words: frozenset[str]) -> bool:
    skipped = False
    while tokens.word(words):
        tokens.take()
        skipped = True
    return skipped


def _span(tokens: _Tokens) -> Span:
    """[from-words] POINT [until-words (POINT | now-words)] | until-words POINT."""
    _skip(tokens, _FILLER)
    had_from = _skip(tokens, _FROM)
    start = _point(tokens)
    if start is None:
        if not had_from and _skip(tokens, _UNTIL):  # "until 2005": from the first issue
            end = _point(tokens)
            if end is None:
                raise _Unreadable
            return Span(None, end)
        raise _Unreadable
    if not _skip(tokens, _UNTIL):
        return Span(start, None)
    end = _point(tokens)
    if end is None:
        _skip(tokens, _NOW)  # "1990 - present", "1990-": open
    elif end.year < start.year:
        raise _Unreadable
    return Span(start, end)


def _window(tokens: _Tokens) -> tuple[str, float | int] | None:
    """An embargo ("Most recent 1 year(s) not available.") or a rolling window ("Most recent 2
    year(s) available."): ("embargo", years) or ("rolling", (amount, unit)); None when this clause
    is not one."""
    items = tokens.items
    numbers = [i for i, (kind, _) in enumerate(items) if kind == "num"]
    if len(numbers) != 1:
        return None
    unit_at = numbers[0] + 1  # "2 years", or "2 dernières années": words of the window between
    while unit_at < len(items) and items[unit_at][1] not in _UNITS and items[unit_at][1] in _WINDOW_WORDS:
        unit_at += 1
    if unit_at >= len(items) or items[unit_at][1] not in _UNITS:
        return None
    negated, available = False, False
    for i, (kind, value) in enumerate(items):
        if i in (numbers[0], unit_at):
            continue
        if value in _NOT:
            negated = True
        elif value in _AVAILABLE:
            available = True
        elif value not in _WINDOW_WORDS and value not in (":", ","):
            raise _Unreadable
    if not (available or negated):
        raise _Unreadable
    amount, unit = int(items[numbers[0]][1]), _UNITS[items[unit_at][1]]
    tokens.at = len(tokens.items)
    if negated:
        return "embargo", amount * _UNIT_YEARS[unit]
    return "rolling", (amount, unit)


def _joined(spans: list[Span]) -> list[Span]:
    """The spans in order, those that overlap or meet (the next starts the year after) made one."""
    ordered = sorted(spans, key=lambda s: (-math.inf, 0, 0) if s.start is None else
                     (s.start.year, s.start.volume or 0, s.start.issue or 0))
    joined = [ordered[0]]
    for span in ordered[1:]:
        last = joined[-1]
        if last.end is None:
            continue  # an open span already holds every later one
        if span.start is not None and span.start.year > last.end.year + 1:
            joined.append(span)
            continue
        end = None if span.end is None else max(last.end, span.end, key=lambda p: (p.year, p.volume or 0,
                                                                                    p.issue or 0))
        joined[-1] = Span(last.start, end)
    return joined


def parse_statement(text: str | None, *, current_year: int | None = None) -> Coverage:
    """Coverage from a coverage statement text (see the module's grammar).

    "Available from 1997 until 2005." -> 1997..2005; "Available from 1998 volume: 1 issue: 1.
    Most recent 1 year(s) not available." -> from 1998 v.1 no.1, embargo 1; "1990 - 2010" ->
    1990..2010. Empty text -> UNSTATED; text not read whole ("Only local") -> UNREADABLE.
    """
    if text is None or not text.strip():
        return UNSTATED
    try:
        return _parsed(_normalised(text), _this_year(current_year))
    except _Unreadable:
        return UNREADABLE


def _parsed(text: str, year: int) -> Coverage:
    spans: list[Span] = []
    embargo: float | None = None
    rolling_from: int | None = None
    for clause in _clauses(_tokens(text)):
        tokens = _Tokens(clause)
        window = _window(tokens)
        if window is not None:
            kind, value = window
            if kind == "embargo":
                embargo = max(embargo or 0.0, value)
            else:
                rolling_from = _later(rolling_from, _rolling_start(*value, year))
            continue
        while True:
            spans.append(_span(tokens))
            if tokens.peek() is None:
                break
            if not _skip(tokens, frozenset({",", "and", "et", "und", "y", "&", "+"})):
                raise _Unreadable
    if not spans and embargo is None and rolling_from is None:
        raise _Unreadable
    if rolling_from is not None:
        spans = _from_rolling(spans, rolling_from)
    if not spans:
        return Coverage(None, None, embargo, True, spans=(Span(None, None),))
    spans = _joined(spans)
    start = spans[0].start.year if spans[0].start is not None else None
    end = spans[-1].end.year if spans[-1].end is not None else None
    return Coverage(start, end, embargo, True, len(spans) == 1, spans=tuple(spans))


def _from_rolling(spans: list[Span], rolling_from: int) -> list[Span]:
    """The spans from a rolling start on (a span that ended before it is gone)."""
    if not spans:
        return [Span(Point(rolling_from), None)]
    kept = []
    for span in spans:
        if span.end is not None and span.end.year < rolling_from:
            continue
        start = span.start if span.start is not None and span.start.year >= rolling_from else Point(rolling_from)
        kept.append(Span(start, span.end))
    return kept


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


# Containment ----------------------------------------------------------------------------------------

def _compare(a: Point, b: Point) -> int:
    """-1, 0 or 1: a before, at or after b, at the finest granularity both points give."""
    for first, second in ((a.year, b.year), (a.volume, b.volume), (a.issue, b.issue)):
        if first is None or second is None:
            return 0
        if first != second:
            return -1 if first < second else 1
    return 0


def _last_year(end: Point | None, embargo: float | None, now: int) -> float:
    last = float(end.year if end is not None else now)
    if embargo:
        last = min(last, now - embargo)
    return last


def _span_contains(outer: Span, inner: Span, outer_embargo: float | None, inner_embargo: float | None,
                   now: int) -> bool:
    if outer.start is not None and (inner.start is None or _compare(outer.start, inner.start) > 0):
        return False
    if outer.end is not None and inner.end is None:
        return False  # an open end goes on past any end
    outer_last = _last_year(outer.end, outer_embargo, now)
    inner_last = _last_year(inner.end, inner_embargo, now)
    if outer_last != inner_last:
        return outer_last > inner_last
    if outer.end is not None and inner.end is not None:
        return _compare(outer.end, inner.end) >= 0
    return True


def ends_before_open_end(outer: Coverage, inner: Coverage) -> bool:
    """`outer` has an end year and `inner` is open-ended (no end year): every year after
    `outer`'s end is lost, whatever the current year is."""
    return (outer.stated and inner.stated and outer.readable and inner.readable and outer.to_year is not None
            and inner.to_year is None)


def contains(outer: Coverage, inner: Coverage, *, current_year: int | None = None) -> bool | None:
    """True when `outer` covers everything `inner` covers; None when that cannot be told.

    Either unreadable -> None; both unstated -> True (nothing to lose); only one stated -> None.
    Otherwise every span of `inner` must lie inside one span of `outer`: starting no earlier,
    ending no later (compared by year, then volume, then issue where both give them), an open
    end only inside an open end, and the embargo of `outer` hiding no year `inner` has.
    """
    if not outer.readable or not inner.readable:
        return None
    if not outer.stated and not inner.stated:
        return True
    if outer.stated != inner.stated:
        return None
    now = _this_year(current_year)
    return all(
        any(_span_contains(o, i, outer.embargo_years, inner.embargo_years, now) for o in outer.ranges())
        for i in inner.ranges()
    )
