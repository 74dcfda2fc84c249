"""Title keys and the title-similarity tier (review only, never deletion).

A title key is the title case-folded, accents and invisible format characters (a soft hyphen, a
zero-width space) stripped, punctuation turned into spaces and a leading article dropped, so
"The Eugene O'neill Review" and "Eugene O'Neill Review" share one.
Similar titles are found by blocking on the first two significant words of the key (so the
work grows with the block sizes, not with P2E x keepers), scoring unique key pairs with
rapidfuzz ``token_sort_ratio`` and gating on the publication year (within one year when both
sides state a year). Repeated generic titles ("Théâtre complet. Tome I") still match: that is
why this tier only ever sends a portfolio to review.
"""
from __future__ import annotations

import logging

import polars as pl
from rapidfuzz import fuzz

log = logging.getLogger(__name__)

_LEADING_ARTICLE = r"^(?:the|an?|l|le|la|les|un|une|des|der|die|das|el|los|las|il|lo|gli)\s+"
_STOPWORDS = [
    "of", "and", "the", "for", "in", "on", "to", "a", "an", "de", "du", "des", "la", "le",
    "les", "l", "d", "et", "en", "und", "der", "die", "das", "y", "el", "e",
]


def title_key(column: str) -> pl.Expr:
    """Normalised title: casefold, no accents, format characters or punctuation, no leading article."""
    text = (
        pl.col(column)
        .str.to_lowercase()
        .str.replace_all("œ", "oe", literal=True)
        .str.replace_all("æ", "ae", literal=True)
        .str.replace_all("ß", "ss", literal=True)
        .str.normalize("NFKD")
        .str.replace_all(r"[\p{M}\p{Cf}]", "")   # accents; invisible format characters ("Ency\u00adclopedia")
        .str.replace_all(r"[^\p{L}\p{N}]+", " ")
        .str.strip_chars()
        .str.replace(_LEADING_ARTICLE, "")
    )
    return pl.when(text == "").then(None).otherwise(text)


def with_title_key(frame: pl.DataFrame, column: str = "title", alias: str = "tkey") -> pl.DataFrame:
    """`frame` plus title_key(column) as `alias`, computed once per distinct title (the same
    title recurs across collections and between P2E and CZ records)."""
    keys = frame.select(pl.col(column).unique()).with_columns(title_key(column).alias(alias))
    return frame.join(keys, on=column, how="left", nulls_equal=True, maintain_order="left")


def with_titles_differ(frame: pl.DataFrame, first: str, second: str, alias: str = "differ") -> pl.DataFrame:
    """`frame` plus `alias`: whether its two title columns name different works: both given, and
    at most half of the significant words of the shorter title (its title key without articles
    and small words) are in the other. "Mens" and "Mens : revue d'histoire intellectuelle" share
    all of the shorter one; "Financial Education" and "Les Devoirs du prince - L'éducation
    princière" one word of two; "Native Plants Journal" and "Les Visionnaires" none. A missing
    title says nothing either way (false).

    Each distinct title's words are worked out once (a keeper's title recurs across thousands
    of pairs), then compared per distinct pair of titles."""
    pairs = frame.select(first, second).unique()
    titles = pl.concat([pairs.select(pl.col(first).alias("title")),
                        pairs.select(pl.col(second).alias("title"))]).drop_nulls().unique()
    words = titles.with_columns(
        _significant_words(title_key("title")).list.unique().alias("words"))
    a, b = pl.col("words"), pl.col("words_b")
    shorter = pl.min_horizontal(a.list.len(), b.list.len())
    verdicts = (
        pairs.join(words.rename({"title": first}), on=first, how="left")
        .join(words.rename({"title": second, "words": "words_b"}), on=second, how="left")
        .select(first, second,
                ((shorter > 0) & (2 * a.list.set_intersection(b).list.len() <= shorter)).fill_null(False).alias(alias))
    )
    return frame.join(verdicts, on=[first, second], how="left", nulls_equal=True, maintain_order="left")


