"""Edges of the P2E rules: how cells read as CZ links, availability and standalone, every
coverage verdict, several rules not checked at once, and the edition year boundary."""
from __future__ import annotations

import polars as pl
import pytest

from almaclean.p2e.classify import PO_LINE_COLUMNS, flag_portfolios, with_columns
from almaclean.p2e.match import (
    CONTAINED, EDITION_YEARS, NEITHER_STATED, NOT_AVAILABLE, NOT_CHECKED, ONE_SIDED, coverage_verdict,
    not_checked_rules,
)
from test_p2e_evidence import without
from test_p2e_rules import deleted, keeper, line, p2e_portfolio, review_reason, run


@pytest.mark.parametrize(("cell", "linked"), [("Y", True), ("yes", True), ("TRUE", True), ("1", True),
                                              (" y ", True), ("N", False), ("No", False), (None, False)])
def test_cz_link_cells(cell, linked):
    frame = pl.DataFrame({"portfolio_linked_to_cz": [cell]}, schema={"portfolio_linked_to_cz": pl.String})
    flagged = flag_portfolios(frame)
    assert flagged.item(0, "cz_linked") is linked


@pytest.mark.parametrize(("cell", "available"), [("Available", True), ("ACTIVE", True), ("active", True),
                                                 ("Not Available", False), ("INACTIVE", False), (None, False)])
def test_availability_cells(cell, available):
    flagged = flag_portfolios(pl.DataFrame({"availability": [cell]}, schema={"availability": pl.String}))
    assert flagged.item(0, "available") is available


@pytest.mark.parametrize(("standalone", "collection", "expected"),
                         [(None, None, True), (None, "Erudit", False), ("Yes", "Erudit", True), ("No", None, False)])
def test_standalone_from_its_column_else_from_having_no_collection(standalone, collection, expected):
    frame = pl.DataFrame({"is_standalone": [standalone], "collection_name": [collection]},
                         schema={"is_standalone": pl.String, "collection_name": pl.String})
    assert flag_portfolios(frame).item(0, "standalone") is expected


def test_keeper_with_an_empty_availability_cell_is_not_a_keeper():
    k = keeper("Mens", issn="1492-8647", availability=None)
    p = p2e_portfolio("Mens", "000000401", issn="1492-8647")
    result = run([k, p], [line("000000401")])
    assert deleted(result) == set() and review_reason(result, p["portfolio_id"]) == NOT_AVAILABLE


def test_a_portfolio_with_an_empty_cz_link_cell_is_local():
    k = keeper("Mens", issn="1492-8647", portfolio_linked_to_cz=None)
    p = p2e_portfolio("Mens", "000000402", issn="1492-8647")
    result = run([k, p], [line("000000402")])
    assert deleted(result) == set() and result.counts["keepers"] == 0


def test_with_columns_adds_missing_columns_as_text():
    assert with_columns(None, PO_LINE_COLUMNS).schema == {c: pl.String for c in PO_LINE_COLUMNS}
    partial = with_columns(pl.DataFrame({"po_line": ["POL-1"]}), ("po_line", "status"))
    assert partial.schema == {"po_line": pl.String, "status": pl.String} and partial.row(0) == ("POL-1", None)


@pytest.mark.parametrize(
    ("keeper_text", "p2e_text", "verdict"),
    [(None, None, NEITHER_STATED), ("Available from 1990.", None, ONE_SIDED), (None, "Available from 1990.", ONE_SIDED),
     ("Available from 1990.", "Available from 1991.", CONTAINED)],
)
def test_coverage_verdicts(keeper_text, p2e_text, verdict):
    assert coverage_verdict(keeper_text, p2e_text) == verdict


def test_keeper_coverage_stated_p2e_unstated_is_review():
    k = keeper("Mens", issn="1492-8647", coverage_statement="Available from 1990.")
    p = p2e_portfolio("Mens", "000000403", issn="1492-8647")
    result = run([k, p], [line("000000403")])
    assert review_reason(result, p["portfolio_id"]) == ONE_SIDED


def test_every_rule_not_checked_is_named_in_the_reason():
    k = keeper("Mens", issn="1492-8647")
    p = p2e_portfolio("Mens", "000000404", issn="1492-8647")
    result = run([k, p], [line("000000404")], present=without("portfolios", "coverage_statement", "availability"))
    assert review_reason(result, p["portfolio_id"]) == (
        f"{NOT_CHECKED} (coverage): the portfolio export has no 'Coverage Statement' column; "
        f"{NOT_CHECKED} (availability): the portfolio export has no 'Availability' column")


def test_an_input_not_named_at_all_has_no_columns():
    assert set(not_checked_rules({})) == {"coverage", "availability", "collection", "CZ link", "publication year",
                                          "PO lines"}


def test_publication_years_two_apart_are_another_edition():
    k = keeper("A book", isbn="9781111111113", publication_date="2015", collection="Classiques Garnier")
    p = p2e_portfolio("A book", "000000405", isbn="9781111111113; 9784444444446", publication_date="2013")
    result = run([k, p], [line("000000405")])
    assert review_reason(result, p["portfolio_id"]) == (
        f"{EDITION_YEARS}: ISBN 9781111111113 shared, the P2E also has ISBN 9784444444446; "
        "P2E bib published 2013, keeper bib 2015")


def test_equally_good_keepers_the_smallest_portfolio_id_is_kept_and_the_others_listed():
    a, b, c = (keeper("Mens", issn="1492-8647", collection=name) for name in ("Erudit", "JSTOR", "MUSE"))
    p = p2e_portfolio("Mens", "000000406", issn="1492-8647")
    for order in ([a, b, c, p], [c, b, a, p]):
        row = run(order, [line("000000406")]).deletion_candidates.row(0, named=True)
        assert row["keep_portfolio_id"] == a["portfolio_id"]
        assert row["other_keepers"] == f"{b['portfolio_id']}; {c['portfolio_id']}"


def test_several_junk_or_invalid_values_are_all_named():
    keepers = [keeper(f"Unrelated title number {n}", issn="0000-0000; 0000-0019") for n in range(6)]
    junk = p2e_portfolio("Yet another title", "000000407", issn="0000-0000; 0000-0019")
    invalid = p2e_portfolio("Native Plants Journal", "000000408", issn="1552-8339; 1552-8330")
    result = run([*keepers, junk, invalid], [line("000000407"), line("000000408")], junk_threshold=5)
    assert review_reason(result, junk["portfolio_id"]) == "junk identifier: 0000-0000 (7 titles); 0000-0019 (7 titles)"
    assert review_reason(result, invalid["portfolio_id"]) == "invalid identifier: 1552-8330; 1552-8339"


def test_a_valid_identifier_that_reaches_no_keeper_beside_an_invalid_one_is_no_duplicate():
    k = keeper("Native Plants Journal", issn="1522-8339")
    p = p2e_portfolio("Local annual report", "000000409", issn="1492-8647; 1552-8339")
    result = run([k, p], [line("000000409")])
    assert result.review.height == 0
    assert result.groups["portfolio_id"].to_list() == [p["portfolio_id"]]


def test_keeper_not_available_names_it_as_the_candidate():
    k = keeper("Mens", issn="1492-8647", availability="Not Available")
    p = p2e_portfolio("Mens", "000000410", issn="1492-8647")
    result = run([k, p], [line("000000410")])
    assert result.review.row(0, named=True)["candidate_keepers"] == k["portfolio_id"]
