"""Nightly detection without Prefect: inbox rules, the run-over-run diff, history storage."""
from __future__ import annotations

import os

import polars as pl
import pytest

from almaclean.errors import InputError
from almaclean.store import nightly_history as history
from conftest import stored_run_changes
from almaclean.nightly.changes import (
    CHANGE_COLUMNS, CHANGED, FINDING_COLUMNS, NEW, NO_LONGER, OPEN, RESOLVED, change_counts, compare, evidence_digest,
)
from almaclean.inbox import inbox_files, inbox_listing, institutions_in, kind_by_name
from almaclean.outputs.nightly_report import artifact_key, institution_markdown, InstitutionRun
from almaclean.store.db import open_database

KEEPER = "53100000000000001"


def findings(rows: list[tuple]) -> pl.DataFrame:
    """(portfolio_id, outcome, keeper, evidence) -> a findings frame."""
    frame = pl.DataFrame(
        [(pid, "99" + pid[2:], outcome, keeper, None, evidence) for pid, outcome, keeper, evidence in rows],
        schema={c: pl.String for c in FINDING_COLUMNS[:-1]}, orient="row",
    )
    return frame.with_columns(pl.col("evidence").map_elements(evidence_digest, return_dtype=pl.String)
                              .alias("evidence_sha256"))


def test_diff_tells_new_resolved_no_longer_changed_and_open():
    previous = findings([
        ("53200000000000001", "delete", KEEPER, "shared: ISSN 0742-4671"),      # deleted in Alma
        ("53200000000000002", "delete", KEEPER, "shared: ISSN 0742-4671"),      # keeper gone, still exported
        ("53200000000000003", "review", KEEPER, "coverage stated on one side only"),  # now a deletion
        ("53200000000000004", "delete", KEEPER, "shared: ISBN 9782812406188"),  # evidence changes
        ("53200000000000005", "pol_relink", KEEPER, "neither states coverage | PO lines: POL-1 (ACTIVE, ready)"),
    ])
    current = findings([
        ("53200000000000003", "delete", KEEPER, "shared: ISSN 0742-4671"),
        ("53200000000000004", "delete", KEEPER, "shared: ISBN 9782812406188; ISBN 9782812444333"),
        ("53200000000000005", "pol_relink", KEEPER, "neither states coverage | PO lines: POL-1 (ACTIVE, ready)"),
        ("53200000000000006", "delete", "53100000000000009", "shared: ISSN 1934-6018"),
    ])
    exported = pl.Series(["53200000000000002", "53200000000000003", "53200000000000004", "53200000000000005",
                          "53200000000000006", KEEPER])
    changes = compare(previous, current, exported)

    assert changes.columns == list(CHANGE_COLUMNS)
    change = dict(changes.select("portfolio_id", "change").iter_rows())
    assert change == {
        "53200000000000001": RESOLVED, "53200000000000002": NO_LONGER, "53200000000000003": CHANGED,
        "53200000000000004": CHANGED, "53200000000000005": OPEN, "53200000000000006": NEW,
    }
    rows = {r["portfolio_id"]: r for r in changes.iter_rows(named=True)}
    assert rows["53200000000000003"]["what_changed"] == "outcome; evidence"
    assert (rows["53200000000000003"]["previous_outcome"], rows["53200000000000003"]["outcome"]) == ("review", "delete")
    assert rows["53200000000000004"]["what_changed"] == "evidence"
    assert rows["53200000000000004"]["previous_evidence"] == "shared: ISBN 9782812406188"
    # a vanished finding keeps its last evidence and its mms id
    assert rows["53200000000000001"]["evidence"] == "shared: ISSN 0742-4671"
    assert rows["53200000000000001"]["mms_id"] == "99200000000000001"
    assert rows["53200000000000001"]["outcome"] is None and rows["53200000000000001"]["previous_keeper"] == KEEPER
    assert change_counts(changes)["still open"] == 3
    # new first, open last
    assert changes["change"].to_list()[0] == NEW and changes["change"].to_list()[-1] == OPEN


def test_first_run_reports_every_finding_as_new():
    current = findings([("53200000000000001", "review", None, "title match only")])
    changes = compare(None, current, pl.Series(["53200000000000001"]))
    assert changes["change"].to_list() == [NEW]
    assert compare(current, current, pl.Series(["53200000000000001"]))["change"].to_list() == [OPEN]


def test_keeper_change_is_reported():
    before = findings([("53200000000000001", "delete", KEEPER, "x")])
    after = findings([("53200000000000001", "delete", "53100000000000002", "x")])
    row = compare(before, after, pl.Series(["53200000000000001"])).row(0, named=True)
    assert (row["change"], row["what_changed"], row["previous_keeper"]) == (CHANGED, "keeper", KEEPER)


@pytest.mark.parametrize(("name", "kind"), [
    ("JSTOR+Arts+and+Sciences+I_portfolios.xlsx", "extended-export"),
    ("p2e.txt", "p2e"),
    ("EDU01 P2E report 2026-03.xlsx", "p2e"),
    ("po_lines.csv", "po-lines"),
    ("Open POL 2026.csv", "po-lines"),
    ("All electronic portfolios.csv", "portfolios"),
    ("portfolios_2026-03-24.xlsx", "portfolios"),
    ("portfolios_2026-03-24.csv", "portfolios"),
    ("policy.csv", None),
    ("notes.docx", None),
])
def test_kind_by_file_name(name, kind):
    assert kind_by_name(name) == kind


