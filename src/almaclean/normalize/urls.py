"""Portfolio URLs: remove a proxy in front of the target URL, and get the target's host.

Proxy forms undone by `strip_proxy` (anything else is returned as it is, trimmed):
- prefix proxies: ``https://proxy.x.edu/login?url=<target>`` (EZproxy; the target is taken
  as written, "&" included), ``.../login?qurl=<url-encoded target>``, and OpenAthens
  ``https://go.openathens.net/redirector/<org>?url=<url-encoded target>``. A ``url=`` value
  that is itself URL-encoded ("https%3A%2F%2F...") is decoded. The prefix form is
  recognised when the path ends in ``/login``, the host has a proxy label (below), or it
  is the OpenAthens redirector, and only when the target is a URL (scheme or "www.").
- host-rewriting proxies: ``https://www-jstor-org.ezproxy.x.edu/stable/1`` ->
  ``https://www.jstor.org/stable/1``, recognised by a whole host label such as ``ezproxy``,
  ``proxy``, ``libproxy2`` or ``ezp`` after the rewritten part. EZproxy's "HttpsHyphens"
  form writes "." as "-" and "-" as "--"; the older form keeps the dots
  (``www.jstor.org.ezproxy.x.edu``). The proxy's port is dropped.
- WAM-style proxies (Innovative's Web Access Management): ``http://0-www.jstor.org.lib.x.edu/a``
  -> ``http://www.jstor.org/a``: the first host label starts with a port and "-" ("0-" for the
  default port), then the target host, then the proxy's own host. The target ends at the
  first public suffix (by the Public Suffix List) that the next label does not extend and
  that is not followed by another suffix ("www.bbc" + "co.uk": .bbc is a TLD too); the
  proxy's part must itself be a registrable host.
Nested proxies are undone one after the other.

`registrable_domain` gives the part of a host a provider registers ("num.classiques-garnier.com"
-> "classiques-garnier.com", "www.bbc.co.uk" -> "bbc.co.uk"), by the Public Suffix List bundled
in the `publicsuffixlist` package (no network access at run time).
"""
from __future__ import annotations

import ipaddress
import re
from functools import lru_cache
from urllib.parse import unquote, urlsplit

import polars as pl

from almaclean.normalize import map_unique

_SCHEME = re.compile(r"^[a-z][a-z0-9+.\-]*://", re.IGNORECASE)
_TARGET_PARAMETER = re.compile(r"[?&](q?url)=", re.IGNORECASE)
# a whole host label: "proxy", "ezproxy", "libproxy2", "ezp"; not "proxyvote"
_PROXY_LABEL = re.compile(r"^(?:[a-z]*proxy\d*|ezp\d*)$", re.IGNORECASE)
_ENCODED_TARGET = re.compile(r"^https?%3a", re.IGNORECASE)
_HOST = re.compile(r"^[\w\-]+(?:\.[\w\-]+)+$|^localhost$")
_MAX_NESTING = 5
_WAM_LABEL = re.compile(r"^\d{1,5}-(?=[a-z0-9])", re.IGNORECASE)


@lru_cache(maxsize=1)
def _suffix_list():
    from publicsuffixlist import PublicSuffixList  # the bundled list: no download

    return PublicSuffixList()


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


@lru_cache(maxsize=100_000)
def registrable_domain(host: str | None) -> str | None:
    """The registrable domain of `host` (lower-case, no "www."); the host itself for an IP address,
    a single label or a host that is only a public suffix; None for an empty value."""
    if host is None or not host.strip():
        return None
    host = host.strip().lower().rstrip(".")
    if host.startswith("www."):
        host = host[4:]
    if _is_ip(host) or "." not in host:
        return host
    return _suffix_list().privatesuffix(host) or host


def _is_prefix_proxy(host: str, path: str) -> bool:
    if host == "go.openathens.net" and path.lower().startswith("/redirector"):
        return True
    return path.lower().rstrip("/").endswith("/login") or any(
        _PROXY_LABEL.match(label) for label in host.split(".")
    )


