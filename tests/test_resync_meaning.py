"""Re-sync decisions from what each column means, one test per class of case: local settings
outside the guide's list, local embargo and coverage against their GLOBAL_ twins, proxy settings,
pending orders and activations on INACTIVE rows, a blank cell is no decision, corrected values
checked like original ones, empty extra columns, the checklist before deletion, LOCALIZED N rows
duplicating a CZ row, rows the loader could not match, rows not re-created. Each asserts the
decision and its reason in audit.json and in the review workbook as written. Realistic exports:
the 99-column header, JSTOR journal rows (tests/test_resync_evidence.py)."""
from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from test_resync_evidence import clean_rows, written
from test_resync_review import fill
from test_resync_rules import PID, build_export, plan_of

from almaclean.errors import InputError
from almaclean.read.table import excel_letter, read_table
from almaclean.resync.decisions import parse_decisions, read_review_workbook
from almaclean.sample.extended import EXTENDED_EXPORT_HEADER, extended_export_frame

EXPORT = "JSTOR+Arts+and+Sciences+I_portfolios.xlsx"
AS_OF = date(2026, 11, 29)


def export_of(path: Path, rows: list[dict], extra: dict[str, list[str | None]] | None = None) -> Path:
    """An Extended Export with the full header, then `extra` columns (name -> cells) at the end."""
    names = {k: pl.String for row in rows for k in row}
    frame = extended_export_frame(pl.DataFrame(rows, schema=names))
    extra = extra or {}
    header = [*EXTENDED_EXPORT_HEADER, *extra]
    data = [list(row) + [cells[i] for cells in extra.values()] for i, row in enumerate(frame.rows())]
    return build_export(path, header, data)


def po_lines(rows: list[tuple[str, str]]) -> pl.DataFrame:
    """A PO line export's canonical frame: (PO line, status)."""
    return pl.DataFrame({"po_line": [r[0] for r in rows], "status": [r[1] for r in rows],
                         "mms_id": [None] * len(rows), "portfolio_id": [None] * len(rows)},
                        schema={c: pl.String for c in ("po_line", "status", "mms_id", "portfolio_id")})


def outputs(plan, folder: Path) -> tuple[dict, dict[str, list[dict]]]:
    """audit.json and the review workbook's sheets (rows as dicts), as written."""
    written(plan, folder)
    audit = json.loads((folder / "audit.json").read_text(encoding="utf-8"))
    sheets = {}
    for name, table in read_review_workbook(folder / "review.xlsx").items():
        sheets[name] = [dict(zip(table.header, row)) for row in table.frame.rows()]
    return audit, sheets


def summary(sheets: dict[str, list[dict]]) -> dict[str, list]:
    items: dict[str, list] = {}
    for row in sheets["summary"]:
        items.setdefault(row["item"], []).append(row["details"] if row["number"] is None else int(row["number"]))
    return items


def decided(export: Path, filled: Path, **kw):
    base = plan_of(export, as_of=AS_OF, **kw)
    decisions = parse_decisions(filled, read_review_workbook(filled), header=base.header, frame=base.frame,
                                pids=base.identity.pid, first_row=base.first_row)
    return plan_of(export, decisions=decisions, as_of=AS_OF, **kw)


# --- local settings outside the guide's list ---------------------------------------------------

@pytest.mark.parametrize("column, value", [
    ("CONCURRENT_USERS", "3"), ("ACCESS_TYPE", "Perpetual"), ("GROUP_NAME", "Main campus"),
    ("LIBRARY", "Law Library"), ("AVAILABLE_FOR_GROUP", "Medical School"), ("PROXY_ENABLE", "true"),
    ("PROXY_SELECTED", "EZproxy"), ("PROXY_LEVEL", "PORTFOLIO"), ("OWNERSHIP", "Owned"),
])
def test_a_local_setting_outside_the_guide_list_is_a_manual_load_with_the_row_listed(tmp_path, column, value):
    rows = clean_rows()
    rows[1][column] = value
    audit, sheets = outputs(plan_of(export_of(tmp_path / EXPORT, rows), as_of=AS_OF), tmp_path / "out")
    assert audit["decision"] == "manual_load"
    assert audit["categories"]["local_settings"] == 1 and audit["not_checked"] == {}
    assert "1 portfolios with other local settings" in audit["explanation"]
    [row] = sheets["local_settings"]
    assert (row["row"], row["PORTFOLIO_PID"], row[column]) == ("3", PID[1], value)
    assert row["why listed"] == f"{column} '{value}'" and row["decision"] == "keep"
    assert any("the Portfolio Loader may not set every column" in s for s in audit["next_steps"])


