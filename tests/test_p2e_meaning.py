"""P2E decisions from what Alma's data means: one test per rule, on small hand-built frames,
asserting the decision and its reason (the cases seen, and neighbours of the same class)."""
from __future__ import annotations

import json

import polars as pl
import pytest

from almaclean.p2e.analyse import COPY_FIRST_COLUMNS
from almaclean.p2e.classify import CONFLICT
from almaclean.p2e.localdata import COPY_FIRST_REASON, LOCAL_NOT_CHECKED, ExtraCells
from almaclean.p2e.match import (
    CONTAINED, COVERAGE_RULE, LOCAL_KEEPER, NOT_CHECKED, PARTIAL,
)
from almaclean.outputs.p2e_report import write_report
from test_p2e_evidence import without
from test_p2e_rules import deleted, keeper, line, p2e_portfolio, review_reason, run


def decision_of(result, portfolio_id: str) -> str:
    if portfolio_id in deleted(result):
        return "delete"
    if portfolio_id in set(result.copy_first["portfolio_id"]):
        return "copy first"
    if portfolio_id in set(result.review["portfolio_id"]):
        return "review"
    if portfolio_id in set(result.pol_relinks["portfolio_id"]):
        return "relink"
    if portfolio_id in set(result.groups["portfolio_id"]):
        return "no duplicate"
    raise AssertionError(f"{portfolio_id} is in no bucket")


# Nothing local lost --------------------------------------------------------------------------------

@pytest.mark.parametrize(("column", "value", "what"), [
    ("public_note", "Law School users only, 3 simultaneous users", "public note"),
    ("authentication_note", "Use your campus login", "authentication note"),
    ("internal_description", "Bought with the 2004 gift fund", "internal description"),
    ("license_name", "Law School licence 2019", "licence"),
    ("license_code", "LIC-2019-004", "licence code"),
    ("proxy_enabled", "Yes", "proxy enabled"),
    ("proxy_selected", "EZproxy law", "proxy selected"),
    ("available_for_group", "Law School", "available for group"),
])
def test_local_data_of_the_p2e_is_copied_to_the_keeper_first_never_deleted(tmp_path, column, value, what):
    k = keeper("Mens", issn="1492-8647")
    p = p2e_portfolio("Mens", "000000501", issn="1492-8647", **{column: value})
    result = run([k, p], [line("000000501")])
    assert deleted(result) == set()
    row = result.copy_first.row(0, named=True)
    assert (row["portfolio_id"], row["keep_portfolio_id"], row["what"], row["value"]) == (
        p["portfolio_id"], k["portfolio_id"], what, value)
    assert result.counts["copy_first"] == 1
    write_report(result, tmp_path)
    assert not any(p["portfolio_id"] in f.read_text() for f in (tmp_path / "deletion-sets").glob("*.csv"))
    copied = (tmp_path / "copy_to_keeper.csv").read_text(encoding="utf-8-sig")
    assert p["portfolio_id"] in copied and value in copied


@pytest.mark.parametrize("flag", ["No", "N", "false", "0", " ", None])
def test_a_proxy_flag_left_at_no_is_no_local_data(flag):
    k = keeper("Mens", issn="1492-8647")
    p = p2e_portfolio("Mens", "000000502", issn="1492-8647", proxy_enabled=flag)
    assert deleted(run([k, p], [line("000000502")])) == {p["portfolio_id"]}


def test_local_data_on_a_review_row_is_shown_beside_its_reason():
    k = keeper("Mens", issn="1492-8647", coverage_statement="Available from 2001.")
    p = p2e_portfolio("Mens", "000000503", issn="1492-8647", coverage_statement="Available from 1990.",
                      public_note="Law School users only")
    result = run([k, p], [line("000000503")])
    row = result.review.filter(pl.col("portfolio_id") == p["portfolio_id"]).row(0, named=True)
    assert row["reason"] == PARTIAL and row["local_data"] == "public note 'Law School users only'"


def test_the_decision_row_says_why_it_is_copied_first():
    k = keeper("Mens", issn="1492-8647")
    p = p2e_portfolio("Mens", "000000504", issn="1492-8647", public_note="3 simultaneous users")
    result = run([k, p], [line("000000504")], )
    assert result.copy_first["steps"][0].startswith("1. Open the keeper portfolio")
    assert COPY_FIRST_REASON.startswith("the P2E portfolio has local data of its own")


