"""Nightly P2E detection: per institution, fetch the Analytics reports its sources.toml names
(services.fetch), ingest what is new in its inbox, re-run the P2E analysis on its current data,
and report what changed since its previous succeeded run (docs/nightly.md).

`run_institution` is one institution from start to end, a plain function: the Prefect flow
runs it as a task (retried on a transient database error), `run_nightly` around all of them.
It raises InstitutionFailed, once the failure is recorded and reported, so the caller decides
between a retry and a failed row; the other institutions go on. `run_nightly` holds the
database's nightly lock (store.locks: two nightly runs never work on one database at once),
stages the run folder and publishes it once every report and the bundle are written. Its run
lease (store.leases) holds every stored file an institution analyses, from the moment the
institution's task picks it until the bundle is recorded: each task holds its files on that
lease, by id, wherever it runs.
"""
from __future__ import annotations

import logging
import shutil
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
from sqlalchemy import Engine

from almaclean.bundle.ledger import record_run
from almaclean.bundle.runs import keep_previous_findings, previous_findings_file
from almaclean.errors import AlmacleanError, InputError
from almaclean.invocation import command_line
from almaclean.kinds import load_mapping
from almaclean.kinds.registry import P2E_INPUTS
from almaclean.store import nightly_history as history
from almaclean.nightly.changes import NEW, compare, findings_and_changes
from almaclean.inbox import inbox_listing, institutions_in, mapping_file
from almaclean.outputs.nightly_report import (
    CHANGES_CSV, P2E_FOLDER, REPORT_MD, SUMMARY_MD, InstitutionRun, write_changes, write_institution_files,
    write_institution_report, write_summary,
)
from almaclean.services.nightly_reuse import inputs_fingerprint
from almaclean.p2e.analyse import P2EResult, analyse_p2e
from almaclean.outputs.p2e_report import evidence_lines
from almaclean.services import options
from almaclean.services.fetch import fetch_sources
from almaclean.services.p2e import p2e_decisions, stored_extra_cells
from almaclean.store.ingest import ingest_files
from almaclean.store.leases import Lease, run_lease
from almaclean.store.load import (
    columns_every_file_had, current_frame, current_sources, sources_by_id, sources_frame, unmapped_headers,
)
from almaclean.store.locks import exclusive
from almaclean.write.atomic import make_folder, publish_run_folder, unique_folder_names
from almaclean.write.staging import staging_folder

log = logging.getLogger(__name__)

LOCK = "nightly"


