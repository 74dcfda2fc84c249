"""How Excel shows a number cell through its number format, where that can be said exactly.

A number cell stores a value ("123456") and points, through its style, to a number format
("000000000") that decides what Excel shows ("000123456"). fastexcel gives the stored value
(dates aside), so a cell whose format shows other characters would be read as something no
one saw in Excel: a zero-padded legacy number without its zeros, an ISSN stored as 1234567
and shown as 0123-4567 through "0000-0000". The rule, per cell:
- General, Text ("@") and an integer under "0": shown as stored; read as fastexcel gives it.
- Dates and times: fastexcel gives the ISO form of the same instant (Excel's own display of
  a date depends on the reader's locale: 1/2/2024 is January in one country, February in
  another); kept as the one unambiguous reading.
- Formats that pad, group or decorate the stored digits (zero padding, literal text such as
  "VOY" or "-", thousands separators as the format writes them, fixed decimals that drop no
  digit, percent): rendered here exactly as Excel shows them (`shown`).
- Everything else - a format that rounds the value (fewer decimals than it has), scientific
  notation, fractions, scaling, conditions, locale-dependent currency or accounting built-ins:
  `Refused`, with the reason; the reader refuses the cell (file, row, column, "format the
  column as Text or paste the values as text in Excel").
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

# Excel's built-in number formats that are the same in every locale (ECMA-376, 18.8.30).
BUILTIN_FORMATS = {
    0: "General", 1: "0", 2: "0.00", 3: "#,##0", 4: "#,##0.00", 9: "0%", 10: "0.00%", 11: "0.00E+00",
    12: "# ?/?", 13: "# ??/??", 37: "#,##0 ;(#,##0)", 38: "#,##0 ;[Red](#,##0)", 39: "#,##0.00;(#,##0.00)",
    40: "#,##0.00;[Red](#,##0.00)", 48: "##0.0E+0", 49: "@",
}
# Built-in date and time formats (their pattern depends on the locale; the value is a date).
BUILTIN_DATES = frozenset({*range(14, 23), *range(27, 37), 45, 46, 47, *range(50, 59)})

IDENTITY = "identity"   # shown as stored
DATE = "date"           # fastexcel's ISO date / time
RENDER = "render"       # shown() says how


@dataclass(frozen=True)
class Refused:
    reason: str


def format_code(number_format_id: int, custom: dict[int, str]) -> str | None:
    """The format code of a style's numFmtId (custom codes first); None for a locale-dependent
    built-in whose code the file does not say."""
    if number_format_id in custom:
        return custom[number_format_id]
    return BUILTIN_FORMATS.get(number_format_id)


def kind_of(number_format_id: int, custom: dict[int, str]) -> str:
    """IDENTITY, DATE or RENDER: what a number cell with this format needs."""
    if number_format_id in BUILTIN_DATES and number_format_id not in custom:
        return DATE
    code = format_code(number_format_id, custom)
    if code is None:
        return RENDER            # shown() refuses it: its look depends on the locale
    if code.strip().lower() in ("general", "@", ""):
        return IDENTITY
    if is_date_format(code):
        return DATE
    return RENDER


_QUOTED = re.compile(r'"[^"]*"|\\.|_.|\*.')
_BRACKETS = re.compile(r"\[[^\]]*\]")


def is_date_format(code: str) -> bool:
    """A format that shows a date or time: d, m, y, h or s outside quotes, escapes and brackets
    (elapsed time [h], [mm], [ss] counts too), as spreadsheet readers decide it."""
    section = code.split(";")[0]
    if re.search(r"\[(h+|m+|s+)\]", section, re.IGNORECASE):
        return True
    bare = _BRACKETS.sub("", _QUOTED.sub("", section))
    return bool(re.search(r"[dmyhsDMYHS]", bare)) or "AM/PM" in bare.upper() or "A/P" in bare.upper()


def shown(code: str | None, stored: str) -> str | Refused:
    """What Excel shows for the stored number `stored` through the format code, or why that
    cannot be said exactly."""
    if code is None:
        return Refused("its number format is one of Excel's locale-dependent built-ins (currency, accounting)")
    try:
        value = Decimal(stored.strip())
    except InvalidOperation:
        return Refused(f"its stored value {stored[:40]!r} is not a number")
    if not value.is_finite():
        return Refused(f"its stored value {stored[:40]!r} is not a number")
    if len(value.normalize().as_tuple().digits) > 15:
        return Refused("Excel shows no more than 15 significant digits of a number")
    sections = _sections(code)
    if len(sections) > 4:
        return Refused(f"its number format {code!r} has more than four sections")
    if value < 0 and len(sections) >= 2:
        section, sign = sections[1], ""
    elif value == 0 and len(sections) >= 3:
        section, sign = sections[2], ""
    else:
        section, sign = sections[0], "-" if value < 0 else ""
    return _render(code, section, abs(value), sign)


def _sections(code: str) -> list[str]:
    sections, current, quoted, escaped = [], [], False, False
    for char in code:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\":
            current.append(char)
            escaped = True
        elif char == '"':
            current.append(char)
            quoted = not quoted
        elif char == ";" and not quoted:
            sections.append("".join(current))
            current = []
        else:
            current.append(char)
    sections.append("".join(current))
    return sections


_TOKEN = re.compile(r'"(?P<quoted>[^"]*)"|\\(?P<escaped>.)|_(?P<space>.)|\*(?P<fill>.)|\[(?P<bracket>[^\]]*)\]'
                    r"|(?P<char>.)", re.DOTALL)
_COLOURS = frozenset({"black", "blue", "cyan", "green", "magenta", "red", "white", "yellow"})
_LITERAL = set(" $-+/():!^&'~{}<>=£€¥")


def _render(code: str, section: str, value: Decimal, sign: str) -> str | Refused:
    tokens: list[tuple[str, str]] = []   # ("digit", "0"|"#"|"?") ("point", ".") ("text", ...) ("group", ",")
    percent = 0
    for match in _TOKEN.finditer(section):
        if match.group("quoted") is not None:
            tokens.append(("text", match.group("quoted")))
        elif match.group("escaped") is not None:
            tokens.append(("text", match.group("escaped")))
        elif match.group("space") is not None:
            tokens.append(("text", " "))
        elif match.group("fill") is not None:
            continue
        elif match.group("bracket") is not None:
            inside = match.group("bracket")
            if inside.lower() in _COLOURS or re.fullmatch(r"(?i)color\d+", inside):
                continue
            currency = re.fullmatch(r"\$([^-]*)(-[0-9A-Fa-f]+)?", inside)
            if currency:
                tokens.append(("text", currency.group(1)))
                continue
            return Refused(f"its number format {code!r} has a condition or locale code [{inside}]")
        else:
            char = match.group("char")
            if char in "0#?":
                tokens.append(("digit", char))
            elif char == ".":
                tokens.append(("point", char))
            elif char == ",":
                tokens.append(("group", char))
            elif char == "%":
                percent += 1
                tokens.append(("text", "%"))
            elif char in "Ee":
                return Refused(f"its number format {code!r} shows it in scientific notation")
            elif char == "/":
                if any(kind == "digit" for kind, _ in tokens):
                    return Refused(f"its number format {code!r} shows it as a fraction")
                tokens.append(("text", char))
            elif char == "@":
                return Refused(f"its number format {code!r} mixes text and number placeholders")
            elif char in _LITERAL or not char.isascii() or char.isalpha():
                if char.isascii() and char.isalpha():
                    return Refused(f"its number format {code!r} holds the letter {char!r} outside quotes")
                tokens.append(("text", char))
            else:
                return Refused(f"its number format {code!r} holds {char!r}, which this reader does not render")
    points = [i for i, (kind, _) in enumerate(tokens) if kind == "point"]
    if len(points) > 1:
        return Refused(f"its number format {code!r} has two decimal points")
    cut = points[0] if points else len(tokens)
    whole, fraction = tokens[:cut], tokens[cut + 1:]
    digits_whole = [i for i, (kind, _) in enumerate(whole) if kind == "digit"]
    if any(kind == "group" for kind, _ in fraction) or (
            digits_whole and any(kind == "group" for kind, _ in whole[digits_whole[-1] + 1:])):
        return Refused(f"its number format {code!r} scales the value by thousands")
    grouping = any(kind == "group" for kind, _ in whole)
    if grouping and any(kind == "text" for kind, _ in whole[digits_whole[0]: digits_whole[-1]] if digits_whole):
        return Refused(f"its number format {code!r} mixes thousands separators and text between digits")
    whole = [(kind, text) for kind, text in whole if kind != "group"]
    places = [text for kind, text in fraction if kind == "digit"]
    value = value * (Decimal(100) ** percent)
    exact = value.normalize()
    decimals = max(0, -exact.as_tuple().exponent)
    if decimals > len(places):
        return Refused(f"its number format {code!r} rounds it to {len(places)} decimal place(s)")
    if not digits_whole and value >= 1:
        return Refused(f"its number format {code!r} shows no digit before the decimal point")
    integer = int(value)
    left = _whole_part(whole, str(integer) if integer else "", grouping)
    right = _fraction_part(fraction, f"{value - integer:f}".partition(".")[2].rstrip("0"))
    return sign + left + ("." if points else "") + right


def _whole_part(tokens: list[tuple[str, str]], digits: str, grouping: bool) -> str:
    placeholders = [i for i, (kind, _) in enumerate(tokens) if kind == "digit"]
    filled: dict[int, str] = {}
    remaining = digits
    for position in reversed(placeholders):
        if remaining:
            filled[position], remaining = remaining[-1], remaining[:-1]
        else:
            filled[position] = {"0": "0", "#": "", "?": " "}[tokens[position][1]]
    if placeholders and remaining:
        filled[placeholders[0]] = remaining + filled[placeholders[0]]
    if grouping and placeholders:
        number = "".join(filled[i] for i in placeholders)
        stripped = number.lstrip(" ")
        pad = number[: len(number) - len(stripped)]
        out = [text for kind, text in tokens[: placeholders[0]]] + [pad + _group(stripped)]
        out += [text for kind, text in tokens[placeholders[-1] + 1:]]
        return "".join(out)
    return "".join(filled.get(i, text) if kind == "digit" else text for i, (kind, text) in enumerate(tokens))


def _group(digits: str) -> str:
    head = len(digits) % 3 or 3
    return ",".join([digits[:head]] + [digits[i:i + 3] for i in range(head, len(digits), 3)])


def _fraction_part(tokens: list[tuple[str, str]], digits: str) -> str:
    out, remaining = [], digits
    for kind, text in tokens:
        if kind != "digit":
            out.append(text)
        elif remaining:
            out.append(remaining[0])
            remaining = remaining[1:]
        else:
            out.append({"0": "0", "#": "", "?": " "}[text])
    return "".join(out)