def test_an_additional_po_line_guards_like_the_main_one():
    k = keeper("Mens", issn="1492-8647")
    p = p2e_portfolio("Mens", "000000505", issn="1492-8647", additional_po_lines="POL-505")
    result = run([k, p], [line("000000505")])
    assert deleted(result) == set()
    relink = result.pol_relinks.row(0, named=True)
    assert (relink["po_line"], relink["source"], relink["target_portfolio_id"]) == (
        "POL-505", "portfolio export (additional PO lines)", k["portfolio_id"])
    assert p["portfolio_id"] in set(result.po_linked_ids)
    # the PO-line rule counts it as PO-line evidence
    only = without("portfolios", "po_line") | {"p2e": frozenset(), "po-lines": frozenset()}
    assert run([k, p], [line("000000505")], present=only).po_lines_checked


def test_unrecognised_columns_are_judged_by_name_and_content():
    k = keeper("Mens", issn="1492-8647")
    noted = p2e_portfolio("Mens", "000000506", issn="1492-8647")
    plain = p2e_portfolio("Mens", "000000507", issn="1492-8647")
    cells = pl.DataFrame({"portfolio_id": [noted["portfolio_id"], plain["portfolio_id"]],
                          "header": ["Local Access Restriction", "Subjects"], "value": ["Law only", "History"]})
    extra = ExtraCells(("Local Access Restriction", "Subjects", "Empty Column"),
                       lambda ids: cells.join(pl.DataFrame({"portfolio_id": ids}), on="portfolio_id", how="semi"))
    result = run([k, noted, plain], [line("000000506"), line("000000507")], extra=extra)
    assert deleted(result) == {plain["portfolio_id"]}  # "Subjects" is description, lost with the bib as intended
    assert review_reason(result, noted["portfolio_id"]).startswith(
        f"{LOCAL_NOT_CHECKED}: column 'Local Access Restriction' holds 'Law only'")
    caveats = dict((text.split(":")[0], text) for item, text in result.caveats if item == "not recognised")
    assert "nothing to lose" in caveats["column 'Empty Column'"]
    assert "bibliographic description" in caveats["column 'Subjects'"]


@pytest.mark.parametrize("nothing", ["\u200b", "\ufeff", " \u00a0\u200b ", "\u00ad"])
def test_a_cell_holding_only_invisible_characters_is_no_local_data_and_no_value(nothing):
    """A public note or an unrecognised local-looking column holding only a zero-width space, a byte
    order mark or a soft hyphen sets nothing: the P2E portfolio is deleted, the column is empty."""
    k = keeper("Mens", issn="1492-8647")
    p = p2e_portfolio("Mens", "000000509", issn="1492-8647", public_note=nothing)
    cells = pl.DataFrame({"portfolio_id": [p["portfolio_id"]], "header": ["Local Access Restriction"],
                          "value": [nothing]})
    extra = ExtraCells(("Local Access Restriction",),
                       lambda ids: cells.join(pl.DataFrame({"portfolio_id": ids}), on="portfolio_id", how="semi"))
    result = run([k, p], [line("000000509")], extra=extra)
    assert deleted(result) == {p["portfolio_id"]}
    caveats = dict((text.split(":")[0], text) for item, text in result.caveats if item == "not recognised")
    assert "nothing to lose" in caveats["column 'Local Access Restriction'"]


def test_local_data_columns_the_export_lacks_are_said_and_do_not_block():
    k = keeper("Mens", issn="1492-8647")
    p = p2e_portfolio("Mens", "000000508", issn="1492-8647")
    result = run([k, p], [line("000000508")], present=without("portfolios", "public_note", "license_code"))
    assert deleted(result) == {p["portfolio_id"]}
    said = [text for item, text in result.caveats if item == NOT_CHECKED]
    assert said and "'Portfolio Public Note'" in said[0] and "'License Code'" in said[0]


# No false twin ------------------------------------------------------------------------------------

def test_a_book_sharing_only_its_series_issn_is_not_deleted_against_the_series():
    series = keeper("Lecture Notes in Computer Science", issn="0302-9743", material_type="Journal")
    other_volume = keeper("Algorithms - ESA 2005", isbn="9783540291183", issn="0302-9743", material_type="Book")
    book = p2e_portfolio("Graph Drawing [electronic resource]", "000000510", isbn="9783540245285",
                         issn="0302-9743", material_type="Book")
    result = run([series, other_volume, book], [line("000000510")])
    assert deleted(result) == set()
    assert decision_of(result, book["portfolio_id"]) == "no duplicate"  # a series ISSN is no evidence at all


