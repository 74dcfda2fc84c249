"""Tests written for mutants of the P2E rules that the rule tests let survive (mutmut): each pins
one boundary or one choice of the rules, with the reason it matters to a librarian."""
from __future__ import annotations

import csv

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st
from rapidfuzz import fuzz

from almaclean.kinds import read_cz_titles
from almaclean.normalize.coverage import UNREADABLE, UNSTATED, Coverage, parse_statement
from almaclean.p2e.analyse import REPEATED_ID_REASON
from almaclean.p2e.classify import CONFLICT
from almaclean.p2e.cz_link import (
    JUNK_ROWS, KEPT, LINK_COLLECTION, LINK_PORTFOLIOS, MATCH_CHECK, MATCH_LINK, MATCH_NO_PLATFORM, describe, empty_groups,
    group_shares,
)
from almaclean.p2e.groups import LOCAL_COLLECTION_STEPS, NO_URL, local_collections, local_groups, platform_of
from almaclean.p2e.match import (
    CONTAINED, DIFFERENT_TITLE, DISAGREE, NEITHER_STATED, NOT_AVAILABLE, ONE_SIDED, PARTIAL, TITLE_ONLY,
)
from almaclean.p2e.titles import title_key, title_matches, with_titles_differ
from test_p2e_cz_link import candidates_of, valid_issns, write_kbart
from test_p2e_rules import deleted, keeper, line, p2e_portfolio, review_reason, run

EMPTY_GROUPS_SCHEMA = {"group": pl.String, "cz_list": pl.String, "portfolios": pl.Int64, "matched": pl.Int64,
                       "share": pl.Float64, "proposal": pl.String}


def _list_rows(titles: list[str], issn: str) -> list[dict]:
    return [{"publication_title": title, "online_identifier": issn, "title_url": "https://www.jstor.org/j"}
            for title in titles]


def test_a_list_value_on_exactly_junk_rows_titles_is_evidence_one_more_is_junk(tmp_path):
    issn = valid_issns(1)[0]
    p = p2e_portfolio("Title 0", "000000601", issn=issn, material_type="Journal")
    at_limit = write_kbart(tmp_path / "AT.txt", _list_rows([f"Title {n}" for n in range(JUNK_ROWS)], issn))
    assert p["portfolio_id"] in candidates_of(run([p], [line("000000601")], cz_titles=[at_limit]))
    over = write_kbart(tmp_path / "OVER.txt", _list_rows([f"Title {n}" for n in range(JUNK_ROWS + 1)], issn))
    assert p["portfolio_id"] not in candidates_of(run([p], [line("000000601")], cz_titles=[over]))


def test_list_junk_counts_titles_not_rows(tmp_path):
    # One journal's history over more rows than JUNK_ROWS, one title: its ISSN is still evidence.
    issn = valid_issns(1)[0]
    p = p2e_portfolio("Mens", "000000602", issn=issn, material_type="Journal")
    history = write_kbart(tmp_path / "HISTORY.txt", _list_rows(["Mens"] * (JUNK_ROWS + 3), issn))
    assert candidates_of(run([p], [line("000000602")], cz_titles=[history]))[p["portfolio_id"]]["match"] == MATCH_LINK


def test_coverage_on_the_list_only_is_one_sided_never_neither(tmp_path):
    p = p2e_portfolio("Mens", "000000603", issn="1492-8647", material_type="Journal", coverage_statement=None)
    cz = write_kbart(tmp_path / "ERUDIT.txt", [{"publication_title": "Mens", "online_identifier": "1492-8647",
                                              "date_first_issue_online": "2000", "title_url": "https://www.jstor.org/j"}])
    row = candidates_of(run([p], [line("000000603")], cz_titles=[cz]))[p["portfolio_id"]]
    assert row["match"] == MATCH_CHECK + ONE_SIDED


def test_the_portfolio_s_own_url_groups_it_before_the_p2e_file_s(tmp_path):
    p = p2e_portfolio("Mens", "000000604", url="https://www.erudit.org/fr/revues/mens/")
    result = run([p], [line("000000604", url="https://muse.jhu.edu/journal/1")])
    assert result.groups["host"].to_list() == ["erudit.org"]
    lonely = p2e_portfolio("Mens", "000000605", url=None)
    result = run([lonely], [line("000000605", url="https://muse.jhu.edu/journal/1")])
    assert result.groups["host"].to_list() == ["muse.jhu.edu"]


def test_the_po_line_count_of_a_group_counts_only_portfolios_with_one():
    groups = pl.DataFrame({"group": ["G", "G", "G"], "provider": ["P"] * 3, "domain": ["d.org"] * 3,
                           "portfolio_id": ["1", "2", "3"], "po_lines": ["POL-1", None, None]})
    row = local_collections(groups).row(0, named=True)
    assert (row["portfolios"], row["portfolios_with_po_line"]) == (3, 1)


