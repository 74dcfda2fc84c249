"""Proxy stripping and host extraction, on the real title_url values of the KBART lists."""
from __future__ import annotations

from urllib.parse import quote

import polars as pl
import pytest

from hypothesis import given, settings
from hypothesis import strategies as st

from almaclean.normalize.urls import strip_proxies, strip_proxy, target_hosts, url_host
from conftest import all_titles


@pytest.fixture(scope="module")
def title_urls() -> list[str]:
    """Every title_url of the four real lists (the table bundled with the package)."""
    return all_titles().get_column("title_url").drop_nulls().to_list()


def hyphenated(host: str) -> str:
    """How EZproxy's HttpsHyphens option writes a host into its own domain."""
    return host.replace("-", "--").replace(".", "-")


def test_real_title_urls_are_not_proxied_and_stay_exactly_as_written(title_urls):
    assert len(title_urls) > 20_000
    assert all(strip_proxy(url) == url for url in title_urls)


@pytest.mark.parametrize(
    "wrap",
    [
        lambda url: "https://proxy.library.example.edu/login?url=" + url,
        lambda url: "http://ezproxy.example.ac.uk:2048/login?url=" + url,
        lambda url: "https://login.libproxy.example.edu/login?qurl=" + quote(url, safe=""),
        lambda url: "https://go.openathens.net/redirector/example.edu?url=" + quote(url, safe=""),
    ],
    ids=["ezproxy-url", "ezproxy-port", "ezproxy-qurl", "openathens"],
)
def test_prefix_proxies_give_back_the_real_url(title_urls, wrap):
    sample = title_urls[::97]  # every platform, with query strings (Garnier "?filename=")
    assert any("?" in url for url in sample)
    assert [strip_proxy(wrap(url)) for url in sample] == sample


def test_hostname_rewriting_proxies_give_back_the_real_url(title_urls):
    for url in title_urls[::97]:
        scheme, rest = url.split("://", 1)
        host, _, path = rest.partition("/")
        proxied_hyphens = f"{scheme}://{hyphenated(host)}.ezproxy.example.edu/{path}"
        proxied_dots = f"{scheme}://{host}.proxy.example.edu:8443/{path}"
        assert strip_proxy(proxied_hyphens) == url
        assert strip_proxy(proxied_dots) == url


def test_hyphens_in_the_real_host_survive_the_hyphenated_form():
    proxied = "https://num-classiques--garnier-com.ezproxy.univ-example.fr/numerique-bases/index.php"
    assert strip_proxy(proxied) == "https://num.classiques-garnier.com/numerique-bases/index.php"


def test_nested_proxies_are_all_removed():
    inner = "https://www-jstor-org.ezproxy.example.edu/journal/jforeecon"
    outer = "https://go.openathens.net/redirector/example.edu?url=" + quote(inner, safe="")
    assert strip_proxy(outer) == "https://www.jstor.org/journal/jforeecon"


def test_ezproxy_url_parameter_keeps_the_target_query_as_written():
    proxied = "https://proxy.example.edu/login?url=https://www.jstor.org/action/doBasicSearch?Query=a&so=rel"
    assert strip_proxy(proxied) == "https://www.jstor.org/action/doBasicSearch?Query=a&so=rel"
    # a url= target that is not itself encoded keeps its escapes as written
    escaped = "https://proxy.example.edu/login?url=https://www.jstor.org/action/doBasicSearch?Query=a%26b"
    assert strip_proxy(escaped) == "https://www.jstor.org/action/doBasicSearch?Query=a%26b"


def test_a_qurl_target_is_decoded_even_without_an_encoded_scheme():
    proxied = "https://login.libproxy.example.edu/login?qurl=www.jstor.org%2Fstable%2F1234"
    assert strip_proxy(proxied) == "www.jstor.org/stable/1234"


def test_a_proxy_host_is_recognised_by_its_label_whatever_its_path():
    # EZproxy's other entry points ("/connect?url=") on a host labelled as a proxy
    assert strip_proxy("https://ezproxy.example.edu/connect?url=https://www.jstor.org/stable/1") == \
        "https://www.jstor.org/stable/1"


def test_a_rewritten_host_is_undone_where_it_stands_not_where_the_query_repeats_it():
    proxied = "https://www-jstor-org.ezproxy.example.edu/action/redirect?return=https://www-jstor-org.ezproxy.example.edu/s"
    assert strip_proxy(proxied) == "https://www.jstor.org/action/redirect?return=https://www-jstor-org.ezproxy.example.edu/s"


