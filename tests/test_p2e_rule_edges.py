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
    p = p2e_portfolio("A book", "000000405", isbn="9781111111113", publication_date="2013")
    result = run([k, p], [line("000000405")])
    assert review_reason(result, p["portfolio_id"]) == (
        f"{EDITION_YEARS}: ISBN 9781111111113 shared, P2E bib published 2013, keeper bib 2015")