@pytest.mark.parametrize("value", ["false", "FALSE", " No ", "N", "0"])
def test_proxy_not_enabled_on_a_portfolio_is_no_local_setting(tmp_path, value):
    rows = [r | {"PROXY_ENABLE": value} for r in clean_rows()]
    audit, _ = outputs(plan_of(export_of(tmp_path / EXPORT, rows), as_of=AS_OF), tmp_path / "out")
    assert audit["decision"] == "reactivate_all" and audit["categories"]["local_settings"] == 0


# --- local embargo and coverage against their GLOBAL_ twins -----------------------------------

@pytest.mark.parametrize("local, global_, why", [
    ({"PUBLICATION_DATE_OPERATOR": "<", "PUBLICATION_DATE_YEAR": "2"}, {},
     "PUBLICATION_DATE_OPERATOR '<' (GLOBAL_PUBLICATION_DATE_OPERATOR empty); PUBLICATION_DATE_YEAR '2' "
     "(GLOBAL_PUBLICATION_DATE_YEAR empty)"),
    ({"PUBLICATION_DATE_OPERATOR": "<", "PUBLICATION_DATE_YEAR": "1"},
     {"GLOBAL_PUBLICATION_DATE_OPERATOR": "<", "GLOBAL_PUBLICATION_DATE_YEAR": "3"},
     "PUBLICATION_DATE_YEAR '1' (GLOBAL_PUBLICATION_DATE_YEAR '3')"),
    ({"PUBLICATION_DATE_MONTH": "6"}, {"GLOBAL_PUBLICATION_DATE_MONTH": "12"},
     "PUBLICATION_DATE_MONTH '6' (GLOBAL_PUBLICATION_DATE_MONTH '12')"),
    ({"TO_YEAR": "2010"}, {"GLOBAL_TO_YEAR": "2015"}, "TO_YEAR '2010' (GLOBAL_TO_YEAR '2015')"),
])
def test_a_local_embargo_or_coverage_unlike_its_global_twin_is_local_coverage(tmp_path, local, global_, why):
    rows = clean_rows()
    rows[2] |= local | global_
    audit, sheets = outputs(plan_of(export_of(tmp_path / EXPORT, rows), as_of=AS_OF), tmp_path / "out")
    assert audit["decision"] == "manual_load" and audit["categories"]["local_coverage"] == 1
    [row] = sheets["local_coverage"]
    assert row["row"] == "4" and row["why listed"] == why and row["decision"] == "keep"
    # The sheet shows each local column beside its GLOBAL_ twin.
    header = list(row)
    for name in local:
        assert header[header.index(name) + 1] == f"GLOBAL_{name}"


@pytest.mark.parametrize("same", [
    {"PUBLICATION_DATE_OPERATOR": "<", "PUBLICATION_DATE_YEAR": "3", "GLOBAL_PUBLICATION_DATE_OPERATOR": "<",
     "GLOBAL_PUBLICATION_DATE_YEAR": "3"},
    {"FROM_YEAR": "1920", "GLOBAL_FROM_YEAR": "1920", "TO_YEAR": " 2001 ", "GLOBAL_TO_YEAR": "2001"},
])
def test_a_local_value_equal_to_its_global_twin_is_the_cz_value(tmp_path, same):
    rows = clean_rows()
    rows[2] |= same
    audit, _ = outputs(plan_of(export_of(tmp_path / EXPORT, rows), as_of=AS_OF), tmp_path / "out")
    assert audit["decision"] == "reactivate_all" and audit["categories"]["local_coverage"] == 0


