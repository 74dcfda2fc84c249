"""Local-collection groups: P2E portfolios with no duplicate, by provider and domain.

The provider is the P2E line's provider (the 856 $z / provider column of the P2E report;
runs of spaces made one); the domain is the *registrable* domain (Public Suffix List) of the
portfolio's URL, else the P2E line's URL, with any proxy prefix stripped (EZproxy, OpenAthens,
host-rewriting and WAM-style proxies: normalize.urls), so "num.classiques-garnier.com" and
"www.classiques-garnier.com" make one group. A group is "<provider> - <domain>", or the domain
alone when the P2E file names no provider, or "no URL" when neither tells anything. URLs
group portfolios; they never prove a duplicate.

Each group is a proposed local electronic collection (the guide's section 3):
`local_collection_steps` says how to make it in Alma, with the sources.
"""
from __future__ import annotations

import logging

import polars as pl

from almaclean.normalize import map_unique
from almaclean.normalize.urls import registrable_domain, strip_proxy, url_host

log = logging.getLogger(__name__)

NO_URL = "no URL"
POST_MIGRATION_CLEANUP = (
    "https://knowledge.exlibrisgroup.com/Alma/Knowledge_Articles/Post_migration_clean-up_of_eResources_in_Alma"
)
MANAGING_ELECTRONIC_RESOURCES = (
    "https://knowledge.exlibrisgroup.com/Alma/Product_Documentation/010Alma_Online_Help_(English)/"
    "040Resource_Management/050Inventory/020Managing_Electronic_Resources"
)
ADD_LOCAL_COLLECTION = MANAGING_ELECTRONIC_RESOURCES + "#Adding_a_Local_Electronic_Collection"
GUIDE = "https://www.carli.illinois.edu/node/5903"
LOCAL_COLLECTION_STEPS = (
    "1. Resources > Add Local Electronic Collection: public name = the group name, type Selective package, "
    "service Full text; Save (Alma: Managing Electronic Resources, Adding a Local Electronic Collection, "
    f"{ADD_LOCAL_COLLECTION}). "
    "2. Upload the group's set file(s) as an itemized set of electronic portfolios "
    "(Admin > Manage Sets > Add Set > Itemized). "
    "3. Move the set's standalone portfolios into the new collection's service, as Ex Libris's "
    "'Post migration clean-up of eResources in Alma' describes in 'Group ILS-migrated P2E portfolios into "
    f"local collections to make them easier to manage' ({POST_MIGRATION_CLEANUP}; the CARLI P2E guide, "
    f"section 'Group ILS Migrated P2E Portfolios Into Local Collections', points there: {GUIDE}). "
    "4. Portfolios with a PO line keep it: the order stays on the portfolio."
)


def host_of(url: str | None) -> str | None:
    """Host of the URL a (possibly proxied) link points to."""
    return url_host(strip_proxy(url))


def domain_of(url: str | None) -> str | None:
    """Registrable domain of the URL a (possibly proxied) link points to."""
    return registrable_domain(host_of(url))


def local_groups(p2e: pl.DataFrame) -> pl.DataFrame:
    """portfolio_id, mms_id, group, host, domain, provider for the given P2E portfolios."""
    urls = p2e.select(pl.coalesce("url", "p2e_url").alias("u")).to_series()
    provider = pl.col("p2e_provider").str.strip_chars().str.replace_all(r"\s+", " ")
    provider = pl.when(provider == "").then(None).otherwise(provider)
    hosts = map_unique(urls, host_of, pl.String)
    frame = p2e.select("portfolio_id", "mms_id", provider.alias("provider")).with_columns(
        hosts.alias("host"), map_unique(hosts, registrable_domain, pl.String).alias("domain"),
    )
    group = (
        pl.when(pl.col("provider").is_not_null() & pl.col("domain").is_not_null())
        .then(pl.col("provider") + " - " + pl.col("domain"))
        .otherwise(pl.coalesce("domain", "provider", pl.lit(NO_URL)))
    )
    result = frame.with_columns(group.alias("group")).select(
        "portfolio_id", "mms_id", "group", "host", "domain", "provider"
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