def test_a_cz_coverage_is_described_in_words():
    assert describe(UNSTATED) == "not stated"
    assert describe(UNREADABLE) == "cannot be read"
    assert describe(Coverage(1997, 2005, None, True)) == "1997-2005"
    assert describe(Coverage(None, None, None, True)) == "first issue-now"
    assert describe(Coverage(1998, None, 4.0, True)) == "1998-now, last 4 years not available"
    assert describe(Coverage(1998, None, 0.5, True)) == "1998-now, last 0.5 years not available"
    assert describe(parse_statement("Available from 1990 until 1995. Available from 2000.")) == "1990-now (with gaps)"


def _alma_export(path, rows):
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Title", "ISSN", "Coverage Statement", "Portfolio Static URL"])
        writer.writerows(rows)
    return read_cz_titles(path)


def test_a_list_row_without_dates_is_compared_by_its_coverage_statement(tmp_path):
    p = p2e_portfolio("Mens", "000000606", issn="1492-8647", material_type="Journal",
                      coverage_statement="Available from 2001.")
    wide = _alma_export(tmp_path / "WIDE.csv", [["Mens", "1492-8647", "Available from 1990.", "https://www.jstor.org/j"]])
    row = candidates_of(run([p], [line("000000606")], cz_titles=[wide]))[p["portfolio_id"]]
    assert row["match"] == MATCH_LINK and "CZ coverage: 1990-now" in row["evidence"]
    narrow = _alma_export(tmp_path / "NARROW.csv", [["Mens", "1492-8647", "Available from 2005.", "https://www.jstor.org/j"]])
    row = candidates_of(run([p], [line("000000606")], cz_titles=[narrow]))[p["portfolio_id"]]
    assert row["match"].startswith(MATCH_CHECK) and "CZ coverage: 2005-now" in row["evidence"]


def test_a_list_row_with_all_its_dates_is_compared_by_them(tmp_path):
    p = p2e_portfolio("Mens", "000000607", issn="1492-8647", material_type="Journal",
                      coverage_statement="Available from 2001 until 2003.")
    cz = write_kbart(tmp_path / "DATES.txt", [{"publication_title": "Mens", "online_identifier": "1492-8647",
                                             "date_first_issue_online": "1990", "date_last_issue_online": "2010",
                                             "embargo_info": "P1Y", "title_url": "https://www.jstor.org/j"}])
    row = candidates_of(run([p], [line("000000607")], cz_titles=[cz]))[p["portfolio_id"]]
    assert row["match"] == MATCH_LINK
    assert "CZ coverage: 1990-2010, last 1 years not available" in row["evidence"]


# Link to the CZ: platform, lists, ranking and the words of the evidence ---------------------------

def _journal(n: int, **kw):
    return p2e_portfolio("Mens", f"00000062{n}", issn="1492-8647", material_type="Journal", **kw)


def _mens_row(url: str | None, **kw) -> dict:
    return {"publication_title": "Mens", "online_identifier": "1492-8647", **({"title_url": url} if url else {}), **kw}


@pytest.mark.parametrize(("p2e_url", "list_url"), [
    ("https://num.classiques-garnier.com/a", "https://classiques-garnier.com/b"),
    ("https://classiques-garnier.com/a", "https://num.classiques-garnier.com/b"),
])
def test_a_sub_domain_of_the_list_s_host_is_its_platform_either_way(tmp_path, p2e_url, list_url):
    p = _journal(0, url=p2e_url)
    cz = write_kbart(tmp_path / "GARNIER.txt", [_mens_row(list_url)])
    assert candidates_of(run([p], [line("000000620")], cz_titles=[cz]))[p["portfolio_id"]]["match"] == MATCH_LINK


def test_every_list_is_read_even_when_an_earlier_one_matches_nothing(tmp_path):
    p = _journal(1, url="https://muse.jhu.edu/j")
    empty = write_kbart(tmp_path / "A_NOTHING.txt", [{"publication_title": "Other", "online_identifier": "0742-4671"}])
    muse = write_kbart(tmp_path / "B_MUSE.txt", [_mens_row("https://muse.jhu.edu/j")])
    found = run([p], [line("000000621")], cz_titles=[empty, muse]).cz_link_candidates
    assert found["cz_list"].to_list() == ["B_MUSE"]


def test_the_list_row_shown_is_on_the_platform_then_contains_then_comes_first(tmp_path):
    p = _journal(2, url="https://muse.jhu.edu/j", coverage_statement="Available from 2001 until 2003.")
    cz = write_kbart(tmp_path / "ROWS.txt", [
        _mens_row(None, date_first_issue_online="1990"),                                  # row 2: no URL
        _mens_row("https://muse.jhu.edu/j", date_first_issue_online="2002"),              # row 3: partial
        _mens_row("https://muse.jhu.edu/j", date_first_issue_online="1995"),              # row 4: contains
        _mens_row("https://muse.jhu.edu/j", date_first_issue_online="1990"),              # row 5: contains too
    ])
    row = candidates_of(run([p], [line("000000622")], cz_titles=[cz]))[p["portfolio_id"]]
    assert row["cz_row"] == "4" and row["match"] == MATCH_LINK
    assert row["evidence"] == ("shared: 1492-8647 | CZ title: Mens (row 4) | CZ coverage: 1995-now | "
                               "P2E coverage: 2001-2003 | keeper coverage contains the P2E coverage | "
                               "P2E host: muse.jhu.edu, list host: muse.jhu.edu | other list rows: 3 | "
                               "P2E portfolio: kept, no CZ duplicate")


