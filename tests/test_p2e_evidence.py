"""Evidence or nothing: open-ended coverage, other editions, rules not checked, no PO-line
evidence, repeated ids and the deletion-set writer's own checks."""
from __future__ import annotations

import json
import re

import fastexcel
import polars as pl
import pytest

from almaclean.normalize.coverage import contains, parse_statement
from almaclean.p2e.analyse import REPEATED_ID_REASON, analyse_p2e
from almaclean.p2e.classify import P2E_COLUMNS, PORTFOLIO_COLUMNS
from almaclean.p2e.match import (
    CONTAINED, EDITION_YEARS, NOT_CHECKED, OPEN_END, PARTIAL, PO_LINES_RULE, coverage_verdict,
)
from almaclean.outputs.p2e_report import SETS_WITHHELD, WITHOUT_PO_LINES_OPTION, write_report
from almaclean.outputs.p2e_sets import DeletionGuard, DeletionSetRefused, check_deletion_rows, plan_sets, write_deletion_sets
from test_p2e_rules import ALL_PRESENT, deleted, frame, keeper, line, new_id, p2e_portfolio, review_reason, run


def without(kind: str, *columns: str) -> dict[str, frozenset[str]]:
    return {**ALL_PRESENT, kind: ALL_PRESENT[kind] - set(columns)}


# Coverage: an open end goes on -----------------------------------------------------------------

def test_open_ended_p2e_is_not_contained_by_a_keeper_whose_coverage_ends():
    keeper_ends = parse_statement("Available from 1888 until 2026.", current_year=2026)
    p2e_open = parse_statement("Available from 2001.", current_year=2026)
    assert contains(keeper_ends, p2e_open, current_year=2026) is False
    # even when the keeper's end year is in the future
    assert contains(parse_statement("Available from 1888 until 2099."),
                    parse_statement("Available from 2001.")) is False
    assert coverage_verdict("Available from 1888 until 2026.", "Available from 2001.") == OPEN_END
    # the other way round nothing is lost, and two open ends still compare by their start
    assert coverage_verdict("Available from 1888.", "Available from 2001 until 2026.") == CONTAINED
    assert coverage_verdict("Available from 1888.", "Available from 2001.") == CONTAINED


def test_open_ended_p2e_against_closed_keeper_goes_to_review():
    k = keeper("Harper's Magazine", issn="0017-789X", coverage_statement="Available from 1888 until 2026.")
    p = p2e_portfolio("Harper's magazine", "000000101", issn="0017-789X", coverage_statement="Available from 2001.")
    result = run([k, p], [line("000000101")])
    assert deleted(result) == set()
    assert review_reason(result, p["portfolio_id"]) == OPEN_END
    assert OPEN_END.startswith("partial coverage: the keeper's coverage ends")


# Editions --------------------------------------------------------------------------------------

def test_one_shared_isbn_of_several_with_years_apart_is_a_different_edition():
    k = keeper("Les Visionnaires", isbn="9781111111113", publication_date="2015", collection="Classiques Garnier")
    p = p2e_portfolio("Les visionnaires", "000000102", isbn="9784444444446; 9781111111113", publication_date="2011")
    result = run([k, p], [line("000000102")])
    assert deleted(result) == set()
    assert review_reason(result, p["portfolio_id"]) == (
        f"{EDITION_YEARS}: ISBN 9781111111113 shared, the P2E also has ISBN 9784444444446; "
        "P2E bib published 2011, keeper bib 2015")
    assert EDITION_YEARS.startswith("different edition?")


def test_the_p2e_print_isbn_beside_the_shared_e_isbn_is_one_resource():
    # The P2E e-book carries its e-ISBN and the print ISBN of the same edition; the CZ keeper only
    # the e-ISBN. An identifier absent from the keeper is no evidence of another work.
    k = keeper("Les Visionnaires", isbn="9781111111113", publication_date="2011", collection="Classiques Garnier")
    p = p2e_portfolio("Les visionnaires", "000000103", isbn="9784444444446; 9781111111113", publication_date="2011")
    result = run([k, p], [line("000000103")])
    assert deleted(result) == {p["portfolio_id"]}
    row = result.deletion_candidates.row(0, named=True)
    assert row["shared"] == "ISBN 9781111111113" and row["unshared"] == "ISBN 9784444444446"
    assert "P2E only: ISBN 9784444444446" in row["evidence"]


