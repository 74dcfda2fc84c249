"""Re-sync rules without Prefect: audit, PO line check, loader edits, decisions, outputs."""
from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
import xlsxwriter

from almaclean.errors import InputError
from almaclean.kinds import read_kind
from almaclean.read.table import read_table
from almaclean.resync.audit import CATEGORIES, audit_table
from almaclean.resync.decisions import (
    ReviewTable, check_belongs, parse_decisions, read_review_workbook,
)
from almaclean.resync.inputs import match_review
from almaclean.resync.outputs import copy_export, write_collection
from almaclean.resync.plan import collection_name, loader_file_name, plan_collection
from almaclean.resync.polines import check_po_lines

PID = ["53496697910003681", "53496697920003681", "53496697930003681", "53496697940003681",
       "53496697950003681", "53496697960003681"]
MMS = ["9977047322103681", "9977047322203681", "9977047322303681", "9977047322403681",
       "9977047322503681", "9977047322603681"]

# A hand-built export: duplicate names, a trailing space, hostile and look-alike-number text.
HEADER = ["LOCALIZED", "ISSN", "ISSN", "PORTFOLIO_PID", "MMS", "TITLE ", "FROM_VOLUME", "COVERAGE_STATEMENT",
          "AVAILABILITY", "URL", "AUTHENTICATION_NOTES", "PUBLIC_NOTES", "INTERNAL_DESCRIPTION", "LICENSE",
          "PO_LINE", "NOTES", "EXPECTED_ACTIVATION_DATE", "GLOBAL_FROM_YEAR"]
ROWS = [
    ["N", "0028-0836", "1476-4687", PID[0], MMS[0], "=1+2 Journal", None, "Global", "ACTIVE", None, None,
     '=HYPERLINK("http://evil.example/x","Click")', None, None, None, None, None, "1990"],
    ["Y", "1234-5679", None, PID[1], MMS[1], "+33 Revue", None, None, "INACTIVE", "http://example.org/a?b=1&c=2",
     None, None, None, None, None, None, None, "1991"],
    ["Y", None, None, PID[2], MMS[2], "-minus title", "0012", "Global and local", "ACTIVE", None, None, None,
     None, None, None, None, None, None],
    ["Y", None, "0000-0000", PID[3], MMS[3], "@at title", None, None, "ACTIVE", None, None, None, None,
     None, "POL-404", None, None, None],
    ["n", None, None, PID[4], MMS[4], "Ünïcödé \u2013 title", None, None, "ACTIVE", "@user", "+33 1 44 27 00 00",
     None, "-", "LIC-1", "POL-7", "line one\nline two", None, None],
    [" Y ", None, None, PID[5], MMS[5], "  spaced  ", None, None, "ACTIVE", None, None, None, None, None,
     None, None, "2026-01-01", None],
]


def build_export(path: Path, header: list[str] = HEADER, rows: list[list] = ROWS) -> Path:
    """Write an export the way Alma does: every cell a text cell (not through almaclean's writer)."""
    book = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False, "strings_to_formulas": False,
                                           "strings_to_urls": False})
    sheet = book.add_worksheet("Results")
    for c, name in enumerate(header):
        sheet.write_string(0, c, name)
    for r, row in enumerate(rows, 1):
        for c, value in enumerate(row):
            if value is not None:
                sheet.write_string(r, c, value)
    book.close()
    return path


def plan_of(path: Path, **kw):
    read = read_kind("extended-export", path)
    t = read.table
    return plan_collection(path, "0" * 64, t.header, t.frame, t.first_row, read.canonical, **kw)


