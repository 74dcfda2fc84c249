"""What a cell must hold for the Portfolio Loader: the checks a corrected value typed in a review
workbook's "new value" cell goes through, and reading a date. Pure; a check returns None when
the value is fine, else the problem in plain words.

Years are four digits, months 1-12, days 1-31; an embargo operator is one of Alma's comparison
signs (> embargo, < moving wall, with = variants) and its year and month counts are whole
numbers; a URL that replaces a web address is an http(s) address with a host (a cell that held
parser parameters may hold parser parameters again); an ISSN or ISBN has a valid check digit and
is written alone (digits, hyphens between them: no label, qualifier or price);
volumes, issues and PO lines are one line of text.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from urllib.parse import urlsplit

from almaclean.normalize.identifiers import classify

EMBARGO_OPERATORS = (">", ">=", "<", "<=", "=")
LOADER_IDENTIFIER = re.compile(r"[0-9Xx]+(?:-[0-9Xx]+)*")   # an ISSN or ISBN as the loader takes it: digits, hyphens
_DATE_FORMATS = (
    (re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T].*)?$"), ("y", "m", "d")),
    (re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})$"), ("y", "m", "d")),
    (re.compile(r"^(\d{4})(\d{2})(\d{2})$"), ("y", "m", "d")),
    (re.compile(r"^(\d{1,2})[/.](\d{1,2})[/.](\d{4})$"), ("d", "m", "y")),
    (re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$"), ("m", "d", "y")),
)


def date_candidates(text: str | None) -> list[date]:
    """Every calendar date the text can be (YYYY-MM-DD with or without a time, YYYY/MM/DD,
    YYYYMMDD, DD/MM/YYYY, DD.MM.YYYY, MM/DD/YYYY), earliest first; [] when it is none."""
    found: set[date] = set()
    for pattern, order in _DATE_FORMATS:
        match = pattern.match((text or "").strip())
        if not match:
            continue
        parts = dict(zip(order, map(int, match.groups())))
        try:
            found.add(date(parts["y"], parts["m"], parts["d"]))
        except ValueError:
            continue
    return sorted(found)


def _one_line(value: str) -> str | None:
    return "it holds a line break; the cell takes one line" if re.search(r"[\r\n]", value) else None


def _number(low: int, high: int, what: str) -> Callable[[str, str | None], str | None]:
    def check(value: str, old: str | None) -> str | None:
        text = value.strip()
        if not re.fullmatch(r"\d{1,4}", text) or not low <= int(text) <= high:
            return f"{value!r} is not {what}"
        return None
    return check


def _count(value: str, old: str | None) -> str | None:
    return None if re.fullmatch(r"\d{1,3}", value.strip()) else f"{value!r} is not a whole number (of years or months)"


def _operator(value: str, old: str | None) -> str | None:
    if value.strip() in EMBARGO_OPERATORS:
        return None
    return f"{value!r} is not an embargo operator ({', '.join(EMBARGO_OPERATORS)})"


def _date(value: str, old: str | None) -> str | None:
    return None if date_candidates(value) else f"{value!r} is not a date (write it as YYYY-MM-DD)"


def is_web_address(text: str | None) -> bool:
    """An absolute http(s) address with a host name, without spaces."""
    text = (text or "").strip()
    if not text or re.search(r"\s", text):
        return False
    try:
        parts = urlsplit(text)
    except ValueError:
        return False
    host = parts.hostname or ""
    return parts.scheme.lower() in ("http", "https") and bool(host) and ("." in host or host == "localhost")


def _url(value: str, old: str | None) -> str | None:
    if is_web_address(value):
        return None
    if old and old.strip() and not is_web_address(old):
        return _one_line(value)   # the cell held parser parameters: it may again
    return f"{value!r} is not a web address (http:// or https:// followed by a host name, no spaces)"


def _identifier(kind: str) -> Callable[[str, str | None], str | None]:
    def check(value: str, old: str | None) -> str | None:
        found, normalised = classify(value.strip())
        if found != kind or not normalised:
            return f"{value!r} is not a valid {kind.upper()} (check its digits)"
        if not LOADER_IDENTIFIER.fullmatch(value.strip()):   # a label, qualifier or price around it
            return f"{value!r} holds more than the {kind.upper()}: write it alone, as {normalised}"
        return None
    return check


def _text(value: str, old: str | None) -> str | None:
    return None


CHECKS: dict[str, Callable[[str, str | None], str | None]] = {
    "FROM_YEAR": _number(1000, 2999, "a year (four digits)"), "TO_YEAR": _number(1000, 2999, "a year (four digits)"),
    "FROM_MONTH": _number(1, 12, "a month (1 to 12)"), "TO_MONTH": _number(1, 12, "a month (1 to 12)"),
    "FROM_DAY": _number(1, 31, "a day (1 to 31)"), "TO_DAY": _number(1, 31, "a day (1 to 31)"),
    "FROM_VOLUME": lambda v, o: _one_line(v), "TO_VOLUME": lambda v, o: _one_line(v),
    "FROM_ISSUE": lambda v, o: _one_line(v), "TO_ISSUE": lambda v, o: _one_line(v),
    "PUBLICATION_DATE_OPERATOR": _operator, "PUBLICATION_DATE_YEAR": _count, "PUBLICATION_DATE_MONTH": _count,
    "EXPECTED_ACTIVATION_DATE": _date,
    "URL": _url,
    "ISSN": _identifier("issn"), "ISBN": _identifier("isbn"),
    "PO_LINE": lambda v, o: _one_line(v), "OTHER_SYSTEM_NUMBER": lambda v, o: _one_line(v),
}


def problem(column: str, value: str, old: str | None = None) -> str | None:
    """What is wrong with `value` as the new content of `column` (whose cell held `old`), or None.
    Columns of free text (notes, coverage statement) take any text."""
    return CHECKS.get(column, _text)(value, old)


def year_order_problem(from_year: str | None, to_year: str | None) -> str | None:
    """A coverage that ends before it starts."""
    if from_year and to_year and from_year.strip().isdigit() and to_year.strip().isdigit() \
            and int(from_year) > int(to_year):
        return f"FROM_YEAR {from_year.strip()} is after TO_YEAR {to_year.strip()}"
    return None