def test_a_single_row_says_no_other_rows_and_a_missing_title_is_a_dash(tmp_path):
    p = _journal(3, url=None)
    cz = write_kbart(tmp_path / "ONE.txt", [{"online_identifier": "1492-8647"}])
    row = candidates_of(run([p], [line("000000623")], cz_titles=[cz]))[p["portfolio_id"]]
    assert row["evidence"] == ("shared: 1492-8647 | CZ title: - (row 2) | CZ coverage: not stated | "
                               "P2E coverage: not stated | neither states coverage | P2E host: -, list host: - | "
                               "P2E portfolio: kept, no CZ duplicate")


def test_candidates_are_ordered_by_group_list_and_portfolio_with_review_rows_last(tmp_path):
    k = keeper("Mens", issn="1492-8647", coverage_statement="Available from 2001.")
    in_review = _journal(4, url="https://www.jstor.org/j", coverage_statement="Available from 1990.")
    kept = [p2e_portfolio(f"Journal {n}", f"00000063{n}", issn=issn, material_type="Journal",
                          url=f"https://{host}/j") for n, (issn, host) in
            enumerate([("0742-4671", "b.example.org"), ("1934-6018", "a.example.org")])]
    cz_rows = [_mens_row("https://www.jstor.org/j"),
               {"publication_title": "Journal 0", "online_identifier": "0742-4671", "title_url": "https://b.example.org/j"},
               {"publication_title": "Journal 1", "online_identifier": "1934-6018", "title_url": "https://a.example.org/j"}]
    lists = [write_kbart(tmp_path / "Y_LIST.txt", cz_rows), write_kbart(tmp_path / "X_LIST.txt", cz_rows)]
    result = run([k, in_review, *kept], [line("000000624"), line("000000630"), line("000000631")], cz_titles=lists)
    order = result.cz_link_candidates.select("group", "cz_list", "portfolio_id").rows()
    a, b = kept[1]["portfolio_id"], kept[0]["portfolio_id"]
    assert order == [("a.example.org", "X_LIST", a), ("a.example.org", "Y_LIST", a), ("b.example.org", "X_LIST", b),
                     ("b.example.org", "Y_LIST", b), (None, "X_LIST", in_review["portfolio_id"]),
                     (None, "Y_LIST", in_review["portfolio_id"])]


def press_journals(count: int, legacy_prefix: str) -> tuple[list[str], list[dict]]:
    """count P2E journals on one platform (press.example.org), legacy ids legacy_prefix + n."""
    issns = valid_issns(count)
    return issns, [p2e_portfolio(f"Journal {n}", f"{legacy_prefix}{n}", issn=issns[n], material_type="Journal",
                                 url=f"https://press.example.org/{n}") for n in range(count)]


def test_group_shares_are_whole_numbers_and_a_share_rounded_to_four_places(tmp_path):
    issns, portfolios = press_journals(3, "00000064")
    cz = write_kbart(tmp_path / "PRESS.txt", [{"publication_title": "Journal 0", "online_identifier": issns[0],
                                             "title_url": "https://press.example.org/0"}])
    shares = run(portfolios, [line(f"00000064{n}") for n in range(3)], cz_titles=[cz]).cz_link_groups
    assert shares.schema == EMPTY_GROUPS_SCHEMA
    assert shares.row(0) == ("press.example.org", "PRESS", 3, 1, 0.3333, LINK_PORTFOLIOS)


def test_within_a_group_the_best_covered_list_comes_first(tmp_path):
    issns, portfolios = press_journals(2, "00000065")
    one = write_kbart(tmp_path / "A_ONE.txt", [{"publication_title": "Journal 0", "online_identifier": issns[0],
                                               "title_url": "https://press.example.org/0"}])
    both = write_kbart(tmp_path / "B_BOTH.txt", [
        {"publication_title": f"Journal {n}", "online_identifier": issns[n], "title_url": "https://press.example.org/"}
        for n in range(2)])
    shares = run(portfolios, [line(f"00000065{n}") for n in range(2)], cz_titles=[one, both]).cz_link_groups
    assert shares["cz_list"].to_list() == ["B_BOTH", "A_ONE"]


def test_without_lists_the_groups_frame_is_empty_with_its_schema():
    assert empty_groups().schema == EMPTY_GROUPS_SCHEMA
    assert run([_journal(5)], [line("000000625")]).cz_link_groups.schema == EMPTY_GROUPS_SCHEMA


def test_list_rows_without_a_title_are_each_a_title_of_their_own_for_junk(tmp_path):
    p = _journal(6, url=None)
    untitled = write_kbart(tmp_path / "UNTITLED.txt", [{"online_identifier": "1492-8647"}] * (JUNK_ROWS + 1))
    assert p["portfolio_id"] not in candidates_of(run([p], [line("000000626")], cz_titles=[untitled]))


# Groups -----------------------------------------------------------------------------------------

