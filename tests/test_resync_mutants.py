"""Rules of resync/audit.py, decisions.py, loader.py and polines.py that mutation testing (mutmut,
pyproject [tool.mutmut]) found no other test pinning: each test names the rule it holds. Small
in-memory frames, so that mutation testing runs them fast."""
from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from almaclean.errors import InputError
from almaclean.resync.audit import UNKNOWN, audit_table, category_positions, local_cells, local_details, unknown_positions
from almaclean.resync.decisions import (
    ReviewTable, _CellPlan, _check_new_value, check_belongs, parse_decisions, review_sha256,
)
from almaclean.resync.loader import Edits, apply_edits, cell_edits, drop_edits, guide_edits, merge_edits
from almaclean.resync.polines import check_po_lines

PID = ["53496697910003681", "53496697920003681", "53496697930003681"]
MMS = ["9977047322103681", "9977047322203681", "9977047322303681"]


def po_rows(lines: list[str | None], pids=PID, mms=MMS) -> pl.DataFrame:
    n = len(lines)
    return pl.DataFrame({"index": list(range(n)), "row": [i + 2 for i in range(n)], "portfolio_pid": list(pids[:n]),
                         "mms": list(mms[:n]), "po_line": lines},
                        schema={"index": pl.Int64, "row": pl.Int64, "portfolio_pid": pl.String, "mms": pl.String,
                                "po_line": pl.String})


