"""The editable review: "new value" cells and one-column clears applied with --decisions, each
change logged; a loader file is a DRAFT until no row awaits a decision; "Activate all" needs no
loader file; the first sheet says what to do first, with numbers as numbers."""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

import polars as pl
import pytest
import xlsxwriter
from test_resync_evidence import clean_rows, realistic_export, summary_items, written
from test_resync_rules import PID, assert_loader_matches, plan_of

from almaclean.errors import InputError
from almaclean.read.table import read_table
from almaclean.resync.decisions import parse_decisions, read_review_workbook
from almaclean.resync.report import review_sheets
from almaclean.write.xlsx import Sheet, write_workbook

EXPORT = "JSTOR+Arts+and+Sciences+I_portfolios.xlsx"


def reviewed_export(tmp_path: Path) -> Path:
    rows = clean_rows()
    rows[0] |= {"LOCALIZED": "N"}
    rows[1] |= {"AVAILABILITY": "INACTIVE", "PUBLIC_NOTES": "Access via VPN only"}
    rows[2] |= {"PUBLIC_NOTES": "Simultaneous users: 3", "NOTES": "renewal 2020",
                "AUTHENTICATION_NOTES": "Use the library proxy"}
    rows[3] |= {"FROM_YEAR": "1995", "COVERAGE_STATEMENT": "Only local"}
    rows[4] |= {"PO_LINE": "POL-2019-00417"}
    rows[5] |= {"URL": "http://www.jstor.org/action/showPublication?journalCode=ethics"}
    return realistic_export(tmp_path / EXPORT, rows)


def fill(review: Path, target: Path, cells: dict[tuple[str, str, str], str], *, numbers=(),
         leave_out: tuple[str, ...] = ()) -> Path:
    """A copy of review.xlsx with cells (sheet, export row, column header) filled in, as a person
    would in Excel; `numbers` are typed as numbers (Excel makes "1996" a number)."""
    sheets = []
    typed_numbers: list[tuple[str, int, int, float]] = []
    for name, table in read_review_workbook(review).items():
        if name in leave_out:
            continue
        frame = table.frame
        rows = frame[frame.columns[table.header.index("row")]].to_list() if "row" in table.header else []
        for (sheet, row, column), value in cells.items():
            if sheet != name:
                continue
            c = frame.columns[table.header.index(column)]
            i = rows.index(row)
            if (sheet, row, column) in numbers:
                typed_numbers.append((name, i + 1, table.header.index(column), float(value)))
                value = None
            frame = frame.with_columns(pl.Series(c, [value if j == i else v for j, v in enumerate(frame[c])],
                                                 dtype=pl.String))
        sheets.append(Sheet(name, table.header, frame))
    write_workbook(target, sheets)
    if typed_numbers:
        _retype(target, sheets, typed_numbers)
    return target


def _retype(path: Path, sheets: list[Sheet], numbers) -> None:
    """Rewrite the workbook with xlsxwriter so some cells are real numbers."""
    path.unlink()
    book = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False, "strings_to_formulas": False,
                                           "strings_to_urls": False})
    for sheet in sheets:
        ws = book.add_worksheet(sheet.name)
        for c, h in enumerate(sheet.header):
            ws.write_string(0, c, h)
        for r, row in enumerate(sheet.frame.rows(), 1):
            for c, v in enumerate(row):
                if v is not None:
                    ws.write_string(r, c, v)
        for name, r, c, v in numbers:
            if name == sheet.name:
                ws.write_number(r, c, v)
    book.close()


def changes_of(folder: Path) -> pl.DataFrame:
    table = read_table(folder / "changes.csv")
    return table.frame.rename(dict(zip(table.frame.columns, table.header))).with_columns(pl.col("row").cast(pl.Int64))


def decided(export: Path, filled: Path):
    base = plan_of(export)
    decisions = parse_decisions(filled, read_review_workbook(filled), header=base.header, frame=base.frame,
                                pids=base.identity.pid, first_row=base.first_row)
    return plan_of(export, decisions=decisions)


