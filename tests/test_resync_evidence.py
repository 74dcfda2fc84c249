"""Re-sync evidence: a category is checked only when every guide column is in the export under
its own name; look-alike headers are reported, never ignored; an export without portfolios
gives "nothing to load"; review sheets say what the loader does; the loader agrees with its
change log. Realistic Extended Exports: the 99-column header of sample/extended.py."""
from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from test_resync_rules import MMS, PID, build_export, plan_of

from almaclean.errors import AlmacleanError
from almaclean.read.table import excel_letter, read_table
from almaclean.resync.audit import CATEGORIES, audit_table, unrecognised_headers
from almaclean.resync.loader import Loader
from almaclean.outputs.resync_run import copy_export, write_collection, write_run_summary
from almaclean.resync.plan import identity_of
from almaclean.resync.report import closing_lines, next_steps, review_sheets, summary_sheet
from almaclean.sample.extended import EXTENDED_EXPORT_HEADER, extended_export_frame

TITLES = ["Journal of Modern History", "American Historical Review", "Speculum", "Isis",
          "Philosophical Review", "Ethics"]
ISSNS = ["0022-2801", "0002-8762", "0038-7134", "0021-1753", "0031-8108", "0014-1704"]


def clean_rows() -> list[dict[str, str | None]]:
    """Six portfolios of a CZ collection as Alma exports them: global data only."""
    return [{
        "LOCALIZED": "Y", "issn_1": ISSNS[i], "PORTFOLIO_PID": PID[i], "MMS": MMS[i], "TITLE": TITLES[i],
        "GLOBAL_FROM_YEAR": str(1900 + 10 * i), "AVAILABILITY": "ACTIVE", "PUBLISHER": "University of Chicago Press",
        "ELECTRONIC_MATERIAL_TYPE": "Journal", "ACTIVATION_DATE": "2019-07-15",
        "ELECTRONIC_COLLECTION_ID": "61123456780003681", "ELECTRONIC_COLLECTION_NAME": "JSTOR Arts & Sciences I",
        "INTERFACE_NAME": "JSTOR",
    } for i in range(6)]


def realistic_export(path: Path, rows: list[dict] | None = None, *, drop: tuple[str, ...] = (),
                     rename: dict[str, str] | None = None) -> Path:
    """An Extended Export with the full header, some guide columns dropped or renamed."""
    rows = clean_rows() if rows is None else rows
    names = {k: pl.String for row in rows for k in row} or {"PORTFOLIO_PID": pl.String}
    frame = extended_export_frame(pl.DataFrame(rows, schema=names))
    keep = [i for i, h in enumerate(EXTENDED_EXPORT_HEADER) if h not in drop]
    header = [(rename or {}).get(EXTENDED_EXPORT_HEADER[i], EXTENDED_EXPORT_HEADER[i]) for i in keep]
    data = [[row[i] for i in keep] for row in frame.rows()]
    return build_export(path, header, data)


def with_po_line_in_row_6(rows: list[dict]) -> list[dict]:
    rows[4]["PO_LINE"] = "POL-2019-00417"
    return rows


def written(plan, folder: Path) -> dict:
    folder.mkdir(parents=True, exist_ok=True)
    copy_export(plan.export, folder)
    return write_collection(plan, folder)


def summary_items(plan) -> dict[str, list]:
    sheet = summary_sheet(plan)
    items: dict[str, list] = {}
    for item, number, details in sheet.frame.rows():
        items.setdefault(item, []).append(details if number is None else number)
    return items


# --- A. every guide column of a category, or the category is not checked -----------------------

def test_a_complete_clean_export_is_activate_all(tmp_path):
    plan = plan_of(realistic_export(tmp_path / "JSTOR+Arts_portfolios.xlsx"))
    assert plan.audit.decision == "reactivate_all"
    assert plan.audit.not_checked == {} and plan.audit.unrecognised == ()
    assert plan.audit.counts == {c: 0 for c in CATEGORIES}