def po_export(rows: list[tuple[str | None, str | None, str | None, str | None]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={c: pl.String for c in ("po_line", "status", "mms_id", "portfolio_id")},
                        orient="row")


# --- polines.check_po_lines ----------------------------------------------------------------

def test_a_blank_po_line_cell_is_no_po_line_and_a_blank_export_line_matches_nothing():
    issues = check_po_lines(po_rows(["   ", None, " POL-1 "]), po_export([("  ", "ACTIVE", None, None),
                                                                      ("POL-1", "ACTIVE", None, None)]))
    assert issues.height == 0


def test_every_reason_of_a_po_line_in_words_joined():
    issues = check_po_lines(po_rows(["POL-1", "POL-2", "POL-3"]), po_export([
        ("POL-1", "cancelled", MMS[2], PID[2]), ("POL-2", "Closed", None, None), ("POL-4", "ACTIVE", None, None)]))
    assert issues.select("row", "reason", "closed_only").rows() == [
        (2, f"PO line is CANCELLED; PO line is linked to another portfolio ({PID[2]}); PO line is linked to another "
            f"title (MMS {MMS[2]})", False),
        (3, "PO line is CLOSED", True),
        (4, "PO line not found in the PO line export", False),
    ]


def test_a_po_line_linked_elsewhere_is_flagged_even_when_the_row_has_no_ids():
    issues = check_po_lines(po_rows(["POL-1"], pids=[None], mms=[None]), po_export([("POL-1", "ACTIVE", MMS[0],
                                                                                       PID[0])]))
    assert issues["reason"].to_list() == [
        f"PO line is linked to another portfolio ({PID[0]}); PO line is linked to another title (MMS {MMS[0]})"]


def test_a_po_line_listed_twice_in_the_export_counts_once_with_its_first_status():
    issues = check_po_lines(po_rows(["POL-1", "POL-2"]), po_export([
        ("POL-1", "ACTIVE", None, None), ("POL-1", "CLOSED", None, None),
        ("POL-2", "CLOSED", None, None), ("POL-2", "ACTIVE", None, None)]))
    assert issues.select("row", "reason").rows() == [(3, "PO line is CLOSED")]


# --- decisions: the workbook's identity, refusals naming their cell --------------------------

REVIEW = Path("/tmp/filled.xlsx")
SHA = "ABCDEF0123456789" + "0" * 48


def summary_table(rows: list[list[str | None]], width: int = 3) -> dict[str, ReviewTable]:
    frame = pl.DataFrame([r + [None] * (width - len(r)) for r in rows], schema=[f"c{i}" for i in range(width)],
                         orient="row")
    return {"summary": ReviewTable(["item", "number", "details"][:width], frame)}


@pytest.mark.parametrize("rows, width, found", [
    ([["export sha256", None, f"  {SHA}  "]], 3, SHA.lower()),
    ([["Export SHA256 ", f"{SHA}"]], 2, SHA.lower()),
    ([["export sha256", "", "  "]], 3, ""),
    ([[None, None, "x"], ["collection", None, "JSTOR"]], 3, None),
    ([["export sha256"]], 1, None),
])
def test_the_export_sha256_a_review_workbook_names(rows, width, found):
    assert review_sha256(summary_table(rows, width)) == found


def test_no_summary_sheet_means_no_sha256():
    assert review_sha256({}) is None


def test_a_workbook_of_another_export_or_none_is_refused_naming_it():
    with pytest.raises(InputError) as err:
        check_belongs(REVIEW, summary_table([["collection", None, "JSTOR"]]), SHA, "J_portfolios.xlsx")
    assert str(err.value) == ("/tmp/filled.xlsx: not an almaclean review workbook: no 'export sha256' line in its "
                              "summary sheet")
    with pytest.raises(InputError) as err:
        check_belongs(REVIEW, summary_table([["export sha256", None, "f" * 64]]), SHA, "J_portfolios.xlsx")
    assert str(err.value) == ("/tmp/filled.xlsx: this review workbook belongs to another export (sha256 "
                              "ffffffffffff...), not to J_portfolios.xlsx (sha256 ABCDEF012345...)")
    check_belongs(REVIEW, summary_table([["export sha256", None, SHA]]), SHA.lower(), "J_portfolios.xlsx")


def test_two_sheets_setting_one_cell_differently_are_refused_at_the_second():
    plan = _CellPlan(REVIEW, ["PORTFOLIO_PID", "PUBLIC_NOTES"])
    plan.add(3, 1, "one", "r", "notes", 5)
    plan.add(3, 1, "one", "r", "acquisitions", 9)
    with pytest.raises(InputError) as err:
        plan.add(3, 1, "two", "r", "po_line_check", 7)
    assert (err.value.row, err.value.column, Path(err.value.file)) == (7, "PUBLIC_NOTES", REVIEW)
    assert "sheet 'po_line_check' sets PUBLIC_NOTES of this export row to 'two' but sheet 'notes' (row 5) sets it " \
           "to 'one': keep one of them" in str(err.value)


def test_a_new_value_of_spaces_is_refused_saying_how_to_empty_the_cell():
    with pytest.raises(InputError) as err:
        _check_new_value(REVIEW, "notes", 4, "PUBLIC_NOTES", "   ", "old")
    assert (err.value.row, err.value.column) == (4, "PUBLIC_NOTES new value")
    assert str(err.value).endswith("sheet 'notes': the new value of PUBLIC_NOTES is only spaces; to empty the cell "
                                   "write 'clear PUBLIC_NOTES' as the decision if the sheet offers it, or leave the "
                                   "new value blank")
    with pytest.raises(InputError) as err:
        _check_new_value(REVIEW, "local_coverage", 6, "FROM_MONTH", "0", None)
    assert (err.value.row, err.value.column) == (6, "FROM_MONTH new value")
    assert str(err.value).endswith("sheet 'local_coverage': the new value of FROM_MONTH: '0' is not a month (1 to 12)")
    _check_new_value(REVIEW, "local_coverage", 6, "FROM_MONTH", "12", None)


# --- loader: edits as data, merged ---------------------------------------------------------

def test_cell_edits_of_four_rows_are_rows_not_columns():
    edits = cell_edits([(0, 1, "a", "r"), (1, 1, "b", "r"), (2, 1, None, "r"), (3, 1, "d", "r")])
    assert edits.rows() == [(0, 1, "a", "r"), (1, 1, "b", "r"), (2, 1, None, "r"), (3, 1, "d", "r")]


def test_merged_edits_later_cells_win_first_removal_reason_stays_and_undrop_keeps_a_row():
    base = Edits(cell_edits([(0, 1, "Y", "guide"), (2, 1, "Y", "guide")]),
                 drop_edits([(1, "INACTIVE row removed"), (3, "INACTIVE row removed")]))
    override = Edits(cell_edits([(0, 1, "N", "review")]), drop_edits([(1, "review drop"), (4, "review drop")]))
    merged = merge_edits(base, override, undrop={3})
    assert sorted(merged.cells.rows()) == [(0, 1, "N", "review"), (2, 1, "Y", "guide")]
    assert sorted(merged.drops.rows()) == [(1, "INACTIVE row removed"), (4, "review drop")]
    frame = pl.DataFrame({"c0": ["a", "b", "c", "d", "e"], "c1": ["N", "x", "N", "y", "z"]})
    loader = apply_edits(["TITLE", "LOCALIZED"], frame, 2, pl.Series(["p0", "p1", "p2", "p3", "p4"]), merged)
    assert loader.rows.to_list() == [2, 4, 5]
    assert loader.changes.select("row", "column", "new", "reason").rows() == [
        (3, "*row*", None, "INACTIVE row removed"), (4, "LOCALIZED", "Y", "guide"), (6, "*row*", None, "review drop")]


# --- decisions: parse_decisions on small in-memory workbooks --------------------------------

def export_frame(header: list[str], rows: list[list[str | None]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={f"c{i}": pl.String for i in range(len(header))}, orient="row")


def sheet(header: list[str], rows: list[list[str | None]]) -> ReviewTable:
    return ReviewTable(header, pl.DataFrame(rows, schema=[f"c{i}" for i in range(len(header))], orient="row"))


def parse(sheets, header, rows):
    frame = export_frame(header, rows)
    pids = frame["c0"]
    return parse_decisions(REVIEW, sheets, header=header, frame=frame, pids=pids, first_row=2)


def test_a_corrected_year_is_checked_against_the_rows_other_year_only_when_both_columns_exist():
    header = ["PORTFOLIO_PID", "FROM_YEAR", "TO_YEAR", "PUBLIC_NOTES"]
    rows = [[PID[0], "1995", "2001", None], [PID[1], "2005", "1999", None]]
    typed = sheet(["decision", "row", "PORTFOLIO_PID", "FROM_YEAR new value"], [["keep", "2", PID[0], "2003"]])
    with pytest.raises(InputError) as err:
        parse({"local_coverage": typed}, header, rows)
    assert "FROM_YEAR 2003 is after TO_YEAR 2001 once the new values are applied" in str(err.value)
    assert (err.value.row, err.value.column) == (2, "FROM_YEAR new value")
    # Without a TO_YEAR column nothing is compared.
    parse({"local_coverage": typed}, header[:2] + header[3:], [[r[0], r[1], r[3]] for r in rows])
    # A row whose exported years are out of order is not refused for a note typed on it.
    notes = sheet(["decision", "row", "PORTFOLIO_PID", "PUBLIC_NOTES new value"], [["keep", "3", PID[1], "Campus"]])
    assert parse({"notes": notes}, header, rows).values == {("notes", 1, "PUBLIC_NOTES"): "Campus"}


def test_a_review_sheet_without_its_decision_row_or_pid_column_is_refused_naming_it():
    header, rows = ["PORTFOLIO_PID", "TITLE"], [[PID[0], "Isis"]]
    with pytest.raises(InputError) as err:
        parse({"notes": sheet(["Decision ", "row"], [["keep", "2"]])}, header, rows)
    assert str(err.value) == "/tmp/filled.xlsx: row 1, column 'PORTFOLIO_PID': sheet 'notes' has no 'PORTFOLIO_PID' column"
    assert (err.value.row, err.value.column) == (1, "PORTFOLIO_PID")


def test_a_new_value_column_a_sheet_cannot_change_is_refused_saying_what_it_can():
    header, rows = ["PORTFOLIO_PID", "URL", "ISSN", "ISSN"], [[PID[0], "http://x.org", None, None]]
    for name, table, message in (
        ("inactive", ["decision", "row", "PORTFOLIO_PID", "URL new value"],
         "sheet 'inactive': column 'URL new value' is not one this sheet can change"),
        ("override_url", ["decision", "row", "PORTFOLIO_PID", "TITLE new value"],
         "sheet 'override_url': column 'TITLE new value' is not one this sheet can change; it can change URL"),
        ("notes", ["decision", "row", "PORTFOLIO_PID", "PUBLIC_NOTES new value"],
         "sheet 'notes': the export has 0 PUBLIC_NOTES columns, so a new value cannot say which one it is for"),
    ):
        with pytest.raises(InputError) as err:
            parse({name: sheet(table, [["keep" if name != "inactive" else "keep row", "2", PID[0], "x"]])}, header, rows)
        assert str(err.value).endswith(message)
        assert (Path(err.value.file), err.value.row, err.value.column) == (REVIEW, 1, table[-1])
    # A repeated identifier column takes the new value in its first position.
    typed = sheet(["decision", "row", "PORTFOLIO_PID", " ISSN new value "], [["keep", " 2.0 ", PID[0], "0038-7134"]])
    decisions = parse({"no_identifier": typed}, header, rows)
    assert decisions.edits.cells.rows() == [(0, 2, "0038-7134", "review new value (sheet no_identifier)")]
    assert decisions.chosen == {("no_identifier", 0): "keep"}


# --- audit: each column by what it means -----------------------------------------------------

def audited(header: list[str], rows: list[list[str | None]]):
    frame = export_frame(header, rows)
    return audit_table(header, frame), frame


def test_neutral_values_patterns_and_twins_decide_what_is_local():
    header = ["PORTFOLIO_PID", "LOCALIZED", "AVAILABILITY", "PROXY_ENABLE", "COVERAGE_STATEMENT", "FROM_YEAR",
              "GLOBAL_FROM_YEAR", "URL"]
    audit, frame = audited(header, [
        [PID[0], " y ", "active", "FALSE", "Only global", "1990", "1990 ", None],
        [PID[1], "N", "INACTIVE", "true", "Global and local", "1991", "1990", " "],
        [PID[2], None, None, None, None, None, "1990", "http://x.org"],
    ])
    assert audit.flags.select("localized_n", "inactive", "local_settings", "local_coverage", "override_url").rows() == [
        (False, False, False, False, False), (True, True, True, True, False), (False, False, False, False, True)]
    assert local_details(audit, frame, "local_coverage", [1]) == [
        "COVERAGE_STATEMENT 'Global and local'; FROM_YEAR '1991' (GLOBAL_FROM_YEAR '1990')"]
    assert local_details(audit, frame, "local_coverage", []) == []
    assert local_details(audit, frame, "notes", [0, 1]) == [None, None]


def test_a_local_value_with_no_twin_column_or_an_empty_twin_is_local():
    header = ["PORTFOLIO_PID", "PUBLICATION_DATE_YEAR", "TO_YEAR", "GLOBAL_TO_YEAR"]
    audit, frame = audited(header, [[PID[0], "2", "2001", None], [PID[1], None, "2001", "2001"]])
    assert audit.flags["local_coverage"].to_list() == [True, False]
    assert local_details(audit, frame, "local_coverage", [0]) == [
        "PUBLICATION_DATE_YEAR '2'; TO_YEAR '2001' (GLOBAL_TO_YEAR empty)"]


def test_local_cells_know_their_category_and_twin_and_the_sheet_shows_each_twin_once():
    header = ["FROM_YEAR", "PORTFOLIO_PID", "GLOBAL_FROM_YEAR", "NOTES", "NOTES", "FROM_YEAR", "ISSN", "Odd"]
    cells = local_cells(header)
    assert [(c.position, c.name, c.category, c.twin) for c in cells] == [
        (0, "FROM_YEAR", "local_coverage", 2), (3, "NOTES", "notes", None), (4, "NOTES", "notes", None),
        (5, "FROM_YEAR", "local_coverage", 2)]
    assert category_positions(header, "local_coverage") == [0, 2, 5]
    assert category_positions(header, "notes") == [3, 4]
    assert unknown_positions(header) == [7]


def test_unknown_columns_count_by_content_and_are_named_with_their_letter():
    header = ["PORTFOLIO_PID", "MMS", "Odd", "", "Empty"]
    audit, frame = audited(header, [[PID[0], "1", "x", None, " "], [PID[1], "2", None, "y", None]])
    assert audit.unknown_with_values == (2, 3) and audit.empty_extra == (4,)
    assert audit.not_checked[UNKNOWN] == ["'Odd' (column C)", "'' (column D)"]
    assert audit.counts[UNKNOWN] == 2 and audit.flags[UNKNOWN].to_list() == [True, True]
    assert local_details(audit, frame, UNKNOWN, [0, 1]) == ["'Odd' (column C) 'x'", "'' (column D) 'y'"]
    assert audit.decision == "manual_load"


def test_an_export_without_rows_counts_zero_and_has_nothing_to_load():
    header = ["PORTFOLIO_PID", "MMS", "LOCALIZED", "Odd"]
    audit, _ = audited(header, [])
    assert audit.counts["localized_n"] == 0 and audit.counts[UNKNOWN] == 0 and audit.decision == "nothing_to_load"
    assert audit.empty_extra == (3,)


def test_guide_edits_hold_pending_rows_and_keep_n_on_rows_that_would_duplicate_a_cz_row():
    header = ["PORTFOLIO_PID", "LOCALIZED", "AVAILABILITY", "AVAILABILITY"]
    frame = export_frame(header, [[PID[0], "N", "INACTIVE", None], [PID[1], " n ", None, " inactive "],
                                  [PID[2], "N", "ACTIVE", None]])
    edits = guide_edits(header, frame)
    assert edits.drops.rows() == [(0, "INACTIVE row removed"), (1, "INACTIVE row removed")]
    assert [r[:3] for r in edits.cells.rows()] == [(0, 1, "Y"), (1, 1, "Y"), (2, 1, "Y")]
    held = guide_edits(header, frame, hold=[1], keep_n=[0, 2])
    assert held.drops["index"].to_list() == [0] and [r[:3] for r in held.cells.rows()] == [(1, 1, "Y")]
    assert guide_edits(header, frame, keep_localized_n=True).cells.height == 0


@pytest.mark.parametrize("column, old, typed, message", [
    ("URL", "http://www.jstor.org/a", "www.jstor.org/a", "'www.jstor.org/a' is not a web address"),
    ("URL", "jkey=abc", "jkey=def", None),
    ("FROM_YEAR", "1995", "95", "'95' is not a year (four digits)"),
    ("ISSN", None, "0038-7135", "'0038-7135' is not a valid ISSN"),
    ("ISBN", None, "978-0-306-40615-7", None),
    ("ISSN", None, "ISSN 0038-7134", "'ISSN 0038-7134' holds more than the ISSN: write it alone, as 0038-7134"),
    ("ISSN", None, "0038-7134 (Online)", "'0038-7134 (Online)' holds more than the ISSN: write it alone, as 0038-7134"),
    ("ISBN", None, "0306406152 (pbk.) : $10.00",
     "'0306406152 (pbk.) : $10.00' holds more than the ISBN: write it alone, as 9780306406157"),
    ("ISBN", None, "978 0 306 40615 7", "'978 0 306 40615 7' holds more than the ISBN: write it alone, as 9780306406157"),
])
def test_a_typed_value_is_checked_against_the_cell_it_replaces(column, old, typed, message):
    header = ["PORTFOLIO_PID", column]
    name = {"URL": "override_url", "FROM_YEAR": "local_coverage", "ISSN": "no_identifier", "ISBN": "no_identifier"}[column]
    table = sheet(["decision", "row", "PORTFOLIO_PID", f"{column} new value"], [["keep", "2", PID[0], typed]])
    if message is None:
        assert parse({name: table}, header, [[PID[0], old]]).values == {(name, 0, column): typed}
        return
    with pytest.raises(InputError) as err:
        parse({name: table}, header, [[PID[0], old]])
    assert f"sheet {name!r}: the new value of {column}: {message}" in str(err.value)
    assert (err.value.row, err.value.column) == (2, f"{column} new value")


def test_a_blank_cell_is_no_po_line_nor_an_id_of_the_po_line():
    issues = check_po_lines(po_rows(["   ", "POL-1"]), po_export([("POL-1", "ACTIVE", "  ", " ")]))
    assert issues.height == 0


def test_guide_edits_leave_an_empty_localized_cell_and_say_why_they_change_one():
    header = ["PORTFOLIO_PID", "LOCALIZED"]
    edits = guide_edits(header, export_frame(header, [[PID[0], None], [PID[1], "N"]]))
    assert edits.cells.rows() == [(1, 1, "Y", "LOCALIZED N changed to Y (link the portfolio to the CZ, as the guide "
                                             "recommends)")]


def test_the_writer_refusal_names_at_most_five_unlogged_rows_and_what_else_went_wrong():
    from almaclean.errors import AlmacleanError
    from almaclean.resync.loader import Loader, check_logged

    header = ["PORTFOLIO_PID", "TITLE"]
    frame = export_frame(header, [[f"p{i}", f"t{i}"] for i in range(8)])
    nothing = pl.DataFrame(schema={"row": pl.Int64, "portfolio_pid": pl.String, "column": pl.String, "old": pl.String,
                                   "new": pl.String, "reason": pl.String})
    with pytest.raises(AlmacleanError) as err:
        check_logged(frame, 2, header, Loader(frame.head(1), pl.Series([2]), nothing))
    assert str(err.value) == ("the loader file would lose rows [3, 4, 5, 6, 7] without a change log line (or keep a "
                              "row the log says is removed); nothing was written")
    logged = pl.DataFrame({"row": [2], "portfolio_pid": ["p0"], "column": ["TITLE"], "old": ["t0"], "new": ["x"],
                           "reason": ["r"]})
    with pytest.raises(AlmacleanError) as err:
        check_logged(frame, 2, header, Loader(frame, pl.Series(range(2, 10)), logged))
    assert str(err.value) == ("the change log says TITLE of export row 2 changes, but the loader file does not change "
                              "it; nothing was written")


def test_what_almaclean_proposes_per_sheet():
    from almaclean.resync.decisions import default_decision

    assert default_decision("localized_n") == "set LOCALIZED Y"
    assert default_decision("localized_n", keep_localized_n=True) == "set LOCALIZED N"
    assert default_decision("inactive", keep_localized_n=True) == "drop row"
    assert default_decision("notes") == "keep"


def test_a_review_row_must_name_an_export_row_and_its_pid():
    header, rows = ["PORTFOLIO_PID", "TITLE"], [[PID[0], "Isis"], [None, "Ethics"]]
    for row_text, message in (("x", "'x' is not a row of the export"), ("4", "'4' is not a row of the export"),
                              (None, "None is not a row of the export"), ("1", "'1' is not a row of the export")):
        with pytest.raises(InputError) as err:
            parse({"notes": sheet(["decision", "row", "PORTFOLIO_PID"], [["keep", row_text, PID[0]]])}, header, rows)
        assert str(err.value).endswith(f"sheet 'notes': {message}")
        assert (Path(err.value.file), err.value.row, err.value.column) == (REVIEW, 2, "row")
    # A blank row between decided rows is skipped, not the end; a blank PID matches a blank export PID.
    table = sheet(["decision", "row", "PORTFOLIO_PID"], [[None, None, None], ["keep", "3", " "], ["keep", "2", PID[0]]])
    assert parse({"notes": table}, header, rows).chosen == {("notes", 1): "keep", ("notes", 0): "keep"}
    # An empty PID cell matches an empty export PID too.
    empty = sheet(["decision", "row", "PORTFOLIO_PID"], [["keep", "3", None]])
    assert parse({"notes": empty}, header, rows).chosen == {("notes", 1): "keep"}


def test_a_set_or_clear_decision_keeps_a_cell_that_already_says_so_and_conflicts_name_both_places():
    header = ["PORTFOLIO_PID", "LOCALIZED", "PUBLIC_NOTES"]
    rows = [[PID[0], " y ", "note"], [PID[1], "N", None]]
    decisions = parse({"localized_n": sheet(["decision", "row", "PORTFOLIO_PID"], [["set localized y", "2", PID[0]],
                                                                                  ["set LOCALIZED Y", "3", PID[1]]])},
                      header, rows)
    assert decisions.edits.cells.select("index", "pos", "new").rows() == [(0, 1, " y "), (1, 1, "Y")]
    clear = sheet(["decision", "row", "PORTFOLIO_PID"], [["clear PUBLIC_NOTES", "2", PID[0]]])
    typed = sheet(["decision", "row", "PORTFOLIO_PID", "PUBLIC_NOTES new value"], [["keep", "2", PID[0], "new"]])
    with pytest.raises(InputError) as err:
        parse({"notes": clear, "acquisitions": typed}, header, rows)
    assert str(err.value).endswith("sheet 'acquisitions' sets PUBLIC_NOTES of this export row to 'new' but sheet "
                                   "'notes' (row 2) sets it to None: keep one of them")
    assert (Path(err.value.file), err.value.row, err.value.column) == (REVIEW, 2, "PUBLIC_NOTES")
    only_typed = parse({"acquisitions": typed}, header, rows)
    assert only_typed.origins == {(0, 2): ("acquisitions", 2)} and only_typed.drop_sheets == {}


def test_typed_value_and_year_order_refusals_name_the_review_file():
    header = ["PORTFOLIO_PID", "FROM_YEAR", "TO_YEAR"]
    for column, value in (("FROM_YEAR", "x"), ("TO_YEAR", "1990")):
        table = sheet(["decision", "row", "PORTFOLIO_PID", f"{column} new value"], [["keep", "2", PID[0], value]])
        with pytest.raises(InputError) as err:
            parse({"local_coverage": table}, header, [[PID[0], "1995", "2001"]])
        assert Path(err.value.file) == REVIEW and err.value.row == 2


def test_two_columns_of_one_name_take_no_new_value_unless_identifiers():
    header = ["PORTFOLIO_PID", "NOTES", "NOTES"]
    table = sheet(["decision", "row", "PORTFOLIO_PID", "NOTES new value"], [["keep", "2", PID[0], "x"]])
    with pytest.raises(InputError, match="the export has 2 NOTES columns, so a new value cannot say which one"):
        parse({"notes": table}, header, [[PID[0], None, None]])
    with pytest.raises(InputError) as err:
        parse({"acquisitions": sheet(["decision", "row", "PORTFOLIO_PID", "URL new value"],
                                     [["keep", "2", PID[0], "x"]])}, header, [[PID[0], None, None]])
    assert str(err.value).endswith("is not one this sheet can change; it can change PO_LINE, PUBLIC_NOTES")


def test_an_unreadable_review_workbook_is_refused_naming_it(tmp_path):
    from almaclean.services.resync_inputs import read_review_workbook

    bad = tmp_path / "review.xlsx"
    bad.write_bytes(b"PK\x03\x04 not really a workbook")
    with pytest.raises(InputError) as err:
        read_review_workbook(bad)
    assert Path(err.value.file) == bad and "cannot read the review workbook: " in str(err.value)


def test_a_required_column_absent_leaves_its_category_not_checked_even_when_every_cell_is_empty():
    from almaclean.model import extended_export as model
    from almaclean.sample.extended import EXTENDED_EXPORT_HEADER

    header = [h for h in EXTENDED_EXPORT_HEADER if h != "EBA"] + ["PO LINE", "Odd"]
    width = len(header)
    rows = [[None] * width for _ in range(2)]
    for pid, row in zip(PID, rows):   # linked to the CZ and active: nothing local
        row[header.index("PORTFOLIO_PID")] = pid
        row[header.index("LOCALIZED")], row[header.index("AVAILABILITY")] = "Y", "ACTIVE"
    rows[0][-1] = "campus"
    audit, frame = audited(header, rows)
    assert audit.rows == 2
    assert audit.missing_columns == {"acquisitions": ["EBA"]} and "EBA" in model.required_columns("acquisitions")
    assert audit.not_checked["acquisitions"] == ["EBA"]
    assert [(u.position, u.category, u.looks_like) for u in audit.unrecognised] == [(width - 2, "acquisitions",
                                                                                      "PO_LINE")]
    # Values in an unknown column are listed in its own sheet only, never as a notes value.
    assert local_details(audit, frame, "notes", [0]) == [None]
    assert local_details(audit, frame, UNKNOWN, [0]) == [f"'Odd' (column {audit.place(width - 1)[-3:-1]}) 'campus'"]
    # Every category has its columns and holds nothing, but one required column is absent: not Activate all.
    empty, _ = audited(header[:-2], [r[:-2] for r in rows])
    assert empty.counts == dict.fromkeys(empty.counts, 0) and empty.decision == "manual_load"


def test_a_row_is_matchable_after_the_deletion_only_by_an_identifier_the_loader_can_match():
    from almaclean.resync.reload import no_identifier_rows

    header = ["PORTFOLIO_PID", "ISSN", "ISBN", "OTHER_SYSTEM_NUMBER"]
    rows = [
        [PID[0], "0038-7134", None, None],
        [PID[1], "n/a", None, None],                        # no ISSN at all
        [PID[2], "0038-7135", None, None],                  # a wrong check digit: the record may carry it too
        [PID[0], "ISSN 0038-7134 (Online)", None, None],    # not alone: the loader takes the cell as written
        [PID[1], "n/a", None, "(OCoLC)12345"],              # matched by its other system number
        [PID[2], None, "978-0-306-40615-7", None],
        [PID[0], "0038-7134; 1234-5679", None, None],       # several, each alone
        [PID[1], None, None, None],
        [PID[2], "12345", None, None],                      # digits, but no ISSN or ISBN
    ]
    assert no_identifier_rows(header, export_frame(header, rows)) == [1, 3, 7, 8]
    assert no_identifier_rows(["PORTFOLIO_PID", "OTHER_SYSTEM_NUMBER"],
                              export_frame(["PORTFOLIO_PID", "OTHER_SYSTEM_NUMBER"], [[PID[0], "x"], [PID[1], " "]])) == [1]
