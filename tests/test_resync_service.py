"""The resync Prefect flow end to end: several collections, then the review decisions round trip."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import polars as pl
from test_resync_rules import PID, assert_loader_matches, build_export

from almaclean.read.table import read_table
from almaclean.resync.plan import collection_name
from almaclean.resync.decisions import read_review_workbook
from almaclean.write.xlsx import Sheet, write_workbook


def _changes(folder: Path) -> pl.DataFrame:
    table = read_table(folder / "changes.csv")
    assert table.header == ("row", "portfolio_pid", "column", "old", "new", "reason")
    return table.frame.rename(dict(zip(table.frame.columns, table.header))).with_columns(pl.col("row").cast(pl.Int64))


def _fill(review: Path, target: Path, decisions: dict[tuple[str, str], str]) -> Path:
    """Write a copy of review.xlsx with some decision cells filled in, as a person would."""
    sheets = []
    for name, table in read_review_workbook(review).items():
        frame = table.frame
        if name in {s for s, _ in decisions}:
            rows = frame[frame.columns[table.header.index("row")]].to_list()
            frame = frame.with_columns(pl.Series(frame.columns[0], [
                decisions.get((name, r), d) for r, d in zip(rows, frame[frame.columns[0]].to_list())]))
        sheets.append(Sheet(name, table.header, frame))
    write_workbook(target, sheets)
    return target


def test_resync_service_many_collections_then_decisions(tmp_path):
    from almaclean.sample.generator import generate
    from conftest import resync_run

    manifest = generate(tmp_path / "sample", seed=3, scale=0.05)
    truth = json.loads(manifest.path("truth").read_text(encoding="utf-8"))["extended_export_truth"]
    exports = tmp_path / "exports"
    exports.mkdir()
    for name in manifest.extended_exports:
        shutil.copy(manifest.out_dir / name, exports / name)
    hand = build_export(exports / "Hand+Made_portfolios.xlsx")
    db = f"sqlite:///{tmp_path / 'history.db'}"

    run = resync_run([exports], po_lines=manifest.path("po_lines"), institution="TEST",
                      out=tmp_path / "out", db_url=db)

    summary = read_table(run / "summary.xlsx")
    assert summary.header[:4] == ("collection", "what to do first", "decision", "portfolios")
    lines = [dict(zip(summary.header, r)) for r in summary.frame.rows()]
    assert {r["collection"] for r in lines} == {"Hand Made"} | {collection_name(Path(n)) for n in truth}
    for export in sorted(exports.glob("*.xlsx")):
        record_row = next(r for r in lines if r["export"] == export.name)
        folder = run / record_row["folder"]
        audit = json.loads((folder / "audit.json").read_text(encoding="utf-8"))
        assert audit["rows"] == int(record_row["portfolios"]) and audit["decision"] == record_row["decision"]
        assert record_row["what to do first"] == audit["first_step"]
        if export.name in truth:
            expected = truth[export.name]
            assert audit["rows"] == expected["rows"]
            assert audit["decision"] == ("reactivate_all" if expected["reactivate_all"] else "manual_load")
            assert audit["categories"]["inactive"] == len(expected["categories"]["inactive"])
        assert audit["po_lines_checked"] is True
        assert (folder / export.name).read_bytes() == export.read_bytes()
        if audit["decision"] == "manual_load":
            # Before review the loader is a draft, named so.
            assert audit["loader"] == export.name.replace(".xlsx", "_loader_DRAFT.xlsx") and not audit["loader_final"]
            assert_loader_matches(export, folder / audit["loader"], _changes(folder))
        else:
            # "Activate all" needs no loader: the export copy is the backup.
            assert audit["loader"] is None and audit["backup"] == export.name
            assert not list(folder.glob("*_loader*.xlsx"))
        review = read_review_workbook(folder / "review.xlsx")
        items = {r[0]: r[2] for r in review["summary"].frame.rows()}
        assert items["decision code"] == audit["decision"]
    hand_folder = run / "Hand-Made"
    hand_review = read_review_workbook(hand_folder / "review.xlsx")
    po_check = hand_review["po_line_check"]
    column = dict(zip(po_check.header, po_check.frame.columns))
    problems = dict(zip(po_check.frame[column["PORTFOLIO_PID"]].to_list(), po_check.frame[column["why listed"]].to_list()))
    assert problems[PID[3]] == "PO line not found in the PO line export"

    from almaclean.store.db import make_engine
    from almaclean.store.load import current_frame

    stored = current_frame(make_engine(db), "TEST", "extended-export", scope="Hand Made")
    assert sorted(stored["portfolio_id"].to_list()) == sorted(PID)

    filled = _fill(hand_folder / "review.xlsx", tmp_path / "filled.xlsx", {
        ("override_url", "6"): "clear URL",
        ("notes", "2"): "drop row",
        ("localized_n", "6"): "set LOCALIZED N",
        ("inactive", "3"): "keep row",
        # Kept now, so its override URL (blank while the row was to be removed) needs a decision too.
        ("override_url", "3"): "keep",
        # Rows almaclean proposes nothing for: PO lines not in the PO line export, no identifier to match.
        ("po_line_check", "5"): "clear PO_LINE", ("po_line_check", "6"): "keep",
        ("no_identifier", "4"): "keep", ("no_identifier", "6"): "keep", ("no_identifier", "7"): "keep",
    })
    final = resync_run([hand], decisions=filled, po_lines=manifest.path("po_lines"), out=tmp_path / "out", db_url=db)
    assert final != run
    folder = final / "Hand-Made"
    changes = _changes(folder)
    log = {(r, c): (n, why) for r, c, n, why in changes.select("row", "column", "new", "reason").iter_rows()}
    assert log[(6, "URL")] == (None, "review decision: clear URL (sheet override_url)")
    assert log[(2, "*row*")][1] == "review decision: drop row (sheet notes)"
    assert (6, "LOCALIZED") not in log and (3, "*row*") not in log
    assert log[(5, "PO_LINE")] == (None, "review decision: clear PO_LINE (sheet po_line_check)")
    assert_loader_matches(hand, folder / "Hand+Made_portfolios_loader.xlsx", changes)
    audit = json.loads((folder / "audit.json").read_text(encoding="utf-8"))
    assert audit["decisions_file"] == "filled.xlsx"
    assert audit["loader"] == "Hand+Made_portfolios_loader.xlsx" and audit["loader_final"] is True
    again = read_review_workbook(folder / "review.xlsx")["override_url"]
    assert "clear URL" in again.frame[again.frame.columns[0]].to_list()