def assert_loader_matches(original: Path, loader: Path, changes: pl.DataFrame) -> None:
    """The loader reads back as the original header and rows minus removed ones, differing
    only in logged cells, each holding the logged new value."""
    before, after = read_table(original), read_table(loader)
    assert after.header == before.header
    removed = set(changes.filter(pl.col("column") == "*row*")["row"].to_list())
    logged = {(r, c): n for r, c, n in changes.filter(pl.col("column") != "*row*")
              .select("row", "column", "new").iter_rows()}
    kept = [i for i in range(before.frame.height) if i + before.first_row not in removed]
    assert after.frame.height == len(kept)
    old_rows, new_rows = before.frame.rows(), after.frame.rows()
    for j, i in enumerate(kept):
        row = i + before.first_row
        for c, name in enumerate(before.header):
            if (row, name) in logged:
                assert new_rows[j][c] == logged[(row, name)]
                assert new_rows[j][c] != old_rows[i][c]
            else:
                assert new_rows[j][c] == old_rows[i][c], (row, name)


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    from almaclean.sample.generator import generate

    manifest = generate(tmp_path_factory.mktemp("sample"), seed=7, scale=0.05)
    return manifest, json.loads(manifest.path("truth").read_text(encoding="utf-8"))


def test_audit_finds_exactly_the_generated_rows_of_each_category(sample):
    manifest, truth = sample
    decisions = set()
    for name in manifest.extended_exports:
        expected = truth["extended_export_truth"][name]
        read = read_kind("extended-export", manifest.out_dir / name)
        audit = audit_table(read.table.header, read.table.frame)
        pids = read.canonical["portfolio_id"]
        flagged = {c: set(pids.filter(audit.flags[c]).to_list()) for c in CATEGORIES}
        cats = {k: set(v) for k, v in expected["categories"].items()}
        assert flagged["localized_n"] == cats["localized"]
        assert flagged["local_coverage"] == cats["local_coverage"]
        assert flagged["inactive"] == cats["inactive"]
        assert flagged["notes"] == cats["notes"]
        assert flagged["override_url"] == cats["url_override"]
        assert flagged["acquisitions"] == cats["license_pda"] | cats["po_line"]
        assert flagged["local_settings"] == cats["local_settings"]
        assert flagged["unknown_columns"] == set()
        assert audit.not_checked == {}
        assert [u.header for u in audit.unrecognised] == (["PUBLIC_NOTE"] if "extra_empty_columns" in expected else [])
        assert audit.decision == ("reactivate_all" if expected["reactivate_all"] else "manual_load")
        decisions.add(audit.decision)
    assert decisions == {"reactivate_all", "manual_load"}


def test_hand_built_export_categories_and_guide_edits(tmp_path):
    plan = plan_of(build_export(tmp_path / "Hand+Made_portfolios.xlsx"))
    counts = plan.audit.counts
    assert counts == {"localized_n": 2, "local_coverage": 2, "inactive": 1, "notes": 2, "acquisitions": 2,
                      "override_url": 2, "local_settings": None, "unknown_columns": 0}
    assert plan.audit.decision == "manual_load"
    changes = plan.loader.changes
    assert changes.select("row", "portfolio_pid", "column", "old", "new").rows() == [
        (2, PID[0], "LOCALIZED", "N", "Y"),
        (3, PID[1], "*row*", None, None),
        (6, PID[4], "LOCALIZED", "n", "Y"),
    ]
    assert changes["reason"][1] == "INACTIVE row removed"
    assert plan.loader.rows.to_list() == [2, 4, 5, 6, 7]
    # Untouched cells keep their exact text, spaces and hostile prefixes included.
    assert plan.loader.frame.row(4) == plan.frame.row(5)


def test_keep_localized_n_changes_nothing_but_inactive_rows(tmp_path):
    plan = plan_of(build_export(tmp_path / "Hand+Made_portfolios.xlsx"), keep_localized_n=True)
    assert plan.loader.changes["column"].to_list() == ["*row*"]


