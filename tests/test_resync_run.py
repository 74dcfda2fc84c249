"""The re-sync run as a librarian meets it: the next-step command keeps every check, a --decisions
run says what it applied, the review workbook filled in place still verifies, a folder's other
workbooks are skipped and named, and the DRAFT loader says it is a draft where the Portfolio
Loader reads no cell."""
from __future__ import annotations

import json
import shlex
import shutil
import zipfile
from pathlib import Path

import pytest
from conftest import resync_run
from test_resync_evidence import clean_rows
from test_resync_meaning import export_of
from test_resync_review import fill

from almaclean.errors import InputError
from almaclean.read.table import read_table
from almaclean.write.xlsx import Sheet, write_workbook

EXPORT = "JSTOR+Arts+and+Sciences+I_portfolios.xlsx"


def review_export(folder: Path) -> Path:
    rows = clean_rows()
    rows[1] |= {"AVAILABILITY": "INACTIVE", "PO_LINE": "POL-2025-00077"}   # a pending order
    rows[2] |= {"PUBLIC_NOTES": "Simultaneous users: 3"}
    rows[4] |= {"PO_LINE": "POL-2019-00417"}
    folder.mkdir(parents=True, exist_ok=True)
    return export_of(folder / EXPORT, rows)


def po_line_file(path: Path) -> Path:
    path.write_text("PO Line Reference,Status,PO Line Title\nPOL-2025-00077,ACTIVE,Speculum\n"
                    "POL-2019-00417,ACTIVE,Philosophical Review\nPOL-2019-00418,ACTIVE,Philosophical Review\n",
                    encoding="utf-8")
    return path


def _is_next_resync(line: str) -> bool:
    """A printed next-step command: the program (as this installation runs it), then resync."""
    words = shlex.split(line) if "resync" in line and "--decisions" in line else []
    return "resync" in words and "almaclean" in " ".join(words[:words.index("resync")])


def test_the_next_step_command_repeats_the_runs_options_and_runs_as_printed(tmp_path):
    from almaclean.services.resync import ResyncRequest, run_resync
    from almaclean.store.db import open_database

    export = review_export(tmp_path / "in")
    pols = po_line_file(tmp_path / "in" / "po lines.csv")
    mapping = tmp_path / "in" / "site.toml"
    mapping.write_text('[po_lines]\npo_line = ["PO Line Reference"]\n', encoding="utf-8")
    db = f"sqlite:///{tmp_path / 'user.db'}"
    run = run_resync(open_database(db), ResyncRequest([export], tmp_path / "out", "EDU01", po_lines=pols,
                                                     mapping=mapping, keep_localized_n=True, db=db))
    folder = run.folder / "JSTOR-Arts-and-Sciences-I"
    audit = json.loads((folder / "audit.json").read_text(encoding="utf-8"))
    written = (f"almaclean resync {EXPORT} --decisions review.xlsx --po-lines '../inputs/po-lines/po lines.csv' "
               "--mapping ../inputs/mapping/site.toml --institution EDU01 --keep-localized-n")
    assert written in audit["first_step"]
    assert (folder / "../inputs/po-lines/po lines.csv").is_file() and (folder / "../inputs/mapping/site.toml").is_file()
    lines = run.lines()
    [printed] = [line.strip() for line in lines if _is_next_resync(line)]
    args = shlex.split(printed)
    args = args[args.index("resync") - 1:]   # the program as this installation runs it, then its arguments
    assert args[args.index("--po-lines") + 1] == str(run.folder / "inputs" / "po-lines" / "po lines.csv")
    assert args[args.index("--mapping") + 1] == str(run.folder / "inputs" / "mapping" / "site.toml")
    assert args[args.index("--institution") + 1] == "EDU01" and "--keep-localized-n" in args
    assert args[args.index("--db") + 1] == db and args[args.index("--decisions") + 1] == str(folder / "review.xlsx")
    # The command as printed, with the pending row decided, keeps the PO line check.
    filled = fill(folder / "review.xlsx", tmp_path / "filled.xlsx", {
        ("inactive", "3", "decision"): "keep row",
        ("acquisitions", "6", "PO_LINE new value"): "POL-2019-99999"})
    from almaclean.cli import main

    shutil.copy(filled, folder / "filled.xlsx")
    argv = args[1:]
    argv[argv.index("--decisions") + 1] = str(folder / "filled.xlsx")
    assert main([*argv, "--out", str(tmp_path / "again"), "--json"]) == 0
    [second] = [p for p in (tmp_path / "again").iterdir()]
    again = json.loads((second / "JSTOR-Arts-and-Sciences-I" / "audit.json").read_text(encoding="utf-8"))
    assert again["po_lines_checked"] and again["corrected_value_issues"] == 1 and not again["loader_final"]