def test_the_p2e_print_issn_beside_the_shared_e_issn_is_one_resource():
    k = keeper("Mens", issn="1927-9299", material_type="Journal")
    p = p2e_portfolio("Mens", "000000109", issn="1492-8647; 1927-9299")
    result = run([k, p], [line("000000109")])
    assert deleted(result) == {p["portfolio_id"]}


def test_an_exact_isbn_match_is_the_same_edition_whatever_the_years():
    k = keeper("A book", isbn="9781111111113", publication_date="2015", collection="Classiques Garnier")
    exact = p2e_portfolio("A book", "000000104", isbn="9781111111113", publication_date="c2012.")
    two = p2e_portfolio("A book", "000000105", isbn="9781111111113; 9784444444446", publication_date="2014-05-01")
    far = p2e_portfolio("A book", "000000106", isbn="9781111111113; 9784444444446", publication_date="2012")
    unknown = p2e_portfolio("A book", "000000110", isbn="9781111111113; 9784444444446")
    result = run([k, exact, two, far, unknown],
                 [line("000000104"), line("000000105"), line("000000106"), line("000000110")])
    # the exact match needs no year; a year apart is the same edition; a missing year does not block
    assert deleted(result) == {exact["portfolio_id"], two["portfolio_id"], unknown["portfolio_id"]}
    assert review_reason(result, far["portfolio_id"]).startswith(f"{EDITION_YEARS}: ISBN 9781111111113 shared")


def test_a_year_missing_on_one_side_neither_blocks_nor_hides_the_rules_after_it():
    # The keeper's bib states no year: the unshared ISBN does not block, and the coverage is still read.
    k = keeper("Les Visionnaires", isbn="9781111111113", coverage_statement="Available from 2005.",
               collection="Classiques Garnier")
    p = p2e_portfolio("Les visionnaires", "000000111", isbn="9784444444446; 9781111111113", publication_date="2011",
                      coverage_statement="Available from 2001.")
    result = run([k, p], [line("000000111")])
    assert deleted(result) == set()
    assert review_reason(result, p["portfolio_id"]) == PARTIAL


def test_an_edition_question_names_every_isbn_the_keeper_lacks():
    k = keeper("Les Visionnaires", isbn="9781111111113", publication_date="2015", collection="Classiques Garnier")
    p = p2e_portfolio("Les visionnaires", "000000112", isbn="9784444444446; 9781111111113; 9780199512348",
                      publication_date="2011")
    result = run([k, p], [line("000000112")])
    assert review_reason(result, p["portfolio_id"]) == (
        f"{EDITION_YEARS}: ISBN 9781111111113 shared, the P2E also has ISBN 9780199512348; ISBN 9784444444446; "
        "P2E bib published 2011, keeper bib 2015")


def test_journal_years_never_make_an_edition_question():
    k = keeper("Mens", issn="1492-8647", publication_date="1990")
    p = p2e_portfolio("Mens", "000000107", issn="1492-8647", publication_date="2005")
    assert deleted(run([k, p], [line("000000107")])) == {p["portfolio_id"]}


def test_a_keeper_with_all_identifiers_is_chosen_over_one_with_some():
    full = keeper("Eugene O'Neill Review", issn="1040-9483; 2161-4318", collection="Project MUSE Premium")
    some = keeper("Eugene O'Neill Review", issn="2161-4318")
    p = p2e_portfolio("Eugene O'Neill review", "000000108", issn="2161-4318; 1040-9483")
    result = run([some, full, p], [line("000000108")])
    assert result.deletion_candidates["keep_portfolio_id"].to_list() == [full["portfolio_id"]]


# Rules not checked -----------------------------------------------------------------------------

def _safe_duplicate(n: int, **kw):
    k = keeper("Mens", issn="1492-8647", coverage_statement="Available from 1990.")
    p = p2e_portfolio("Mens", f"0000002{n:02d}", issn="1492-8647", coverage_statement="Available from 2000.", **kw)
    return k, p, line(f"0000002{n:02d}")


def test_everything_present_deletes():
    k, p, l = _safe_duplicate(1)
    result = run([k, p], [l])
    assert deleted(result) == {p["portfolio_id"]} and result.not_checked == {}


