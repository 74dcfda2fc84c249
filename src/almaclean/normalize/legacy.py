"""Match keys that tie a P2E legacy bib number to the 035 (Network Number) of a migrated bib.

The rule (the only place it lives):
- A value is upper-cased and its spaces are removed: "(EDU01) 000123456" -> "(EDU01)000123456".
- A plain value is its own key: P2E "EDU01000123456" -> ["EDU01000123456"],
  "000123456" -> ["000123456"], "b1234567x" -> ["B1234567X"].
- A "(PREFIX)rest" value gives two keys, PREFIX+rest and rest:
  "(EDU01)000123456" -> ["EDU01000123456", "000123456"]. So the 035 matches a P2E file
  written either with the prefix glued on ("EDU01000123456") or without it ("000123456").
- An OCLC number - "(OCoLC)...", "(OCLC)...", or a bare "ocm"/"ocn"/"on" number - is not a
  legacy number: `legacy_keys` gives only its prefixed key ("OCOLC12345"), never its bare
  digits, and `legacy_keys_of_cell` ignores it, so "12345" can never match through an OCLC number.
- Nothing else is changed: leading zeros, check characters and the like are kept, because
  a legacy number is an opaque string.

A cell holds several 035 values separated by ";", "|" or ",", or by whitespace before a
"(": "(OCoLC)12345; (EDU01)000123456".
"""
from __future__ import annotations

import logging
import re

import polars as pl

from almaclean.normalize import map_unique

log = logging.getLogger(__name__)

_OCLC_PREFIXES = frozenset({"OCOLC", "OCLC"})
_BARE_OCLC = re.compile(r"(?:OCM|OCN|ON)\d+")
_CELL_SEPARATORS = re.compile(r"[;|,]|\s+(?=\()")


def _prefix_and_rest(cleaned: str) -> tuple[str, str] | None:
    """("EDU01", "000123456") for "(EDU01)000123456"; None when there is no "(PREFIX)"."""
    if not cleaned.startswith("("):
        return None
    end = cleaned.find(")")
    if end < 0 or "(" in cleaned[1:end]:
        return None
    return cleaned[1:end], cleaned[end + 1:]


def _keys(cleaned: str, *, skip_oclc: bool) -> list[str]:
    """The keys of one cleaned (upper-case, no spaces) value; the whole rule is here."""
    parts = _prefix_and_rest(cleaned)
    if parts is None:
        if skip_oclc and _BARE_OCLC.fullmatch(cleaned):
            return []
        return [cleaned] if cleaned else []
    prefix, rest = parts
    if prefix in _OCLC_PREFIXES:
        return [] if skip_oclc else [prefix + rest]
    keys = [prefix + rest] if prefix + rest else []
    if rest and rest != keys[0]:
        keys.append(rest)
    return keys


def _cleaned(value: str) -> str:
    return "".join(value.split()).upper()


def legacy_keys(value: str | None) -> list[str]:
    """The match keys of one legacy bib number or one 035 value (see the module rule)."""
    return [] if value is None else _keys(_cleaned(value), skip_oclc=False)


def legacy_keys_of_cell(cell: str | None) -> list[str]:
    """The match keys of every non-OCLC value in an 035 / Network Number cell, without repeats."""
    if cell is None:
        return []
    keys: list[str] = []
    for value in _CELL_SEPARATORS.split(cell):
        keys.extend(_keys(_cleaned(value), skip_oclc=True))
    return list(dict.fromkeys(keys))


def legacy_key_table(frame: pl.DataFrame, key: str | list[str], column: str) -> pl.DataFrame:
    """Long frame: the key column(s) and "legacy_key", one row per key of each cell of `column`
    (legacy_keys_of_cell, run once per distinct cell); cells without a key give no row."""
    keys = [key] if isinstance(key, str) else list(key)
    cells = frame.get_column(column).cast(pl.String)
    table = (
        frame.select(keys)
        .with_columns(map_unique(cells, legacy_keys_of_cell, pl.List(pl.String)).alias("legacy_key"))
        .explode("legacy_key")
        .filter(pl.col("legacy_key").is_not_null())
    )
    log.info("legacy keys: %d keys from %d rows of column %r", table.height, frame.height, column)
    return table