def block_key(column: str) -> pl.Expr:
    """First two significant words of a title key: the blocking key for fuzzy comparison."""
    return _significant_words(pl.col(column)).list.head(2).list.join(" ")


def _significant_words(key: pl.Expr) -> pl.Expr:
    """The words of a title key, articles and small words left out, in order."""
    return key.str.split(" ").list.eval(pl.element().filter(~pl.element().is_in(_STOPWORDS)))


def year_of(column: str) -> pl.Expr:
    """First four-digit year (1000-2999) in a date cell, as an integer; null when none.
    Catalogue forms count: "c2012.", "[2012]", "2012-05-01", "p1998"."""
    return pl.col(column).str.extract(r"(?:^|\D)([12]\d{3})(?:\D|$)", 1).cast(pl.Int32, strict=False)


def title_matches(
    queries: pl.DataFrame,
    candidates: pl.DataFrame,
    *,
    cutoff: float = 90.0,
    max_candidates: int = 5,
) -> pl.DataFrame:
    """Similar titles from ``queries`` to ``candidates``.

    Both frames have ``id`` (text), ``title`` and ``year`` (Int32, may be null). Returns one
    row per query id with a hit: ``id``, ``candidate_ids`` (list, best first, at most
    ``max_candidates``) and ``best_score``.
    """
    def keyed(frame: pl.DataFrame) -> pl.DataFrame:
        keyed = with_title_key(frame).drop_nulls("tkey")
        # Once per distinct key: a title recurs in every collection that holds it.
        blocks = keyed.select(pl.col("tkey").unique()).with_columns(block_key("tkey").alias("block"))
        return keyed.join(blocks, on="tkey", maintain_order="left")

    q, c = keyed(queries), keyed(candidates)
    pairs = (
        q.select("tkey", "block").unique()
        .join(c.select("tkey", "block").unique(), on="block", suffix="_c")
        .select("tkey", "tkey_c")
    )
    if pairs.height == 0:
        return _empty_matches()
    scores = [
        fuzz.token_sort_ratio(a, b, score_cutoff=cutoff)
        for a, b in zip(pairs["tkey"].to_list(), pairs["tkey_c"].to_list())
    ]
    scored = pairs.with_columns(score=pl.Series(scores, dtype=pl.Float64)).filter(
        pl.col("score") >= cutoff
    )
    log.info("title tier: %d key pairs compared, %d similar", pairs.height, scored.height)
    # Repeated titles: a few candidate ids per (title key, year) are enough for a reviewer.
    c_ids = (
        c.join(scored.select(pl.col("tkey_c").alias("tkey")).unique(), on="tkey", how="semi")
        .group_by("tkey", "year")
        .agg(pl.col("id").sort().head(max_candidates).alias("cid"))
        .explode("cid")
        .select("cid", pl.col("tkey").alias("tkey_c"), pl.col("year").alias("cyear"))
    )
    hits = (
        q.select("id", "tkey", "year")
        .join(scored, on="tkey")
        .join(c_ids, on="tkey_c")
        .filter(
            pl.col("year").is_null()
            | pl.col("cyear").is_null()
            | ((pl.col("year") - pl.col("cyear")).abs() <= 1)
        )
        .filter(pl.col("id") != pl.col("cid"))
    )
    return (
        hits.sort(["id", "score", "cid"], descending=[False, True, False])
        .group_by("id", maintain_order=True)
        .agg(
            pl.col("cid").unique(maintain_order=True).head(max_candidates).alias("candidate_ids"),
            pl.col("score").max().alias("best_score"),
        )
    )


def _empty_matches() -> pl.DataFrame:
    return pl.DataFrame(
        schema={"id": pl.String, "candidate_ids": pl.List(pl.String), "best_score": pl.Float64}
    )