@pytest.mark.parametrize(
    ("columns", "rule", "words"),
    [
        (("coverage_statement",), "coverage", "the portfolio export has no 'Coverage Statement' column"),
        (("availability",), "availability", "the portfolio export has no 'Availability' column"),
        (("collection_id", "collection_name", "interface_name"), "collection",
         "the portfolio export has no 'Electronic Collection Id' column, the portfolio export has no "
         "'Electronic Collection Public Name' column, the portfolio export has no 'Interface Name' column"),
    ],
)
def test_a_rule_whose_column_is_absent_sends_would_be_deletions_to_review(columns, rule, words):
    k, p, l = _safe_duplicate(2)
    result = run([k, p], [l], present=without("portfolios", *columns))
    assert deleted(result) == set()
    assert result.not_checked[rule] == [f"portfolios.{c}" for c in columns]
    assert review_reason(result, p["portfolio_id"]) == f"{NOT_CHECKED} ({rule}): {words}"


def test_one_collection_column_is_enough():
    k, p, l = _safe_duplicate(3)
    result = run([k, p], [l], present=without("portfolios", "collection_id", "interface_name"))
    assert "collection" not in result.not_checked and deleted(result) == {p["portfolio_id"]}


def test_publication_year_not_checked_blocks_only_matches_with_an_unshared_isbn():
    book = keeper("A book", isbn="9781111111113", collection="Classiques Garnier")
    exact = p2e_portfolio("A book", "000000204", isbn="9781111111113")
    unshared = p2e_portfolio("A book", "000000207", isbn="9781111111113; 9784444444446")
    k, p, l = _safe_duplicate(5)
    result = run([book, exact, unshared, k, p], [line("000000204"), line("000000207"), l],
                 present=without("portfolios", "publication_date"))
    assert deleted(result) == {p["portfolio_id"], exact["portfolio_id"]}
    assert review_reason(result, unshared["portfolio_id"]) == (
        f"{NOT_CHECKED} (publication year): the portfolio export has no 'Publication Date' column")


def test_presence_falls_back_to_columns_with_a_value():
    # Frames from the store carry every canonical column: a column empty in every row counts as absent.
    k, p, l = _safe_duplicate(6)
    result = analyse_p2e(frame([k, p], PORTFOLIO_COLUMNS), frame([l], P2E_COLUMNS), None)
    assert "coverage" not in result.not_checked
    assert result.not_checked[PO_LINES_RULE] == ["portfolios.po_line", "portfolios.additional_po_lines",
                                                 "p2e.po_number", "po-lines.po_line"]
    assert result.not_checked["publication year"] == ["portfolios.publication_date"]
    assert result.not_checked_text[PO_LINES_RULE] == (
        f"{NOT_CHECKED} ({PO_LINES_RULE}): the portfolio export has no 'PO Line Reference' column, "
        "the portfolio export has no 'Portfolio Additional PO Lines' column, "
        "the P2E file has no 'PO Number' column, no PO line export was given")


# No PO-line evidence, no deletion sets ---------------------------------------------------------

NO_PO = without("portfolios", "po_line", "additional_po_lines") | {"p2e": ALL_PRESENT["p2e"] - {"po_number"}, "po-lines": frozenset()}


def test_no_po_line_evidence_lists_candidates_but_writes_no_deletion_set(tmp_path):
    k, p, l = _safe_duplicate(7)
    result = run([k, p], [l], present=NO_PO)
    assert deleted(result) == {p["portfolio_id"]}  # still listed
    assert not result.po_lines_checked
    write_report(result, tmp_path)
    assert not (tmp_path / "deletion-sets").exists()
    assert (tmp_path / "deletion_candidates.csv").read_text(encoding="utf-8").count(p["portfolio_id"]) == 1
    summary = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    assert summary["deletion_sets_written"] is False and summary["without_po_lines"] is False
    assert summary["not_checked"] == {PO_LINES_RULE: ["portfolios.po_line", "portfolios.additional_po_lines",
                                                      "p2e.po_number", "po-lines.po_line"]}
    assert summary["next_steps"][1].startswith("2. Deletion sets: not written. There is no PO-line evidence")
    assert any(SETS_WITHHELD in line for line in summary["evidence"])
    sheet = fastexcel.read_excel(tmp_path / "p2e_report.xlsx").load_sheet("Summary", dtypes="string").to_polars()
    first = sheet.row(0)
    assert first[0] == "not checked" and WITHOUT_PO_LINES_OPTION in first[1]
    assert "no PO line export was given" in first[1]


