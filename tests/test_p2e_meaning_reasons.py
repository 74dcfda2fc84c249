"""The P2E decisions of the cases a careful librarian found wrong, each with the words it is given:
identifiers absent from the keeper, the optional publication year, PO lines in the additional
column, and a keeper that is only a local portfolio of a CZ collection."""
from __future__ import annotations

import polars as pl
import pytest

from almaclean.p2e.match import DIFFERENT_TITLE
from test_p2e_evidence import without
from test_p2e_rules import deleted, keeper, line, p2e_portfolio, review_reason, run


def candidate(result, portfolio_id: str) -> dict:
    rows = result.deletion_candidates.filter(pl.col("portfolio_id") == portfolio_id)
    assert rows.height == 1, result.review
    return rows.row(0, named=True)


def relinks(result) -> dict[tuple[str, str], dict]:
    return {(r["portfolio_id"], r["po_line"]): r for r in result.pol_relinks.iter_rows(named=True)}


@pytest.mark.parametrize(("keeper_ids", "p2e_ids", "shared", "p2e_only"), [
    # a CZ serial carries its e-ISSN only; the P2E its print ISSN too, in either order
    ({"issn": "1927-9299", "material_type": "Journal"}, {"issn": "1492-8647; 1927-9299"},
     "ISSN 1927-9299", "ISSN 1492-8647"),
    ({"issn": "1927-9299"}, {"issn": "19279299 ; 1492-8647"}, "ISSN 1927-9299", "ISSN 1492-8647"),
    # an e-book with its e-ISBN and the print ISBN of one edition, years unknown
    ({"isbn": "9781111111113", "material_type": "Book"}, {"isbn": "9781111111113; 9784444444446",
                                                           "material_type": "Book", "publication_date": "2011"},
     "ISBN 9781111111113", "ISBN 9784444444446"),
])
def test_an_identifier_absent_from_the_keeper_is_no_evidence_of_another_work(keeper_ids, p2e_ids, shared, p2e_only):
    k = keeper("Mens", **keeper_ids)
    p = p2e_portfolio("Mens", "000000601", **p2e_ids)
    result = run([k, p], [line("000000601")])
    row = candidate(result, p["portfolio_id"])
    assert (row["keep_portfolio_id"], row["shared"], row["unshared"]) == (k["portfolio_id"], shared, p2e_only)
    assert row["evidence"].startswith(f"shared: {shared} | P2E only: {p2e_only} | ")
    assert result.review.filter(pl.col("portfolio_id") == p["portfolio_id"]).height == 0


def test_a_shared_issn_between_titles_with_nothing_in_common_is_review():
    # Both serials, both ISSNs valid, one shared: but another title is evidence of another work.
    k = keeper("Urban History Review", issn="0703-0428; 1918-5138", material_type="Journal")
    p = p2e_portfolio("Journal of Forensic Economics", "000000602", issn="0703-0428", material_type="Journal")
    result = run([k, p], [line("000000602")])
    assert deleted(result) == set()
    assert review_reason(result, p["portfolio_id"]).startswith(
        f"{DIFFERENT_TITLE}: ISSN 0703-0428 shared; titles Journal of Forensic Economics and Urban History Review")


def test_without_publication_date_a_po_linked_exact_isbn_match_is_a_ready_relink():
    book = keeper("A book", isbn="9781111111113", collection="Classiques Garnier")
    exact = p2e_portfolio("A book", "000000603", isbn="978-1-111-11111-3", po_line="POL-603")
    unshared = p2e_portfolio("A book", "000000604", isbn="9781111111113; 9784444444446", po_line="POL-604")
    result = run([book, exact, unshared], [line("000000603"), line("000000604")],
                 [{"po_line": "POL-603", "status": "ACTIVE"}, {"po_line": "POL-604", "status": "ACTIVE"}],
                 present=without("portfolios", "publication_date"))
    rows = relinks(result)
    ready = rows[(exact["portfolio_id"], "POL-603")]
    assert ready["blocked_reason"] is None and ready["target_portfolio_id"] == book["portfolio_id"]
    # only an ISBN the keeper lacks needs the year: that one waits, saying which column is missing
    assert rows[(unshared["portfolio_id"], "POL-604")]["blocked_reason"] == (
        "needs review first: not checked (publication year): the portfolio export has no 'Publication Date' column")
    assert deleted(result) == set()


def test_every_additional_po_line_is_relinked_and_guards():
    k = keeper("Mens", issn="1492-8647")
    p = p2e_portfolio("Mens", "000000605", issn="1492-8647", additional_po_lines="POL-1; POL-2",
                      po_line="POL-0")
    result = run([k, p], [line("000000605")])
    rows = relinks(result)
    assert {po for _, po in rows} == {"POL-0", "POL-1", "POL-2"}
    assert rows[(p["portfolio_id"], "POL-2")]["source"] == "portfolio export (additional PO lines)"
    assert rows[(p["portfolio_id"], "POL-0")]["source"] != "portfolio export (additional PO lines)"
    assert all(r["target_portfolio_id"] == k["portfolio_id"] for r in rows.values())
    assert deleted(result) == set()


def test_an_additional_po_line_without_a_cz_twin_is_kept_with_its_group():
    lonely = p2e_portfolio("Local newsletter", "000000606", additional_po_lines="POL-606",
                           url="https://newsletter.example.org/1")
    result = run([lonely], [line("000000606", provider="Newsletter Press")])
    assert result.pol_relinks.height == 0 and deleted(result) == set()
    assert result.groups.filter(pl.col("portfolio_id") == lonely["portfolio_id"])["po_lines"].to_list() == ["POL-606"]


@pytest.mark.parametrize("standalone", ["No", None])
def test_a_p2e_duplicating_a_local_portfolio_of_an_activated_cz_collection_is_review_not_no_duplicate(standalone):
    # The collection is the CZ's (activated), the portfolio in it local: a keeper candidate, by hand.
    local = keeper("Mens", issn="1492-8647", portfolio_linked_to_cz="N", collection_linked_to_cz="Y",
                   is_standalone=standalone, collection="Erudit Revues")
    p = p2e_portfolio("Mens", "000000607", issn="1492-8647")
    result = run([local, p], [line("000000607")])
    assert deleted(result) == set()
    assert p["portfolio_id"] not in set(result.groups["portfolio_id"])
    reason = review_reason(result, p["portfolio_id"])
    assert reason.startswith("duplicates a local portfolio in an electronic collection") and "keep one by hand" in reason
    row = result.review.filter(pl.col("portfolio_id") == p["portfolio_id"]).row(0, named=True)
    assert row["candidate_keepers"] == local["portfolio_id"] and row["keep_title"] == "Mens"


def test_a_cz_keeper_that_is_not_available_is_review_naming_it():
    off = keeper("Mens", issn="1492-8647", availability="Not Available")
    p = p2e_portfolio("Mens", "000000608", issn="1492-8647")
    result = run([off, p], [line("000000608")])
    assert deleted(result) == set()
    assert review_reason(result, p["portfolio_id"]) == "keeper not available"
    assert result.review.filter(pl.col("portfolio_id") == p["portfolio_id"])["candidate_keepers"].to_list() == [
        off["portfolio_id"]]
