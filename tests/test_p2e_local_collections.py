"""Local collections for what remains: groups by registrable domain and provider, proxies stripped,
an itemized set file and the Alma steps per group."""
from __future__ import annotations

import csv
import json

import polars as pl
import pytest

from almaclean.normalize.urls import registrable_domain, strip_proxy
from almaclean.p2e.sources import ADD_LOCAL_COLLECTION, MANAGING_LOCAL_PORTFOLIOS, POST_MIGRATION_CLEANUP
from almaclean.outputs.p2e_report import write_report
from almaclean.p2e.groups import local_groups
from conftest import analysed_sample, kbart_rows
from test_p2e_rules import line, p2e_portfolio, run


@pytest.mark.parametrize(
    ("proxied", "target"),
    [
        ("http://0-www.jstor.org.library.example.edu/stable/1", "http://www.jstor.org/stable/1"),
        ("https://0-www.bbc.co.uk.wam.city.ac.uk/news", "https://www.bbc.co.uk/news"),
        ("http://0-search.ebscohost.com.lib.example.edu:2048/login.aspx?direct=true",
         "http://search.ebscohost.com/login.aspx?direct=true"),
        ("https://2048-muse.jhu.edu.proxy.lib.example.edu/journal/4", "https://muse.jhu.edu/journal/4"),
        ("http://0-www.jstor.org.lib.college.example.edu/a", "http://www.jstor.org/a"),
        ("https://proxy.example.edu/login?qurl=https%3A%2F%2Fnum.classiques-garnier.com%2Fx",
         "https://num.classiques-garnier.com/x"),
    ],
    ids=["wam", "wam-co-uk", "wam-port", "wam-port-prefix", "wam-college-label", "qurl"],
)
def test_wam_style_and_prefix_proxies_are_stripped(proxied, target):
    assert strip_proxy(proxied) == target


@pytest.mark.parametrize(
    "url",
    ["http://1-800-flowers.com/x", "http://0-www.jstor.org/stable/1", "https://3-d.example.com/x"],
)
def test_hosts_that_only_look_like_wam_are_kept(url):
    assert strip_proxy(url) == url


@pytest.mark.parametrize(
    ("host", "domain"),
    [("num.classiques-garnier.com", "classiques-garnier.com"), ("www.bbc.co.uk", "bbc.co.uk"),
     ("muse.jhu.edu", "jhu.edu"), ("erudit.org", "erudit.org"), ("10.1.2.3", "10.1.2.3"),
     ("localhost", "localhost"), (None, None)],
)
def test_registrable_domain_by_the_public_suffix_list(host, domain):
    assert registrable_domain(host) == domain


def test_real_garnier_hosts_make_one_domain():
    urls = {row["title_url"] for row in kbart_rows("CLASSIQUESGARNIER_GLOBAL_ALLTITLES_2024-08-28.txt")}
    hosts = {strip_proxy(u).split("/")[2] for u in urls}
    assert {"classiques-garnier.com", "www.classiques-garnier.com", "num.classiques-garnier.com"} <= hosts
    assert set(local_groups(pl.DataFrame({"portfolio_id": [str(n) for n in range(len(urls))], "mms_id": None,
                                          "url": sorted(urls), "p2e_url": None, "p2e_provider": None},
                                         schema_overrides={c: pl.String for c in ("mms_id", "p2e_url", "p2e_provider")})
                            )["domain"]) == {"classiques-garnier.com"}


def test_proxies_are_stripped_and_each_host_of_one_provider_is_a_group_of_its_own():
    a = p2e_portfolio("Essais", "000000401", url="https://ezproxy.example.edu/login?url=https://num.classiques-garnier.com/a")
    b = p2e_portfolio("Théâtre", "000000402", url="https://www-classiques--garnier-com.ezproxy.example.edu/b")
    c = p2e_portfolio("Œuvres", "000000403", url="http://0-classiques-garnier.com.wam.library.example.edu/c")
    result = run([a, b, c], [line(f"00000040{n}", provider=p) for n, p in
                             ((1, "Classiques  Garnier"), (2, "classiques garnier"), (3, "Classiques Garnier "))])
    groups = dict(result.groups.select("portfolio_id", "group").iter_rows())
    assert groups[b["portfolio_id"]] == groups[c["portfolio_id"]] == "Classiques Garnier - classiques-garnier.com"
    assert groups[a["portfolio_id"]] == "Classiques Garnier - num.classiques-garnier.com"
    assert set(result.groups["provider"]) == {"Classiques Garnier"}  # one provider, its most common spelling