def test_without_po_lines_writes_the_sets_and_says_so(tmp_path):
    k, p, l = _safe_duplicate(8)
    result = run([k, p], [l], present=NO_PO)
    write_report(result, tmp_path, without_po_lines=True)
    files = sorted((tmp_path / "deletion-sets").glob("*.csv"))
    assert [f.read_text(encoding="utf-8").split() [-1] for f in files] == [p["portfolio_id"]]
    readme = (tmp_path / "deletion-sets" / "README.txt").read_text(encoding="utf-8")
    assert readme.startswith("WRITTEN WITHOUT PO-LINE EVIDENCE") and WITHOUT_PO_LINES_OPTION in readme
    summary = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    assert summary["deletion_sets_written"] is True and summary["without_po_lines"] is True


@pytest.mark.parametrize("source", ["portfolio po_line", "p2e po_number", "po-lines export"])
def test_any_one_po_line_source_is_po_line_evidence(tmp_path, source):
    k, p, l = _safe_duplicate(9)
    present = dict(NO_PO)
    if source == "portfolio po_line":
        present["portfolios"] = ALL_PRESENT["portfolios"]
    elif source == "p2e po_number":
        present["p2e"] = ALL_PRESENT["p2e"]
    else:
        present["po-lines"] = ALL_PRESENT["po-lines"]
    result = run([k, p], [l], present=present)
    assert result.po_lines_checked
    write_report(result, tmp_path)
    assert (tmp_path / "deletion-sets").is_dir()


# A keeper's id is never a P2E portfolio's ------------------------------------------------------

def test_a_p2e_row_carrying_its_keepers_id_is_review_never_deletion(tmp_path):
    k = keeper("Mens", issn="1492-8647")
    p = p2e_portfolio("Mens", "000000301", issn="1492-8647", portfolio_id=k["portfolio_id"])
    result = run([k, p], [line("000000301")])
    assert deleted(result) == set()
    assert review_reason(result, k["portfolio_id"]) == REPEATED_ID_REASON


# The writer's own checks -----------------------------------------------------------------------

def _row(**kw) -> dict:
    return {"portfolio_id": new_id(), "keep_portfolio_id": new_id(), "keep_mms_id": new_id("99"),
            "shared": "ISSN 1492-8647", "unshared": None, "verdict": CONTAINED, "group": "Erudit", **kw}


def _rows(*rows: dict) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema={c: pl.String for c in rows[0]})


def _guard(keepers=(), po=(), not_checked=(), allowed=()) -> DeletionGuard:
    return DeletionGuard(pl.Series(list(keepers), dtype=pl.String), pl.Series(list(po), dtype=pl.String),
                         not_checked, frozenset(allowed))


def _write(tmp_path, rows: pl.DataFrame, guard: DeletionGuard):
    plan = plan_sets(rows, group="group", id_column="portfolio_id")
    return write_deletion_sets(tmp_path / "deletion-sets", rows, plan, guard)


def test_writer_writes_rows_that_pass_every_check(tmp_path):
    row = _row()
    _write(tmp_path, _rows(row), _guard())
    assert (tmp_path / "deletion-sets" / "Erudit_1.csv").read_text(encoding="utf-8").split() == [
        "Portfolio", "Id", row["portfolio_id"]]


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("keeper", "rows are a CZ-linked portfolio (a keeper)"),
        ("po line", "rows are linked to a PO line"),
        ("repeat", "rows are in the deletion rows more than once"),
        ("no keeper", "rows are without complete evidence"),
        ("no shared", "rows are without complete evidence"),
        ("review verdict", "rows are without complete evidence"),
        ("own keeper", "rows are without complete evidence"),
        ("rule not checked", "the rule 'coverage' was not checked"),
        ("isbn rule not checked", "the rule 'publication year' was not checked"),
        ("po lines not checked", "the rule 'PO lines' was not checked"),
    ],
)
def test_writer_refuses_and_writes_nothing(tmp_path, case, message):
    good, bad = _row(), _row()
    guard = _guard()
    if case == "keeper":
        guard = _guard(keepers=[bad["portfolio_id"]])
    elif case == "po line":
        guard = _guard(po=[bad["portfolio_id"]])
    elif case == "repeat":
        bad = dict(good)
    elif case == "no keeper":
        bad["keep_portfolio_id"] = None
    elif case == "no shared":
        bad["shared"] = " "
    elif case == "review verdict":
        bad["verdict"] = OPEN_END
    elif case == "own keeper":
        bad["keep_portfolio_id"] = bad["portfolio_id"]
    elif case == "rule not checked":
        guard = _guard(not_checked=["coverage"])
    elif case == "isbn rule not checked":
        bad["shared"], bad["unshared"] = "ISBN 9781111111113", "ISBN 9784444444446"
        guard = _guard(not_checked=["publication year"])
    else:
        guard = _guard(not_checked=[PO_LINES_RULE])
    with pytest.raises(DeletionSetRefused, match="deletion sets refused: .*" + re.escape(message)):
        _write(tmp_path, _rows(good, bad), guard)
    assert not (tmp_path / "deletion-sets").exists()


