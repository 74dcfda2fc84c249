"""Nightly P2E detection as one call: per institution, fetch the Analytics reports its
sources.toml names (services.fetch), ingest what is new in its inbox, re-run the P2E analysis
on its current data, and report what changed since its previous succeeded run (docs/nightly.md).

One institution failing (a bad file, no P2E file yet...) is reported and recorded, the others
still run. The run folder is staged and published once every report and the bundle are
written. `on_report` (the Prefect flow's artifacts) is told each institution's report.
"""
from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import polars as pl
from sqlalchemy import Engine

from almaclean.bundle.ledger import record_run
from almaclean.errors import AlmacleanError, InputError
from almaclean.kinds import load_mapping
from almaclean.nightly import history
from almaclean.nightly.changes import findings_and_changes
from almaclean.nightly.inbox import inbox_listing, institutions_in, mapping_file
from almaclean.nightly.report import (
    InstitutionRun, write_institution_files, write_institution_report, write_summary,
)
from almaclean.p2e.analyse import P2EResult, analyse_p2e
from almaclean.services import options
from almaclean.services.fetch import fetch_sources
from almaclean.services.p2e import stored_extra_cells
from almaclean.store.ingest import ingest_files
from almaclean.store.leases import Lease, run_lease
from almaclean.store.load import current_frame, present_columns, sources_by_id, unmapped_headers
from almaclean.write.atomic import publish_run_folder, unique_folder_names
from almaclean.write.staging import staging_folder

log = logging.getLogger(__name__)

ANALYSED_KINDS = ("portfolios", "p2e", "po-lines")
ReportHook = Callable[[InstitutionRun, str], None]


@dataclass(frozen=True)
class NightlyRun:
    folder: Path
    runs: list[InstitutionRun]

    @property
    def failed(self) -> list[InstitutionRun]:
        return [r for r in self.runs if r.status != "succeeded"]

    def lines(self) -> list[str]:
        out = [f"nightly P2E detection of {len(self.runs)} institution(s):"]
        for run in self.runs:
            if run.status == "succeeded":
                changes = ", ".join(f"{n} {k}" for k, n in sorted(run.changes.items()) if n) or "no change"
                out.append(f"  {run.institution}: {changes}")
                if run.partition:
                    out.append(f"    {run.partition}")
            else:
                out.append(f"  {run.institution}: FAILED: {run.error}")
            skipped = [f for f in run.files if f.get("status") == "skipped"]
            out += [f"    skipped {f['file']}: {f.get('reason')}" for f in skipped]
        out.append(f"  outputs: {self.folder}")
        return out

    def as_json(self) -> dict:
        return {"command": "nightly", "folder": str(self.folder),
                "institutions": [{"code": r.institution, "status": r.status, "error": r.error,
                                  "changes": r.changes, "outcomes": r.outcomes, "partition": r.partition}
                                 for r in self.runs]}


def ingest_inbox(engine: Engine, folder: Path, institution: str, *, fetched: frozenset[str] = frozenset()
                 ) -> list[dict]:
    """Every inbox file, oldest first within its kind; stored ones are no-ops by sha256.
    Files of no known kind, or of a kind fetched from Analytics, are skipped and listed with the reason."""
    found, skipped = inbox_listing(folder, fetched=fetched)
    by_kind: dict[str, list[Path]] = defaultdict(list)
    for item in found:
        by_kind[item.kind].append(item.path)
    mapping_path = mapping_file(folder)
    mapping = load_mapping(mapping_path) if mapping_path else {}
    files = []
    for kind, paths in by_kind.items():
        for result in ingest_files(engine, kind, paths, institution, mapping=mapping.get(kind)):
            files.append({"file": str(Path(result.file).relative_to(folder)), "kind": kind, "status": result.status,
                          "rows": result.rows})
    files += [{"file": str(path.relative_to(folder)), "kind": None, "status": "skipped", "rows": 0,
               "reason": reason} for path, reason in skipped]
    return files


def load_current(engine: Engine, institution: str) -> dict[str, pl.DataFrame]:
    frames = {kind: current_frame(engine, institution, kind) for kind in ANALYSED_KINDS}
    if frames["portfolios"].is_empty():
        raise AlmacleanError(f"no portfolio export stored for institution {institution!r}: put one in its "
                             "inbox folder (portfolios/)")
    if frames["p2e"].is_empty():
        raise AlmacleanError(f"no P2E file stored for institution {institution!r}: put one in its inbox folder (p2e/)")
    log.info("current data of %s: %s", institution, {k: f.height for k, f in frames.items()})
    return frames


def analyse(engine: Engine, frames: dict[str, pl.DataFrame]) -> P2EResult:
    """The P2E analysis of the stored files, knowing which columns each had (evidence), with the
    cells of columns stored before almaclean knew them read again for the P2E portfolios."""
    present, extra = {}, None
    for kind, frame in frames.items():
        ids = sorted(int(i) for i in frame["source_file_id"].unique())
        unmapped = unmapped_headers(engine, ids) if kind == "portfolios" else {}
        present[kind] = present_columns(sources_by_id(engine, ids), frame, unmapped) if ids else frozenset()
        if kind == "portfolios":
            extra = stored_extra_cells(engine, ids, unmapped)
    return analyse_p2e(frames["portfolios"], frames["p2e"], frames["po-lines"], present=present, extra=extra)


def analysed_sources(frames: dict[str, pl.DataFrame]) -> dict[str, list[int]]:
    return {kind: sorted(int(i) for i in frame["source_file_id"].unique()) for kind, frame in frames.items()}


