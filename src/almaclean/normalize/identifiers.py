"""ISSN / ISBN cells: split, classify, normalise; invalid values are kept raw and flagged.

Rules (the only place they live):
- A cell may hold several values separated by ``;``, ``,`` or ``|``, or by whitespace or ``/``
  when every part looks like an identifier ("0898-5510 2374-8753", "0898-5510/2374-8753"; "n/a"
  stays one value).
  A qualifier such as "(Online)" belongs to the value before it; so does a word of letters
  ("... ebk"), unless it ends with ":" or starts the cell: then it labels the value after it
  ("Print: 0898-5510 Online: 2374-8753"). Parentheses or brackets around identifiers only are
  no qualifier: they are read as if absent ("(0898-5510 2374-8753)", "0898-5510 (2374-8753)",
  "[0898-5510; 2374-8753]").
- A token is read after Unicode compatibility normalisation (NFKC: full-width digits and
  hyphens are ASCII ones) without invisible format characters (a zero-width space, a soft
  hyphen, a byte order mark), then cleaned of qualifiers (anything in parentheses that is no
  identifier: "(Online)", "(pbk.)", "(v. 1)", "(2nd ed.)"; "eISSN:", "ISBN ", brackets), of the
  terms of availability MARC 020 $c puts after " : " (a price: anything there that is no
  identifier), of the ISBD punctuation a catalogue record leaves after it (" :", " /", " =",
  " +"), of words before or after it ("Print ISBN: ...", "eBook ISBN ...", "... ebk": letters
  only, so no digit of it is lost; a word before it ends in a space, hyphen, dot or colon, so an
  OCLC number "ocm12345678" is no ISSN), of hyphens, spaces and dots, and a lower-case x becomes
  X. A system control number, "(OCoLC)12345678", is never an ISSN or ISBN: unknown. Then:
  8 chars ``[0-9]{7}[0-9X]`` -> ISSN, normalised "NNNN-NNNX" when the check digit is valid;
  10 chars ``[0-9]{9}[0-9X]`` -> ISBN-10, normalised to the 13 digits of its ISBN-13 when valid;
  13 digits starting 978/979 -> ISBN, normalised to its 13 digits when valid;
  anything else -> "unknown". An invalid check digit gives the type with value None.

Check digits are computed with polars expressions over whole columns (with_classification;
classify() runs the same expressions on one token); tests hold them to python-stdnum.
"""
from __future__ import annotations

import functools
import logging
import operator
import re
import unicodedata

import polars as pl
from almaclean.normalize import map_unique

log = logging.getLogger(__name__)

_SEPARATORS = re.compile(r"[;,|](?![^()]*\))")  # not inside "(pbk., alk. paper)"
_WRAPPED = re.compile(r"\(([^()]*)\)|\[([^\[\]]*)\]")
_PIECES = re.compile(r"[\s;,|/]+")
_WORDS = re.compile(r"\s+|/")   # "0898-5510/2374-8753" is two values; "n/a" stays one
_QUALIFIER_WORD = re.compile(
    r"^(?:\(.*|online|print|electronic|ebook|e-book|pbk\.?|hbk\.?|paperback|hardback|pdf|epub)$",
    re.IGNORECASE,
)
_LABEL_WORD = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*:?")   # "Print:", "ISSN", "e-ISSN:", "ebk"
_ISSN = re.compile(r"[0-9]{7}[0-9X]")
_ISBN10 = re.compile(r"[0-9]{9}[0-9X]")
_ISBN13 = re.compile(r"97[89][0-9]{10}")
_PARENTHESISED = re.compile(r"\(([^()]*)\)")
_LAST_COLON = re.compile(r"^(.*)\s:\s*(.*)$")   # "0306406152 (pbk.) : $10.00": MARC 020 $a : $c
_PREFIX = re.compile(r"^\s*(?:[ep]-?)?(?:issn|isbn)(?:-?l|-?1[03])?\s*[:.]?\s*", re.IGNORECASE)
_TRAILING_WORDS = re.compile(
    r"\s+(?:online|print|electronic|ebook|e-book|pbk|hbk|paperback|hardback|pdf|epub)\.?\s*$",
    re.IGNORECASE,
)
_ISBD_AFTER = re.compile(r"[\s:/=+]+$")   # "0306406152 :" (a MARC 020 $a before its $c)
# A MARC organisation code before the digits ("(OCoLC)12345678", "(DLC)..."): a system control
# number (035), never an ISSN or ISBN, however many digits it has.
_CONTROL_NUMBER = re.compile(r"^\s*\(([^()0-9\s]+)\)\s*[0-9]")
# Words (letters only) at the start of a token, or after its last digit: labels ("Print ISBN:",
# "eBook ISBN", "ebk"). Possessive throughout: linear on any text. A word before the identifier
# ends in a space, hyphen, dot or colon ("ocm12345678" is an OCLC number, not a labelled ISSN); a
# word after it has two letters or more, so that a check digit X written apart stays.
_LABEL_BEFORE = re.compile(r"^(?:[^\W\d_]++(?:[\s.\-]*+:\s*+|[\s.\-]++))++")
_LABEL_AFTER = re.compile(r"(?<=[0-9Xx])(?:[\s.\-]++(?:[^\W\d_]++(?:-[^\W\d_]++)++|[^\W\d_]{2,}+))++[\s.:]*+$")
_BRACKETS_AND_FILLERS = re.compile(r"[()\[\]{}\s\-.\u2010\u2011\u2012\u2013\u2014]")
_BARE_TOKEN = re.compile(r"[0-9Xx\-]+")
_BARE_CELL_TOKEN = r"^[0-9Xx\-]+$"
# bare tokens joined by separators, whitespace only next to a separator: "a; b|c"
_PLAIN_CELL = r"^[\s;,|]*[0-9Xx\-]+(?:\s*[;,|][\s;,|]*[0-9Xx\-]+)*[\s;,|]*$"


