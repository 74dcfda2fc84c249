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

Keys are computed with polars expressions over whole columns (key_rows); legacy_keys and
legacy_keys_of_cell run the same expressions on one value.
"""
from __future__ import annotations

import logging

import polars as pl

log = logging.getLogger(__name__)

_OCLC_PREFIXES = ["OCOLC", "OCLC"]
_BARE_OCLC = r"^(?:OCM|OCN|ON)\d+$"
_SPACE = r"[\s\x1c-\x1f]"  # what Python's str.split() splits on: Unicode spaces and \x1c-\x1f
_PREFIXED = r"^\(([^()]*)\)(.*)$"  # "(PREFIX)rest": PREFIX up to the first ")", no "(" inside


def key_rows(values: pl.Series, *, cells: bool) -> pl.DataFrame:
    """Columns "index" (position in `values`) and "legacy_key", one row per key, in order, no repeats
    per value. cells=True: `values` are 035 cells (several values, OCLC numbers skipped);
    False: each is one legacy number (an OCLC number keeps its prefixed key)."""
    frame = pl.DataFrame({"value": values.cast(pl.String)}).with_row_index("index").drop_nulls("value")
    if cells:  # "a; b|c, d (X)e" -> "a", "b", "c", "d", "(X)e"
        frame = frame.select("index", pl.col("value").str.replace_all(f"{_SPACE}+\\(", ";(")
                             .str.replace_all(r"[|,]", ";").str.split(";")).explode("value")
    parts = (
        frame.select("index", pl.col("value").str.replace_all(f"{_SPACE}+", "").str.to_uppercase().alias("clean"))
        .filter(pl.col("clean").is_not_null() & (pl.col("clean") != ""))
        .with_columns(pl.col("clean").str.extract_groups(_PREFIXED).struct.rename_fields(["prefix", "rest"])
                      .alias("parts"))
        .unnest("parts")
    )
    clean, prefix, rest = pl.col("clean"), pl.col("prefix"), pl.col("rest")
    prefixed = prefix.is_not_null()
    oclc_prefix = prefix.is_in(_OCLC_PREFIXES).fill_null(False)
    whole = pl.when(prefixed).then(prefix + rest).otherwise(clean)
    skipped = (oclc_prefix | (~prefixed & clean.str.contains(_BARE_OCLC))) if cells else pl.lit(False)
    first = pl.when(~skipped & (whole != "")).then(whole)
    second = pl.when(prefixed & ~oclc_prefix & (rest != "") & (rest != whole)).then(rest)
    # The first and second keys as two frames put back in order: a list of the two exploded took
    # twice as long on half a million 035 cells.
    parts = parts.with_row_index("position")
    keys = pl.concat([parts.select("index", "position", first.alias("legacy_key"), pl.lit(0, pl.UInt8).alias("nth")),
                      parts.select("index", "position", second.alias("legacy_key"), pl.lit(1, pl.UInt8).alias("nth"))])
    return (
        keys.drop_nulls("legacy_key")
        .sort("position", "nth")
        .filter(pl.struct("index", "legacy_key").is_first_distinct())
        .select("index", "legacy_key")
    )


def legacy_keys(value: str | None) -> list[str]:
    """The match keys of one legacy bib number or one 035 value (see the module rule)."""
    return key_rows(pl.Series([value], dtype=pl.String), cells=False).get_column("legacy_key").to_list()


def legacy_keys_of_cell(cell: str | None) -> list[str]:
    """The match keys of every non-OCLC value in an 035 / Network Number cell, without repeats."""
    return key_rows(pl.Series([cell], dtype=pl.String), cells=True).get_column("legacy_key").to_list()


def legacy_key_table(frame: pl.DataFrame, key: str | list[str], column: str, *, cells: bool = True) -> pl.DataFrame:
    """Long frame: the key column(s) and "legacy_key", one row per key of each value of `column`
    (key_rows; cells=False when each value is one legacy number); values without a key give no row."""
    keys = [key] if isinstance(key, str) else list(key)
    rows = key_rows(frame.get_column(column), cells=cells)
    table = rows.join(frame.select(keys).with_row_index("index"), on="index", how="left",
                      maintain_order="left").select(*keys, "legacy_key")
    log.info("legacy keys: %d keys from %d rows of column %r", table.height, frame.height, column)
    return table