def test_the_local_coverage_sheet_shows_the_embargo_behind_only_local(tmp_path):
    rows = clean_rows()
    rows[3] |= {"COVERAGE_STATEMENT": "Only local", "PUBLICATION_DATE_OPERATOR": ">", "PUBLICATION_DATE_YEAR": "1",
                "GLOBAL_PUBLICATION_DATE_OPERATOR": "<", "GLOBAL_PUBLICATION_DATE_YEAR": "3"}
    _, sheets = outputs(plan_of(export_of(tmp_path / EXPORT, rows), as_of=AS_OF), tmp_path / "out")
    [row] = sheets["local_coverage"]
    header = list(row)
    start = header.index("PUBLICATION_DATE_OPERATOR")
    assert header[start:start + 6] == [
        "PUBLICATION_DATE_OPERATOR", "GLOBAL_PUBLICATION_DATE_OPERATOR", "PUBLICATION_DATE_OPERATOR new value",
        "PUBLICATION_DATE_YEAR", "GLOBAL_PUBLICATION_DATE_YEAR", "PUBLICATION_DATE_YEAR new value"]
    assert (row["PUBLICATION_DATE_OPERATOR"], row["GLOBAL_PUBLICATION_DATE_OPERATOR"]) == (">", "<")
    assert row["COVERAGE_STATEMENT"] == "Only local"
    assert "COVERAGE_STATEMENT 'Only local'" in row["why listed"]


# --- pending orders and activations: never dropped silently ---------------------------------

PENDING = [
    ({"PO_LINE": "POL-2025-00077"}, [("POL-2025-00077", "ACTIVE")],
     "PO line POL-2025-00077 is ACTIVE in the PO line export: a pending order"),
    ({"PO_LINE": "POL-2025-00077"}, None, "PO line POL-2025-00077 (its status not checked: no PO line export given)"),
    ({"PO_LINE": "POL-2025-00078"}, [("POL-1", "CLOSED")],
     "PO line POL-2025-00078 is not in the PO line export: it may be an open order"),
    ({"EXPECTED_ACTIVATION_DATE": "2027-01-15"}, None,
     "EXPECTED_ACTIVATION_DATE 2027-01-15 is after 2026-11-29: an activation to come"),
    ({"INTERNAL_DESCRIPTION": "Trial until March"}, None, "INTERNAL_DESCRIPTION mentions a trial: 'Trial until March'"),
    ({"PDA": "PDA-0007"}, None, "PDA 'PDA-0007': part of a PDA programme"),
]


@pytest.mark.parametrize("cells, pols, reason", PENDING)
def test_an_inactive_row_with_a_pending_order_or_activation_waits_for_an_explicit_decision(tmp_path, cells, pols,
                                                                                          reason):
    rows = clean_rows()
    rows[1] |= {"AVAILABILITY": "INACTIVE"} | cells
    export = export_of(tmp_path / EXPORT, rows)
    kw = {"po_lines": po_lines(pols)} if pols else {}
    plan = plan_of(export, as_of=AS_OF, **kw)
    audit, sheets = outputs(plan, tmp_path / "run1")
    assert audit["rows_removed"] == 0   # kept in the draft, never dropped without a decision
    [pending] = audit["inactive_awaiting_decision"]
    assert pending["row"] == 3 and reason in pending["why"]
    assert audit["rows_awaiting_decision"] == 1
    [waiting] = audit["awaiting"]
    assert waiting["row"] == 3 and "inactive" in waiting["sheets"]
    [row] = sheets["inactive"]
    assert row["decision"] is None and reason in row["why listed"]
    assert row["what the loader does"] == "kept as exported; waits for your decision"
    assert summary(sheets)["INACTIVE portfolios with a pending order or activation"] == [1]
    # Handing back the untouched workbook writes no final loader: a blank cell is no decision.
    untouched = decided(export, tmp_path / "run1" / "review.xlsx", **kw)
    assert not untouched.final and untouched.loader_name.endswith("_DRAFT.xlsx")
    assert list(untouched.awaiting) == [1]
    # An explicit decision does.
    filled = fill(tmp_path / "run1" / "review.xlsx", tmp_path / "filled.xlsx", {("inactive", "3", "decision"): "drop row"})
    dropped = decided(export, filled, **kw)
    assert dropped.final
    assert dropped.loader.changes.filter(pl.col("row") == 3).select("column", "reason").rows() == [
        ("*row*", "review decision: drop row (sheet inactive)")]