def test_missing_columns_are_not_checked_and_never_reactivate_all(tmp_path):
    header = ["PORTFOLIO_PID", "MMS", "LOCALIZED", "AVAILABILITY", "FROM_YEAR", "LICENSE"]
    rows = [[PID[0], MMS[0], "Y", "ACTIVE", None, None], [PID[1], MMS[1], "Y", "ACTIVE", None, None]]
    plan = plan_of(build_export(tmp_path / "Partial_portfolios.xlsx", header, rows))
    assert plan.audit.counts["notes"] is None and plan.audit.counts["override_url"] is None
    assert plan.audit.counts["localized_n"] == 0 and plan.audit.counts["acquisitions"] == 0
    assert plan.audit.not_checked["notes"] == ["AUTHENTICATION_NOTES", "PUBLIC_NOTES", "INTERNAL_DESCRIPTION",
                                               "NOTES"]
    assert plan.audit.not_checked["override_url"] == ["URL"]
    assert "PO_LINE" in plan.audit.missing_columns["acquisitions"]
    assert plan.audit.decision == "manual_load"
    # Some columns of a category are not enough: every guide column of every category is needed.
    with_all = header + ["AUTHENTICATION_NOTES", "URL"]
    partial = plan_of(build_export(tmp_path / "Clean_portfolios.xlsx", with_all, [r + [None, None] for r in rows]))
    assert set(partial.audit.not_checked) == {"local_coverage", "notes", "acquisitions", "local_settings"}
    assert partial.audit.decision == "manual_load"


def test_po_line_check_gives_each_reason():
    rows = pl.DataFrame({
        "index": [0, 1, 2, 3, 4, 5], "row": [2, 3, 4, 5, 6, 7],
        "portfolio_pid": PID, "mms": MMS,
        "po_line": ["POL-1", "POL-2", "POL-3", "POL-4", None, " POL-5 "],
    })
    po_lines = pl.DataFrame({
        "po_line": ["POL-1", "POL-2", "POL-3", "POL-5"],
        "status": ["ACTIVE", "CLOSED", "Cancelled", "ACTIVE"],
        "mms_id": [MMS[0], None, MMS[0], None],
        "portfolio_id": [PID[0], None, PID[0], PID[5]],
    })
    issues = check_po_lines(rows, po_lines)
    reasons = dict(zip(issues["row"].to_list(), issues["reason"].to_list()))
    assert set(reasons) == {3, 4, 5}
    assert reasons[3] == "PO line is CLOSED"
    assert "CANCELLED" in reasons[4] and PID[0] in reasons[4] and MMS[0] in reasons[4]
    assert reasons[5] == "PO line not found in the PO line export"


def _review(rows: list[list[str | None]]) -> dict[str, ReviewTable]:
    header = ["decision", "row", "PORTFOLIO_PID", "MMS", "TITLE"]
    frame = pl.DataFrame(rows, schema=[f"c{i}" for i in range(5)], orient="row")
    return {"review-sheet": ReviewTable(header, frame)}


def test_decisions_are_applied_and_logged(tmp_path):
    path = build_export(tmp_path / "Hand+Made_portfolios.xlsx")
    base = plan_of(path)
    sheets = {
        "localized_n": _review([["set LOCALIZED N", "2", PID[0], None, None], ["", "6", PID[4], None, None]])["review-sheet"],
        "inactive": _review([["Keep  Row", "3", PID[1], None, None]])["review-sheet"],
        "override_url": _review([["clear URL", "3", PID[1], None, None], ["drop row", "6", PID[4], None, None]])["review-sheet"],
        "notes": _review([["clear PUBLIC_NOTES", "2", PID[0], None, None]])["review-sheet"],
    }
    decisions = parse_decisions(tmp_path / "review.xlsx", sheets, header=base.header, frame=base.frame, pids=base.identity.pid,
                                first_row=2)
    plan = plan_of(path, decisions=decisions)
    log = {(r, c): (o, n, why) for r, c, o, n, why in plan.loader.changes
           .select("row", "column", "old", "new", "reason").iter_rows()}
    assert (2, "LOCALIZED") not in log                      # kept N on request
    assert log[(2, "PUBLIC_NOTES")][1] is None and "clear PUBLIC_NOTES" in log[(2, "PUBLIC_NOTES")][2]
    assert log[(3, "URL")][:2] == ("http://example.org/a?b=1&c=2", None)
    assert (3, "*row*") not in log                          # inactive row kept on request
    assert "drop row" in log[(6, "*row*")][2]
    assert (6, "LOCALIZED") not in log                      # no edit logged on a removed row
    assert plan.loader.rows.to_list() == [2, 3, 4, 5, 7]