def test_e_review_with_new_values_round_trips_every_change_logged(tmp_path):
    export = reviewed_export(tmp_path)
    draft = plan_of(export)
    first = tmp_path / "run1"
    record = written(draft, first)
    assert record["loader"] == "JSTOR+Arts+and+Sciences+I_portfolios_loader_DRAFT.xlsx"
    # Every listed row has a proposed decision (nothing pending): none awaits one, yet the loader stays a
    # draft until the review is handed back.
    assert not record["loader_final"] and record["rows_awaiting_decision"] == 0
    assert record["draft_because"] == ["the review in review.xlsx has not been applied yet"]
    review = read_review_workbook(first / "review.xlsx")
    assert review["notes"].header[7:] == ["AUTHENTICATION_NOTES", "AUTHENTICATION_NOTES new value", "PUBLIC_NOTES",
                                          "PUBLIC_NOTES new value", "NOTES", "NOTES new value"]
    assert review["acquisitions"].header[7:] == ["PO_LINE", "PO_LINE new value", "PUBLIC_NOTES",
                                                 "PUBLIC_NOTES new value"]

    filled = fill(first / "review.xlsx", tmp_path / "filled.xlsx", {
        ("notes", "4", "decision"): "clear NOTES",
        ("notes", "4", "PUBLIC_NOTES new value"): "Simultaneous users: 5",
        ("local_coverage", "5", "FROM_YEAR new value"): "1996",
        ("acquisitions", "6", "PO_LINE new value"): "POL-2019-00418",
        ("acquisitions", "6", "PUBLIC_NOTES new value"): "Limited to 1 simultaneous user (POL-2019-00418)",
        ("override_url", "7", "URL new value"): "https://www.jstor.org/journal/ethics",
    }, numbers={("local_coverage", "5", "FROM_YEAR new value")})
    plan = decided(export, filled)
    second = tmp_path / "run2"
    record = written(plan, second)
    assert record["loader"] == "JSTOR+Arts+and+Sciences+I_portfolios_loader.xlsx" and record["loader_final"]
    changes = changes_of(second)
    log = {(r, c): (o, n, why) for r, c, o, n, why in
           changes.select("row", "column", "old", "new", "reason").iter_rows()}
    assert log == {
        (2, "LOCALIZED"): ("N", "Y", "review decision: set LOCALIZED Y (sheet localized_n)"),
        (3, "*row*"): (None, None, "INACTIVE row removed"),
        (4, "NOTES"): ("renewal 2020", None, "review decision: clear NOTES (sheet notes)"),
        (4, "PUBLIC_NOTES"): ("Simultaneous users: 3", "Simultaneous users: 5", "review new value (sheet notes)"),
        (5, "FROM_YEAR"): ("1995", "1996", "review new value (sheet local_coverage)"),
        (6, "PO_LINE"): ("POL-2019-00417", "POL-2019-00418", "review new value (sheet acquisitions)"),
        (6, "PUBLIC_NOTES"): (None, "Limited to 1 simultaneous user (POL-2019-00418)",
                              "review new value (sheet acquisitions)"),
        (7, "URL"): ("http://www.jstor.org/action/showPublication?journalCode=ethics",
                     "https://www.jstor.org/journal/ethics", "review new value (sheet override_url)"),
    }
    loader = second / record["loader"]
    assert read_table(loader).header == read_table(export).header
    assert_loader_matches(export, loader, changes)
    # One notes column at a time: the other notes of row 4 are untouched.
    after = read_table(loader)
    row4 = dict(zip(after.header, after.frame.row(1)))
    assert row4["AUTHENTICATION_NOTES"] == "Use the library proxy" and row4["NOTES"] is None
    # The new values are shown again in the review written with the decisions.
    again = read_review_workbook(second / "review.xlsx")["acquisitions"]
    assert "POL-2019-00418" in again.frame[again.frame.columns[again.header.index("PO_LINE new value")]].to_list()
    assert summary_items(plan)["What to do first"][0].startswith(
        "JSTOR+Arts+and+Sciences+I_portfolios_loader.xlsx is the final loader file")