def test_writer_allows_po_lines_unchecked_only_when_asked(tmp_path):
    _write(tmp_path, _rows(_row()), _guard(not_checked=[PO_LINES_RULE], allowed=[PO_LINES_RULE]))
    assert (tmp_path / "deletion-sets" / "Erudit_1.csv").exists()


def test_publication_year_unchecked_lets_issn_rows_and_exact_isbn_rows_through(tmp_path):
    check_deletion_rows(_rows(_row(), _row(shared="ISBN 9781111111113")), _guard(not_checked=["publication year"]))


def test_write_report_refuses_before_writing_any_file(tmp_path):
    k, p, l = _safe_duplicate(10)
    result = run([k, p], [l])
    tampered = type(result)(**{**result.__dict__, "keeper_ids": pl.Series([p["portfolio_id"]])})
    with pytest.raises(DeletionSetRefused):
        write_report(tampered, tmp_path)
    assert list(tmp_path.iterdir()) == []


# From files, as a librarian gives them -----------------------------------------------------------

def _export(tmp_path, po_header: str):
    from readers_fixtures import write_text
    header = ["Portfolio Id", "MMS Id", "Title", "ISSN", "Network Number", "Electronic Collection Public Name",
              "Portfolio Linked To CZ", "Availability", "Coverage Statement", "Is Standalone", "Publication Date",
              po_header]
    rows = [
        header,
        ["53100000000000001", "99100000000000001", "Mens", "1492-8647", "", "Erudit Revues", "Y", "Available",
         "Available from 1990.", "No", "2000", ""],
        ["53200000000000001", "99200000000000001", "Mens", "1492-8647", "(EDU01)000000001", "", "N", "Available",
         "Available from 2000.", "Yes", "2000", "POL-9"],
        ["53200000000000002", "99200000000000002", "Mens", "1492-8647", "(EDU01)000000002", "", "N", "Available",
         "Available from 2000.", "Yes", "2000", ""],
    ]
    portfolios = write_text(tmp_path / "portfolios.csv", rows)
    p2e = write_text(tmp_path / "p2e.txt", [["EDU01000000001", "portfolio"], ["EDU01000000002", "portfolio"]])
    return portfolios, p2e


@pytest.mark.parametrize("po_header", ["POL", "PO Line Ref"])
def test_a_po_line_column_under_another_real_name_still_guards(tmp_path, po_header):
    from almaclean.kinds import read_kind
    portfolios, p2e = _export(tmp_path, po_header)
    reads = {"portfolios": read_kind("portfolios", portfolios), "p2e": read_kind("p2e", p2e)}
    result = analyse_p2e(reads["portfolios"].canonical, reads["p2e"].canonical, None,
                         present={kind: read.present for kind, read in reads.items()})
    assert deleted(result) == {"53200000000000002"}
    assert result.po_lines_checked
    assert result.pol_relinks["portfolio_id"].to_list() == ["53200000000000001"]


def test_an_unrecognised_po_column_is_reported_with_its_mapping_line(tmp_path):
    from almaclean.kinds import read_kind, unrecognised_columns
    portfolios, p2e = _export(tmp_path, "Purchase Order No")
    reads = {"portfolios": read_kind("portfolios", portfolios), "p2e": read_kind("p2e", p2e)}
    result = analyse_p2e(reads["portfolios"].canonical, reads["p2e"].canonical, None,
                         present={kind: read.present for kind, read in reads.items()},
                         not_recognised=[item for read in reads.values() for item in unrecognised_columns(read)])
    assert not result.po_lines_checked
    out = tmp_path / "run"
    write_report(result, out)
    assert not (out / "deletion-sets").exists()
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["not_recognised"] == [
        {"file": "portfolios", "column": "Purchase Order No", "mapping": 'po_line = ["Purchase Order No"]'}]
    assert ("not recognised: the portfolio export: column 'Purchase Order No' was not recognised, so no rule used "
            "it. If it is what its name says, add this line under [portfolios] in a mapping file (--mapping): "
            'po_line = ["Purchase Order No"]') in summary["evidence"]