def test_an_inactive_row_whose_po_line_is_closed_is_removed_as_the_guide_says(tmp_path):
    rows = clean_rows()
    rows[1] |= {"AVAILABILITY": "INACTIVE", "PO_LINE": "POL-1"}
    plan = plan_of(export_of(tmp_path / EXPORT, rows), po_lines=po_lines([("POL-1", "CLOSED")]), as_of=AS_OF)
    audit, sheets = outputs(plan, tmp_path / "out")
    assert audit["inactive_awaiting_decision"] == [] and audit["rows_removed"] == 1
    assert sheets["inactive"][0]["decision"] == "drop row"


@pytest.mark.parametrize("value, words", [
    ("2020-01-15", "has passed and the portfolio is still INACTIVE"), ("soon", "not a date almaclean can read"),
])
def test_an_inactive_row_with_a_past_or_unreadable_expected_activation_date_says_so(tmp_path, value, words):
    rows = clean_rows()
    rows[1] |= {"AVAILABILITY": "INACTIVE", "EXPECTED_ACTIVATION_DATE": value}
    audit, _ = outputs(plan_of(export_of(tmp_path / EXPORT, rows), as_of=AS_OF), tmp_path / "out")
    assert words in audit["inactive_awaiting_decision"][0]["why"]


def test_a_decision_cell_emptied_by_the_reviewer_is_no_decision(tmp_path):
    rows = clean_rows()
    rows[2] |= {"PUBLIC_NOTES": "Simultaneous users: 3"}
    export = export_of(tmp_path / EXPORT, rows)
    outputs(plan_of(export, as_of=AS_OF), tmp_path / "run1")
    emptied = fill(tmp_path / "run1" / "review.xlsx", tmp_path / "filled.xlsx", {("notes", "4", "decision"): None})
    plan = decided(export, emptied)
    audit, sheets = outputs(plan, tmp_path / "run2")
    assert not audit["loader_final"] and audit["rows_awaiting_decision"] == 1
    assert audit["draft_because"] == ["1 portfolio(s) await an explicit decision (1 in sheet 'notes')"]
    assert sheets["notes"][0]["decision"] is None


# --- corrected values are checked like original ones -----------------------------------------

def test_a_corrected_po_line_missing_from_the_po_line_export_keeps_the_loader_a_draft(tmp_path):
    rows = clean_rows()
    rows[4] |= {"PO_LINE": "POL-2019-00417"}
    export = export_of(tmp_path / EXPORT, rows)
    pols = po_lines([("POL-2019-00417", "ACTIVE"), ("POL-2019-00418", "ACTIVE")])
    outputs(plan_of(export, po_lines=pols, as_of=AS_OF), tmp_path / "run1")
    wrong = fill(tmp_path / "run1" / "review.xlsx", tmp_path / "wrong.xlsx",
                 {("acquisitions", "6", "PO_LINE new value"): "POL-2019-99999"})
    audit, sheets = outputs(decided(export, wrong, po_lines=pols), tmp_path / "run2")
    assert audit["po_line_issues"] == 1 and audit["corrected_value_issues"] == 1
    assert not audit["loader_final"] and audit["loader"].endswith("_DRAFT.xlsx")
    assert any("1 corrected PO line(s) failed their check against the PO line export" in r
               for r in audit["draft_because"])
    [row] = sheets["po_line_check"]
    assert row["why listed"] == "corrected value POL-2019-99999: PO line not found in the PO line export"
    right = fill(tmp_path / "run1" / "review.xlsx", tmp_path / "right.xlsx",
                 {("acquisitions", "6", "PO_LINE new value"): "POL-2019-00418"})
    audit, _ = outputs(decided(export, right, po_lines=pols), tmp_path / "run3")
    assert audit["po_line_issues"] == 0 and audit["loader_final"]


