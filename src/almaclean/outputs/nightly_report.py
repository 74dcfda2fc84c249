"""Nightly reports: per institution changes.csv and report.md, per run summary.md and
summary.json, and the text of the Prefect artifacts (the flow publishes them).

Markdown is built by pure functions from an InstitutionRun; the writers only put text in
new files (almaclean.write: atomic, never overwriting). No file names the run folder or holds
a time: `almaclean verify` rewrites them from the bundle (the recorded InstitutionRun facts and
the previous run's findings kept as findings CSV) and compares bytes (docs/audit.md).
"""
from __future__ import annotations

import logging
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

import polars as pl

from almaclean.errors import InputError
from almaclean.nightly.changes import (
    CHANGE_COLUMNS, CHANGED, CHANGES, FINDING_COLUMNS, NEW, NO_LONGER, OPEN, OUTCOMES, RESOLVED, change_counts,
    outcome_counts,
)
from almaclean.outputs.p2e_report import partition, write_report
from almaclean.p2e.analyse import BUCKETS, P2EResult
from almaclean.read.table import read_table
from almaclean.write.atomic import atomic_path
from almaclean.write.csvfile import write_csv, write_csv_for_people
from almaclean.write.jsonfile import write_json

log = logging.getLogger(__name__)

CHANGES_CSV = "changes.csv"
REPORT_MD = "report.md"
SUMMARY_MD = "summary.md"
SUMMARY_JSON = "summary.json"
P2E_FOLDER = "p2e"
MARKDOWN_ROWS = 50  # rows per list in report.md and the artifact; changes.csv has them all
SUMMARY_COUNTS = (NEW, CHANGED, RESOLVED, NO_LONGER, OPEN, "still open")


@dataclass
class InstitutionRun:
    """What happened to one institution in a nightly run."""

    institution: str
    status: str                      # "succeeded" | "failed"
    folder: str                      # its folder in the run folder
    run_id: int | None = None        # nightly_runs.id
    previous_run_id: int | None = None
    files: list[dict] = field(default_factory=list)   # file, kind, status (stored/unchanged), rows
    changes: dict[str, int] = field(default_factory=dict)
    outcomes: dict[str, int] = field(default_factory=dict)
    partition: str | None = None     # how the P2E portfolios divide, in the words of `almaclean p2e`
    error: str | None = None
    reused_from: int | None = None   # the run whose analysis of the very same inputs this one reuses

    def count(self, counts: dict[str, int], findings: pl.DataFrame, changes: pl.DataFrame) -> None:
        """Set the counts of a succeeded run from its analysis' counts, findings and changes."""
        self.changes, self.outcomes = change_counts(changes), outcome_counts(findings)
        self.partition = partition(counts) if all(b in counts for b in BUCKETS) else None


# Why the findings' outcomes and the P2E buckets differ while describing the same portfolios.
FINDINGS_VS_BUCKETS = ("Findings follow a portfolio from run to run with one outcome: 'pol_relink' is a duplicate "
                       "whose PO line is relinked first, 'review' also holds the duplicates to copy to their keeper "
                       "first and the relinks whose match is to review; P2E portfolios with no duplicate are no "
                       "finding.")


def artifact_key(institution: str) -> str:
    """Prefect artifact keys allow lower-case letters, digits and dashes only."""
    return "nightly-" + (re.sub(r"[^a-z0-9]+", "-", institution.lower()).strip("-") or "institution")


