"""POL relinks as the CARLI P2E guide does them: closed lines too ("All POLs"), nothing to relink
without a CZ duplicate, and the POL guard unchanged."""
from __future__ import annotations

import polars as pl
import pytest

from almaclean.p2e.match import NO_DUPLICATE, TITLE_ONLY
from almaclean.p2e.relink import (
    CANCELLED, CLOSING_CANCELLING_RELINKING, NO_KEEPER_YET, SEARCHING_PO_LINES, SEVERAL_KEEPERS,
)
from conftest import analysed_sample
from test_p2e_rules import deleted, keeper, line, p2e_portfolio, run


def relink_rows(result) -> dict[str, dict]:
    return {r["portfolio_id"]: r for r in result.pol_relinks.iter_rows(named=True)}


def test_closed_line_with_a_keeper_is_ready_with_the_all_pols_step():
    k = keeper("Mens", issn="1492-8647")
    closed = p2e_portfolio("Mens", "000000050", issn="1492-8647", po_line="POL-50")
    result = run([k, closed], [line("000000050")], [{"po_line": "POL-50", "status": "CLOSED"}])
    row = relink_rows(result)[closed["portfolio_id"]]
    assert row["blocked_reason"] is None
    assert row["target_portfolio_id"] == k["portfolio_id"] and row["target_mms_id"] == k["mms_id"]
    assert "set the filter of the 'Select PO Line' list to 'All POLs'" in row["steps"]
    assert "'Active POLs'" in row["steps"] and SEARCHING_PO_LINES in row["steps"]
    assert row["steps"].startswith("1. Search the title (All Titles); on the P2E bib's Orders, Change Bib Reference")
    assert "the keeper's CZ-linked record shows the order" in row["steps"]  # the guide's steps 9 and 19
    assert deleted(result) == set()  # the POL guard: relinked first, never in a deletion set


def test_open_line_steps_do_not_mention_all_pols_and_unknown_status_says_check_first():
    k = keeper("Mens", issn="1492-8647")
    active = p2e_portfolio("Mens", "000000051", issn="1492-8647", po_line="POL-51")
    unknown = p2e_portfolio("Mens", "000000052", issn="1492-8647", po_line="POL-52")
    result = run([k, active, unknown], [line("000000051"), line("000000052")],
                 [{"po_line": "POL-51", "status": "ACTIVE"}])
    rows = relink_rows(result)
    assert "All POLs" not in rows[active["portfolio_id"]]["steps"]
    assert rows[unknown["portfolio_id"]]["steps"].startswith(
        "0. This PO line's status is not in the PO line export: check in Alma that it is still open or closed"
    )
    assert rows[unknown["portfolio_id"]]["blocked_reason"] is None


def test_cancelled_line_stays_blocked_with_alma_s_reason_and_source():
    k = keeper("Mens", issn="1492-8647")
    cancelled = p2e_portfolio("Mens", "000000053", issn="1492-8647", po_line="POL-53")
    result = run([k, cancelled], [line("000000053")], [{"po_line": "POL-53", "status": "Canceled"}])
    row = relink_rows(result)[cancelled["portfolio_id"]]
    assert row["blocked_reason"] == CANCELLED
    assert "reopen it first" in CANCELLED and CLOSING_CANCELLING_RELINKING in CANCELLED
    assert deleted(result) == set()


def test_pol_without_duplicate_is_kept_in_its_group_never_blocked_never_deleted():
    lonely = p2e_portfolio("Local newsletter", "000000054", po_line="POL-54",
                           url="https://0-www.newsletter.example.org.wam.library.example.edu/issue/1")
    result = run([lonely], [line("000000054", provider="Newsletter Press")],
                 [{"po_line": "POL-54", "status": "CLOSED"}])
    assert result.pol_relinks.height == 0
    groups = result.groups.filter(pl.col("portfolio_id") == lonely["portfolio_id"])
    assert groups["group"].to_list() == ["Newsletter Press - newsletter.example.org"]
    assert groups["po_lines"].to_list() == ["POL-54"]
    assert deleted(result) == set()