@pytest.mark.parametrize("sheet, row, column, value, message", [
    ("override_url", "7", "URL new value", "htp:/www.jstor.org", "is not a web address"),
    ("override_url", "7", "URL new value", "https://www.jstor.org/journal/ethics now", "is not a web address"),
    ("local_coverage", "5", "FROM_YEAR new value", "19x5", "is not a year (four digits)"),
    ("local_coverage", "5", "FROM_YEAR new value", "2030", "FROM_YEAR 2030 is after TO_YEAR 2001"),
    ("local_coverage", "5", "FROM_MONTH new value", "13", "is not a month (1 to 12)"),
    ("local_coverage", "5", "EXPECTED_ACTIVATION_DATE new value", "next spring", "is not a date"),
    ("local_coverage", "5", "PUBLICATION_DATE_OPERATOR new value", "after", "is not an embargo operator"),
])
def test_a_corrected_value_the_loader_cannot_take_is_refused_naming_the_cell(tmp_path, sheet, row, column, value,
                                                                             message):
    rows = clean_rows()
    rows[3] |= {"FROM_YEAR": "1995", "TO_YEAR": "2001", "FROM_MONTH": "1", "EXPECTED_ACTIVATION_DATE": "2019-01-01",
                "PUBLICATION_DATE_OPERATOR": "<", "COVERAGE_STATEMENT": "Only local"}
    rows[5] |= {"URL": "http://www.jstor.org/action/showPublication?journalCode=ethics"}
    export = export_of(tmp_path / EXPORT, rows)
    outputs(plan_of(export, as_of=AS_OF), tmp_path / "run1")
    filled = fill(tmp_path / "run1" / "review.xlsx", tmp_path / "filled.xlsx", {(sheet, row, column): value})
    with pytest.raises(InputError) as err:
        decided(export, filled)
    assert message in str(err.value) and Path(err.value.file).name == "filled.xlsx"
    assert err.value.column == column and err.value.row == 2


def test_the_next_step_command_repeats_every_option_that_affects_checks(tmp_path):
    rows = clean_rows()
    rows[2] |= {"PUBLIC_NOTES": "Simultaneous users: 3"}
    options = ("--po-lines", "../inputs/po-lines/po lines.csv", "--mapping", "../inputs/mapping/site.toml",
               "--institution", "EDU01", "--keep-localized-n")
    audit, sheets = outputs(plan_of(export_of(tmp_path / EXPORT, rows), as_of=AS_OF, options=options),
                            tmp_path / "out")
    command = (f"almaclean resync {EXPORT} --decisions review.xlsx --po-lines '../inputs/po-lines/po lines.csv' "
               "--mapping ../inputs/mapping/site.toml --institution EDU01 --keep-localized-n")
    assert f"run in this folder: {command}." in audit["first_step"]
    assert any(f"Run, in this folder: {command} to apply" in s for s in audit["next_steps"])
    assert command in summary(sheets)["What to do first"][0]


# --- empty extra columns are evidence of nothing; values in them are listed -----------------

EXTRAS = {"ADDITIONAL_PO_LINES": [None] * 6, "PUBLIC_NOTE": [None, "  ", None, None, None, None]}