@dataclass
class InstitutionResult:
    """One institution's night: its run (what report.md and summary.json say), the report's
    markdown (its Prefect artifact), the stored files it analysed, and, for the closing lines,
    the P2E counts and what the analysis could not check."""

    run: InstitutionRun
    markdown: str = ""
    analysed: dict[str, list[int]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    not_checked: list[str] = field(default_factory=list)
    transient: bool = False   # it failed on something a retry may fix (a locked or unreachable database)


class InstitutionFailed(AlmacleanError):
    """An institution's run failed; its result (status failed, report.md written) is attached."""

    def __init__(self, result: InstitutionResult) -> None:
        self.result = result
        super().__init__(f"{result.run.institution}: {result.run.error}")

    def __reduce__(self):  # crosses a process boundary (Dask) with its result
        return (InstitutionFailed, (self.result,))


# run_institutions(jobs, lease_id): each (code, folder) job run with the nightly run's lease.
InstitutionRunner = Callable[[list[tuple[str, Path]], int], list[InstitutionResult]]


@dataclass(frozen=True)
class NightlyRun:
    folder: Path
    results: list[InstitutionResult]
    inbox: Path | None = None
    global_options: tuple[str | Path, ...] = ()   # the command's own (--db, ...), for the commands it names

    @property
    def runs(self) -> list[InstitutionRun]:
        return [r.run for r in self.results]

    @property
    def failed(self) -> list[InstitutionRun]:
        return [r for r in self.runs if r.status != "succeeded"]

    def lines(self) -> list[str]:
        """What was read, decided, not checked and written, per institution, and what to do next."""
        out = [f"nightly P2E detection of {len(self.results)} institution(s), {len(self.failed)} failed:"]
        for result in self.results:
            out += [f"  {line}" for line in institution_lines(result)]
        out.append(f"  wrote {self.folder}: {SUMMARY_MD} (one row per institution), then per institution "
                   f"{REPORT_MD}, {CHANGES_CSV} and {P2E_FOLDER}/ (the full P2E report); bundle.json for "
                   f"`{command_line('verify', str(self.folder))}`")
        out += [f"  next: {step}" for step in self.next_steps()]
        return out

    def next_steps(self) -> list[str]:
        steps = []
        with_news = [r.run for r in self.results if r.run.status == "succeeded" and r.run.changes.get(NEW)]
        if with_news:
            steps.append("read the new findings in " + ", ".join(f"{r.folder}/{REPORT_MD}" for r in with_news)
                         + f", then act on {P2E_FOLDER}/p2e_report.xlsx (its first sheet says what to do, in order)")
        if self.failed:
            again = command_line("nightly", str(self.inbox) if self.inbox else "INBOX",
                                 *[a for r in self.failed for a in ("--institution", r.institution)],
                                 *self.global_options)
            steps.append("fix what each FAILED line says, then run " + again
                         + " (each compares with its last succeeded run)")
        if not steps:
            steps.append("nothing new to act on; the next run reports what changes")
        return steps

    def as_json(self) -> dict:
        return {"command": "nightly", "folder": str(self.folder),
                "institutions": [{"code": r.run.institution, "status": r.run.status, "error": r.run.error,
                                  "run_id": r.run.run_id, "previous_run_id": r.run.previous_run_id,
                                  "files": r.run.files, "changes": r.run.changes, "outcomes": r.run.outcomes,
                                  "partition": r.run.partition, "counts": r.counts, "not_checked": r.not_checked} for r in self.results]}


def institution_lines(result: InstitutionResult) -> list[str]:
    run = result.run
    read = ", ".join((f"Analytics report {f['report']}" if f.get("report") else f["file"])
                     + f" ({f['rows']:,} rows, {f['status']})" for f in run.files if f.get("status") != "skipped")
    lines = [f"{run.institution}: read {read or 'no new file'}"]
    lines += [f"  skipped {f['file']}: {f.get('reason')}" for f in run.files if f.get("status") == "skipped"]
    if run.status != "succeeded":
        return lines + [f"  FAILED: {run.error}", f"  wrote {run.folder}/{REPORT_MD} (the error)"]
    lines.append(f"  decided: {p2e_decisions(result.counts)}")
    if run.previous_run_id is None:
        lines.append(f"  changes: first run, every finding is new ({run.changes.get(NEW, 0):,})")
    else:
        counts = ", ".join(f"{n:,} {k}" for k, n in run.changes.items() if k != "open")
        lines.append(f"  changes since run #{run.previous_run_id}: {counts}")
    lines += [f"  not checked: {text}" for text in result.not_checked] or ["  not checked: nothing (every rule was "
                                                                           "checked)"]
    if run.reused_from is not None:
        lines.append(f"  unchanged since run #{run.reused_from} (the same stored files, options and rules): not "
                     f"analysed again, its findings and its {P2E_FOLDER}/ still hold")
        return lines + [f"  wrote {run.folder}/{REPORT_MD}, {run.folder}/{CHANGES_CSV}"]
    lines.append(f"  wrote {run.folder}/{REPORT_MD}, {run.folder}/{CHANGES_CSV}, {run.folder}/{P2E_FOLDER}/")
    return lines


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


def load_current(engine: Engine, institution: str, current: dict[str, list[int]] | None = None
                 ) -> dict[str, pl.DataFrame]:
    """The rows of the institution's current stored files (current: their ids, current_stored's)."""
    frames = {kind: (current_frame(engine, institution, kind) if current is None else
                     sources_frame(engine, kind, current[kind])) for kind in P2E_INPUTS}
    if frames["portfolios"].is_empty():
        raise AlmacleanError(f"no portfolio export stored for institution {institution!r}: put one in its "
                             "inbox folder (portfolios/)")
    if frames["p2e"].is_empty():
        raise AlmacleanError(f"no P2E file stored for institution {institution!r}: put one in its inbox folder (p2e/)")
    log.info("current data of %s: %s", institution, {k: f.height for k, f in frames.items()})
    return frames


def analyse(engine: Engine, frames: dict[str, pl.DataFrame]) -> P2EResult:
    """The P2E analysis of the stored files, knowing which columns each had (evidence), with the
    cells of columns stored before almaclean knew them read again for the P2E portfolios.

    The frames are taken out of `frames` (it is empty after): held by nobody else, the portfolio
    export's memory goes back while the analysis runs, before its decisions are built."""
    present, extra = {}, None
    for kind, frame in frames.items():
        ids = sorted(int(i) for i in frame["source_file_id"].unique())
        unmapped = unmapped_headers(engine, ids) if kind == "portfolios" else {}
        present[kind] = columns_every_file_had(sources_by_id(engine, ids), frame, unmapped) if ids else frozenset()
        if kind == "portfolios":
            extra = stored_extra_cells(engine, ids, unmapped)
    return analyse_p2e(frames.pop("portfolios"), frames.pop("p2e"), frames.pop("po-lines"), present=present,
                       extra=extra)


def analysed_sources(frames: dict[str, pl.DataFrame]) -> dict[str, list[int]]:
    return {kind: sorted(int(i) for i in frame["source_file_id"].unique()) for kind, frame in frames.items()}


def run_institution(engine: Engine, inbox: Path, institution: str, folder: Path, lease_id: int) -> InstitutionResult:
    """One institution, start to end, into `folder` (emptied first: a retried attempt starts
    afresh), holding the files it analyses on the nightly run's lease `lease_id`. Raises
    InstitutionFailed once the failure is recorded (its run row 'failed') and its report.md written."""
    if folder.exists():
        shutil.rmtree(folder)
    previous_findings_file(folder).unlink(missing_ok=True)   # an earlier attempt's
    make_folder(folder)   # never the run's staging folder again, once a stop removed it
    run = InstitutionRun(institution, "failed", folder.name)
    result = InstitutionResult(run)
    try:
        run.run_id = history.start_run(engine, institution)
        fetched = fetch_sources(engine, inbox / institution, institution)
        run.files = fetched.files + ingest_inbox(engine, inbox / institution, institution, fetched=fetched.kinds)
        lease = Lease(engine, "nightly", lease_id)
        current = current_stored(engine, institution)
        lease.hold(i for ids in current.values() for i in ids)   # all there, and kept there
        fingerprint = stored_fingerprint(engine, current, inbox / institution)
        previous = history.previous_run(engine, institution, run.run_id)
        run.previous_run_id = previous
        facts = history.reuse_facts(engine, previous) if previous is not None else None
        if facts is not None and facts.get("fingerprint") == fingerprint:
            _reuse(engine, run, result, folder, facts)
            return result
        frames = load_current(engine, institution, current)
        result.analysed = analysed_sources(frames)
        exported_ids = frames["portfolios"].get_column("portfolio_id")
        analysis = analyse(engine, frames)
        before = history.run_findings(engine, previous) if previous is not None else None
        if before is not None:
            keep_previous_findings(folder, before)
        findings, changes = findings_and_changes(analysis, before, exported_ids)
        run.count(analysis.counts, findings, changes)
        # Files first, then the record: a run whose files could not be written is not the one
        # the next run compares with.
        write_institution_files(folder, analysis, changes)
        result.counts = dict(analysis.counts)
        result.not_checked = [text for item, text in evidence_lines(analysis, without_po_lines=False)
                              if item != "evidence"]
        history.record_success(engine, run.run_id, findings, changes, result.analysed,
                               reuse={"fingerprint": fingerprint, "analysed_in": run.run_id, "analysed": result.analysed,
                                      "counts": result.counts, "not_checked": result.not_checked})
        run.status = "succeeded"
        result.markdown = write_institution_report(folder, run, changes)
        return result
    except Exception as exc:  # recorded and reported here; the caller decides what happens next
        from almaclean.batch.summary import is_transient

        result.transient = is_transient(exc)
        if isinstance(exc, AlmacleanError) or result.transient:
            run.error = str(exc) if isinstance(exc, AlmacleanError) else f"{type(exc).__name__}: {exc}"
            log.warning("nightly run of %s failed: %s", institution, run.error)
        else:  # a bug: its traceback goes to the log
            run.error = f"{type(exc).__name__}: {exc}"
            log.exception("nightly run of %s failed", institution)
        run.status, run.changes, run.outcomes, run.partition = "failed", {}, {}, None
        previous_findings_file(folder).unlink(missing_ok=True)   # the bundle keeps no input of a failed run
        result.analysed, result.counts, result.not_checked = {}, {}, []
        _record_failure(engine, run)
        result.markdown = write_institution_report(folder, run, None)
        raise InstitutionFailed(result) from exc


def current_stored(engine: Engine, institution: str) -> dict[str, list[int]]:
    """The ids of the institution's current stored files, per analysed kind (what load_current reads)."""
    return {kind: sorted(int(i) for i in current_sources(engine, institution, kind)["id"]) for kind in P2E_INPUTS}


def stored_fingerprint(engine: Engine, current: dict[str, list[int]], inbox: Path) -> str:
    """reuse.inputs_fingerprint of these stored files (by the sha256 of each) and the inbox's mapping."""
    sha = dict(sources_by_id(engine, [i for ids in current.values() for i in ids]).select("id", "sha256").iter_rows())
    mapping = mapping_file(inbox)
    return inputs_fingerprint({kind: [sha[i] for i in ids] for kind, ids in current.items()},
                              mapping=mapping.read_bytes() if mapping else None)


def _reuse(engine: Engine, run: InstitutionRun, result: InstitutionResult, folder: Path, facts: dict) -> None:
    """The run whose inputs are those of its previous run: that run's findings, unchanged (every
    one "open"), its counts and not-checked lines; changes.csv and report.md written, no p2e/
    (report.md names the run whose p2e/ still holds)."""
    findings = history.run_findings(engine, run.previous_run_id)
    keep_previous_findings(folder, findings)
    changes = compare(findings, findings, findings.get_column("portfolio_id"))
    run.reused_from = int(facts["analysed_in"])
    run.count(facts["counts"], findings, changes)
    write_changes(folder, changes)
    result.analysed = {kind: [int(i) for i in ids] for kind, ids in facts["analysed"].items()}
    result.counts, result.not_checked = dict(facts["counts"]), list(facts["not_checked"])
    history.record_reuse(engine, run.run_id, findings.height, result.analysed, facts)
    run.status = "succeeded"
    result.markdown = write_institution_report(folder, run, changes)
    log.info("nightly run #%s of %s: inputs unchanged since run #%s, its findings reused", run.run_id,
             run.institution, run.reused_from)


def institution_or_failure(engine: Engine, inbox: Path, institution: str, folder: Path,
                           lease_id: int) -> InstitutionResult:
    """run_institution, a failure as its failed result (what run_nightly does without Prefect)."""
    try:
        return run_institution(engine, inbox, institution, folder, lease_id)
    except InstitutionFailed as failed:
        return failed.result


def _refused_code(code: str, inbox: Path) -> str | None:
    """Why an inbox folder's name is no institution code (the rule of --institution), or None."""
    try:
        options.institution_code(code)
    except InputError as exc:
        return (f"{inbox / code}: the folder name is not an institution code, so nothing in it was read or stored "
                f"({exc.message.removeprefix('--institution ')}); rename the folder to the institution's code")
    return None


def _refused(code: str, folder: Path, why: str) -> InstitutionResult:
    """The failed result of an inbox folder whose name is no institution code: nothing stored."""
    log.error("nightly: %s", why)
    make_folder(folder)
    run = InstitutionRun(code, "failed", folder.name, error=why)
    return InstitutionResult(run, write_institution_report(folder, run, None))


def _record_failure(engine: Engine, run: InstitutionRun) -> None:
    if run.run_id is None:
        return
    try:
        history.record_failure(engine, run.run_id, run.error or "")
    except Exception:  # the database itself is the problem; the summary still says what failed
        log.exception("cannot record the failure of nightly run #%s", run.run_id)


def run_nightly(engine: Engine, inbox: Path, *, out: Path, institutions: list[str] | None = None,
                run_institutions: InstitutionRunner | None = None) -> NightlyRun:
    """Run every institution of the inbox (or those named); the run folder has one sub-folder
    per institution. run_institutions(jobs, lease_id) runs each (code, folder) job and returns its result
    (the Prefect flow's tasks; default: one after another here). Failed institutions are in
    NightlyRun.failed (the caller decides the exit)."""
    inbox = Path(inbox)
    for code in institutions or ():
        options.institution_code(code)
    options.output_folder(out)
    codes = list(dict.fromkeys(institutions)) if institutions else institutions_in(inbox)
    if not codes:
        raise AlmacleanError(f"{inbox}: no institution folder in the inbox (INBOX/<INSTITUTION_CODE>/...)")
    with (exclusive(engine, LOCK), run_lease(engine, "nightly") as lease,
          staging_folder(Path(out), "nightly") as staging):
        jobs = [(code, staging / name) for code, name in zip(codes, unique_folder_names(codes))]
        refused = {code: _refused(code, folder, why) for code, folder in jobs
                   if (why := _refused_code(code, inbox)) is not None}   # nothing in them is read or stored
        runnable = [(code, folder) for code, folder in jobs if code not in refused]
        if run_institutions is None:
            ran = [institution_or_failure(engine, inbox, code, folder, lease.id) for code, folder in runnable]
        else:
            ran = run_institutions(runnable, lease.id) if runnable else []
        by_code = {r.run.institution: r for r in ran} | refused
        results = [by_code[code] for code, _ in jobs]
        runs = [r.run for r in results]
        write_summary(staging, runs)
        _bundle(engine, inbox, staging, runs, {r.run.institution: r.analysed for r in results})
        lease.hold(i for r in results for ids in r.analysed.values() for i in ids)   # every analysed file still there
        record_run(engine, staging)
        folder = publish_run_folder(staging)
    result = NightlyRun(folder, results, inbox)
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