def test_a_provider_s_spelling_is_its_most_common_then_the_first_in_order():
    portfolios = [p2e_portfolio(f"T{n}", f"00000066{n}", url="https://www.jstor.org/x") for n in range(5)]
    spellings = ["Jstor", "JSTOR", "jstor", "JSTOR", "Jstor"]
    groups = run(portfolios, [line(f"00000066{n}", provider=s) for n, s in enumerate(spellings)]).groups
    assert set(groups["group"]) == {"JSTOR - jstor.org"}  # JSTOR and Jstor twice each: the first in order


def test_without_a_url_the_group_is_the_provider_else_no_url():
    with_provider = p2e_portfolio("T0", "000000670", url=None)
    bare = p2e_portfolio("T1", "000000671", url=None)
    groups = dict(run([with_provider, bare], [line("000000670", provider="Gale"), line("000000671")])
                  .groups.select("portfolio_id", "group").iter_rows())
    assert groups == {with_provider["portfolio_id"]: "Gale", bare["portfolio_id"]: NO_URL}


def test_groups_are_sorted_by_group_then_portfolio():
    portfolios = [p2e_portfolio(f"T{n}", f"00000068{n}", url=url) for n, url in
                  enumerate(["https://b.example.org/1", "https://a.example.org/1", "https://b.example.org/2"])]
    groups = run(portfolios, [line(f"00000068{n}") for n in range(3)]).groups
    ids = [p["portfolio_id"] for p in portfolios]
    assert groups.select("group", "portfolio_id").rows() == [
        ("a.example.org", ids[1]), ("b.example.org", ids[0]), ("b.example.org", ids[2])]


@pytest.mark.parametrize(("target", "platform"), [
    ("https://doi.org/10.3138/abc", "doi.org/10.3138"), ("doi.org/10.1353/x", "doi.org/10.1353"),
    ("https://dx.doi.org/", "doi.org"), ("http://hdl.handle.net/2027/mdp.1", "hdl.handle.net/2027"),
    ("https://www.jstor.org/stable/1", "jstor.org"), (None, None),
])
def test_the_platform_of_a_url_without_its_proxy(target, platform):
    assert platform_of(target) == platform


def test_local_collections_of_groups_without_po_lines_count_none():
    groups = pl.DataFrame({"group": ["G"], "provider": ["P"], "domain": ["d.org"], "portfolio_id": ["1"]})
    assert local_collections(groups).select("portfolios", "portfolios_with_po_line").row(0) == (1, 0)


def test_every_value_a_list_row_shares_is_named_once_in_order(tmp_path):
    p = p2e_portfolio("Journal of Film and Video", "000000690", issn="1934-6018; 0742-4671", material_type="Journal",
                      url="https://www.jstor.org/j")
    cz = write_kbart(tmp_path / "JSTOR.txt", [{"publication_title": "Journal of Film and Video",
                                             "print_identifier": "0742-4671", "online_identifier": "1934-6018",
                                             "title_url": "https://www.jstor.org/j"}])
    row = candidates_of(run([p], [line("000000690")], cz_titles=[cz]))[p["portfolio_id"]]
    assert (row["shared"], row["match"]) == ("0742-4671; 1934-6018", MATCH_LINK)
    assert row["evidence"].startswith("shared: 0742-4671; 1934-6018 | ")


def test_group_shares_are_ordered_by_group_then_the_best_share_first():
    portfolios = pl.DataFrame({"portfolio_id": ["1", "2", "3"], "group": ["b.example.org", "a.example.org",
                                                                          "a.example.org"], "p2e_status": [KEPT] * 3})
    candidates = pl.DataFrame({"portfolio_id": ["1", "2", "2", "3"], "cz_list": ["L1", "L1", "L2", "L2"],
                               "group": ["b.example.org", "a.example.org", "a.example.org", "a.example.org"],
                               "match": [MATCH_LINK] * 4})
    shares = group_shares(portfolios, candidates)
    assert shares.select("group", "cz_list", "matched", "share", "proposal").rows() == [
        ("a.example.org", "L2", 2, 1.0, LINK_COLLECTION), ("a.example.org", "L1", 1, 0.5, LINK_PORTFOLIOS),
        ("b.example.org", "L1", 1, 1.0, LINK_COLLECTION)]


def test_every_list_is_read_after_one_that_matches_only_on_another_platform_or_has_no_urls(tmp_path, caplog):
    p = _journal(7, url="https://muse.jhu.edu/j")
    elsewhere = write_kbart(tmp_path / "A_JSTOR.txt", [_mens_row("https://www.jstor.org/j")])
    no_urls = write_kbart(tmp_path / "B_NO_URLS.txt", [_mens_row(None)])
    muse = write_kbart(tmp_path / "C_MUSE.txt", [_mens_row("https://muse.jhu.edu/j")])
    with caplog.at_level("INFO", logger="almaclean.p2e.cz_link"):
        found = run([p], [line("000000627")], cz_titles=[elsewhere, no_urls, muse]).cz_link_candidates
    assert found.select("cz_list", "match", "cz_host").rows() == [
        ("B_NO_URLS", MATCH_NO_PLATFORM + NEITHER_STATED, None), ("C_MUSE", MATCH_LINK, "muse.jhu.edu")]
    assert "A_JSTOR: 1 identifier matches on another platform are not link candidates" in caplog.messages