def test_two_empty_extra_columns_that_look_like_guide_columns_still_give_activate_all(tmp_path):
    audit, sheets = outputs(plan_of(export_of(tmp_path / EXPORT, clean_rows(), EXTRAS), as_of=AS_OF),
                            tmp_path / "out")
    assert audit["decision"] == "reactivate_all" and audit["not_checked"] == {}
    assert audit["empty_extra_columns"][-1] == {"header": "PUBLIC_NOTE", "column": excel_letter(100)}
    assert "'PUBLIC_NOTE' (column CW) are empty in every row: checked, nothing there" in audit["explanation"]
    assert audit["loader"] is None
    [extra] = [r for r in sheets["summary"] if r["item"] == "Extra columns, empty in every row"]
    assert extra["details"].startswith("checked, nothing there: ") and "'PUBLIC_NOTE' (column CW)" in extra["details"]


def test_values_in_extra_columns_are_listed_not_ignored(tmp_path):
    extras = {"ADDITIONAL_PO_LINES": [None, "POL-2020-00011", None, None, None, None],
              "PUBLIC_NOTE": [None, None, "Campus only", None, None, None]}
    audit, sheets = outputs(plan_of(export_of(tmp_path / EXPORT, clean_rows(), extras), as_of=AS_OF),
                            tmp_path / "out")
    assert audit["decision"] == "manual_load"
    assert audit["categories"]["acquisitions"] == 1 and audit["categories"]["unknown_columns"] == 1
    assert audit["not_checked"] == {"unknown_columns": ["'PUBLIC_NOTE' (column CW)"]}
    [acq] = sheets["acquisitions"]
    assert (acq["row"], acq["why listed"]) == ("3", "ADDITIONAL_PO_LINES 'POL-2020-00011'")
    [unknown] = sheets["unknown_columns"]
    assert (unknown["row"], unknown["why listed"], unknown["PUBLIC_NOTE"]) == (
        "4", "'PUBLIC_NOTE' (column CW) 'Campus only'", "Campus only")
    assert any(s.startswith("Not checked: column CW, 'PUBLIC_NOTE', is not a column of Alma's Extended Export")
               and "it looks like PUBLIC_NOTES" in s for s in audit["not_checked_explained"])


@pytest.mark.parametrize("header", ["\ufeffPO_LINE", "PO\u200b_LINE", "\uff30\uff2f_LINE", "PO_LINE\u00a0"])
def test_a_header_is_recognised_after_unicode_normalisation(tmp_path, header):
    rows = clean_rows()
    rows[4] |= {"PO_LINE": "POL-2019-00417"}
    names = {k: pl.String for row in rows for k in row}
    frame = extended_export_frame(pl.DataFrame(rows, schema=names))
    export = build_export(tmp_path / EXPORT, [header if h == "PO_LINE" else h for h in EXTENDED_EXPORT_HEADER],
                          [list(r) for r in frame.rows()])
    audit, sheets = outputs(plan_of(export, as_of=AS_OF), tmp_path / "out")
    assert audit["not_checked"] == {} and audit["categories"]["acquisitions"] == 1
    assert sheets["acquisitions"][0]["why listed"] == "PO_LINE 'POL-2019-00417'"


# --- advice: the checklist, duplicates of CZ rows, unmatched rows, rows not re-created ---------

@pytest.mark.parametrize("local", [False, True])
def test_the_checklist_before_deletion_covers_the_collections_po_line_licence_notes_proxy_and_linking(tmp_path,
                                                                                                     local):
    rows = clean_rows()
    if local:
        rows[0] |= {"PUBLIC_NOTES": "Campus only"}
    audit, sheets = outputs(plan_of(export_of(tmp_path / EXPORT, rows), as_of=AS_OF), tmp_path / "out")
    [before] = [s for s in audit["next_steps"] if s.startswith("Before deleting anything")]
    assert audit["next_steps"].index(before) < next(i for i, s in enumerate(audit["next_steps"])
                                                    if s.startswith("Delete the e-collection"))
    for words in ("the e-collection's own PO line and licence: the collection's row actions > Edit Collection",
                  "section 'Acquisitions and License Information'", "Edit Service > Linking tab",
                  "linking parser parameters", "the proxy", "notes", "Group Settings tab"):
        assert words in before
    assert before in [v for k, vs in summary(sheets).items() if k.startswith("Next step") for v in vs]