def _strip_prefix_proxy(url: str) -> str | None:
    """The target of a prefix proxy URL, or None when `url` is not one."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    parameter = _TARGET_PARAMETER.search(url)
    if parameter is None or not _is_prefix_proxy(host, parts.path):
        return None
    target = url[parameter.end():]
    if parameter.group(1).lower() == "qurl" or _ENCODED_TARGET.match(target):
        target = unquote(target)
    target = target.strip()
    return target if _SCHEME.match(target) or target.lower().startswith("www.") else None


def _unrewrite_host(host: str) -> str | None:
    """The original host of a host-rewriting proxy ("www-jstor-org.ezproxy.x.edu"), or None."""
    labels = host.split(".")
    for index, label in enumerate(labels):
        if index > 0 and _PROXY_LABEL.match(label):
            rewritten = labels[:index]
            break
    else:
        return None
    if len(rewritten) == 1:  # HttpsHyphens: "-" stands for ".", "--" for "-"
        original = rewritten[0].replace("--", "\0").replace("-", ".").replace("\0", "-")
    else:
        original = ".".join(rewritten)
    return original if "." in original else None  # "www.proxy.com" is not a rewritten host


def _unwam_host(host: str) -> str | None:
    """The target host of a WAM-style proxy host ("0-www.jstor.org.lib.x.edu"), or None."""
    marker = _WAM_LABEL.match(host)
    if marker is None:
        return None
    labels = host[marker.end():].split(".")
    psl = _suffix_list()
    for end in range(2, len(labels) - 1):  # the proxy keeps at least two labels
        target, proxy = ".".join(labels[:end]), ".".join(labels[end:])
        suffix = psl.publicsuffix(target, accept_unknown=False)
        if suffix is None:
            continue
        longer = psl.publicsuffix(".".join(labels[: end + 1]), accept_unknown=False)
        if longer is not None and longer.endswith(f"{suffix}.{labels[end]}"):
            continue  # "www.bbc.co" + "uk": the next label extends the suffix
        if psl.publicsuffix(".".join(labels[end:end + 2]), accept_unknown=False) == ".".join(labels[end:end + 2]):
            continue  # "www.bbc" (a brand TLD) + "co.uk...": a proxy host never starts with a suffix
        if psl.privatesuffix(target, accept_unknown=False) and psl.privatesuffix(proxy, accept_unknown=False):
            return target
    return None


def _strip_host_proxy(url: str) -> str | None:
    parts = urlsplit(url)
    if not parts.netloc:
        return None
    host = (parts.hostname or "").lower()
    original = _unwam_host(host) or _unrewrite_host(host)
    if original is None:
        return None
    start = url.index(parts.netloc)
    # credentials and the proxy's port belong to the proxy, not the target
    return url[:start] + original + url[start + len(parts.netloc):]


# What any proxy form above needs somewhere in the URL: a url=/qurl= parameter, a proxy host
# label, or a WAM port prefix. A URL with none of them is returned as it is, at once.
_MAYBE_PROXIED = re.compile(r"q?url=|proxy|ezp|(?:^|//)\d{1,5}-", re.IGNORECASE)


def strip_proxy(url: str | None) -> str | None:
    """`url` without a proxy in front of it; None for an empty value; other URLs unchanged (trimmed)."""
    if url is None:
        return None
    current = url.strip()
    if not _MAYBE_PROXIED.search(current):
        return current or None
    for _ in range(_MAX_NESTING):
        if not current:
            return None
        stripped = _strip_prefix_proxy(current) or _strip_host_proxy(current)
        if stripped is None or stripped == current:
            break
        current = stripped
    return current or None


def url_host(url: str | None) -> str | None:
    """Lower-case host of `url` without a leading "www." and without port; None for empty or garbage.

    A URL without a scheme ("www.jstor.org/journal/x") is read as a host and path. The proxy is
    not removed here: call `strip_proxy` first to get the target's host.
    """
    if url is None:
        return None
    text = url.strip()
    if not text:
        return None
    if not _SCHEME.match(text):
        text = "//" + text.lstrip("/")
    try:
        host = urlsplit(text).hostname
    except ValueError:  # e.g. an invalid IPv6 literal
        return None
    if not host:
        return None
    host = host.lower().rstrip(".")
    if host.startswith("www."):
        host = host[4:]
    return host if _HOST.match(host) else None


# The common EZproxy form, "https://proxy.x.edu/login?url=https://target/...", read with polars:
# the target as written after "url=" (strip_proxy's rule for a target with a scheme).
_LOGIN_URL = r"^\s*[A-Za-z][A-Za-z0-9+.\-]*://[^/?#]+/login/?\?url=([A-Za-z][A-Za-z0-9+.\-]*://.*?)\s*$"


def strip_proxies(urls: pl.Series) -> pl.Series:
    """strip_proxy() of every value of `urls`: the common EZproxy prefix form by a polars regex,
    URLs no proxy form can touch as they are (trimmed), the rest through strip_proxy once per
    distinct value. The same values strip_proxy gives, faster on a big column."""
    maybe = "(?i)" + _MAYBE_PROXIED.pattern
    frame = pl.DataFrame({"url": urls.cast(pl.String)}).with_columns(
        pl.col("url").str.extract(_LOGIN_URL, 1).alias("login"),
        # Python's strip() also takes \x1c-\x1f as spaces, polars' does not: those cells go the slow way.
        (pl.col("url").str.contains(maybe) | pl.col("url").str.contains("[\x1c-\x1f]")).fill_null(False)
        .alias("maybe"))
    # A login target that could itself be proxied (nested), or encoded, goes the slow way.
    simple = pl.col("login").is_not_null() & ~pl.col("login").str.contains(maybe)
    slow = frame.select(pl.when(pl.col("maybe") & ~simple.fill_null(False)).then(pl.col("url"))).to_series()
    stripped = map_unique(slow, strip_proxy, pl.String)
    trimmed = pl.col("url").str.strip_chars()
    return frame.with_columns(stripped.alias("slow")).select(
        pl.when(simple.fill_null(False)).then(pl.col("login"))
        .when(pl.col("maybe")).then(pl.col("slow"))
        .when(trimmed != "").then(trimmed)
        .alias(urls.name)
    ).to_series()


def target_hosts(urls: pl.Series) -> pl.Series:
    """url_host(strip_proxy(url)) for every value of `urls`, computed once per distinct URL."""
    return map_unique(urls, lambda url: url_host(strip_proxy(url)), pl.String)