def test_a_export_lacking_eba_and_collection_license_name_is_a_manual_load_naming_them(tmp_path):
    export = realistic_export(tmp_path / "Old+Export_portfolios.xlsx", drop=("EBA", "COLLECTION_LICENSE_NAME"))
    plan = plan_of(export)
    assert plan.audit.decision == "manual_load"
    assert plan.audit.not_checked == {"acquisitions": ["COLLECTION_LICENSE_NAME", "EBA"]}
    why = summary_items(plan)["Why"][0]
    assert "no acquisitions data in any of the columns the guide lists" not in why
    assert "acquisitions data: COLLECTION_LICENSE_NAME, EBA" in why
    items = summary_items(plan)
    assert items["Not checked"] == [
        "Acquisitions data not checked: the export has no column named exactly COLLECTION_LICENSE_NAME or EBA, "
        "so almaclean cannot tell whether the portfolios hold acquisitions data there."]
    record = written(plan, tmp_path / "out" / "Old-Export")
    assert record["not_checked"] == {"acquisitions": ["COLLECTION_LICENSE_NAME", "EBA"]}
    audit = json.loads((tmp_path / "out" / "Old-Export" / "audit.json").read_text(encoding="utf-8"))
    assert audit["not_checked"] == {"acquisitions": ["COLLECTION_LICENSE_NAME", "EBA"]}
    write_run_summary(tmp_path / "out", [(record, "Old-Export")])
    summary = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    assert summary["collections"][0]["not_checked"] == {"acquisitions": ["COLLECTION_LICENSE_NAME", "EBA"]}
    sheet = read_table(tmp_path / "out" / "summary.xlsx")
    row = dict(zip(sheet.header, sheet.frame.row(0)))
    assert row["not checked"] == "acquisitions: COLLECTION_LICENSE_NAME, EBA"
    assert row["what to do first"].startswith("Review first. Old+Export_portfolios_loader_DRAFT.xlsx is a DRAFT")
    import zipfile

    with zipfile.ZipFile(tmp_path / "out" / "summary.xlsx") as z:
        assert "<v>6</v>" in z.read("xl/worksheets/sheet1.xml").decode()   # portfolios, a number cell
    assert any("Acquisitions data not checked" in line for line in closing_lines([(record, "Old-Export")]))


@pytest.mark.parametrize("category, dropped", [
    ("localized_n", "LOCALIZED"), ("local_coverage", "TO_ISSUE"), ("local_coverage", "EXPECTED_ACTIVATION_DATE"),
    ("inactive", "AVAILABILITY"), ("notes", "INTERNAL_DESCRIPTION"), ("acquisitions", "PDA"),
    ("override_url", "URL"),
])
def test_a_any_one_missing_guide_column_blocks_activate_all(tmp_path, category, dropped):
    plan = plan_of(realistic_export(tmp_path / "One+Less_portfolios.xlsx", drop=(dropped,)))
    assert plan.audit.not_checked == {category: [dropped]}
    assert plan.audit.decision == "manual_load"
    assert f"no column named exactly {dropped}," in summary_items(plan)["Not checked"][0]


@pytest.mark.parametrize("spelling", ["PO LINE", "Po_Line", "PO-LINE", "po line", "POLINE", "PO_LINES"])
def test_a_po_line_header_spelt_otherwise_is_not_recognised_and_blocks_activate_all(tmp_path, spelling):
    export = realistic_export(tmp_path / "Renamed_portfolios.xlsx", with_po_line_in_row_6(clean_rows()),
                              rename={"PO_LINE": spelling})
    plan = plan_of(export)
    letter = excel_letter(EXTENDED_EXPORT_HEADER.index("PO_LINE"))
    assert plan.audit.decision == "manual_load"
    assert plan.audit.not_checked == {"acquisitions": ["PO_LINE"], "unknown_columns": [f"{spelling!r} (column {letter})"]}
    [odd] = plan.audit.unrecognised
    assert (odd.header, odd.looks_like, odd.category) == (spelling, "PO_LINE", "acquisitions")
    assert odd.fix().startswith("if this column is the guide's PO_LINE, rename its header cell to exactly that name")
    sentence = summary_items(plan)["Not checked"][-1]
    assert sentence.startswith(f"Not checked: column {letter}, {spelling!r}, is not a column of Alma's Extended "
                               "Export that almaclean knows, and 1 row(s) hold values there")
    assert "Not recognised: it looks like PO_LINE. To fix: if this column is the guide's PO_LINE" in sentence
    assert "rename its header cell to exactly that name" in sentence
    assert (f"the column(s) {spelling!r} (column {letter}) hold values almaclean cannot classify, so those rows are "
            "not checked") in summary_items(plan)["Why"][0]


