"""The nightly flow twice over a changing inbox of the sample institution, beside a failing one.

Run 1: the generator's exports (and a bad P2E file for a second institution). Run 2: a newer
portfolio export where Alma deleted some P2E duplicates, moved one P2E portfolio's URL, and
activated a CZ title that makes a P2E-only portfolio a duplicate; a newer P2E file without the
line of one duplicate. The expected sets come from truth.json and these edits.
"""
from __future__ import annotations

import csv
import json
import os
import shutil

import polars as pl
import pytest

from almaclean.errors import AlmacleanError
from almaclean.store import nightly_history as history
from conftest import stored_run_changes
from almaclean.nightly.changes import CHANGED, NEW, NO_LONGER, OPEN, RESOLVED
from almaclean.sample.generator import generate
from almaclean.store.db import open_database
from almaclean.write.csvfile import write_csv

INSTITUTION = "EDU01"
T1, T2 = 1_700_000_000, 1_700_090_000  # inbox file times: run 1's files, then the newer exports


def _csv(path):
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def _by_change(rows):
    sets: dict[str, set[str]] = {}
    for row in rows:
        sets.setdefault(row["change"], set()).add(row["portfolio_id"])
    return sets


def _place(source, target, mtime):
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    os.utime(target, (mtime, mtime))
    return target


def _edit_scenario(sample, truth, first_findings):
    """The edits of run 2 and the portfolio ids each should show up under."""
    portfolios = pl.read_csv(sample / "portfolios.csv", infer_schema=False)
    junk = {pid for pids in truth["junk_identifiers"].values() for pid in pids}
    lookalikes = {row["portfolio_id"] for row in truth["title_only_lookalikes"]}
    safe = [d for d in truth["p2e_duplicates"]
            if d["coverage_relation"] == "contained" and not d["po_line"] and d["portfolio_id"] not in junk]
    with_pol = [d for d in truth["p2e_duplicates"]
                if d["po_line"] and d["portfolio_id"] not in junk and d["portfolio_id"] in first_findings]
    deleted = [d["portfolio_id"] for d in safe[:3]] + [with_pol[0]["portfolio_id"]]
    no_longer, moved = safe[3], safe[4]["portfolio_id"]
    # A P2E-only portfolio with identifiers, nothing else to say, no finding yet: a CZ keeper appears.
    becomes_dup = next(
        row for row in truth["p2e_only"]
        if row["portfolio_id"] not in junk | lookalikes | set(first_findings) and not row["po_line"]
        and row["availability"] == "Available"
        and portfolios.filter(pl.col("Portfolio Id") == row["portfolio_id"])
        .select(pl.coalesce("ISSN", "ISBN")).item() is not None
    )
    keeper_like = portfolios.filter(pl.col("Portfolio Id") == safe[5]["keeper_portfolio_id"]).row(0, named=True)
    new_keeper = portfolios.filter(pl.col("Portfolio Id") == becomes_dup["portfolio_id"]).with_columns(
        pl.lit("53496799999903681").alias("Portfolio Id"),
        pl.lit("99770499999903681").alias("MMS Id"),
        pl.lit(None, dtype=pl.String).alias("Network Number"),
        pl.lit(None, dtype=pl.String).alias("PO Line Reference"),
        *[pl.lit(keeper_like[c]).alias(c) for c in (
            "Electronic Collection Id", "Electronic Collection Public Name", "Interface Name",
            "Portfolio Linked To CZ", "Availability", "Is Standalone")],
    )
    newer = pl.concat([
        portfolios.filter(~pl.col("Portfolio Id").is_in(deleted)).with_columns(
            pl.when(pl.col("Portfolio Id") == moved).then(pl.col("Portfolio Static URL") + "&moved=2026")
            .otherwise(pl.col("Portfolio Static URL")).alias("Portfolio Static URL")),
        new_keeper,
    ])
    lines = (sample / "p2e.txt").read_text(encoding="utf-8").splitlines(keepends=True)
    newer_p2e = "".join(line for line in lines if not line.startswith(no_longer["legacy_id"] + ","))
    assert len(newer_p2e) < len((sample / "p2e.txt").read_text(encoding="utf-8"))
    expected = {RESOLVED: set(deleted), NO_LONGER: {no_longer["portfolio_id"]}, NEW: {becomes_dup["portfolio_id"]},
                CHANGED: {moved}}
    return newer, newer_p2e, expected