def test_the_printed_command_names_every_file_by_its_full_path_when_the_out_folder_was_relative(tmp_path,
                                                                                              monkeypatch, capsys):
    from almaclean.cli import main

    export = review_export(tmp_path / "in")
    po_line_file(tmp_path / "in" / "po_lines.csv")
    monkeypatch.chdir(tmp_path / "in")
    assert main(["--db", f"sqlite:///{tmp_path / 'user.db'}", "resync", EXPORT, "--po-lines", "po_lines.csv",
                 "--institution", "EDU01", "--out", "out"]) == 0
    [printed] = [line.strip() for line in capsys.readouterr().out.splitlines() if _is_next_resync(line)]
    args = shlex.split(printed)
    files = [args[args.index("resync") + 1], args[args.index("--decisions") + 1], args[args.index("--po-lines") + 1]]
    monkeypatch.chdir(tmp_path)   # another folder: every file is still found
    assert all(Path(f).is_absolute() and Path(f).is_file() for f in files), files
    assert Path(files[0]).name == EXPORT and Path(files[1]).name == "review.xlsx"


def test_a_decisions_run_says_what_it_applied_and_what_still_awaits(tmp_path):
    export = review_export(tmp_path / "in")
    pols = po_line_file(tmp_path / "in" / "po_lines.csv")
    db = f"sqlite:///{tmp_path / 'user.db'}"
    first = resync_run([export], po_lines=pols, out=tmp_path / "out", db_url=db)
    folder = first / "JSTOR-Arts-and-Sciences-I"
    filled = fill(folder / "review.xlsx", tmp_path / "filled.xlsx", {
        ("notes", "4", "decision"): "clear PUBLIC_NOTES",
        ("acquisitions", "6", "PO_LINE new value"): "POL-2019-00418"})
    from almaclean.services.resync import ResyncRequest, run_resync
    from almaclean.store.db import open_database

    run = run_resync(open_database(db), ResyncRequest([export], tmp_path / "out", "default", po_lines=pols,
                                                     decisions=filled))
    text = "\n".join(run.lines())
    assert ("applied filled.xlsx: 1 x clear PUBLIC_NOTES, 2 x keep; new values: PO_LINE 1; loader: 0 row(s) removed, "
            "2 cell(s) changed") in text
    assert "draft because 1 portfolio(s) await an explicit decision (1 in sheet 'inactive')" in text
    record = run.collections[0]
    assert record["applied"] == {"decisions": {"clear PUBLIC_NOTES": 1, "keep": 2}, "new_values": {"PO_LINE": 1}}
    assert record["rows_awaiting_decision"] == 1 and not record["loader_final"]


def test_a_filled_in_review_workbook_still_verifies_as_edited_as_expected(tmp_path):
    from almaclean.services.verify import verify_run

    export = review_export(tmp_path / "in")
    run = resync_run([export], out=tmp_path / "out", db_url=f"sqlite:///{tmp_path / 'user.db'}")
    review = run / "JSTOR-Arts-and-Sciences-I" / "review.xlsx"
    filled = fill(review, tmp_path / "filled.xlsx", {("inactive", "3", "decision"): "keep row"})
    shutil.copy(filled, review)                       # filled in place, as the README says
    (review.parent / "~$review.xlsx").write_bytes(b"owner")   # and still open in Excel
    result = verify_run(run)
    assert result.ok, result.lines
    assert result.notes == [
        "filled in: JSTOR-Arts-and-Sciences-I/review.xlsx (edited, as expected: the workbook to fill in; the re-run "
        "compares the one almaclean wrote)",
        "open in Excel: JSTOR-Arts-and-Sciences-I/~$review.xlsx (Excel's lock file, not checked)"]
    # Any other output edited is still a mismatch.
    changes = review.parent / "changes.csv"
    changes.write_bytes(changes.read_bytes() + b"\n")
    assert verify_run(run).lines == ["output edited: JSTOR-Arts-and-Sciences-I/changes.csv (sha256 differs from "
                                     "bundle.json)"]