def test_each_pair_of_a_list_gets_its_own_verdict_whatever_the_number_of_pairs(tmp_path):
    # Three pairs and three verdict columns: the verdicts are rows, one per pair, never read as columns.
    issns, portfolios = press_journals(3, "00000069")
    for portfolio, statement in zip(portfolios, ("Available from 2001.", "Available from 1980.", None)):
        portfolio["coverage_statement"] = statement
    cz = write_kbart(tmp_path / "PRESS.txt", [
        {"publication_title": f"Journal {n}", "online_identifier": issns[n], "title_url": "https://press.example.org/",
         "date_first_issue_online": "1990" if n < 2 else ""} for n in range(3)])
    found = candidates_of(run(portfolios, [line(f"00000069{n}") for n in range(3)], cz_titles=[cz]))
    assert [(found[p["portfolio_id"]]["match"], found[p["portfolio_id"]]["p2e_coverage"]) for p in portfolios] == [
        (MATCH_LINK, "2001-now"), (MATCH_CHECK + PARTIAL, "1980-now"), (MATCH_LINK, "not stated")]


def test_a_local_collection_names_each_provider_and_domain_once_and_the_alma_steps():
    groups = pl.DataFrame({"group": ["G"] * 3, "provider": ["Gale", None, "Cengage"],
                           "domain": ["gale.com", "galegroup.com", "gale.com"], "portfolio_id": ["1", "2", "3"]})
    assert local_collections(groups).rows(named=True) == [
        {"group": "G", "provider": "Cengage; Gale", "domain": "gale.com; galegroup.com", "portfolios": 3,
         "portfolios_with_po_line": 0, "steps": LOCAL_COLLECTION_STEPS}]


def test_groups_keep_their_text_columns_when_no_p2e_portfolio_has_a_url():
    p2e = pl.DataFrame({"portfolio_id": ["1", "2"], "mms_id": ["91", "92"], "url": [None, None],
                        "p2e_url": [None, None], "p2e_provider": ["Gale", None]}, schema_overrides={
                            "url": pl.String, "p2e_url": pl.String})
    groups = local_groups(p2e)
    assert groups.schema == {c: pl.String for c in ("portfolio_id", "mms_id", "group", "host", "domain", "provider",
                                                    "url_without_proxy")}
    assert groups.select("group", "host", "domain", "provider").rows() == [("Gale", None, None, "Gale"),
                                                                           (NO_URL, None, None, None)]


def test_within_a_group_portfolios_are_in_portfolio_id_order_whatever_the_input_order():
    p2e = pl.DataFrame({"portfolio_id": ["53003", "53001", "53002"], "mms_id": ["993", "991", "992"],
                        "url": ["https://www.jstor.org/3", None, "https://www.jstor.org/2"],
                        "p2e_url": [None, "https://www.jstor.org/1", None], "p2e_provider": ["JSTOR"] * 3})
    assert local_groups(p2e).select("portfolio_id", "group").rows() == [
        ("53001", "JSTOR - jstor.org"), ("53002", "JSTOR - jstor.org"), ("53003", "JSTOR - jstor.org")]


# Match: the words of the evidence ---------------------------------------------------------------

def test_the_values_a_pair_shares_are_named_once_each_in_sorted_order():
    # A book's hardback, paperback, PDF and EPUB ISBNs, written in another order on each record.
    isbns = ["9780199512348", "9780674012349", "9780812212341", "9782268112343"]
    k = keeper("Les Visionnaires", isbn="; ".join([isbns[3], isbns[0], isbns[2], isbns[1]]), material_type="Book",
               collection="Classiques Garnier")
    p = p2e_portfolio("Les Visionnaires", "000000700", isbn="; ".join([isbns[2], isbns[3], isbns[1], isbns[0]]),
                      material_type="Book")
    row = run([k, p], [line("000000700", isbn=isbns[1])]).deletion_candidates.row(0, named=True)
    shared = "; ".join(f"ISBN {value}" for value in isbns)
    assert (row["portfolio_id"], row["shared"], row["verdict"]) == (p["portfolio_id"], shared, NEITHER_STATED)
    # Nothing of the P2E's is missing from the keeper: no "P2E only" part, not even an empty one.
    assert row["unshared"] is None
    assert row["evidence"].startswith(f"shared: {shared} | {NEITHER_STATED} | ")


def test_every_identifier_the_keeper_lacks_is_named_once_in_sorted_order():
    # The CZ record carries the e-ISBN only; the P2E its print ISBNs too, one edition (same year).
    isbns = ["9780199512348", "9780674012349", "9780812212341"]
    k = keeper("Les Visionnaires", isbn=isbns[1], material_type="Book", publication_date="2011",
               collection="Classiques Garnier")
    p = p2e_portfolio("Les Visionnaires", "000000703", isbn=f"{isbns[2]}; {isbns[1]}; {isbns[0]}",
                      material_type="Book", publication_date="2011")
    row = run([k, p], [line("000000703")]).deletion_candidates.row(0, named=True)
    unshared = f"ISBN {isbns[0]}; ISBN {isbns[2]}"
    assert (row["portfolio_id"], row["shared"], row["unshared"]) == (p["portfolio_id"], f"ISBN {isbns[1]}", unshared)
    assert row["evidence"].startswith(f"shared: ISBN {isbns[1]} | P2E only: {unshared} | {NEITHER_STATED} | ")