def _compact(token: str) -> str:
    """The token read after NFKC without format characters, then without qualifiers, prefixes,
    trailing ISBD punctuation, brackets, hyphens, spaces and dots; x -> X."""
    if _BARE_TOKEN.fullmatch(token):
        return token.replace("-", "").replace("x", "X")
    text = "".join(c for c in unicodedata.normalize("NFKC", token) if unicodedata.category(c) != "Cf")
    control = _CONTROL_NUMBER.match(text)
    if control and not _QUALIFIER_WORD.match(control.group(1).rstrip(".")):   # "(Online) 0898-5510" is one
        return text   # letters stay: classified unknown
    text = _PARENTHESISED.sub(_qualifier_dropped, text)
    text = _PREFIX.sub("", text)
    text = _without_terms(text)
    text = _ISBD_AFTER.sub("", text)
    text = _TRAILING_WORDS.sub("", text)
    text = _LABEL_AFTER.sub("", _LABEL_BEFORE.sub("", text.strip()))
    text = _BRACKETS_AND_FILLERS.sub("", text)
    return text.replace("x", "X")


def _qualifier_dropped(match: re.Match[str]) -> str:
    """A parenthesised qualifier ("(pbk.)", "(v. 1)") gone; a parenthesised identifier kept."""
    return match.group(1) if _looks_like_identifier(match.group(1)) else " "


def _without_terms(text: str) -> str:
    """What follows the last " : " gone, again and again, until what follows it is an
    identifier ("Online ISSN : 0898-5510"; "0898-5510 : 2374-8753" stays two values, unknown)."""
    while (found := _LAST_COLON.match(text)) and not (found.group(2) and _looks_like_identifier(found.group(2))):
        text = found.group(1)
    return text


def _looks_like_identifier(word: str) -> bool:
    compact = _compact(word)
    return any(pattern.fullmatch(compact) for pattern in (_ISSN, _ISBN10, _ISBN13))


def _split_on_whitespace(part: str) -> list[str]:
    """Split "a b" or "a/b" into values only when every word, its qualifiers and labels attached, looks
    like an identifier. A word of letters only is a label: of the value after it when it ends
    with ":" or comes first ("Print: a Online: b", "ISSN a b"), else of the value before it, as
    a qualifier is ("a (Online) b ebk")."""
    groups: list[str] = []
    label = ""
    for word in _WORDS.split(part):
        if not word:
            continue
        inside_parentheses = bool(groups) and groups[-1].count("(") > groups[-1].count(")")
        is_label = _LABEL_WORD.fullmatch(word) is not None
        if groups and (inside_parentheses or _QUALIFIER_WORD.match(word) or (is_label and not word.endswith(":"))):
            groups[-1] = f"{groups[-1]} {word}"
        elif is_label:
            label = f"{label}{word} "
        else:
            groups.append(label + word)
            label = ""
    if label and groups:   # a label after the last value: that value's
        groups[-1] = f"{groups[-1]} {label.strip()}"
    if len(groups) > 1 and all(_looks_like_identifier(group) for group in groups):
        return groups
    return [part]


