"""The P2E analysis on a generated institution, checked against the generator's truth.json."""
from __future__ import annotations

import csv
import json

import polars as pl
import pytest

from almaclean.kinds import read_kind
from almaclean.p2e.analyse import analyse_p2e
from almaclean.p2e.match import TITLE_ONLY
from almaclean.outputs.p2e_report import write_report
from almaclean.sample.generator import JUNK_ISBN, JUNK_ISSN, generate


@pytest.fixture(scope="module")
def institution(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sample")
    manifest = generate(folder, seed=7, scale=0.4)
    truth = json.loads(manifest.path("truth").read_text(encoding="utf-8"))
    frames = {
        "portfolios": read_kind("portfolios", manifest.path("portfolios")).canonical,
        "p2e": read_kind("p2e", manifest.path("p2e")).canonical,
        "p2e_report": read_kind("p2e", manifest.path("p2e_report")).canonical,
        "po_lines": read_kind("po-lines", manifest.path("po_lines")).canonical,
    }
    return truth, frames


@pytest.fixture(scope="module", params=["p2e", "p2e_report"])
def analysed(request, institution):
    truth, frames = institution
    return truth, analyse_p2e(frames["portfolios"], frames[request.param], frames["po_lines"])


def test_p2e_portfolios_and_unmatched_lines(analysed):
    truth, result = analysed
    assert result.counts["p2e_portfolios"] == len(truth["p2e_duplicates"]) + len(truth["p2e_only"])
    expected_unmatched = set(truth["p2e_database_lines"]) | set(truth["p2e_deleted_lines"])
    assert set(result.unmatched_lines["legacy_id"].to_list()) == expected_unmatched


def test_nothing_guarded_ever_reaches_deletion(analysed):
    truth, result = analysed
    deleted = set(result.deletion_candidates["portfolio_id"].to_list())
    assert deleted, "the sample has safe duplicates"
    with_pol = {row["portfolio_id"] for row in truth["po_lines"]}
    lookalikes = {row["portfolio_id"] for row in truth["title_only_lookalikes"]}
    assert not deleted & with_pol
    assert not deleted & set(truth["partial_coverage"])
    assert not deleted & lookalikes
    shared = " ".join(result.deletion_candidates["shared"].to_list())
    assert JUNK_ISSN not in shared and JUNK_ISBN not in shared


def test_deletions_are_true_duplicates_of_the_right_keeper(analysed):
    truth, result = analysed
    dups = {row["portfolio_id"]: row for row in truth["p2e_duplicates"]}
    for row in result.deletion_candidates.iter_rows(named=True):
        assert row["portfolio_id"] in dups
        assert row["keep_mms_id"] == dups[row["portfolio_id"]]["keeper_mms_id"]
    safe = {pid for pid, row in dups.items() if row["coverage_relation"] == "contained" and not row["po_line"]}
    assert safe <= set(result.deletion_candidates["portfolio_id"].to_list())


def test_duplicates_with_a_pol_become_relinks_to_their_keeper(analysed):
    truth, result = analysed
    relinks = {(r["po_line"], r["portfolio_id"]): r for r in result.pol_relinks.iter_rows(named=True)}
    dups = {row["portfolio_id"]: row for row in truth["p2e_duplicates"] if row["po_line"]}
    assert dups
    for pid, row in dups.items():
        relink = relinks[(row["po_line"], pid)]
        status = (row["pol_status"] or "").upper()
        if status == "CANCELLED":
            assert relink["blocked_reason"].startswith("PO line cancelled")
        if status == "CLOSED" and relink["blocked_reason"] is None:
            assert "'All POLs'" in relink["steps"]
        if relink["target_portfolio_id"] is not None:
            assert relink["target_mms_id"] == row["keeper_mms_id"]


def test_title_lookalikes_go_to_review(analysed):
    truth, result = analysed
    reasons = dict(result.review.select("portfolio_id", "reason").iter_rows())
    for row in truth["title_only_lookalikes"]:
        assert reasons[row["portfolio_id"]] == TITLE_ONLY


def test_deletion_sets_hold_exactly_the_candidates(institution, tmp_path):
    truth, frames = institution
    result = analyse_p2e(frames["portfolios"], frames["p2e"], frames["po_lines"])
    write_report(result, tmp_path, set_size=50)
    ids = []
    for path in sorted((tmp_path / "deletion-sets").glob("*.csv")):
        with open(path, encoding="utf-8", newline="") as handle:
            rows = list(csv.reader(handle))
        assert rows[0] == ["Portfolio Id"] and 1 <= len(rows) - 1 <= 50
        ids += [r[0] for r in rows[1:]]
    assert sorted(ids) == sorted(result.deletion_candidates["portfolio_id"].to_list())
    groups = pl.read_csv(tmp_path / "groups.csv", infer_schema=False)
    assert set(groups["portfolio_id"]) == set(result.groups["portfolio_id"])


@pytest.fixture(scope="module")
def hard(tmp_path_factory):
    """A sample institution with the labelled hard cases, its export with every optional column."""
    folder = tmp_path_factory.mktemp("hard")
    manifest = generate(folder, seed=3, scale=0.6, publication_date=True, hard_cases=True)
    return folder, json.loads(manifest.path("truth").read_text(encoding="utf-8"))


@pytest.mark.parametrize("dropped", [(), ("Publication Date",), ("Publication Date", "Material Type")])
def test_labelled_recall_is_at_least_98_percent_with_nothing_unsafe_whatever_optional_column_is_missing(
        hard, tmp_path, dropped):
    folder, truth = hard
    portfolios = tmp_path / "portfolios.csv"
    pl.read_csv(folder / "portfolios.csv", infer_schema=False).drop(list(dropped)).write_csv(portfolios)
    reads = [read_kind(kind, path) for kind, path in (("portfolios", portfolios), ("p2e", folder / "p2e.txt"),
                                                      ("po-lines", folder / "po_lines.csv"))]
    result = analyse_p2e(*(r.canonical for r in reads),
                         present={r.kind: r.present for r in reads})
    deleted = set(result.deletion_candidates["portfolio_id"])
    safe = {d["portfolio_id"] for d in truth["p2e_duplicates"] if d["safe_for_set"]}
    assert len(deleted & safe) >= 0.98 * len(safe)
    assert deleted <= safe, sorted(deleted - safe)
    cases = {d["hard_case"] for d in truth["p2e_duplicates"]} | ({"series_book"} if truth["series_books"] else set())
    assert {"local_data", "additional_po", "issue_start", "gap_keeper", "dash_partial", "french_contained",
            "series_book"} <= cases
    noted = {d["portfolio_id"] for d in truth["p2e_duplicates"] if d["hard_case"] == "local_data"}
    assert noted <= set(result.copy_first["portfolio_id"]) | set(result.pol_relinks["portfolio_id"]) | set(
        result.review["portfolio_id"])