def test_e_before_review_the_loader_is_a_draft_and_the_first_sheet_says_so(tmp_path):
    plan = plan_of(reviewed_export(tmp_path))
    first = summary_items(plan)["What to do first"][0]
    assert first.startswith("Review first. JSTOR+Arts+and+Sciences+I_portfolios_loader_DRAFT.xlsx is a DRAFT: "
                            "do not upload it (the review in review.xlsx has not been applied yet).")
    assert f"almaclean resync {EXPORT} --decisions review.xlsx" in first
    sheet = review_sheets(plan)[0]
    assert sheet.name == "summary" and sheet.frame.row(0)[0] == "What to do first"


def test_e_a_review_missing_a_sheet_leaves_the_loader_a_draft(tmp_path):
    export = reviewed_export(tmp_path)
    written(plan_of(export), tmp_path / "run1")
    filled = fill(tmp_path / "run1" / "review.xlsx", tmp_path / "filled.xlsx", {}, leave_out=("notes",))
    plan = decided(export, filled)
    # Row 3 (frame row 1) is dropped by the inactive sheet's "drop row": only row 4 awaits a notes decision.
    assert not plan.final and plan.awaiting == {2: ["notes"]}
    assert plan.loader_name.endswith("_loader_DRAFT.xlsx")


def test_e_activate_all_needs_no_loader_file(tmp_path):
    plan = plan_of(realistic_export(tmp_path / EXPORT))
    folder = tmp_path / "out"
    record = written(plan, folder)
    assert record["decision"] == "reactivate_all" and record["loader"] is None and record["backup"] == EXPORT
    assert not list(folder.glob("*_loader*"))
    assert (folder / EXPORT).read_bytes() == (tmp_path / EXPORT).read_bytes()
    assert summary_items(plan)["What to do first"][0].startswith(f"No loader file is needed: keep {EXPORT}")


def test_e_first_sheet_counts_are_numbers(tmp_path):
    plan = plan_of(reviewed_export(tmp_path))
    items = summary_items(plan)
    assert items["Portfolios in the export"] == [6] and items["Rows removed in the loader"] == [1]
    written(plan, tmp_path / "out")
    with zipfile.ZipFile(tmp_path / "out" / "review.xlsx") as z:
        xml = z.read("xl/worksheets/sheet1.xml").decode()
    # A number cell has no t="..." type; the count of portfolios is one.
    assert '<v>6</v>' in xml


@pytest.mark.parametrize("cells, message, column", [
    ({("notes", "4", "PUBLIC_NOTES new value"): "A", ("acquisitions", "6", "PUBLIC_NOTES new value"): "B",
      ("notes", "3", "decision"): "keep"}, None, None),
    ({("notes", "4", "PUBLIC_NOTES new value"): "A", ("notes", "4", "decision"): "clear PUBLIC_NOTES"},
     "sets PUBLIC_NOTES of this export row to", "PUBLIC_NOTES"),
    ({("notes", "4", "PUBLIC_NOTES new value"): "A", ("notes", "4", "decision"): "drop row"},
     "on a row that the decision 'drop row' in sheet 'notes' removes: clear one of them", "PUBLIC_NOTES new value"),
    ({("notes", "4", "PUBLIC_NOTES new value"): "   "}, "is only spaces", "PUBLIC_NOTES new value"),
    ({("notes", "4", "decision"): "clear notes"}, "unknown decision 'clear notes'; write one of: keep, "
     "clear AUTHENTICATION_NOTES, clear PUBLIC_NOTES, clear INTERNAL_DESCRIPTION, clear NOTES, drop row", "decision"),
])
def test_e_contradictory_or_unclear_review_cells_are_refused(tmp_path, cells, message, column):
    export = reviewed_export(tmp_path)
    written(plan_of(export), tmp_path / "run1")
    filled = fill(tmp_path / "run1" / "review.xlsx", tmp_path / "filled.xlsx", cells)
    if message is None:
        plan = decided(export, filled)   # different cells of different rows: both applied
        assert {(r, c) for r, c in plan.loader.changes.select("row", "column").iter_rows()} >= {
            (4, "PUBLIC_NOTES"), (6, "PUBLIC_NOTES")}
        return
    with pytest.raises(InputError) as err:
        decided(export, filled)
    assert message in str(err.value) and "filled.xlsx" in str(err.value)
    assert err.value.column == column