def test_two_nightly_runs_report_new_resolved_and_open_sets(prefect_server, tmp_path, monkeypatch):
    from almaclean.orchestration.flows import nightly_flow  # Prefect: imported where its server runs

    sample = tmp_path / "sample"
    generate(sample, seed=7, scale=0.1)
    truth = json.loads((sample / "truth.json").read_text(encoding="utf-8"))
    inbox, out, db = tmp_path / "inbox", tmp_path / "out", f"sqlite:///{tmp_path / 'almaclean.db'}"
    monkeypatch.setenv("ALMACLEAN_DB_URL", db)
    edu = inbox / INSTITUTION
    _place(sample / "portfolios.csv", edu / "portfolios" / "portfolios-2026-03-01.csv", T1)
    _place(sample / "p2e.txt", edu / "p2e" / "p2e.txt", T1)
    _place(sample / "po_lines.csv", edu / "po_lines.csv", T1)
    ee = truth["extended_exports"][0]
    _place(sample / ee, edu / ee, T1)
    bad = inbox / "BAD02"
    _place(sample / "portfolios.csv", bad / "portfolios.csv", T1)
    (bad / "p2e").mkdir()
    (bad / "p2e" / "p2e.txt").write_text("EDU01000100000,portfolio\nEDU01000100004,journal\n", encoding="utf-8")

    # Run 1: the bad institution fails, the good one is reported and recorded anyway.
    with pytest.raises(AlmacleanError, match=r"1 of 2 institution\(s\) failed: BAD02: .*p2e\.txt: row 2"):
        nightly_flow(inbox, out=out)
    (first,) = out.glob("nightly-*")
    summary = json.loads((first / "summary.json").read_text(encoding="utf-8"))
    assert summary["failed"] == ["BAD02"]
    assert "Failed" in (first / "BAD02" / "report.md").read_text(encoding="utf-8")
    assert not (first / "BAD02" / "changes.csv").exists()
    rows = _csv(first / INSTITUTION / "changes.csv")
    assert {r["change"] for r in rows} == {NEW}
    outcome = {r["portfolio_id"]: r["outcome"] for r in rows}
    dups = {d["portfolio_id"]: d for d in truth["p2e_duplicates"]}
    safe = {pid for pid, d in dups.items() if d["coverage_relation"] == "contained" and not d["po_line"]}
    assert safe - {pid for pid, o in outcome.items() if o == "delete"} <= \
        {pid for pids in truth["junk_identifiers"].values() for pid in pids}
    assert {pid for pid, o in outcome.items() if o in ("delete", "pol_relink")} <= set(dups)
    assert {pid for pid, o in outcome.items() if o == "pol_relink"} <= {pid for pid, d in dups.items() if d["po_line"]}
    deletion = _csv(first / INSTITUTION / "p2e" / "deletion_candidates.csv")
    assert {r["portfolio_id"] for r in deletion} == {pid for pid, o in outcome.items() if o == "delete"}
    engine = open_database(db)
    (bad_run,) = history.runs(engine, "BAD02")
    assert bad_run["status"] == "failed" and "journal" in bad_run["error"]

    # Run 2: newer exports land; the old ones stay in the inbox (already stored: no-ops).
    newer, newer_p2e, expected = _edit_scenario(sample, truth, outcome)
    write_csv(edu / "portfolios" / "portfolios-2026-03-02.csv", newer)
    os.utime(edu / "portfolios" / "portfolios-2026-03-02.csv", (T2, T2))
    (edu / "p2e" / "p2e-2026-03-02.txt").write_text(newer_p2e, encoding="utf-8")
    os.utime(edu / "p2e" / "p2e-2026-03-02.txt", (T2, T2))
    second = nightly_flow(inbox, institutions=[INSTITUTION], out=out).folder

    rows = _csv(second / INSTITUTION / "changes.csv")
    sets = _by_change(rows)
    expected[OPEN] = set(outcome) - expected[RESOLVED] - expected[NO_LONGER] - expected[CHANGED]
    assert {c: sets.get(c, set()) for c in expected} == expected
    assert set(sets) <= set(expected)
    by_pid = {r["portfolio_id"]: r for r in rows}
    (moved,) = expected[CHANGED]
    assert by_pid[moved]["what_changed"] == "evidence" and "&moved=2026" in by_pid[moved]["evidence"]
    (new,) = expected[NEW]
    assert by_pid[new]["keeper"] == "53496799999903681"
    assert {by_pid[p]["previous_outcome"] for p in expected[RESOLVED]} <= {"delete", "pol_relink", "review"}

    (edu_run,) = json.loads((second / "summary.json").read_text(encoding="utf-8"))["institutions"]
    files = {f["file"]: f["status"] for f in edu_run["files"]}
    assert files["portfolios/portfolios-2026-03-01.csv"] == "unchanged"
    assert files["portfolios/portfolios-2026-03-02.csv"] == "stored"
    runs = history.runs(engine, INSTITUTION)
    assert [r["status"] for r in runs] == ["succeeded", "succeeded"]
    report = (second / INSTITUTION / "report.md").read_text(encoding="utf-8")
    assert f"Run #{runs[1]['id']}, compared with run #{runs[0]['id']}." in report
    assert f"## Resolved (deleted in Alma) ({len(expected[RESOLVED])})" in report
    stored = stored_run_changes(engine, runs[1]["id"])
    assert _by_change(stored.to_dicts()) == {c: s for c, s in expected.items() if s}