def test_inbox_lists_oldest_first_and_skips_unknown_files(tmp_path):
    folder = tmp_path / "EDU01"
    (folder / "portfolios").mkdir(parents=True)
    newer = folder / "portfolios" / "a.csv"
    older = folder / "portfolios" / "b.csv"
    p2e = folder / "p2e.txt"
    for path, mtime in ((newer, 2_000), (older, 1_000), (p2e, 1_500)):
        path.write_text("x\n", encoding="utf-8")
        os.utime(path, (mtime, mtime))
    (folder / ".DS_Store").write_text("", encoding="utf-8")
    (folder / "~$a.xlsx").write_text("", encoding="utf-8")
    assert [(f.path.name, f.kind) for f in inbox_files(folder)] == [
        ("b.csv", "portfolios"), ("p2e.txt", "p2e"), ("a.csv", "portfolios")]
    assert institutions_in(tmp_path) == ["EDU01"]

    # A stray file or an unknown sub-folder is skipped and reported, never fatal.
    (folder / "notes.docx").write_text("", encoding="utf-8")
    (folder / "archive").mkdir()
    (folder / "archive" / "old.csv").write_text("", encoding="utf-8")
    os.mkfifo(folder / "pipe.csv")
    found, skipped = inbox_listing(folder)
    assert [f.path.name for f in found] == ["b.csv", "p2e.txt", "a.csv"]
    assert sorted((p.name, reason.split(":")[0]) for p, reason in skipped) == [
        ("notes.docx", "cannot tell which kind of export this file is"),
        ("old.csv", "unknown inbox sub-folder 'archive'"),
        ("pipe.csv", "not a regular file")]
    with pytest.raises(InputError, match="no inbox folder"):
        inbox_files(tmp_path / "NOPE")


def test_history_keeps_findings_and_compares_with_the_last_succeeded_run(db_url):
    engine = open_database(db_url)
    first = history.start_run(engine, "EDU01")
    assert history.previous_run(engine, "EDU01", first) is None
    found = findings([("53200000000000001", "delete", KEEPER, "shared: ISSN 0742-4671 | P2E URL: https://x/é|y"),
                      ("53200000000000002", "review", f"{KEEPER}; 53100000000000002", "several keepers that disagree")])
    changes = compare(None, found, pl.Series(["53200000000000001", "53200000000000002"]))
    history.record_success(engine, first, found, changes, {"portfolios": [1], "p2e": [2]})

    failed = history.start_run(engine, "EDU01")
    history.record_failure(engine, failed, "p2e.txt: row 3: unknown P2E type 'journal'")
    other = history.start_run(engine, "OTHER01")
    nothing_exported = pl.Series([], dtype=pl.String)
    history.record_success(engine, other, found.head(1), compare(None, found.head(1), nothing_exported), {})
    running = history.start_run(engine, "EDU01")

    assert history.previous_run(engine, "EDU01", running) == first
    assert history.run_findings(engine, first).equals(found)
    stored = stored_run_changes(engine, first)
    assert stored["change"].to_list() == [NEW, NEW]
    runs = history.runs(engine, "EDU01")
    assert [(r["id"], r["status"], r["findings"]) for r in runs] == [
        (first, "succeeded", 2), (failed, "failed", None), (running, "running", None)]
    assert runs[1]["error"].startswith("p2e.txt: row 3")


def test_report_markdown_escapes_cells_and_keys_are_prefect_safe():
    found = findings([("53200000000000001", "delete", KEEPER, "shared: ISSN 0742-4671 | keeper URL: x")])
    changes = compare(None, found, pl.Series(["53200000000000001"]))
    run = InstitutionRun("EDU01", "succeeded", "EDU01", run_id=1, changes=change_counts(changes),
                         outcomes={"delete": 1})
    text = institution_markdown(run, changes)
    assert "shared: ISSN 0742-4671 \\| keeper URL: x" in text
    assert "first succeeded run" in text
    assert artifact_key("EDU_01 Main") == "nightly-edu-01-main"


def test_findings_csv_reads_back_as_written_and_the_diff_is_the_same(tmp_path):
    """The previous findings a nightly bundle keeps: quotes, separators, line breaks, diacritics
    and missing cells come back unchanged, so the diff against them is the diff against the database's."""
    from almaclean.outputs.nightly_report import read_findings, write_findings

    previous = findings([
        ("53200000000000002", "review", None, 'title "Revue d\'études" differs, publisher: Garnier; Érudit'),
        ("53200000000000001", "delete", KEEPER, "shared: ISSN 0742-4671 | keeper URL: https://x.org/a?b=1,2"),
        ("53200000000000003", "pol_relink", KEEPER, "two lines\nof evidence"),
    ])
    path = write_findings(tmp_path / "previous_findings.csv", previous)
    back = read_findings(path)
    assert back.equals(previous.sort("portfolio_id"))
    current = findings([("53200000000000002", "review", None, "coverage stated on one side only")])
    exported = pl.Series(["53200000000000002", "53200000000000003"])
    assert compare(back, current, exported).equals(compare(previous, current, exported))

    (tmp_path / "bad.csv").write_text("portfolio_id,outcome\n1,delete\n", encoding="utf-8")
    with pytest.raises(InputError, match="not a findings file"):
        read_findings(tmp_path / "bad.csv")


def test_a_skipped_inbox_file_is_listed_with_its_reason_in_the_report():
    from almaclean.outputs.nightly_report import InstitutionRun, institution_markdown

    run = InstitutionRun("EDU01", "failed", "EDU01", error="no P2E file stored",
                         files=[{"file": "notes.json", "kind": None, "status": "skipped", "rows": 0,
                                 "reason": "cannot tell which kind of export this file is"}])
    assert "| notes.json |  | skipped: cannot tell which kind of export this file is | 0 |" in institution_markdown(run, None)
