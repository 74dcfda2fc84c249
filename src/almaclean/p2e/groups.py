"""Local-collection groups (rule 6): P2E portfolios with no duplicate, by provider and URL host.

The provider is the P2E line's provider (the 856 $z of the former ILS); the host is the
portfolio's URL (else the P2E line's URL) with any proxy prefix stripped, lower-case, no
"www.". A group is "<provider> - <host>", or the host alone when no provider is given, or
"no URL" when neither tells anything. URLs group portfolios; they never prove a duplicate.
"""
from __future__ import annotations

import logging

import polars as pl

from almaclean.normalize import map_unique
from almaclean.normalize.urls import strip_proxy, url_host

log = logging.getLogger(__name__)

NO_URL = "no URL"


def host_of(url: str | None) -> str | None:
    """Host of the URL a (possibly proxied) link points to."""
    return url_host(strip_proxy(url))


def local_groups(p2e: pl.DataFrame) -> pl.DataFrame:
    """portfolio_id, mms_id, group, host, provider for the given P2E portfolios."""
    urls = p2e.select(pl.coalesce("url", "p2e_url").alias("u")).to_series()
    provider = pl.col("p2e_provider").str.strip_chars().str.replace_all(r"\s+", " ")
    provider = pl.when(provider == "").then(None).otherwise(provider)
    frame = p2e.select("portfolio_id", "mms_id", provider.alias("provider")).with_columns(
        map_unique(urls, host_of, pl.String).alias("host")
    )
    group = (
        pl.when(pl.col("provider").is_not_null() & pl.col("host").is_not_null())
        .then(pl.col("provider") + " - " + pl.col("host"))
        .otherwise(pl.coalesce("host", "provider", pl.lit(NO_URL)))
    )
    result = frame.with_columns(group.alias("group")).select(
        "portfolio_id", "mms_id", "group", "host", "provider"
    ).sort("group", "portfolio_id")
    log.info("local-collection groups: %d portfolios in %d groups", result.height, result["group"].n_unique())
    return result