def test_no_deletion_across_material_types():
    journal = keeper("Annual Review of Example", isbn="9781111111113", material_type="Journal")
    book = p2e_portfolio("Annual review of example", "000000511", isbn="9781111111113", material_type="Book")
    result = run([journal, book], [line("000000511")])
    assert deleted(result) == set() and decision_of(result, book["portfolio_id"]) != "delete"


def test_without_a_material_type_a_record_with_an_isbn_is_a_book():
    series = keeper("Lecture Notes in Computer Science", issn="0302-9743")
    book = p2e_portfolio("Graph Drawing", "000000512", isbn="9783540245285", issn="0302-9743")
    assert deleted(run([series, book], [line("000000512")])) == set()


# Needless review -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("column", "keeper_value", "written", "shared"), [
    ("issn", "1492-8647", "１４９２－８６４７", "ISSN 1492-8647"),                 # full-width forms
    ("issn", "1492-8647", "1492-8647\u200b", "ISSN 1492-8647"),                  # a zero-width space
    ("isbn", "9780306406157", "0-306-40615-2 (pbk.) :", "ISBN 9780306406157"),   # ISBD punctuation
    ("isbn", "978-0-306-40615-7", "ISBN 978-0-306-40615-7 /", "ISBN 9780306406157"),
    ("isbn", "9780306406157", "0306406152 (pbk.) : $10.00", "ISBN 9780306406157"),   # MARC 020 $q and $c
    ("isbn", "9780306406157", "9780306406157 (v. 1)", "ISBN 9780306406157"),          # a qualifier with a digit
    ("issn", "1492-8647", "Online ISSN: 1492-8647", "ISSN 1492-8647"),                # a label
    ("issn", "1492-8647", "(1492-8647)", "ISSN 1492-8647"),                           # in parentheses
])
def test_an_identifier_written_otherwise_is_the_same_identifier_not_an_invalid_one(column, keeper_value, written,
                                                                                  shared):
    k = keeper("Mens", **{column: keeper_value})
    p = p2e_portfolio("Mens", "000000701", **{column: written})
    result = run([k, p], [line("000000701")])
    assert decision_of(result, p["portfolio_id"]) == "delete"
    row = result.deletion_candidates.row(0, named=True)
    assert (row["keep_portfolio_id"], row["shared"], row["unshared"]) == (k["portfolio_id"], shared, None)



@pytest.mark.parametrize("written", ["Print: 0898-5510 Online: 1492-8647", "(0898-5510 1492-8647)",
                                     "0898-5510 (1492-8647)", "ISSN 0898-5510 1492-8647"])
def test_a_cell_of_two_labelled_or_wrapped_issns_is_read_as_both_not_as_one_invalid_value(written):
    k = keeper("Mens", issn="1492-8647")
    p = p2e_portfolio("Mens", "000000702", issn=written)
    result = run([k, p], [line("000000702")])
    assert decision_of(result, p["portfolio_id"]) == "delete"
    row = result.deletion_candidates.row(0, named=True)
    assert (row["keep_portfolio_id"], row["shared"], row["unshared"]) == (k["portfolio_id"], "ISSN 1492-8647",
                                                                          "ISSN 0898-5510")


# Coverage -----------------------------------------------------------------------------------------

def test_a_keeper_starting_at_issue_3_does_not_contain_a_p2e_from_issue_1():
    k = keeper("Mens", issn="1492-8647", coverage_statement="Available from 1998 volume: 1 issue: 3.")
    p = p2e_portfolio("Mens", "000000520", issn="1492-8647", coverage_statement="Available from 1998 volume: 1 issue: 1.")
    result = run([k, p], [line("000000520")])
    assert review_reason(result, p["portfolio_id"]) == PARTIAL