def test_a_collection_license_name_with_spaces_is_not_recognised(tmp_path):
    plan = plan_of(realistic_export(tmp_path / "Spaces_portfolios.xlsx",
                                    rename={"COLLECTION_LICENSE_NAME": "COLLECTION LICENSE NAME"}))
    assert plan.audit.decision == "manual_load"
    assert [(u.header, u.looks_like) for u in plan.audit.unrecognised] == [
        ("COLLECTION LICENSE NAME", "COLLECTION_LICENSE_NAME")]
    assert plan.audit.not_checked == {"acquisitions": ["COLLECTION_LICENSE_NAME"]}


def test_a_look_alike_beside_the_real_column_still_blocks_activate_all(tmp_path):
    rows = clean_rows()
    export = realistic_export(tmp_path / "Extra_portfolios.xlsx", rows, rename={"ELECTRONIC_COLLECTION_ID": "POL"})
    plan = plan_of(export)
    letter = excel_letter(EXTENDED_EXPORT_HEADER.index("ELECTRONIC_COLLECTION_ID"))
    assert plan.audit.decision == "manual_load"
    assert plan.audit.not_checked == {"unknown_columns": [f"'POL' (column {letter})"]}
    assert plan.audit.counts["unknown_columns"] == 6


@pytest.mark.parametrize("header, looks_like, category", [
    ("PO Line Ref", "PO_LINE", "acquisitions"),
    ("LICENCE_NAME", "LICENSE_NAME", "acquisitions"),
    ("Order Number", None, "acquisitions"),
    ("Portfolio Coverage", None, "local_coverage"),
    ("Public Note", "PUBLIC_NOTES", "notes"),
    ("Localised", "LOCALIZED", "localized_n"),
    ("OVERRIDE URL", None, "override_url"),
    ("from year", "FROM_YEAR", "local_coverage"),
])
def test_a_header_looking_like_a_guide_column_is_reported(header, looks_like, category):
    [odd] = unrecognised_headers(["PORTFOLIO_PID", "MMS", header])
    assert (odd.position, odd.header, odd.looks_like, odd.category) == (2, header, looks_like, category)


def test_a_known_extended_export_columns_are_never_taken_for_look_alikes():
    assert unrecognised_headers(list(EXTENDED_EXPORT_HEADER)) == []
    assert unrecognised_headers(["URL_TYPE", "STATIC_URL", "GLOBAL_FROM_YEAR", "SERVICE_UNAVAILABLE_DATE",
                                 "TITLE ", " PO_LINE ", ""]) == []


def test_a_sample_exports_have_nothing_unrecognised_but_the_empty_extra_columns(tmp_path):
    from almaclean.kinds import read_kind
    from almaclean.sample.generator import EXTRA_EMPTY_COLUMNS, generate

    manifest = generate(tmp_path / "sample", seed=11, scale=0.02)
    for name in manifest.extended_exports:
        table = read_kind("extended-export", manifest.out_dir / name).table
        audit = audit_table(table.header, table.frame)
        assert audit.not_checked == {}
        if "extra+columns" in name:
            assert [u.header for u in audit.unrecognised] == ["PUBLIC_NOTE"]
            assert [table.header[p] for p in audit.empty_extra][-1:] == [EXTRA_EMPTY_COLUMNS[-1]]
        else:
            assert audit.unrecognised == ()


# --- B. an export without portfolios ---------------------------------------------------------

def test_b_header_only_export_is_nothing_to_load_with_no_loader(tmp_path):
    export = realistic_export(tmp_path / "Empty_portfolios.xlsx", [])
    plan = plan_of(export)
    assert plan.audit.decision == "nothing_to_load"
    assert plan.loader_name is None and plan.nothing_to_load
    folder = tmp_path / "out" / "Empty"
    record = written(plan, folder)
    assert record["decision"] == "nothing_to_load" and record["loader"] is None
    assert sorted(p.name for p in folder.iterdir()) == [
        "Empty_portfolios.xlsx", "Empty_portfolios.xlsx.sha256", "audit.json", "review.xlsx"]
    items = summary_items(plan)
    assert items["Decision"] == ["Nothing to load: the export has no portfolios"]
    assert "nothing to load: the export has no portfolios" in record["explanation"]
    assert items["Portfolios in the export"] == [0]


def test_b_blank_rows_are_aligned_not_a_crash():
    canonical = pl.DataFrame({"row": [2, 4], "portfolio_id": [PID[0], PID[2]], "mms_id": [MMS[0], MMS[2]]})
    ident = identity_of(canonical, 3)
    assert ident.pid.to_list() == [PID[0], None, PID[2]]
    with pytest.raises(ValueError):
        identity_of(canonical, 1)


# --- C. review sheets say what the loader does; the loader agrees with its log -----------------

