"""Vectorised builders for the sample's cell values: Alma IDs, identifiers, coverage text.

These produce data that looks like real exports; they are not the project's parsing rules
(those live in almaclean.normalize).
"""
from __future__ import annotations

import random

import polars as pl

INSTITUTION_SUFFIX = "3681"
CURRENT_YEAR = 2026


def uniform(rng: random.Random, n: int) -> pl.Series:
    """n uniform draws in [0, 1) from the generator's own random stream."""
    return pl.Series([rng.random() for _ in range(n)], dtype=pl.Float64)


def alma_id(prefix: str, index: pl.Expr, *, base: int) -> pl.Expr:
    """Alma-shaped ID text: prefix + 11-12 digit increasing number + institution suffix.

    Numbers are spaced by 97 with a jitter < 97, so IDs are unique, sorted and not regular.
    """
    middle = pl.lit(base, pl.Int64) + index.cast(pl.Int64) * 97 + (index.cast(pl.Int64) * 7919) % 97
    return pl.concat_str(pl.lit(prefix), middle.cast(pl.String), pl.lit("0" + INSTITUTION_SUFFIX))


def _digit(number: pl.Expr, position_from_right: int) -> pl.Expr:
    return (number // (10**position_from_right)) % 10


def synthetic_issn(number: pl.Expr) -> pl.Expr:
    """A valid hyphenated ISSN built from a 7-digit number (mod-11 check digit)."""
    n = number.cast(pl.Int64) % 10_000_000
    total = sum(_digit(n, 6 - i) * (8 - i) for i in range(7))
    check = (11 - total % 11) % 11
    body = n.cast(pl.String).str.zfill(7)
    check_char = pl.when(check == 10).then(pl.lit("X")).otherwise(check.cast(pl.String))
    return pl.concat_str(body.str.slice(0, 4), pl.lit("-"), body.str.slice(4, 3), check_char)


def synthetic_isbn13(number: pl.Expr) -> pl.Expr:
    """A valid ISBN-13 (979-10 prefix) built from a 7-digit number, unhyphenated."""
    n = number.cast(pl.Int64) % 10_000_000
    # 97910 contributes 9*1 + 7*3 + 9*1 + 1*3 + 0*1 = 42; the 7 digits follow at positions 6..12.
    total = pl.lit(42, pl.Int64) + sum(_digit(n, 6 - i) * (3 if (5 + i) % 2 else 1) for i in range(7))
    check = (10 - total % 10) % 10
    return pl.concat_str(pl.lit("97910"), n.cast(pl.String).str.zfill(7), check.cast(pl.String))


def isbn10_of(isbn13: pl.Expr) -> pl.Expr:
    """ISBN-10 form of a 978 ISBN-13 (hyphens ignored); null when there is none."""
    digits = isbn13.str.replace_all("-", "")
    core = digits.str.slice(3, 9)
    total = sum(core.str.slice(i, 1).cast(pl.Int64, strict=False) * (10 - i) for i in range(9))
    check = (11 - total % 11) % 11
    check_char = pl.when(check == 10).then(pl.lit("X")).otherwise(check.cast(pl.String))
    ok = digits.str.contains(r"^978\d{10}$")
    return pl.when(ok).then(pl.concat_str(core, check_char)).otherwise(None)


def join_cells(*parts: pl.Expr) -> pl.Expr:
    """'a; b' from the non-null parts, null when all are null."""
    joined = pl.concat_str(list(parts), separator="; ", ignore_nulls=True)
    return pl.when(joined == "").then(None).otherwise(joined)


def messy(identifier: pl.Expr, draw: pl.Expr) -> pl.Expr:
    """Write an identifier the ways exports do: as is, without hyphens, with a lower-case x."""
    no_hyphen = identifier.str.replace_all("-", "")
    return (
        pl.when(draw < 0.25)
        .then(no_hyphen.str.replace(r"X$", "x"))
        .when(draw < 0.40)
        .then(no_hyphen)
        .otherwise(identifier)
    )


def year_of(date: pl.Expr) -> pl.Expr:
    return date.str.slice(0, 4).cast(pl.Int64, strict=False)


def embargo_years(embargo: pl.Expr) -> pl.Expr:
    """Years of a KBART moving wall such as 'P4Y'; null otherwise."""
    return embargo.str.extract(r"^P(\d+)Y$", 1).cast(pl.Int64, strict=False)


def coverage_statement(from_year: pl.Expr, to_year: pl.Expr, embargo: pl.Expr) -> pl.Expr:
    """Alma's coverage text: 'Available from 1997 until 2005.' (+ ' Most recent 4 year(s) not available.')."""
    start = pl.concat_str(pl.lit("Available from "), from_year.cast(pl.String))
    ending = pl.when(to_year.is_not_null()).then(
        pl.concat_str(pl.lit(" until "), to_year.cast(pl.String), pl.lit("."))
    ).otherwise(pl.lit("."))
    wall = pl.when(embargo.is_not_null()).then(
        pl.concat_str(pl.lit(" Most recent "), embargo.cast(pl.String), pl.lit(" year(s) not available."))
    ).otherwise(pl.lit(""))
    return pl.when(from_year.is_not_null()).then(pl.concat_str(start, ending, wall)).otherwise(None)


def effective_end(to_year: pl.Expr, embargo: pl.Expr) -> pl.Expr:
    """Last year really covered: the end year, else the moving wall, else this year."""
    return pl.coalesce(to_year, CURRENT_YEAR - embargo - 1, pl.lit(CURRENT_YEAR, pl.Int64))