def _unwrapped(match: re.Match[str]) -> str:
    """Parentheses or brackets around identifiers only, taken away; any other (a qualifier such
    as "(pbk.)" or "(v. 1)") kept."""
    content = match.group(1) if match.group(1) is not None else match.group(2)
    pieces = [piece for piece in _PIECES.split(content) if piece]
    if pieces and (all(map(_looks_like_identifier, pieces)) or _looks_like_identifier(content)):
        return f" {content} "
    return match.group(0)


def split_values(cell: str | None) -> list[str]:
    """The values of one identifier cell, trimmed, empties dropped: "a; b | c" -> ["a", "b", "c"]."""
    if cell is None:
        return []
    while "(" in cell or "[" in cell:   # innermost first: "(a (b))"
        unwrapped = _WRAPPED.sub(_unwrapped, cell)
        if unwrapped == cell:
            break
        cell = unwrapped
    values: list[str] = []
    for part in _SEPARATORS.split(cell):
        part = part.strip()
        if part:
            values.extend(_split_on_whitespace(part))
    return values


def compact_tokens(tokens: pl.Series) -> pl.Series:
    """_compact() of every token: bare tokens ("0898-551x") with polars string operations,
    the others (qualifiers, prefixes, brackets) through _compact() once per distinct token."""
    frame = pl.DataFrame({"raw": tokens.cast(pl.String)})
    bare = pl.col("raw").str.contains(_BARE_CELL_TOKEN).fill_null(False)
    odd = frame.select(pl.when(~bare).then(pl.col("raw"))).to_series()
    odd_compact = map_unique(odd, lambda token: None if token is None else _compact(token), pl.String)
    bare_compact = pl.col("raw").str.replace_all("-", "", literal=True).str.replace_all("x", "X", literal=True)
    return (
        frame.with_columns(odd_compact.alias("odd"))
        .select(pl.when(bare).then(bare_compact).otherwise(pl.col("odd")).alias(tokens.name))
        .to_series()
    )


_MAX_BODY = 12  # digits before the check digit of an ISBN-13


def _weighted_digit_sum(weights: list[int]) -> pl.Expr:
    """Sum of weights[i] * digit i of the digits before the check digit, written with
    len(weights) digits (the "__d<j>" columns hold digit j counted from the right)."""
    width = len(weights)
    return functools.reduce(operator.add, [pl.col(f"__d{width - 1 - i}") * weight for i, weight in enumerate(weights)])