def test_deletion_candidates_keep_their_text_columns_when_no_p2e_portfolio_has_a_keeper():
    # An empty set is still a set file with its columns as text (an empty verdict column is no Null column).
    p = p2e_portfolio("Mens", "000000701", issn="1492-8647")
    result = run([p], [line("000000701")])
    assert result.deletion_candidates.height == 0
    assert dict(result.deletion_candidates.schema) == {c: pl.String for c in result.deletion_candidates.columns}


def test_a_keeper_bib_unrelated_to_two_tied_ones_still_makes_them_disagree():
    # JSTOR's and MUSE's bibs of one journal are tied by the online ISSN; the P2E also reaches an
    # unrelated journal: two titles among the keepers, so no keeper is chosen for it.
    jstor = keeper("The Eugene O'Neill Review", issn="1040-9483; 2161-4318")
    muse = keeper("Eugene O'Neill Review", issn="2161-4318; 1522-8339", collection="Project MUSE Premium")
    other = keeper("Urban History Review", issn="0703-0428", collection="Erudit")
    p = p2e_portfolio("Eugene O'Neill review", "000000702", issn="1040-9483; 1522-8339; 0703-0428")
    result = run([jstor, muse, other, p], [line("000000702")])
    assert result.deletion_candidates.height == 0
    rows = result.review.filter(pl.col("portfolio_id") == p["portfolio_id"])
    assert rows["reason"].to_list() == [DISAGREE]
    assert set(rows["candidate_keepers"][0].split("; ")) == {k["portfolio_id"] for k in (jstor, muse, other)}


def test_a_p2e_portfolio_without_a_title_is_compared_by_its_p2e_line_s_title():
    k = keeper("Urban History Review", issn="0703-0428; 1918-5138", material_type="Journal")
    p = p2e_portfolio(None, "000000704", issn="0703-0428", material_type="Journal")
    result = run([k, p], [line("000000704", title="Journal of Forensic Economics")])
    assert result.deletion_candidates.height == 0
    assert review_reason(result, p["portfolio_id"]) == (
        f"{DIFFERENT_TITLE}: ISSN 0703-0428 shared; titles Journal of Forensic Economics and Urban History Review")


def test_a_review_shows_the_unavailable_cz_portfolio_before_a_local_one_whatever_their_ids():
    # The local portfolio has the smaller id; the review names and shows the CZ-linked one first.
    local = keeper("Mens (local record)", issn="1492-8647", portfolio_linked_to_cz="N",
                   url="https://local.example.edu/mens", coverage_statement="Available from 1990.")
    unavailable = keeper("Mens", issn="1492-8647", availability="Not Available", collection="Erudit",
                         url="https://www.erudit.org/fr/revues/mens/", coverage_statement="Available from 2000.")
    assert local["portfolio_id"] < unavailable["portfolio_id"]
    p = p2e_portfolio("Mens", "000000705", issn="1492-8647")
    row = run([local, unavailable, p], [line("000000705")]).review.filter(
        pl.col("portfolio_id") == p["portfolio_id"]).row(0, named=True)
    assert (row["reason"], row["candidate_keepers"]) == (NOT_AVAILABLE, unavailable["portfolio_id"])
    assert (row["keep_title"], row["keep_url"], row["keep_coverage"]) == (
        "Mens", "https://www.erudit.org/fr/revues/mens/", "Available from 2000.")


def test_a_ready_relink_says_why_its_p2e_portfolio_is_a_duplicate():
    # The P2E portfolio is a deletion waiting only on its PO line: the relink row carries the verdict.
    k = keeper("Mens", issn="1492-8647", coverage_statement="Available from 1990.")
    p = p2e_portfolio("Mens", "000000706", issn="1492-8647", coverage_statement="Available from 2001.",
                      po_line="POL-706")
    result = run([k, p], [line("000000706")], [{"po_line": "POL-706", "status": "ACTIVE"}])
    row = result.pol_relinks.row(0, named=True)
    assert (row["decision"], row["reason"], row["blocked_reason"], row["target_portfolio_id"]) == (
        "delete", CONTAINED, None, k["portfolio_id"])


# Titles -------------------------------------------------------------------------------------------

TITLE_MATCH_SCHEMA = {"id": pl.String, "candidate_ids": pl.List(pl.String), "best_score": pl.Float64}


def _titled(ids: list[str], titles: list[str | None], years: list[int | None]) -> pl.DataFrame:
    return pl.DataFrame({"id": ids, "title": titles, "year": years},
                        schema={"id": pl.String, "title": pl.String, "year": pl.Int32})