def test_a_p2e_inside_the_second_range_of_a_keeper_with_a_gap_is_contained():
    k = keeper("Mens", issn="1492-8647",
               coverage_statement="Available from 1980 until 1999. Available from 2005.")
    p = p2e_portfolio("Mens", "000000521", issn="1492-8647", coverage_statement="Available from 2008.")
    across = p2e_portfolio("Mens", "000000522", issn="1492-8647", coverage_statement="Available from 1995 until 2008.")
    result = run([k, p, across], [line("000000521"), line("000000522")])
    assert deleted(result) == {p["portfolio_id"]}
    assert result.deletion_candidates["verdict"].to_list() == [CONTAINED]
    assert review_reason(result, across["portfolio_id"]) == PARTIAL


@pytest.mark.parametrize(("keeper_text", "p2e_text", "unread"), [
    ("2000 - 2005 (print only)", "1990 - 2010", "the keeper's coverage statement '2000 - 2005 (print only)'"),
    ("Available from 2000 until 2005.", "voir la note", "the P2E coverage statement 'voir la note'"),
    ("Only local", "Only local",
     "the keeper's coverage statement 'Only local' nor the P2E coverage statement 'Only local'"),
])
def test_coverage_text_that_cannot_be_read_is_not_checked_never_neither(keeper_text, p2e_text, unread):
    k = keeper("Mens", issn="1492-8647", coverage_statement=keeper_text)
    p = p2e_portfolio("Mens", "000000523", issn="1492-8647", coverage_statement=p2e_text)
    result = run([k, p], [line("000000523")])
    assert deleted(result) == set()
    # the reason names the side and the text a librarian has to read
    assert review_reason(result, p["portfolio_id"]) == f"{NOT_CHECKED} ({COVERAGE_RULE}): almaclean cannot read {unread}"


@pytest.mark.parametrize("p2e_text", ["1990 - 2010", "Disponible à partir de 1990 jusqu'à 2010."])
def test_plain_ranges_and_french_wording_are_read_and_compared(p2e_text):
    k = keeper("Mens", issn="1492-8647", coverage_statement="Available from 2000 until 2005.")
    p = p2e_portfolio("Mens", "000000524", issn="1492-8647", coverage_statement=p2e_text)
    result = run([k, p], [line("000000524")])
    assert deleted(result) == set() and review_reason(result, p["portfolio_id"]) == PARTIAL
    inside = p2e_portfolio("Mens", "000000525", issn="1492-8647", coverage_statement="2001 - 2004")
    assert deleted(run([k, inside], [line("000000525")])) == {inside["portfolio_id"]}


# Keepers as Alma sees them ------------------------------------------------------------------------

def test_a_local_portfolio_in_an_electronic_collection_is_a_keeper_candidate_for_review():
    local = keeper("Mens", issn="1492-8647", portfolio_linked_to_cz="N", is_standalone="No",
                   collection="Erudit Revues")
    p = p2e_portfolio("Mens", "000000530", issn="1492-8647")
    result = run([local, p], [line("000000530")])
    assert deleted(result) == set() and p["portfolio_id"] not in set(result.groups["portfolio_id"])
    assert review_reason(result, p["portfolio_id"]) == LOCAL_KEEPER
    assert result.review.filter(pl.col("portfolio_id") == p["portfolio_id"])["candidate_keepers"].to_list() == [
        local["portfolio_id"]]


@pytest.mark.parametrize("local", [
    {"is_standalone": "No", "collection_id": None, "collection_name": None, "interface_name": None},  # in no collection
    {"is_standalone": "Yes"},  # standalone, whatever collection it names
])
def test_a_local_portfolio_outside_an_electronic_collection_is_no_keeper_candidate(local):
    other = keeper("Mens", issn="1492-8647", portfolio_linked_to_cz="N", **local)
    p = p2e_portfolio("Mens", "000000532", issn="1492-8647")
    result = run([other, p], [line("000000532")])
    assert result.review.height == 0 and result.groups["portfolio_id"].to_list() == [p["portfolio_id"]]


def test_the_set_readme_and_next_steps_name_the_keeper_collections_to_check(tmp_path):
    k = keeper("Mens", issn="1492-8647", collection="Erudit Revues")
    p = p2e_portfolio("Mens", "000000531", issn="1492-8647")
    write_report(run([k, p], [line("000000531")]), tmp_path)
    readme = (tmp_path / "deletion-sets" / "README.txt").read_text(encoding="utf-8")
    assert "activated and available (the guide's step 2" in readme and "  Erudit Revues: 1" in readme
    assert "Admin > Monitor Jobs > History" in readme and "(the guide's step 10)" in readme
    assert "suppress the bibliographic records" in readme
    steps = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))["next_steps"]
    assert "the guide's step 2" in steps[1] and "the guide's step 10" in steps[1]
    assert "the guide's steps 9 and 19" in steps[0]


