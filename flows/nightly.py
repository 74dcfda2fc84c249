"""Nightly P2E detection (issue 5): per institution, ingest what is new in its inbox, re-run the
P2E analysis on its current data, and report what changed since its previous succeeded run.

Orchestration only: inbox rules in almaclean.nightly.inbox, the diff in .changes, history in
.history, reports in .report (docs/nightly.md). One institution failing (a bad file, no P2E
file yet...) is reported and recorded, the others still run; the flow raises at the end, after
every report is written, so the Prefect flow run ends Failed.
"""
from __future__ import annotations

import logging
from collections import defaultdict
from functools import lru_cache
from pathlib import Path

import polars as pl
from prefect import flow, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from sqlalchemy import Engine

from almaclean import settings
from almaclean.errors import AlmacleanError
from almaclean.kinds import load_mapping
from almaclean.nightly import history
from almaclean.nightly.changes import findings_and_changes
from almaclean.nightly.inbox import inbox_files, institutions_in, mapping_file
from almaclean.nightly.report import (
    InstitutionRun, artifact_key, summary_rows, write_institution_files, write_institution_report, write_summary,
)
from almaclean.p2e.analyse import P2EResult, analyse_p2e
from almaclean.store.db import make_engine
from almaclean.store.ingest import ingest_files
from almaclean.store.load import current_frame
from almaclean.write.atomic import new_run_folder, unique_folder_names

log = logging.getLogger(__name__)

step = task(cache_policy=NO_CACHE)
ANALYSED_KINDS = ("portfolios", "p2e", "po-lines")


@lru_cache(maxsize=8)
def _engine_for(url: str) -> Engine:
    return make_engine(url)


def _engine(db_url: str | None) -> Engine:
    return _engine_for(settings.database_url(db_url))


@step
def ingest_inbox(folder: Path, institution: str, db_url: str | None) -> list[dict]:
    """Every inbox file, oldest first within its kind; stored ones are no-ops by sha256."""
    by_kind: dict[str, list[Path]] = defaultdict(list)
    for item in inbox_files(folder):
        by_kind[item.kind].append(item.path)
    mapping_path = mapping_file(folder)
    mapping = load_mapping(mapping_path) if mapping_path else {}
    files = []
    for kind, paths in by_kind.items():
        for result in ingest_files(_engine(db_url), kind, paths, institution, mapping=mapping.get(kind)):
            files.append({"file": str(Path(result.file).relative_to(folder)), "kind": kind, "status": result.status,
                          "rows": result.rows})
    return files


@step
def load_current(institution: str, db_url: str | None) -> dict[str, pl.DataFrame]:
    frames = {kind: current_frame(_engine(db_url), institution, kind) for kind in ANALYSED_KINDS}
    if frames["portfolios"].is_empty():
        raise AlmacleanError(f"no portfolio export stored for institution {institution!r}: put one in its "
                             "inbox folder (portfolios/)")
    if frames["p2e"].is_empty():
        raise AlmacleanError(f"no P2E file stored for institution {institution!r}: put one in its inbox folder (p2e/)")
    log.info("current data of %s: %s", institution, {k: f.height for k, f in frames.items()})
    return frames


@step
def analyse(frames: dict[str, pl.DataFrame]) -> P2EResult:
    return analyse_p2e(frames["portfolios"], frames["p2e"], frames["po-lines"])


@step
def detect_changes(result: P2EResult, exported_ids: pl.Series, institution: str, run_id: int,
                   db_url: str | None) -> tuple[pl.DataFrame, pl.DataFrame, int | None]:
    """Findings of this run, changes against the previous succeeded run, that run's id."""
    engine = _engine(db_url)
    previous = history.previous_run(engine, institution, run_id)
    before = history.run_findings(engine, previous) if previous is not None else None
    return *findings_and_changes(result, before, exported_ids), previous


@step
def write_files(folder: Path, result: P2EResult, changes: pl.DataFrame) -> None:
    write_institution_files(folder, result, changes)


@step
def record(run_id: int, findings: pl.DataFrame, changes: pl.DataFrame, sources: dict[str, list[int]],
           db_url: str | None) -> None:
    history.record_success(_engine(db_url), run_id, findings, changes, sources)


