"""ISSN / ISBN cells: split, classify, normalise; invalid values are kept raw and flagged.

Rules (the only place they live):
- A cell may hold several values separated by ``;``, ``,`` or ``|``, or by whitespace when
  every whitespace-separated part looks like an identifier ("0898-5510 2374-8753").
  A qualifier such as "(Online)" belongs to the value before it.
- A token is cleaned of qualifiers ("(Online)", "(pbk.)", "eISSN:", "ISBN ", brackets),
  hyphens, spaces and dots, and a lower-case x becomes X. Then:
  8 chars ``[0-9]{7}[0-9X]`` -> ISSN, normalised "NNNN-NNNX" when the check digit is valid;
  10 chars ``[0-9]{9}[0-9X]`` -> ISBN-10, normalised to the 13 digits of its ISBN-13 when valid;
  13 digits starting 978/979 -> ISBN, normalised to its 13 digits when valid;
  anything else -> "unknown". An invalid check digit gives the type with value None.
"""
from __future__ import annotations

import logging
import re

import polars as pl
from stdnum import ean as stdnum_ean
from stdnum import isbn as stdnum_isbn
from stdnum import issn as stdnum_issn

from almaclean.normalize import map_unique

log = logging.getLogger(__name__)

_SEPARATORS = re.compile(r"[;,|](?![^()]*\))")  # not inside "(pbk., alk. paper)"
_QUALIFIER_WORD = re.compile(
    r"^(?:\(.*|online|print|electronic|ebook|e-book|pbk\.?|hbk\.?|paperback|hardback|pdf|epub)$",
    re.IGNORECASE,
)
_ISSN = re.compile(r"[0-9]{7}[0-9X]")
_ISBN10 = re.compile(r"[0-9]{9}[0-9X]")
_ISBN13 = re.compile(r"97[89][0-9]{10}")
_PARENTHESISED_WORDS = re.compile(r"\((?:[^()0-9]*)\)")  # "(Online)", "(pbk.)"; not "(0898-5510)"
_PREFIX = re.compile(r"^\s*(?:[ep]-?)?(?:issn|isbn)(?:-?l|-?1[03])?\s*[:.]?\s*", re.IGNORECASE)
_TRAILING_WORDS = re.compile(
    r"\s+(?:online|print|electronic|ebook|e-book|pbk|hbk|paperback|hardback|pdf|epub)\.?\s*$",
    re.IGNORECASE,
)
_BRACKETS_AND_FILLERS = re.compile(r"[()\[\]{}\s\-.\u2010\u2011\u2012\u2013\u2014]")
_BARE_TOKEN = re.compile(r"[0-9Xx\-]+")
# bare tokens joined by separators, whitespace only next to a separator: "a; b|c"
_PLAIN_CELL = r"^[\s;,|]*[0-9Xx\-]+(?:\s*[;,|][\s;,|]*[0-9Xx\-]+)*[\s;,|]*$"


def _compact(token: str) -> str:
    """The token without qualifiers, prefixes, brackets, hyphens, spaces and dots; x -> X."""
    if _BARE_TOKEN.fullmatch(token):
        return token.replace("-", "").replace("x", "X")
    text = _PARENTHESISED_WORDS.sub(" ", token)
    text = _PREFIX.sub("", text)
    text = _TRAILING_WORDS.sub("", text)
    text = _BRACKETS_AND_FILLERS.sub("", text)
    return text.replace("x", "X")


def _looks_like_identifier(word: str) -> bool:
    compact = _compact(word)
    return any(pattern.fullmatch(compact) for pattern in (_ISSN, _ISBN10, _ISBN13))


def _split_on_whitespace(part: str) -> list[str]:
    """Split "a b" into values only when every word (qualifiers attached) looks like an identifier."""
    groups: list[str] = []
    for word in part.split():
        inside_parentheses = bool(groups) and groups[-1].count("(") > groups[-1].count(")")
        if groups and (inside_parentheses or _QUALIFIER_WORD.match(word)):
            groups[-1] = f"{groups[-1]} {word}"
        else:
            groups.append(word)
    if len(groups) > 1 and all(_looks_like_identifier(group) for group in groups):
        return groups
    return [part]


def split_values(cell: str | None) -> list[str]:
    """The values of one identifier cell, trimmed, empties dropped: "a; b | c" -> ["a", "b", "c"]."""
    if cell is None:
        return []
    values: list[str] = []
    for part in _SEPARATORS.split(cell):
        part = part.strip()
        if part:
            values.extend(_split_on_whitespace(part))
    return values


def classify(token: str) -> tuple[str, str | None]:
    """("issn" | "isbn" | "unknown", normalised value or None when the check digit is wrong)."""
    compact = _compact(token or "")
    # check digits via python-stdnum's calc functions: its is_valid() re-cleans the
    # value and is several times slower, which matters at a million tokens
    if _ISSN.fullmatch(compact):
        valid = stdnum_issn.calc_check_digit(compact[:7]) == compact[7]
        return ("issn", f"{compact[:4]}-{compact[4:]}" if valid else None)
    if _ISBN10.fullmatch(compact):
        return ("isbn", stdnum_isbn.to_isbn13(compact) if stdnum_isbn.is_valid(compact) else None)
    if _ISBN13.fullmatch(compact):
        valid = stdnum_ean.calc_check_digit(compact[:12]) == compact[12]
        return ("isbn", compact if valid else None)
    return ("unknown", None)


_CLASSIFIED = pl.Struct({"id_type": pl.String, "value": pl.String})


def _classified(token: str | None) -> dict[str, str | None]:
    id_type, value = classify(token or "")
    return {"id_type": id_type, "value": value}


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


def identifier_table(frame: pl.DataFrame, key: str | list[str], columns: list[str]) -> pl.DataFrame:
    """One row per identifier token found in `columns` of `frame`.

    Columns: the key column(s), "source_column", "raw" (token as written), "id_type",
    "value" (normalised, null when invalid or unknown), "valid" (bool). Rows follow the
    frame's order, then the order of `columns`, then the order inside the cell.
    Empty cells give no row; every non-empty token gives one.
    """
    keys = [key] if isinstance(key, str) else list(key)
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
    classified = map_unique(long.get_column("raw"), _classified, _CLASSIFIED)
    table = (
        long.select(keys + ["source_column", "raw"])
        .with_columns(classified.alias("__classified"))
        .unnest("__classified")
        .with_columns(pl.col("value").is_not_null().alias("valid"))
    )
    log.info(
        "identifiers: %d tokens from %d rows x %d columns, %d valid, %d invalid or unknown",
        table.height, frame.height, len(columns), int(table.get_column("valid").sum()),
        int((~table.get_column("valid")).sum()),
    )
    return table