def test_groups_csv_names_the_po_line_kept_with_each_portfolio(tmp_path):
    """The README: a P2E portfolio with a PO line and no CZ duplicate is kept with its PO line,
    in column po_lines of groups.csv."""
    import csv

    from almaclean.outputs.p2e_report import write_report

    lonely = p2e_portfolio("Local newsletter", "000000055", po_line="POL-55")
    result = run([lonely], [line("000000055", provider="Newsletter Press")], [{"po_line": "POL-55", "status": "ACTIVE"}])
    write_report(result, tmp_path)
    with open(tmp_path / "groups.csv", encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["portfolio_id"], r["po_lines"]) for r in rows] == [(lonely["portfolio_id"], "POL-55")]


def test_a_match_to_review_without_a_keeper_stays_blocked_with_its_reason():
    k = keeper("Journal of Forensic Economics", issn="0898-5510", publication_date="1987")
    lookalike = p2e_portfolio("Journal of forensic economics", "000000056", issn="2049-3630",
                              publication_date="1987", po_line="POL-56")
    result = run([k, lookalike], [line("000000056")], [{"po_line": "POL-56", "status": "ACTIVE"}])
    row = relink_rows(result)[lookalike["portfolio_id"]]
    assert row["blocked_reason"] == NO_KEEPER_YET + TITLE_ONLY
    assert row["target_portfolio_id"] is None


def test_disagreeing_keepers_stay_blocked():
    journal = keeper("Native Plants Journal", issn="1522-8339")
    other = keeper("Native Plants Journal", issn="1492-8647", collection="Erudit")
    torn = p2e_portfolio("Native plants journal", "000000055", issn="1522-8339; 1492-8647", po_line="POL-55")
    result = run([journal, other, torn], [line("000000055")], [{"po_line": "POL-55", "status": "CLOSED"}])
    row = relink_rows(result)[torn["portfolio_id"]]
    assert row["blocked_reason"] == SEVERAL_KEEPERS and row["target_portfolio_id"] is None


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    return analysed_sample(tmp_path_factory.mktemp("guide-sample"), seed=11)


def test_sample_closed_duplicates_are_ready_relinks_with_all_pols(sample):
    truth, result = sample
    rows = {(r["po_line"], r["portfolio_id"]): r for r in result.pol_relinks.iter_rows(named=True)}
    closed = [d for d in truth["p2e_duplicates"] if d["pol_status"] == "CLOSED"]
    assert closed
    ready = 0
    for dup in closed:
        row = rows[(dup["po_line"], dup["portfolio_id"])]
        assert row["blocked_reason"] is None or not row["blocked_reason"].startswith("PO line")
        if row["blocked_reason"] is None:
            ready += 1
            assert "'All POLs'" in row["steps"]
            assert row["target_mms_id"] == dup["keeper_mms_id"]
        else:
            assert row["steps"] is None
    assert ready >= 1


def test_sample_no_keeper_pol_rows_are_not_in_the_relink_sheet_but_stay_guarded(sample):
    truth, result = sample
    only_with_pol = {r["portfolio_id"]: r["po_line"] for r in truth["p2e_only"] if r["po_line"]}
    assert only_with_pol
    relinked = set(result.pol_relinks["portfolio_id"])
    kept = set(result.groups["portfolio_id"]) & set(only_with_pol)  # no CZ duplicate: nothing to relink
    assert len(kept) >= 10
    for pid in kept:
        assert pid not in relinked
        assert only_with_pol[pid] in result.groups.filter(pl.col("portfolio_id") == pid)["po_lines"].item()
    assert not set(only_with_pol) & set(result.deletion_candidates["portfolio_id"])
    assert NO_DUPLICATE not in set(result.pol_relinks["decision"].drop_nulls())
    assert result.pol_relinks["decision"].null_count() == 0
    assert not result.pol_relinks["blocked_reason"].drop_nulls().str.contains("no keeper portfolio").any()