@pytest.mark.parametrize("row, message, column", [
    (["delete it", "2", PID[0], None, None], "unknown decision 'delete it'", "decision"),
    (["keep", "3", PID[0], None, None], "does not match export row 3", "PORTFOLIO_PID"),
    (["keep", "99", PID[0], None, None], "is not a row of the export", "row"),
])
def test_bad_decisions_are_refused_naming_file_sheet_row_column(tmp_path, row, message, column):
    base = plan_of(build_export(tmp_path / "Hand+Made_portfolios.xlsx"))
    sheets = {"notes": _review([["keep", "2", PID[0], None, None], row])["review-sheet"]}
    with pytest.raises(InputError) as err:
        parse_decisions(tmp_path / "filled.xlsx", sheets, header=base.header, frame=base.frame, pids=base.identity.pid,
                        first_row=2)
    assert err.value.row == 3 and err.value.column == column
    assert message in str(err.value) and "sheet 'notes'" in str(err.value) and "filled.xlsx" in str(err.value)


def test_outputs_round_trip_and_review_belongs_to_its_export(tmp_path):
    export = build_export(tmp_path / "Hand+Made_portfolios.xlsx")
    out = tmp_path / "out"
    out.mkdir()
    sha, _ = copy_export(export, out)
    read = read_kind("extended-export", export)
    plan = plan_collection(export, sha, read.table.header, read.table.frame, read.table.first_row,
                           read.canonical)
    record = write_collection(plan, out)
    assert collection_name(export) == "Hand Made" and record["collection"] == "Hand Made"
    assert (out / export.name).read_bytes() == export.read_bytes()
    assert (out / f"{export.name}.sha256").read_text().split()[0] == sha
    changes = read_table(out / "changes.csv").frame
    changes = changes.with_columns(pl.col("c0").cast(pl.Int64)).rename(
        dict(zip(changes.columns, ["row", "portfolio_pid", "column", "old", "new", "reason"])))
    assert_loader_matches(export, out / loader_file_name(export, final=False), changes)
    assert not (out / loader_file_name(export)).exists()
    assert json.loads((out / "audit.json").read_text())["categories"] == plan.audit.counts

    review = read_review_workbook(out / "review.xlsx")
    assert {"summary", "localized_n", "local_coverage", "inactive", "notes", "acquisitions", "override_url",
            "changes"} <= set(review)
    notes = review["notes"]
    assert notes.header[:4] == ["decision", "what the loader does", "row", "PORTFOLIO_PID"]
    assert '=HYPERLINK("http://evil.example/x","Click")' in notes.frame.to_series(notes.header.index("PUBLIC_NOTES")).to_list()
    check_belongs(out / "review.xlsx", review, sha, export.name)
    with pytest.raises(InputError, match="belongs to another export"):
        check_belongs(out / "review.xlsx", review, "f" * 64, export.name)
    with pytest.raises(InputError, match="none of the exports"):
        match_review(out / "review.xlsx", review, {export: "a" * 64, tmp_path / "b.xlsx": "b" * 64})
    # The untouched review workbook, read back, means "apply the defaults": same loader.
    again = parse_decisions(out / "review.xlsx", review, header=plan.header, frame=plan.frame, pids=plan.identity.pid, first_row=2)
    replay = plan_collection(export, sha, read.table.header, read.table.frame, 2, read.canonical, decisions=again)
    assert replay.loader.changes.drop("reason").equals(plan.loader.changes.drop("reason"))


def test_written_review_sheets_are_text_with_dropdowns(tmp_path):
    export = build_export(tmp_path / "Hand+Made_portfolios.xlsx")
    plan = plan_of(export)
    from almaclean.resync.report import review_sheets

    sheets = {s.name: s for s in review_sheets(plan)}
    assert sheets["localized_n"].validations == {0: ["set LOCALIZED Y", "set LOCALIZED N", "drop row"]}
    assert sheets["localized_n"].frame["d"].to_list() == ["set LOCALIZED Y", "set LOCALIZED Y"]
    # LOCALIZED cells the loader changes are highlighted (frame row, column).
    assert sheets["localized_n"].highlight == {(0, 7), (1, 7)}