@pytest.mark.parametrize(("urls", "providers", "expected"), [
    # one registrable domain, two products: two groups
    (("https://muse.jhu.edu/journal/1", "https://press.jhu.edu/books/2"), (None, None),
     ("muse.jhu.edu", "press.jhu.edu")),
    (("https://ebookcentral.proquest.com/lib/x", "https://search.proquest.com/publication/1"), ("ProQuest", "ProQuest"),
     ("ProQuest - ebookcentral.proquest.com", "ProQuest - search.proquest.com")),
    # a shared resolver is split by DOI or handle prefix
    (("https://doi.org/10.3138/a", "https://dx.doi.org/10.1353/b"), (None, None),
     ("doi.org/10.3138", "doi.org/10.1353")),
    (("http://hdl.handle.net/2027/mdp.1", "http://hdl.handle.net/1866/2"), ("HathiTrust", "Papyrus"),
     ("HathiTrust - hdl.handle.net/2027", "Papyrus - hdl.handle.net/1866")),
    # provider read case- and space-insensitively; a blank provider falls back to the host
    (("https://www.jstor.org/stable/1", "https://jstor.org/stable/2"), ("JSTOR", " Jstor "),
     ("JSTOR - jstor.org", "JSTOR - jstor.org")),
    (("https://www.jstor.org/stable/1", "https://jstor.org/stable/2"), ("", None), ("jstor.org", "jstor.org")),
])
def test_groups_are_provider_and_platform(urls, providers, expected):
    portfolios = [p2e_portfolio(f"Title {n}", f"00000045{n}", url=url) for n, url in enumerate(urls)]
    result = run(portfolios, [line(f"00000045{n}", provider=provider) for n, provider in enumerate(providers)])
    groups = dict(result.groups.select("portfolio_id", "group").iter_rows())
    assert tuple(groups[p["portfolio_id"]] for p in portfolios) == expected


@pytest.fixture(scope="module")
def sample_result(tmp_path_factory):
    return analysed_sample(tmp_path_factory.mktemp("groups-sample"), seed=7)


def test_sample_groups_are_one_per_provider_and_host(sample_result):
    _, result = sample_result
    garnier = result.groups.filter(pl.col("domain") == "classiques-garnier.com")
    assert set(garnier["host"]) >= {"classiques-garnier.com", "num.classiques-garnier.com"}
    assert garnier["group"].n_unique() == garnier["host"].n_unique()
    assert garnier["provider"].n_unique() == 1
    assert result.groups["provider"].null_count() == 0


def test_each_group_has_a_set_file_and_the_alma_steps_with_their_sources(sample_result, tmp_path):
    _, result = sample_result
    write_report(result, tmp_path)
    with open(tmp_path / "local_collections.csv", encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert {r["group"] for r in rows} == set(result.groups["group"])
    for row in rows:
        assert row["set_files"] and (tmp_path / "group-sets" / row["set_files"].split("; ")[0]).exists()
        assert "Add Local Electronic Collection" in row["steps"]
        assert ADD_LOCAL_COLLECTION in row["steps"] and POST_MIGRATION_CLEANUP in row["steps"]
        # moving the standalone portfolios into the collection names Alma's screens and sources
        assert "Electronic Portfolio Editor" in row["steps"] and MANAGING_LOCAL_PORTFOLIOS in row["steps"]
        assert "Run a Job" in row["steps"]
    assert sum(int(r["portfolios"]) for r in rows) == result.groups.height
    readme = (tmp_path / "group-sets" / "README.txt").read_text(encoding="utf-8")
    assert "Add Local Electronic Collection" in readme and POST_MIGRATION_CLEANUP in readme


def test_summary_next_steps_say_how_to_make_the_local_collections(sample_result, tmp_path):
    _, result = sample_result
    write_report(result, tmp_path)
    steps = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))["next_steps"]
    local = [s for s in steps if s.startswith("Local collections (step 5)")]
    assert len(local) == 1 and ADD_LOCAL_COLLECTION in local[0]
    assert not any(s.startswith("7. Link to the CZ") for s in steps)  # no CZ title list given