def test_a_folder_s_workbooks_that_are_not_extended_exports_are_skipped_and_named(tmp_path):
    from almaclean.services.resync import ResyncRequest, run_resync
    from almaclean.store.db import open_database

    folder = tmp_path / "exports"
    review_export(folder)
    write_workbook(folder / "p2e_report.xlsx", [Sheet("P2E", ["Legacy ID", "Type", "Title"],
                                                      _frame([["EDU01000123", "portfolio", "Isis"]]))])
    write_workbook(folder / "notes.xlsx", [Sheet("Notes", ["What", "When"], _frame([["call JSTOR", "Monday"]]))])
    run = run_resync(open_database(f"sqlite:///{tmp_path / 'user.db'}"),
                     ResyncRequest([folder], tmp_path / "out", "EDU01"))
    assert [r["export"] for r in run.collections] == [EXPORT]
    assert run.skipped == [("notes.xlsx", "not an Extended Export: none of its columns is an Extended Export column"),
                           ("p2e_report.xlsx", "not an Extended Export: its columns are those of a P2E file")]
    assert "  skipped p2e_report.xlsx: not an Extended Export: its columns are those of a P2E file" in run.lines()
    # A folder of nothing but other workbooks, or a non-export named on the command line: refused.
    (folder / EXPORT).unlink()
    with pytest.raises(InputError, match="no Extended Export here: notes.xlsx is not an Extended Export"):
        run_resync(open_database(f"sqlite:///{tmp_path / 'user.db'}"), ResyncRequest([folder], tmp_path / "o2", "E"))
    with pytest.raises(InputError, match="no portfolio_id column for a extended-export file"):
        run_resync(open_database(f"sqlite:///{tmp_path / 'user.db'}"),
                   ResyncRequest([folder / "p2e_report.xlsx"], tmp_path / "o3", "E"))


def _frame(rows):
    import polars as pl

    return pl.DataFrame(rows, schema=[f"c{i}" for i in range(len(rows[0]))], orient="row")


def test_the_draft_loader_says_it_is_a_draft_where_the_loader_reads_no_cell(tmp_path):
    export = review_export(tmp_path / "in")
    run = resync_run([export], out=tmp_path / "out", db_url=f"sqlite:///{tmp_path / 'user.db'}")
    draft = run / "JSTOR-Arts-and-Sciences-I" / "JSTOR+Arts+and+Sciences+I_portfolios_loader_DRAFT.xlsx"
    table = read_table(draft)
    assert table.header == read_table(export).header and table.sheet == "DRAFT - do not upload"
    with zipfile.ZipFile(draft) as z:
        names = z.namelist()
        sheet = z.read("xl/worksheets/sheet1.xml").decode()
        core = z.read("docProps/core.xml").decode()
    assert [n for n in names if n.startswith("xl/worksheets/") and n.endswith(".xml")] == ["xl/worksheets/sheet1.xml"]
    assert 'promptTitle="DRAFT: do not upload"' in sheet and 'sqref="A1:' in sheet
    assert ('prompt="Not the file to upload: the review in review.xlsx has not been applied yet; 1 portfolio(s) await '
            "an explicit decision (1 in sheet 'inactive'). Fill in review.xlsx, then run the command its first sheet "
            'gives."') in sheet.replace("&apos;", "'")
    assert "<dc:title>DRAFT: do not upload (JSTOR Arts and Sciences I)</dc:title>" in core
    assert '<tabColor rgb="FFC00000"/>' in sheet


def test_a_typed_issn_with_a_label_is_refused_exit_2_naming_the_cell_and_nothing_is_written(tmp_path, capsys):
    """The loader file takes a typed ISSN as written: one with a label is refused before anything is
    written, naming the workbook, its row and its column; the database keeps what it held."""
    import sqlite3

    from almaclean.cli import main

    rows = clean_rows()
    rows[2] |= {"issn_1": None, "PUBLIC_NOTES": "Campus only"}
    (tmp_path / "in").mkdir()
    export = export_of(tmp_path / "in" / EXPORT, rows)
    db = tmp_path / "user.db"
    first = resync_run([export], out=tmp_path / "out", db_url=f"sqlite:///{db}", institution="EDU01")
    filled = fill(first / "JSTOR-Arts-and-Sciences-I" / "review.xlsx", tmp_path / "filled.xlsx", {
        ("no_identifier", "4", "ISSN new value"): "ISSN 0038-7134", ("no_identifier", "4", "decision"): "keep"})

    def stored() -> dict[str, int]:
        with sqlite3.connect(db) as conn:
            tables = [name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            return {name: conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0] for name in tables}

    before, runs = stored(), sorted(p.name for p in (tmp_path / "out").iterdir())
    code = main(["resync", str(export), "--decisions", str(filled), "--institution", "EDU01",
                 "--out", str(tmp_path / "out"), "--db", f"sqlite:///{db}"])
    err = capsys.readouterr().err
    assert code == 2
    # the review sheet's row 2 is the export's row 4
    assert "filled.xlsx: row 2, column 'ISSN new value': sheet 'no_identifier'" in err
    assert "holds more than the ISSN: write it alone, as 0038-7134" in err
    assert stored() == before and sorted(p.name for p in (tmp_path / "out").iterdir()) == runs