def test_title_matches_have_the_same_columns_whether_or_not_anything_matches():
    queries = _titled(["1"], ["Native Plants Journal"], [2001])
    found = title_matches(queries, _titled(["2"], ["Native plants journal"], [2001]))
    assert dict(found.schema) == TITLE_MATCH_SCHEMA and found.rows() == [("1", ["2"], 100.0)]
    nothing = title_matches(queries, _titled(["3"], ["Urban History Review"], [2001]))
    assert dict(nothing.schema) == TITLE_MATCH_SCHEMA and nothing.height == 0


@pytest.mark.parametrize(("title", "key"), [
    ("Œuvres complètes", "oeuvres completes"), ("Oeuvres completes", "oeuvres completes"),   # ligature or not
    ("Cæsar's Gallic War", "caesar s gallic war"), ("Straße und Weg", "strasse und weg"),
    ("The Eugene O'Neill Review", "eugene o neill review"), ("L'Année philologique", "annee philologique"),
    ("Les Visionnaires - Comédie", "visionnaires comedie"), ("Die Zeit", "zeit"),
    ("Theatre Survey", "theatre survey"),                     # an article only as a whole word
    ("Ency\u00adclo\u200bpedia of\ufeff Things", "encyclopedia of things"),   # soft hyphen, zero-width space, BOM
    (" -- ", None), (None, None),
])
def test_a_title_key_folds_case_accents_ligatures_punctuation_and_a_leading_article(title, key):
    frame = pl.DataFrame({"title": [title]}, schema={"title": pl.String})
    assert frame.select(title_key("title")).item() == key


@pytest.mark.parametrize(("first", "second", "differ"), [
    ("Mens", "Mens : revue d'histoire intellectuelle", False),        # all of the shorter title's words
    ("Financial Education", "Les Devoirs du prince - L'éducation princière", True),   # one word of two
    ("Native Plants Journal", "Les Visionnaires", True),                                 # none
    ("Mens", "Urban History Review", True),                           # a one-word title too
    ("The", "Native Plants Journal", False),                          # only small words: nothing to compare
    ("Journal of Film and Video", "Film & Video", False),             # small words and "&" left out
    ("Native Plants Journal", None, False), (None, None, False),      # a missing title says nothing
])
def test_titles_differ_when_at_most_half_the_shorter_title_s_words_are_in_the_other_either_way(first, second, differ):
    for a, b in ((first, second), (second, first)):
        frame = pl.DataFrame({"title": [a], "keep_title": [b]}, schema={"title": pl.String, "keep_title": pl.String})
        assert with_titles_differ(frame, "title", "keep_title")["differ"].to_list() == [differ], (a, b)


def test_a_title_differing_after_its_first_two_significant_words_is_still_compared():
    # Blocks are the first two significant words: a misspelt third word still meets its keeper.
    k = keeper("The Eugene O'Neill Review", issn="1040-9483")
    p = p2e_portfolio("Eugene O'Neil Review", "000000707")
    result = run([k, p], [line("000000707")])
    assert review_reason(result, p["portfolio_id"]) == TITLE_ONLY
    assert result.review.filter(pl.col("portfolio_id") == p["portfolio_id"])["candidate_keepers"].to_list() == [
        k["portfolio_id"]]


def test_a_title_only_match_names_at_most_five_candidates_the_smallest_ids_first():
    # Seven records of one title, of three publication years: five candidates named in all.
    keepers = [keeper("Théâtre complet. Tome I", collection=f"Garnier {n}", publication_date=str(2014 + n % 3))
               for n in range(7)]
    p = p2e_portfolio("Theatre complet, tome I", "000000708")
    result = run([*keepers, p], [line("000000708")])
    assert review_reason(result, p["portfolio_id"]) == TITLE_ONLY
    assert result.review.filter(pl.col("portfolio_id") == p["portfolio_id"])["candidate_keepers"].to_list() == [
        "; ".join(sorted(k["portfolio_id"] for k in keepers)[:5])]


def test_a_title_scoring_exactly_the_cutoff_is_similar_and_just_below_it_is_not():
    score = fuzz.token_sort_ratio("native plants journal", "native plants journals")
    queries = _titled(["1"], ["Native Plants Journal"], [None])
    candidates = _titled(["2"], ["Native Plants Journals"], [None])
    assert title_matches(queries, candidates, cutoff=score).rows() == [("1", ["2"], score)]
    assert title_matches(queries, candidates, cutoff=score + 0.01).height == 0


@pytest.mark.parametrize(("year", "candidate_year", "similar"), [
    (2014, 2015, True), (2016, 2015, True), (2013, 2015, False), (2017, 2015, False),   # within one year
    (None, 2015, True), (2015, None, True), (None, None, True),      # a year missing on one side does not block
])
def test_similar_titles_must_be_published_within_a_year_of_each_other_when_both_say(year, candidate_year, similar):
    found = title_matches(_titled(["1"], ["Théâtre complet. Tome I"], [year]),
                          _titled(["2"], ["THEATRE COMPLET, tome I"], [candidate_year]))
    assert found["candidate_ids"].to_list() == ([["2"]] if similar else [])


