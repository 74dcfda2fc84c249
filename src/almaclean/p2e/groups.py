"""Local-collection groups: P2E portfolios with no duplicate, by provider and platform.

The provider is the P2E line's provider (the 856 $z / provider column of the P2E report), read
case- and space-insensitively ("JSTOR", "Jstor" and "JSTOR " are one provider, shown as its most
common spelling). The platform is the host of the portfolio's URL, else the P2E line's URL, with
any proxy prefix stripped (EZproxy, OpenAthens, host-rewriting and WAM-style proxies:
normalize.urls) and "www." dropped: one registrable domain can hold several products ("muse.jhu.edu"
and the press's "press.jhu.edu"; ProQuest's products on proquest.com), so the host, not the
domain, names a platform. On a shared resolver (doi.org, handle.net) the platform is the resolver
and the DOI or handle prefix ("doi.org/10.3138"): one resolver serves every publisher. A group is
"<provider> - <platform>", or the platform alone when the P2E file names no provider, or the
provider alone when there is no URL, or "no URL" when neither tells anything. URLs group
portfolios; they never prove a duplicate.

Each group is a proposed local electronic collection (the guide's section 3):
`LOCAL_COLLECTION_STEPS` says how to make it in Alma, with the sources.
"""
from __future__ import annotations

import logging
import re
from urllib.parse import unquote, urlsplit

import polars as pl

from almaclean.normalize import map_unique
from almaclean.normalize.urls import registrable_domain, strip_proxies, url_host
from almaclean.p2e.sources import (
    ADD_LOCAL_COLLECTION, GUIDE, MANAGING_LOCAL_PORTFOLIOS, MANUAL_JOBS, PORTFOLIO_LOADER, POST_MIGRATION_CLEANUP,
)

log = logging.getLogger(__name__)

NO_URL = "no URL"
LOCAL_COLLECTION_STEPS = (
    "1. Resources > Add Local Electronic Collection: public name = the group name, type Selective package, "
    "service Full text; Save (Alma: Managing Electronic Resources, Adding a Local Electronic Collection, "
    f"{ADD_LOCAL_COLLECTION}). "
    "2. Upload the group's set file(s) as an itemized set of electronic portfolios "
    "(Admin > Manage Sets > Add Set > Itemized). "
    "3. Move the set's standalone portfolios into the new collection: a portfolio is either standalone or part of "
    "an electronic collection and its service (Alma: Managing Electronic Resources, Managing Local Portfolios, "
    f"{MANAGING_LOCAL_PORTFOLIOS}); one by one, edit the portfolio in the Electronic Portfolio Editor and make it "
    "part of the new collection and its Full text service; for the whole set at once, use the route of Ex Libris's "
    "'Post migration clean-up of eResources in Alma', section 'Group ILS-migrated P2E portfolios into local "
    f"collections to make them easier to manage' ({POST_MIGRATION_CLEANUP}; the CARLI P2E guide, section 'Group "
    f"ILS Migrated P2E Portfolios Into Local Collections', points there: {GUIDE}), run on the itemized set "
    f"(Admin > Manage Jobs and Sets > Run a Job: {MANUAL_JOBS}). "
    "4. Portfolios with a PO line keep it: the order stays on the portfolio."
)
PROXY_REMOVAL_STEPS = (
    "these P2E portfolios stay, and their URL still carries the proxy prefix the ILS record had; Ex Libris's "
    f"'Post migration clean-up of eResources in Alma' ({POST_MIGRATION_CLEANUP}) has a section 'Remove proxy prefix "
    "from P2E portfolio URLs'. Replace each URL with url_without_proxy and let the service's proxy setting add the "
    "proxy instead: once the group is a local electronic collection, export its portfolios (Extended Export), "
    "put url_without_proxy in the URL column and load the file with the Portfolio Loader (Load Portfolios, "
    f"Incremental, Update portfolios: {PORTFOLIO_LOADER}); or edit each portfolio's URL in the Electronic "
    "Portfolio Editor."
)


RESOLVERS = {"doi.org": "doi.org", "dx.doi.org": "doi.org", "hdl.handle.net": "hdl.handle.net",
             "handle.net": "hdl.handle.net"}
_PREFIX = re.compile(r"^/*(10\.\d{4,9}|[^/?#]+)(?:[/?#]|$)")


def platform_of(target: str | None) -> str | None:
    """The platform a link (its proxy already removed) points to: its host, or on a shared
    resolver the resolver and the DOI or handle prefix ("doi.org/10.3138", "hdl.handle.net/2027")."""
    host = url_host(target)
    if host not in RESOLVERS:
        return host
    prefix = _PREFIX.match(unquote(urlsplit(target if "://" in target else "//" + target).path))
    return f"{RESOLVERS[host]}/{prefix.group(1)}" if prefix else RESOLVERS[host]


def local_groups(p2e: pl.DataFrame) -> pl.DataFrame:
    """portfolio_id, mms_id, group, host, domain, provider, url_without_proxy for the given P2E
    portfolios (url_without_proxy: the portfolio's URL, else the P2E line's, proxy removed)."""
    urls = p2e.select(pl.coalesce("url", "p2e_url").alias("u")).to_series()
    written = pl.col("p2e_provider").str.strip_chars().str.replace_all(r"\s+", " ")
    written = pl.when(written == "").then(None).otherwise(written)
    targets = strip_proxies(urls)
    hosts = map_unique(targets, url_host, pl.String)
    frame = p2e.select("portfolio_id", "mms_id", written.alias("written")).with_columns(
        hosts.alias("host"), map_unique(hosts, registrable_domain, pl.String).alias("domain"),
        map_unique(targets, platform_of, pl.String).alias("platform"),
        targets.alias("url_without_proxy"),
        pl.col("written").str.to_lowercase().alias("provider_key"),
    )
    # Each provider as its most common spelling (then the first in sort order): one group per provider.
    spelling = (frame.drop_nulls("written").group_by("provider_key", "written").len()
                .sort(["provider_key", "len", "written"], descending=[False, True, False])
                .unique("provider_key", keep="first").select("provider_key", pl.col("written").alias("provider")))
    frame = frame.join(spelling, on="provider_key", how="left", maintain_order="left")
    group = (
        pl.when(pl.col("provider").is_not_null() & pl.col("platform").is_not_null())
        .then(pl.col("provider") + " - " + pl.col("platform"))
        .otherwise(pl.coalesce("platform", "provider", pl.lit(NO_URL)))
    )
    result = frame.with_columns(group.alias("group")).select(
        "portfolio_id", "mms_id", "group", "host", "domain", "provider", "url_without_proxy"
    ).sort("group", "portfolio_id")
    log.info("local-collection groups: %d portfolios in %d groups", result.height, result["group"].n_unique())
    return result


def local_collections(groups: pl.DataFrame) -> pl.DataFrame:
    """One row per group: group, provider, domain, portfolios, portfolios_with_po_line, steps."""
    frame = groups if "po_lines" in groups.columns else groups.with_columns(pl.lit(None, pl.String).alias("po_lines"))
    return (
        frame.group_by("group")
        .agg(
            pl.col("provider").drop_nulls().unique().sort().str.join("; ").alias("provider"),
            pl.col("domain").drop_nulls().unique().sort().str.join("; ").alias("domain"),
            pl.len().alias("portfolios"),
            pl.col("po_lines").is_not_null().sum().alias("portfolios_with_po_line"),
        )
        .with_columns(pl.lit(LOCAL_COLLECTION_STEPS).alias("steps"))
        .sort("group")
    )