def test_deactivate_writes_the_same_sets_with_the_route_that_de_activates(tmp_path):
    k = keeper("Mens", issn="1492-8647", collection="Erudit Revues")
    p = p2e_portfolio("Mens", "000000532", issn="1492-8647")
    result = run([k, p], [line("000000532")])
    write_report(result, tmp_path, deactivate=True)
    assert not (tmp_path / "deletion-sets").exists()
    assert (tmp_path / "deactivation-sets" / "Erudit_Revues_1.csv").read_text(encoding="utf-8").split() == [
        "Portfolio", "Id", p["portfolio_id"]]
    readme = (tmp_path / "deactivation-sets" / "README.txt").read_text(encoding="utf-8")
    assert "De-activate duplicate electronic portfolios" in readme and "Delete Portfolios" not in readme
    assert "Portfolio Loader" in readme and "standalone" in readme and "To undo" in readme
    summary = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    assert summary["deactivate"] is True and summary["next_steps"][1].startswith("2. De-activation sets")


# P2E lines that disagree --------------------------------------------------------------------------

def test_a_legacy_id_listed_as_portfolio_and_as_database_goes_to_review_naming_both_lines():
    k = keeper("Mens", issn="1492-8647")
    p = p2e_portfolio("Mens", "000000540", issn="1492-8647")
    lines = [line("000000540", row=2), line("000000540", p2e_type="database", row=9)]
    for order in (lines, lines[::-1]):  # never settled by line order
        result = run([k, p], order)
        assert deleted(result) == set()
        assert review_reason(result, p["portfolio_id"]) == (
            f"{CONFLICT}: row 2 (000000540, portfolio) and row 9 (000000540, database); which one migration used "
            "cannot be told from the file: check the record in Alma and decide by hand")


def test_lines_repeated_word_for_word_agree_and_every_po_number_guards():
    k = keeper("Mens", issn="1492-8647")
    same = p2e_portfolio("Mens", "000000541", issn="1492-8647")
    result = run([k, same], [line("000000541", row=2), line("000000541", row=3)])
    assert deleted(result) == {same["portfolio_id"]}
    # Two legacy ids of one bib, each line with its own PO number: the lines disagree (review), and
    # both PO numbers guard the portfolio whatever their order.
    two = p2e_portfolio("Mens", "000000542", issn="1492-8647")
    result = run([k, two], [line("000000542", po_number="POL-1"), line("EDU01000000542", po_number="POL-2")])
    reason = review_reason(result, two["portfolio_id"])
    assert reason.startswith(CONFLICT) and "POL-1" in reason and "POL-2" in reason
    assert two["portfolio_id"] in set(result.po_linked_ids) and deleted(result) == set()


def test_the_partition_adds_up_and_names_the_overlap():
    k = keeper("Mens", issn="1492-8647", coverage_statement="Available from 2001.")
    safe = p2e_portfolio("Mens", "000000550", issn="1492-8647", coverage_statement="Available from 2005.")
    partial_pol = p2e_portfolio("Mens", "000000551", issn="1492-8647", coverage_statement="Available from 1990.",
                                po_line="POL-551")
    noted = p2e_portfolio("Mens", "000000552", issn="1492-8647", coverage_statement="Available from 2005.",
                          public_note="Law only")
    lonely = p2e_portfolio("Local newsletter", "000000553")
    result = run([k, safe, partial_pol, noted, lonely], [line(f"00000055{n}") for n in range(4)])
    counts = result.counts
    assert {b: counts[b] for b in ("deletion_candidates", "copy_first", "pol_relink_portfolios_ready",
                                   "pol_relink_portfolios_blocked", "review_only", "group_portfolios")} == {
        "deletion_candidates": 1, "copy_first": 1, "pol_relink_portfolios_ready": 0,
        "pol_relink_portfolios_blocked": 1, "review_only": 0, "group_portfolios": 1}
    assert counts["review"] == 1 and counts["review_also_pol_relink_blocked"] == 1
    assert counts["p2e_portfolios"] == 4


def test_copy_first_columns_are_the_sheet_s():
    assert COPY_FIRST_COLUMNS[:3] == ("portfolio_id", "mms_id", "title")