def test_title_candidates_come_best_score_first_then_by_id():
    queries = _titled(["1"], ["Native Plants Journal"], [None])
    candidates = _titled(["2", "3", "4"], ["Native Plants Journals", "Native plants journal", "Native Plants Journal."],
                         [None] * 3)
    assert title_matches(queries, candidates).rows() == [("1", ["3", "4", "2"], 100.0)]


# Classify ---------------------------------------------------------------------------------------

def test_only_a_portfolio_both_local_and_standalone_is_p2e_whatever_its_legacy_number():
    in_collection = keeper("Mens", portfolio_linked_to_cz="N", network_number="(EDU01)000555556")
    cz_standalone = keeper("Mens", collection_id=None, collection_name=None, interface_name=None,
                           network_number="(EDU01)000555557")
    p2e = p2e_portfolio("Mens", "000555558")
    result = run([in_collection, cz_standalone, p2e], [line("000555556"), line("000555557"), line("000555558")])
    assert result.counts["p2e_portfolios"] == 1
    assert sorted(result.unmatched_lines["legacy_id"].to_list()) == ["000555556", "000555557"]
    assert result.not_in_p2e.height == 0


def test_a_portfolio_id_on_two_differing_local_rows_is_one_review_row_the_first_row_s():
    first = p2e_portfolio("Mens", "000000709", issn="1492-8647")
    second = {**first, "title": "Mens (second row)", "url": "https://www.erudit.org/fr/revues/mens/"}
    result = run([first, second], [line("000000709")])
    assert result.deletion_candidates.height == 0
    rows = result.review.filter(pl.col("portfolio_id") == first["portfolio_id"])
    assert rows.select("reason", "title").rows() == [(REPEATED_ID_REASON, "Mens")]


def test_a_p2e_line_without_a_type_is_a_portfolio_line_and_agrees_with_one_that_says_so():
    k = keeper("Mens", issn="1492-8647")
    p = p2e_portfolio("Mens", "000000710", issn="1492-8647")
    result = run([k, p], [line("000000710"), line("000000710", p2e_type=None)])
    assert result.deletion_candidates["portfolio_id"].to_list() == [p["portfolio_id"]]
    assert result.review.height == 0


def test_a_p2e_legacy_number_is_read_as_one_number_not_as_an_035_cell():
    # An 035 cell skips bare OCLC-looking values; a P2E file's legacy number is one number, kept whole.
    p = p2e_portfolio("Mens", "on1234567")
    result = run([p], [line("on1234567")])
    assert result.counts["p2e_portfolios"] == 1 and result.unmatched_lines.height == 0


def test_p2e_lines_without_row_numbers_are_named_by_their_content_alone_in_a_conflict():
    # A P2E frame from elsewhere than a file read (the store, a test) has no row numbers: each
    # disagreeing line is then named by what it says, with nothing made up before it.
    p = p2e_portfolio("Mens", "000000730", issn="1492-8647")
    result = run([keeper("Mens", issn="1492-8647"), p],
                 [line("000000730"), line("000000730", p2e_type="database")])
    assert review_reason(result, p["portfolio_id"]) == (
        f"{CONFLICT}: (000000730, database) and (000000730, portfolio); which one migration used cannot be told "
        "from the file: check the record in Alma and decide by hand")


def test_a_line_repeated_word_for_word_is_named_once_in_a_conflict_by_its_first_row():
    p = p2e_portfolio("Mens", "000000731", issn="1492-8647")
    result = run([keeper("Mens", issn="1492-8647"), p],
                 [line("000000731", row=1), line("000000731", p2e_type="database", row=2), line("000000731", row=3)])
    assert review_reason(result, p["portfolio_id"]) == (
        f"{CONFLICT}: row 1 (000000731, portfolio) and row 2 (000000731, database); which one migration used cannot "
        "be told from the file: check the record in Alma and decide by hand")


def test_two_legacy_numbers_of_one_bib_whose_lines_say_the_same_are_no_conflict():
    # A merged bib carries the legacy numbers of both old records; P2E lines that agree in every
    # field but the number agree: the duplicate is deleted, not sent to review.
    p = p2e_portfolio("Mens", "000000732", issn="1492-8647",
                      network_number="(OCoLC)12345; (EDU01)000000732; (EDU01)000000733")
    result = run([keeper("Mens", issn="1492-8647"), p],
                 [line("000000732", row=1), line("000000733", row=2)])
    assert result.review.height == 0
    assert deleted(result) == {p["portfolio_id"]}


@given(st.sampled_from(["Native Plants Journal", "The Eugene O'Neill Review", "Œuvres complètes", "Mens",
                        "Journal of Film and Video"]),
       st.lists(st.tuples(st.integers(0, 40), st.sampled_from(["\u00ad", "\u200b", "\ufeff", "\u200c", "\u2060"])),
                max_size=4))
def test_invisible_format_characters_anywhere_in_a_title_never_change_its_key(title, insertions):
    written = title
    for position, character in insertions:
        position = min(position, len(written))
        written = written[:position] + character + written[position:]
    frame = pl.DataFrame({"title": [title, written]})
    plain, disguised = frame.select(title_key("title")).to_series().to_list()
    assert disguised == plain