def test_a_localized_n_row_duplicating_a_cz_row_is_flagged_before_its_default(tmp_path):
    rows = clean_rows()
    rows[0] |= {"LOCALIZED": "N", "issn_1": "00211753"}   # Isis's ISSN, on row 5 linked to the CZ
    rows[1] |= {"LOCALIZED": "N"}                            # a local portfolio of its own title
    export = export_of(tmp_path / EXPORT, rows)
    audit, sheets = outputs(plan_of(export, as_of=AS_OF), tmp_path / "out")
    first, second = sheets["localized_n"]
    assert first["decision"] is None
    assert first["why listed"] == (
        f"LOCALIZED 'N'; ISSN 0021-1753 is also on row 5 (PORTFOLIO_PID {PID[3]}, linked to the CZ): set to Y, this "
        "portfolio would be a second CZ portfolio of the same title; choose drop row, keep it local (set LOCALIZED N) "
        "or set LOCALIZED Y knowingly")
    assert (second["decision"], second["why listed"]) == ("set LOCALIZED Y", "LOCALIZED 'N'")
    assert audit["awaiting"] == [{"row": 2, "sheets": ["localized_n"]}]
    changes = read_table(tmp_path / "out" / "changes.csv").frame.rows()
    assert [(r[0], r[2], r[4]) for r in changes] == [("3", "LOCALIZED", "Y")]   # row 2 keeps N in the draft


def test_a_row_the_loader_could_not_match_after_the_deletion_is_listed_with_what_to_add(tmp_path):
    rows = clean_rows()
    rows[2] |= {"issn_1": None, "PUBLIC_NOTES": "Campus only"}
    export = export_of(tmp_path / EXPORT, rows)
    audit, sheets = outputs(plan_of(export, as_of=AS_OF), tmp_path / "run1")
    [row] = sheets["no_identifier"]
    assert (row["row"], row["decision"]) == ("4", None)
    assert row["why listed"].startswith("add an ISSN, ISBN or OTHER_SYSTEM_NUMBER")
    assert "ISSN new value" in row and audit["awaiting"] == [{"row": 4, "sheets": ["no_identifier"]}]
    bad = fill(tmp_path / "run1" / "review.xlsx", tmp_path / "bad.xlsx", {
        ("no_identifier", "4", "ISSN new value"): "0012-3456", ("no_identifier", "4", "decision"): "keep"})
    with pytest.raises(InputError, match="is not a valid ISSN"):
        decided(export, bad)
    good = fill(tmp_path / "run1" / "review.xlsx", tmp_path / "good.xlsx", {
        ("no_identifier", "4", "ISSN new value"): "0038-7134", ("no_identifier", "4", "decision"): "keep"})
    plan = decided(export, good)
    assert plan.final
    first_issn = EXTENDED_EXPORT_HEADER.index("ISSN")
    assert plan.loader.frame[f"c{first_issn}"][2] == "0038-7134"
    assert plan.loader.changes.filter(pl.col("row") == 4).select("column", "new").rows() == [("ISSN", "0038-7134")]


def test_the_review_says_which_rows_will_not_exist_after_the_deletion(tmp_path):
    rows = clean_rows()
    rows[1] |= {"AVAILABILITY": "INACTIVE", "PUBLIC_NOTES": "Access via VPN only"}
    audit, sheets = outputs(plan_of(export_of(tmp_path / EXPORT, rows), as_of=AS_OF), tmp_path / "out")
    assert audit["not_recreated_rows"] == [3]
    assert ("1 portfolio(s) will not exist after the deletion: the loader file leaves out export rows 3 (see the "
            "'changes' sheet), so loading it does not re-create them.") in audit["next_steps"]
    assert sheets["inactive"][0]["what the loader does"] == (
        "row removed (INACTIVE row removed): not re-created after the deletion")
    assert summary(sheets)["Rows removed in the loader"] == [1]