def _cell(value) -> str:
    text = "" if value is None else str(value)
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def markdown_table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(_cell(h) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _list_section(title: str, frame: pl.DataFrame, columns: list[str]) -> list[str]:
    if frame.is_empty():
        return []
    shown = frame.head(MARKDOWN_ROWS)
    more = frame.height - shown.height
    lines = [f"## {title} ({frame.height})", "", markdown_table(columns, shown.select(columns).rows())]
    if more:
        lines += ["", f"... and {more} more: see {CHANGES_CSV}."]
    return lines + [""]


def institution_markdown(run: InstitutionRun, changes: pl.DataFrame | None) -> str:
    """report.md of one institution (also its Prefect markdown artifact)."""
    lines = [f"# Nightly P2E detection: {run.institution}", ""]
    if run.status != "succeeded":
        lines += [f"**Failed**: {run.error}", "", "This run is not recorded as succeeded: the next run compares "
                  "with the last succeeded one.", ""]
    elif run.previous_run_id is None:
        lines += [f"Run #{run.run_id}: the first succeeded run of this institution, so every finding is new.", ""]
    else:
        lines += [f"Run #{run.run_id}, compared with run #{run.previous_run_id}.", ""]
    if run.status == "succeeded" and run.reused_from is not None:
        lines += [f"Unchanged since run #{run.reused_from}: the stored files, options and almaclean rules are "
                  "the ones it analysed, so they were not analysed again and its findings stand as they were. "
                  f"Its P2E report ({P2E_FOLDER}/ in the folder of run #{run.reused_from}) still holds.", ""]
    fetched = [[f["report"], f["kind"], f["status"], f["rows"], f["file"]] for f in run.files if f.get("report")]
    if fetched:
        lines += ["## Alma Analytics reports fetched", "",
                  markdown_table(["report", "kind", "status", "rows", "kept as"], fetched), ""]
    files = [[f["file"], f["kind"], f["status"] + (f": {f['reason']}" if f.get("reason") else ""), f["rows"]]
             for f in run.files if not f.get("report")]
    if files:
        lines += ["## Inbox files", "", markdown_table(["file", "kind", "status", "rows"], files), ""]
    if run.status != "succeeded" or changes is None:
        return "\n".join(lines)
    counts = [[c, run.changes.get(c, 0)] for c in SUMMARY_COUNTS]
    lines += ["## Changes", "", markdown_table(["change", "portfolios"], counts),
              "", "Findings now: " + ", ".join(f"{o} {run.outcomes.get(o, 0)}" for o in OUTCOMES)
              + (f". The P2E report of this run is in {P2E_FOLDER}/." if run.reused_from is None else
                 f". The P2E report is run #{run.reused_from}'s ({P2E_FOLDER}/ in its folder)."), ""]
    if run.partition:
        lines += [f"As `almaclean p2e` counts them: {run.partition}. {FINDINGS_VS_BUCKETS}", ""]
    by = {c: changes.filter(pl.col("change") == c) for c in CHANGES}
    lines += _list_section("New", by[NEW], ["portfolio_id", "mms_id", "outcome", "keeper", "evidence"])
    lines += _list_section("Resolved (deleted in Alma)", by[RESOLVED],
                           ["portfolio_id", "mms_id", "previous_outcome", "previous_keeper"])
    lines += _list_section("No longer a duplicate (portfolio still in the export)", by[NO_LONGER],
                           ["portfolio_id", "mms_id", "previous_outcome", "previous_keeper", "evidence"])
    lines += _list_section("Changed", by[CHANGED], ["portfolio_id", "what_changed", "previous_outcome", "outcome",
                                                    "previous_keeper", "keeper"])
    return "\n".join(lines)


def summary_rows(runs: list[InstitutionRun]) -> list[dict]:
    """One row per institution: the run summary table (also the Prefect table artifact)."""
    return [
        {"institution": r.institution, "status": r.status, "run": r.run_id,
         **{c: r.changes.get(c) for c in SUMMARY_COUNTS}, "findings": sum(r.outcomes.values()) if r.outcomes else None,
         "error": r.error}
        for r in runs
    ]


def summary_markdown(runs: list[InstitutionRun]) -> str:
    """summary.md; the run folder's name (it carries the time) is not in it, so a re-run matches."""
    rows = summary_rows(runs)
    failed = [r for r in runs if r.status != "succeeded"]
    lines = ["# Nightly P2E detection", "",
             f"{len(runs)} institution(s), {len(failed)} failed.", ""]
    if rows:
        header = list(rows[0])
        lines.append(markdown_table(header, [[row[h] for h in header] for row in rows]))
    return "\n".join(lines) + "\n"


def _write_text(path: Path, text: str) -> None:
    with atomic_path(path) as temp:
        temp.write_text(text, encoding="utf-8")


def write_changes(folder: Path, changes: pl.DataFrame) -> Path:
    return write_csv_for_people(Path(folder) / CHANGES_CSV, changes.select(CHANGE_COLUMNS))


def write_institution_files(folder: Path, result: P2EResult, changes: pl.DataFrame) -> None:
    """A succeeded institution's P2E report (p2e/) and changes.csv (the flow and verify both)."""
    write_report(result, Path(folder) / P2E_FOLDER)
    write_changes(folder, changes)


def write_findings(path: Path, findings: pl.DataFrame) -> Path:
    """Findings (FINDING_COLUMNS) as CSV, by portfolio_id: the previous run's, kept in a bundle."""
    return write_csv(path, findings.select(FINDING_COLUMNS).sort("portfolio_id"))


def read_findings(path: Path) -> pl.DataFrame:
    """Findings written by write_findings, every cell text, empty cell -> null."""
    table = read_table(path)
    if table.header != FINDING_COLUMNS:
        raise InputError(f"not a findings file: header {list(table.header)}, expected {list(FINDING_COLUMNS)}",
                         file=path, row=1)
    return table.frame.rename({f"c{i}": name for i, name in enumerate(FINDING_COLUMNS)})


def write_institution_report(folder: Path, run: InstitutionRun, changes: pl.DataFrame | None) -> str:
    """report.md in the institution's folder; returns the markdown."""
    markdown = institution_markdown(run, changes)
    _write_text(Path(folder) / REPORT_MD, markdown)
    return markdown


def _summary_entry(run: InstitutionRun) -> dict:
    """An institution in summary.json; reused_from only when it was (a bundle made before it
    existed re-writes the same bytes)."""
    entry = asdict(run)
    if entry["reused_from"] is None:
        del entry["reused_from"]
    return entry


def write_summary(run_folder: Path, runs: list[InstitutionRun]) -> str:
    """summary.md and summary.json of the whole run; returns the markdown."""
    run_folder = Path(run_folder)
    markdown = summary_markdown(runs)
    _write_text(run_folder / SUMMARY_MD, markdown)
    payload = {"institutions": [_summary_entry(r) for r in runs],
               "failed": [r.institution for r in runs if r.status != "succeeded"]}
    write_json(run_folder / SUMMARY_JSON, payload)
    log.info("nightly summary written to %s", run_folder)
    return markdown