def _inactive_with_notes(tmp_path: Path) -> Path:
    rows = clean_rows()
    rows[1] |= {"AVAILABILITY": "INACTIVE", "PUBLIC_NOTES": "Access via VPN only"}
    rows[2] |= {"PUBLIC_NOTES": "Simultaneous users: 3"}
    return realistic_export(tmp_path / "Inactive+Notes_portfolios.xlsx", rows)


def test_c_review_sheets_show_what_the_loader_does_per_row(tmp_path):
    plan = plan_of(_inactive_with_notes(tmp_path))
    sheets = {s.name: s for s in review_sheets(plan)}
    notes = sheets["notes"]
    assert notes.header[:3] == ["decision", "what the loader does", "row"]
    gone = "row removed (INACTIVE row removed): not re-created after the deletion"
    assert notes.frame.select("d", "a", "r").rows() == [(None, gone, "3"), ("keep", "kept as exported", "4")]
    assert sheets["inactive"].frame.select("d", "a").rows() == [("drop row", gone)]


def test_c_writer_refuses_a_loader_that_differs_from_its_change_log(tmp_path):
    plan = plan_of(_inactive_with_notes(tmp_path))
    changes, frame = plan.loader.changes, plan.loader.frame
    unlogged_removal = Loader(frame.head(4), plan.loader.rows.head(4), changes)
    edited = frame.with_columns(pl.Series("c9", ["x"] + frame["c9"].to_list()[1:]))
    unlogged_change = Loader(edited, plan.loader.rows, changes)
    logged_not_done = Loader(frame, plan.loader.rows, pl.concat([changes, pl.DataFrame(
        {"row": [2], "portfolio_pid": [PID[0]], "column": ["URL"], "old": [None], "new": ["http://x"],
         "reason": ["test"]}, schema=changes.schema)]))
    for loader, message in ((unlogged_removal, "would lose rows [7]"),
                            (unlogged_change, "would change TITLE in export row 2"),
                            (logged_not_done, "does not change it")):
        bad = type(plan)(**{**plan.__dict__, "loader": loader})
        folder = tmp_path / message.replace(" ", "-")
        folder.mkdir()
        with pytest.raises(AlmacleanError, match=message.replace("[", r"\[").replace("]", r"\]")):
            write_collection(bad, folder)
        assert list(folder.iterdir()) == []


# --- D. next steps: what the export does not hold, before the deletion ------------------------

@pytest.mark.parametrize("rows", [None, "inactive"])
def test_d_next_steps_name_collection_and_service_settings_before_deleting(tmp_path, rows):
    export = (realistic_export(tmp_path / "Clean_portfolios.xlsx") if rows is None
              else _inactive_with_notes(tmp_path))
    steps = next_steps(plan_of(export))
    outside = next(i for i, s in enumerate(steps) if "what the Extended Export does not hold" in s)
    delete = next(i for i, s in enumerate(steps) if s.startswith("Delete the e-collection"))
    assert outside < delete
    for words in ("the e-collection's own PO line and licence", "Edit Collection", "'Acquisitions and License "
                  "Information'", "the collection's notes and internal description", "the service's notes (public "
                  "and authentication notes)", "Edit Service", "the proxy", "the linking parser parameters",
                  "Linking tab", "Group Settings tab"):
        assert words in steps[outside]
    assert any("enter again what you wrote down (the collection's PO line and licence" in s for s in steps[delete:])


@pytest.mark.parametrize("nothing", ["\u200b", "\ufeff", " \u00a0\u200b ", "\u00ad"])
def test_a_local_cell_holding_only_invisible_characters_is_empty_and_still_gives_activate_all(tmp_path, nothing):
    """A zero-width space, a byte order mark or a soft hyphen, alone or among spaces, sets nothing:
    the public note and PO line cells holding only that leave the decision "Activate all"."""
    rows = clean_rows()
    rows[1]["PUBLIC_NOTES"] = nothing
    rows[2]["PO_LINE"] = nothing
    plan = plan_of(realistic_export(tmp_path / "JSTOR+Arts_portfolios.xlsx", rows))
    assert plan.audit.decision == "reactivate_all"
    assert plan.audit.counts == {c: 0 for c in CATEGORIES}
    rows[1]["PUBLIC_NOTES"] = nothing + "Campus only"
    assert plan_of(realistic_export(tmp_path / "JSTOR+Arts_portfolios-2.xlsx", rows)).audit.decision != "reactivate_all"