def with_classification(frame: pl.DataFrame, compact: str) -> pl.DataFrame:
    """`frame` plus "id_type" and "value": classify() of its column `compact` of compacted
    tokens (see compact_tokens), with polars expressions.

    ISSN: weights 8..2 over the first 7 digits plus the check digit (X = 10) is 0 mod 11.
    ISBN-10: weights 1..9 over the first 9 digits, mod 11, is the check digit (X = 10); its
    ISBN-13 is 978 + the first 9 digits + an EAN check digit. ISBN-13: EAN weights 1, 3, 1, ...
    over all 13 digits is 0 mod 10.
    """
    token = pl.col(compact)
    form, check = pl.col("__form"), pl.col("__check")
    last = token.str.slice(-1, 1)
    digit_columns = [f"__d{j}" for j in range(_MAX_BODY)]
    staged = frame.with_columns(
        pl.when(token.str.contains(f"^{_ISSN.pattern}$")).then(pl.lit("issn"))
        .when(token.str.contains(f"^{_ISBN10.pattern}$")).then(pl.lit("isbn10"))
        .when(token.str.contains(f"^{_ISBN13.pattern}$")).then(pl.lit("isbn13"))
        .alias("__form"),
        # the digits before the check digit as one integer: its digits are taken arithmetically
        token.str.head(-1).str.to_integer(strict=False).alias("__digits"),
        pl.when(last == "X").then(pl.lit(10, pl.Int64)).otherwise(last.str.to_integer(strict=False)).alias("__check"),
    ).with_columns(
        (pl.col("__digits") // 10**j % 10).alias(name) for j, name in enumerate(digit_columns)
    )
    issn_valid = (_weighted_digit_sum([8, 7, 6, 5, 4, 3, 2]) + check) % 11 == 0
    isbn10_valid = _weighted_digit_sum(list(range(1, 10))) % 11 == check
    # "978" weighs 9*1 + 7*3 + 8*1 = 38; the 9 digits after it weigh 3, 1, 3, ...
    ean_check = (10 - (38 + _weighted_digit_sum([3, 1] * 4 + [3])) % 10) % 10
    isbn13_valid = (_weighted_digit_sum([1, 3] * 6) + check) % 10 == 0
    value = (
        pl.when((form == "issn") & issn_valid).then(token.str.slice(0, 4) + "-" + token.str.slice(4, 4))
        .when((form == "isbn10") & isbn10_valid).then("978" + token.str.head(9) + ean_check.cast(pl.String))
        .when((form == "isbn13") & isbn13_valid).then(token)
    )
    id_type = pl.when(form == "issn").then(pl.lit("issn")).when(form.is_not_null()).then(pl.lit("isbn"))
    return staged.with_columns(
        id_type.otherwise(pl.lit("unknown")).alias("id_type"), value.cast(pl.String).alias("value")
    ).drop("__form", "__digits", "__check", *digit_columns)


def classify(token: str) -> tuple[str, str | None]:
    """("issn" | "isbn" | "unknown", normalised value or None when the check digit is wrong)."""
    compact = compact_tokens(pl.Series("compact", [token or ""], dtype=pl.String))
    return with_classification(pl.DataFrame({"compact": compact}), "compact").select("id_type", "value").row(0)


def _split_cells(cells: pl.Series) -> pl.Series:
    """split_values() of every cell, as a list column.

    Cells made only of bare tokens and separators (nearly all of them) are split with
    polars string operations; the others go through split_values() once per distinct cell.
    """
    frame = pl.DataFrame({"cell": cells}).with_columns(
        pl.col("cell").str.contains(_PLAIN_CELL).fill_null(False).alias("plain")
    )
    not_plain = frame.select(pl.when(~pl.col("plain")).then(pl.col("cell"))).to_series()
    split = map_unique(not_plain, split_values, pl.List(pl.String))
    plain_split = (
        pl.col("cell").str.replace_all(r"[\s;,|]+", ";").str.strip_chars(";").str.split(";")
    )
    return (
        frame.with_columns(split.alias("split"))
        .select(pl.when(pl.col("plain")).then(plain_split).otherwise(pl.col("split")))
        .to_series()
    )


CHUNK_ROWS = 200_000  # rows per pass: bounds the temporaries of a million-row export


def identifier_table(frame: pl.DataFrame, key: str | list[str], columns: list[str], *,
                     valid_only: bool = False) -> pl.DataFrame:
    """One row per identifier token found in `columns` of `frame`.

    Columns: the key column(s), "source_column", "raw" (token as written), "id_type",
    "value" (normalised, null when invalid or unknown), "valid" (bool). Rows follow the
    frame's order, then the order of `columns`, then the order inside the cell.
    Empty cells give no row; every non-empty token gives one.
    valid_only: only the key column(s), "id_type" and "value" of the valid tokens (the raw
    tokens of a million-row export are never held at once).
    """
    keys = [key] if isinstance(key, str) else list(key)
    chunks = list(frame.iter_slices(CHUNK_ROWS)) or [frame]
    parts, tokens, valid = [], 0, 0
    for chunk in chunks:
        part = _identifier_rows(chunk, keys, columns)
        tokens += part.height
        valid += int(part.get_column("valid").sum())
        parts.append(part.filter(pl.col("valid")).select(*keys, "id_type", "value") if valid_only else part)
    table = pl.concat(parts)
    log.info("identifiers: %d tokens from %d rows x %d columns, %d valid, %d invalid or unknown",
             tokens, frame.height, len(columns), valid, tokens - valid)
    return table


def _identifier_rows(frame: pl.DataFrame, keys: list[str], columns: list[str]) -> pl.DataFrame:
    parts = []
    for position, column in enumerate(columns):
        cells = frame.get_column(column).cast(pl.String)
        parts.append(
            frame.select(keys)
            .with_row_index("__row")
            .with_columns(
                pl.lit(position, dtype=pl.UInt32).alias("__column"),
                pl.lit(column, dtype=pl.String).alias("source_column"),
                _split_cells(cells).alias("raw"),
            )
            .filter(pl.col("raw").is_not_null())
        )
    if parts:
        long = pl.concat(parts).explode("raw").filter(pl.col("raw").is_not_null())
        long = long.sort("__row", "__column", maintain_order=True)
    else:
        long = frame.select(keys).clear().with_columns(
            pl.lit(None, dtype=pl.String).alias("source_column"), pl.lit(None, dtype=pl.String).alias("raw")
        )
    compact = compact_tokens(long.get_column("raw"))
    table = (
        long.select(keys + ["source_column", "raw"])
        .with_columns(compact.alias("__compact"))
        .pipe(with_classification, "__compact")
        .drop("__compact")
        .with_columns(pl.col("value").is_not_null().alias("valid"))
    )
    return table