def test_a_wam_proxy_of_two_labels_gives_back_the_real_host():
    assert strip_proxy("http://0-www.jstor.org.example.edu/stable/1") == "http://www.jstor.org/stable/1"


@pytest.mark.parametrize(
    "url",
    [
        "https://www.proxyvote.com/journal/1",  # "proxy" inside a word is not a proxy label
        "https://www.jstor.org/action/redirect?url=https://example.org/",  # not a proxy host
        "https://proxy.example.edu/login?url=not a url",  # the target must be a URL
        "https://ezproxy.example.edu/menu",  # the proxy's own page
        "https://www.example.org/redirector/x?url=https://www.jstor.org/",  # a redirector, not OpenAthens'
        "https://www.proxy.com/journal/1",  # a host named proxy, nothing rewritten before it
        "http://0-www.jstor.org.lib.corp.internal/stable/1",  # a WAM-like host whose proxy part is not registrable
    ],
)
def test_non_proxy_urls_are_kept(url):
    assert strip_proxy(url) == url


def test_strip_proxy_empty_values():
    assert strip_proxy(None) is None
    assert strip_proxy("   ") is None
    assert strip_proxy(" https://muse.jhu.edu/journal/142 ") == "https://muse.jhu.edu/journal/142"


def test_real_hosts_lose_www_so_garnier_variants_collapse(title_urls):
    hosts = {url_host(url) for url in title_urls}
    assert hosts == {"jstor.org", "muse.jhu.edu", "erudit.org", "classiques-garnier.com", "num.classiques-garnier.com"}


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("HTTPS://WWW.JSTOR.ORG:443/journal/jforeecon", "jstor.org"),
        ("www.erudit.org/fr/revues/", "erudit.org"),
        ("muse.jhu.edu/journal/142", "muse.jhu.edu"),
        ("https://user:pw@num.classiques-garnier.com/x", "num.classiques-garnier.com"),
        ("https://www.érudit.example/fr", "érudit.example"),
        ("//www.jstor.org/stable/1", "jstor.org"),             # protocol-relative
        ("//Xerte.example.org/toolkit", "xerte.example.org"),
        ("https://www.jstor.org./stable/1", "jstor.org"),       # a fully qualified name's final dot
        ("", None),
        (None, None),
        ("n/a", None),
        ("see public note", None),
        ("http://", None),
        ("http://[::1", None),
    ],
)
def test_url_host(url, host):
    assert url_host(url) == host


def test_target_hosts_on_a_column_with_repeats_and_nulls():
    urls = pl.Series(
        "url",
        [
            "https://www-jstor-org.ezproxy.example.edu/journal/a",
            None,
            "https://www.jstor.org/journal/a",
            "https://proxy.example.edu/login?url=https://muse.jhu.edu/journal/4",
            "https://www-jstor-org.ezproxy.example.edu/journal/a",
            "garbage",
        ],
    )
    assert target_hosts(urls).to_list() == ["jstor.org", None, "jstor.org", "muse.jhu.edu", "jstor.org", None]


_HOSTS = st.sampled_from(["www.jstor.org", "muse.jhu.edu", "ezproxy.example.edu", "proxy.lib.example.edu",
                          "www-jstor-org.ezproxy.example.edu", "0-www.jstor.org.lib.example.edu", "go.openathens.net"])
_PATHS = st.sampled_from(["/login", "/LOGIN", "/login/", "/stable/1", "/redirector/example.edu", "", "/a/login"])
_QUERIES = st.sampled_from(["", "?url=", "?qurl=", "?URL=", "?x=1&url=", "?url=https%3A%2F%2Fwww.jstor.org%2Fa"])


@st.composite
def _urls(draw):
    inner = f"{draw(st.sampled_from(['https://', 'http://', '', 'www.']))}{draw(_HOSTS)}{draw(_PATHS)}"
    query = draw(_QUERIES)
    target = draw(st.none() | st.builds(lambda h, p: f"https://{h}{p}", _HOSTS, _PATHS))
    return f"{draw(st.sampled_from(['', ' ']))}{inner}{query}{target or ''}{draw(st.sampled_from(['', ' ']))}"


@settings(max_examples=400, deadline=None)
@given(st.lists(_urls() | st.none() | st.text(max_size=30), max_size=20))
def test_strip_proxies_on_a_column_is_strip_proxy_value_by_value(urls):
    assert strip_proxies(pl.Series(urls, dtype=pl.String)).to_list() == [strip_proxy(u) for u in urls]