def test_e_one_cell_changed_in_two_sheets_must_agree(tmp_path):
    rows = clean_rows()
    rows[4] |= {"PO_LINE": "POL-1", "PUBLIC_NOTES": "old note"}
    export = realistic_export(tmp_path / EXPORT, rows)
    written(plan_of(export), tmp_path / "run1")
    filled = fill(tmp_path / "run1" / "review.xlsx", tmp_path / "filled.xlsx", {
        ("notes", "6", "PUBLIC_NOTES new value"): "one", ("acquisitions", "6", "PUBLIC_NOTES new value"): "two"})
    with pytest.raises(InputError, match="sets PUBLIC_NOTES of this export row to 'two' but sheet 'notes' "
                                         r"\(row 2\) sets it to 'one'"):
        decided(export, filled)
    same = fill(tmp_path / "run1" / "review.xlsx", tmp_path / "same.xlsx", {
        ("notes", "6", "PUBLIC_NOTES new value"): "one", ("acquisitions", "6", "PUBLIC_NOTES new value"): "one"})
    assert decided(export, same).loader.changes.filter(pl.col("column") == "PUBLIC_NOTES")["new"].to_list() == ["one"]


def test_e_new_value_column_a_sheet_may_not_change_is_refused(tmp_path):
    export = reviewed_export(tmp_path)
    base = plan_of(export)
    from almaclean.resync.decisions import ReviewTable

    table = ReviewTable(["decision", "row", "PORTFOLIO_PID", "TITLE new value"],
                        pl.DataFrame([["keep", "2", PID[0], "New title"]], schema=["c0", "c1", "c2", "c3"],
                                     orient="row"))
    with pytest.raises(InputError, match="column 'TITLE new value' is not one this sheet can change"):
        parse_decisions(tmp_path / "r.xlsx", {"notes": table}, header=base.header, frame=base.frame,
                        pids=base.identity.pid, first_row=2)


def test_e_audit_json_names_the_draft_and_the_backup(tmp_path):
    export = reviewed_export(tmp_path)
    written(plan_of(export), tmp_path / "out")
    audit = json.loads((tmp_path / "out" / "audit.json").read_text(encoding="utf-8"))
    assert audit["loader"].endswith("_loader_DRAFT.xlsx") and audit["backup"] == EXPORT
    assert (tmp_path / "out" / audit["loader"]).exists()


def test_e_a_new_value_on_a_row_the_loader_removes_as_inactive_is_refused_unless_kept(tmp_path):
    export = reviewed_export(tmp_path)
    written(plan_of(export), tmp_path / "run1")
    lost = fill(tmp_path / "run1" / "review.xlsx", tmp_path / "lost.xlsx",
                {("notes", "3", "PUBLIC_NOTES new value"): "Access for all"})
    with pytest.raises(InputError) as err:
        decided(export, lost)
    assert ("is given on a row that the decision 'drop row' in sheet 'inactive' removes (write 'keep row' there "
            "to keep it): clear one of them") in str(err.value)
    assert err.value.row == 2 and err.value.column == "PUBLIC_NOTES new value"
    # The same with the inactive sheet left out of the workbook: the guide's removal still applies.
    unseen = fill(tmp_path / "run1" / "review.xlsx", tmp_path / "unseen.xlsx",
                  {("notes", "3", "PUBLIC_NOTES new value"): "Access for all"}, leave_out=("inactive",))
    with pytest.raises(InputError, match="the loader removes as INACTIVE: write 'keep row' for it in the inactive"):
        decided(export, unseen)
    kept = fill(tmp_path / "run1" / "review.xlsx", tmp_path / "kept.xlsx",
                {("notes", "3", "PUBLIC_NOTES new value"): "Access for all", ("inactive", "3", "decision"): "keep row"})
    changes = decided(export, kept).loader.changes
    assert changes.filter(pl.col("row") == 3).select("column", "new", "reason").rows() == [
        ("PUBLIC_NOTES", "Access for all", "review new value (sheet notes)")]