def run_institution(engine: Engine, inbox: Path, institution: str, folder: Path,
                    lease: Lease) -> tuple[InstitutionRun, dict[str, list[int]], pl.DataFrame | None]:
    """One institution, start to end; any error is caught, recorded and reported. Returns the
    run, the stored files it analysed and its changes (None when it failed)."""
    run = InstitutionRun(institution, "failed", folder.name)
    changes, sources = None, {}
    try:
        run.run_id = history.start_run(engine, institution)
        fetched = fetch_sources(engine, inbox / institution, institution)
        run.files = fetched.files + ingest_inbox(engine, inbox / institution, institution, fetched=fetched.kinds)
        frames = load_current(engine, institution)
        lease.hold(i for ids in analysed_sources(frames).values() for i in ids)   # all there, and kept there
        result = analyse(engine, frames)
        previous = history.previous_run(engine, institution, run.run_id)
        before = history.run_findings(engine, previous) if previous is not None else None
        findings, changes = findings_and_changes(result, before, frames["portfolios"]["portfolio_id"])
        run.previous_run_id = previous
        run.count(result, findings, changes)
        # Files first, then the record: a run whose files could not be written is not the one
        # the next run compares with.
        write_institution_files(folder, result, changes)
        sources = analysed_sources(frames)
        history.record_success(engine, run.run_id, findings, changes, sources)
        run.status = "succeeded"
    except Exception as exc:  # a nightly job reports a failing institution and goes on with the next
        if isinstance(exc, AlmacleanError):
            run.error = str(exc)
            log.error("nightly run of %s failed: %s", institution, run.error)
        else:
            run.error = f"{type(exc).__name__}: {exc}"
            log.exception("nightly run of %s failed", institution)
        run.changes, run.outcomes, run.partition = {}, {}, None
        _record_failure(engine, run)
    return run, sources, changes


def _refused_code(code: str, inbox: Path) -> str | None:
    """Why an inbox folder's name is no institution code (the rule of --institution), or None."""
    try:
        options.institution_code(code)
    except InputError as exc:
        return (f"{inbox / code}: the folder name is not an institution code, so nothing in it was read or stored "
                f"({exc.message.removeprefix('--institution ')}); rename the folder to the institution's code")
    return None


def _record_failure(engine: Engine, run: InstitutionRun) -> None:
    if run.run_id is None:
        return
    try:
        history.record_failure(engine, run.run_id, run.error or "")
    except Exception:  # the database itself is the problem; the summary still says what failed
        log.exception("cannot record the failure of nightly run #%s", run.run_id)


def run_nightly(engine: Engine, inbox: Path, *, out: Path, institutions: list[str] | None = None,
                on_report: ReportHook | None = None) -> NightlyRun:
    """Run every institution of the inbox (or those named); the run folder has one sub-folder
    per institution. Failed institutions are in NightlyRun.failed (the caller decides the exit)."""
    inbox = Path(inbox)
    for code in institutions or ():
        options.institution_code(code)
    options.output_folder(out)
    codes = list(dict.fromkeys(institutions)) if institutions else institutions_in(inbox)
    if not codes:
        raise AlmacleanError(f"{inbox}: no institution folder in the inbox (INBOX/<INSTITUTION_CODE>/...)")
    with run_lease(engine, "nightly") as lease, staging_folder(Path(out), "nightly") as staging:
        runs, analysed = [], {}
        for code, name in zip(codes, unique_folder_names(codes)):
            folder = staging / name
            folder.mkdir()
            refused = _refused_code(code, inbox)
            if refused is not None:  # the folder name is no institution code --institution takes: nothing stored
                run, analysed[code], changes = InstitutionRun(code, "failed", folder.name, error=refused), {}, None
                log.error("nightly: %s", refused)
            else:
                run, analysed[code], changes = run_institution(engine, inbox, code, folder, lease)
            markdown = write_institution_report(folder, run, changes if run.status == "succeeded" else None)
            if on_report is not None:
                on_report(run, markdown)
            runs.append(run)
        write_summary(staging, runs)
        _bundle(engine, inbox, staging, runs, analysed)
        lease.check()   # every analysed file is still stored: the bundle names what exists
        record_run(engine, staging)
        folder = publish_run_folder(staging)
    result = NightlyRun(folder, runs)
    log.info("nightly run %s: %d institution(s), %d failed", folder, len(runs), len(result.failed))
    return result


def _bundle(engine: Engine, inbox: Path, run_folder: Path, runs: list[InstitutionRun],
            analysed: dict[str, dict[str, list[int]]]) -> Path:
    """bundle.json (docs/audit.md): each institution's run facts, and each succeeded one's analysed
    files and previous findings, kept re-runnable."""
    from almaclean.bundle.runs import nightly_bundle, run_record

    files: dict[str, dict[str, list[Path]]] = {}
    mappings: dict[str, Path | None] = {}
    for run in runs:
        if run.status == "succeeded":
            by_kind: dict[str, list[Path]] = defaultdict(list)
            for item in inbox_listing(inbox / run.institution)[0]:
                by_kind[item.kind].append(item.path)
            files[run.institution] = by_kind
            mappings[run.institution] = mapping_file(inbox / run.institution)
    return nightly_bundle(run_folder, engine, institutions=[run_record(r) for r in runs], inbox_files=files,
                          mappings=mappings, analysed=analysed)