def _run_institution(inbox: Path, institution: str, folder: Path, db_url: str | None) -> InstitutionRun:
    """One institution, start to end; any error is caught, recorded and reported."""
    run = InstitutionRun(institution, "failed", folder.name)
    changes = None
    try:
        run.run_id = history.start_run(_engine(db_url), institution)
        run.files = ingest_inbox(inbox / institution, institution, db_url)
        frames = load_current(institution, db_url)
        result = analyse(frames)
        findings, changes, run.previous_run_id = detect_changes(
            result, frames["portfolios"]["portfolio_id"], institution, run.run_id, db_url)
        run.count(findings, changes)
        # Files first, then the record: a run whose files could not be written is not the one
        # the next run compares with.
        write_files(folder, result, changes)
        sources = {kind: sorted(int(i) for i in frame["source_file_id"].unique()) for kind, frame in frames.items()}
        record(run.run_id, findings, changes, sources, db_url)
        run.status = "succeeded"
    except Exception as exc:  # a nightly job reports a failing institution and goes on with the next
        if isinstance(exc, AlmacleanError):
            run.error = str(exc)
            log.error("nightly run of %s failed: %s", institution, run.error)
        else:
            run.error = f"{type(exc).__name__}: {exc}"
            log.exception("nightly run of %s failed", institution)
        run.changes, run.outcomes = {}, {}
        _record_failure(run, db_url)
    markdown = write_institution_report(folder, run, changes if run.status == "succeeded" else None)
    create_markdown_artifact(markdown, key=artifact_key(institution),
                             description=f"Nightly P2E detection of {institution}: {run.status}")
    return run


def _record_failure(run: InstitutionRun, db_url: str | None) -> None:
    if run.run_id is None:
        return
    try:
        history.record_failure(_engine(db_url), run.run_id, run.error or "")
    except Exception:  # the database itself is the problem; the summary still says what failed
        log.exception("cannot record the failure of nightly run #%s", run.run_id)



@flow(name="almaclean-nightly")
def nightly_flow(inbox: Path, *, institutions: list[str] | None = None, out: Path = Path("out"),
                 db_url: str | None = None) -> Path:
    """Run every institution of the inbox (or those named); returns the run folder, one
    sub-folder per institution. Raises AlmacleanError at the end if any institution failed."""
    inbox = Path(inbox)
    codes = list(dict.fromkeys(institutions)) if institutions else institutions_in(inbox)
    if not codes:
        raise AlmacleanError(f"{inbox}: no institution folder in the inbox (INBOX/<INSTITUTION_CODE>/...)")
    run_folder = new_run_folder(Path(out), "nightly")
    runs = []
    for code, name in zip(codes, unique_folder_names(codes)):
        folder = run_folder / name
        folder.mkdir()
        runs.append(_run_institution(inbox, code, folder, db_url))
    write_summary(run_folder, runs)
    create_table_artifact(_summary_table(runs), key="nightly-summary",
                          description=f"Nightly P2E detection {run_folder.name}")
    write_bundle(inbox, run_folder, runs, db_url)
    failed = [r for r in runs if r.status != "succeeded"]
    log.info("nightly run %s: %d institution(s), %d failed", run_folder, len(runs), len(failed))
    if failed:
        raise AlmacleanError(
            f"nightly run {run_folder}: {len(failed)} of {len(runs)} institution(s) failed: "
            + "; ".join(f"{r.institution}: {r.error}" for r in failed))
    return run_folder


def _summary_table(runs: list[InstitutionRun]) -> list[dict]:
    return [{k: ("" if v is None else v) for k, v in row.items()} for row in summary_rows(runs)]


@step
def write_bundle(inbox: Path, run_folder: Path, runs: list[InstitutionRun], db_url: str | None) -> Path:
    """bundle.json (docs/audit.md): each institution's run facts, and each succeeded one's analysed
    files and previous findings, kept re-runnable."""
    from almaclean.bundle.runs import nightly_bundle, run_record

    files: dict[str, dict[str, list[Path]]] = {}
    mappings: dict[str, Path | None] = {}
    for run in runs:
        if run.status == "succeeded":
            by_kind: dict[str, list[Path]] = defaultdict(list)
            for item in inbox_files(inbox / run.institution):
                by_kind[item.kind].append(item.path)
            files[run.institution] = by_kind
            mappings[run.institution] = mapping_file(inbox / run.institution)
    institutions = [run_record(r) for r in runs]
    return nightly_bundle(run_folder, _engine(db_url), institutions=institutions, inbox_files=files,
                          mappings=mappings)
