"""`almaclean verify RUN_FOLDER`: re-run a bundle (docs/audit.md) and confirm its outputs.

Checks every kept input and every output against bundle.json, then re-runs the same service
with the same parameters on the bundle's inputs into a temporary folder and a temporary SQLite
database (never the user's), and compares every output byte for byte."""
from __future__ import annotations

import datetime
import logging
import tempfile
from pathlib import Path

import polars as pl
from sqlalchemy import Engine, text

import almaclean
from almaclean.bundle.ledger import check_origin
from almaclean.bundle.manifest import output_records, read_bundle
from almaclean.bundle.runs import PREVIOUS_FINDINGS, RUN_FACTS, institution_run
from almaclean.kinds.registry import P2E_INPUTS
from almaclean.bundle.verify import VerifyResult, check_inputs, check_recorded_outputs, compare_rerun, filled_in
from almaclean.errors import AlmacleanError, InputError
from almaclean.kinds import load_mapping
from almaclean.nightly.changes import findings_and_changes
from almaclean.outputs.nightly_report import (
    CHANGES_CSV, P2E_FOLDER, REPORT_MD, SUMMARY_JSON, SUMMARY_MD, read_findings, write_changes, write_institution_files,
    write_institution_report, write_summary,
)
from almaclean.outputs.p2e_report import write_report
from almaclean.store.db import describe, open_database, sqlite_url
from almaclean.store.ingest import ingest_file

log = logging.getLogger(__name__)

__all__ = ["VerifyResult", "verify_run"]


def _optional(run: Path, relative: str | None) -> Path | None:
    return run / relative if relative else None


def _rerun_resync(run: Path, bundle: dict, out: Path, engine: Engine) -> list[str]:
    from almaclean.services.resync import ResyncRequest, run_resync

    p = bundle["parameters"]
    as_of = p.get("as_of")
    request = ResyncRequest([run / e for e in p["exports"]], out, p["institution"],
                            po_lines=_optional(run, p["po_lines"]), decisions=_optional(run, p["decisions"]),
                            keep_localized_n=p["keep_localized_n"], mapping=_optional(run, p.get("mapping")),
                            as_of=datetime.date.fromisoformat(as_of) if as_of else None)
    return compare_rerun(bundle, run_resync(engine, request).folder)


def _store_inputs(run: Path, bundle: dict, institution: str, engine: Engine) -> None:
    """Store the institution's kept inputs in the empty database, with their kind, scope and mapping."""
    records = [r for r in bundle["inputs"] if r.get("institution", institution) == institution]
    mapping_record = next((r for r in records if r["role"] == "mapping"), None)
    mapping = load_mapping(run / mapping_record["file"]) if mapping_record else {}
    for record in records:
        if record["role"] in P2E_INPUTS:
            ingest_file(engine, record["role"], run / record["file"], institution, scope=record["scope"],
                        mapping=mapping.get(record["role"]), allow_empty=True)


def _rerun_p2e(run: Path, bundle: dict, out: Path, engine: Engine) -> list[str]:
    from almaclean.services.p2e import P2ERequest, run_p2e

    p = bundle["parameters"]
    _store_inputs(run, bundle, p["institution"], engine)
    request = P2ERequest(p["institution"], out, set_header=p["set_header"], set_size=p["set_size"],
                         cz_titles=tuple(run / f for f in p.get("cz_titles", [])),
                         without_po_lines=p.get("without_po_lines", False), deactivate=p.get("deactivate", False))
    return compare_rerun(bundle, run_p2e(engine, request).folder)


def _previous_findings(run: Path, bundle: dict, entry: dict) -> pl.DataFrame | None:
    """The findings the run compared with (kept in the bundle), None for a first run."""
    if entry["previous_run_id"] is None:
        return None
    record = next((r for r in bundle["inputs"] if r["role"] == PREVIOUS_FINDINGS and r["institution"] == entry["code"]),
                  None)
    if record is None:
        raise AlmacleanError(f"{entry['code']} was compared with run #{entry['previous_run_id']} but the bundle "
                             "does not keep that run's findings")
    return read_findings(run / record["file"])


def _reanalyse(run: Path, bundle: dict, entry: dict, previous: pl.DataFrame | None, engine: Engine):
    """A nightly institution's kept inputs stored and analysed as the flow does; its findings and
    changes against `previous`."""
    from almaclean.services.nightly import analyse, load_current

    _store_inputs(run, bundle, entry["code"], engine)
    frames = load_current(engine, entry["code"])
    exported_ids = frames["portfolios"].get_column("portfolio_id")
    result = analyse(engine, frames)
    return result, *findings_and_changes(result, previous, exported_ids)


def _compare_selected(bundle: dict, out: Path, compared: list[str]) -> list[str]:
    """compare_rerun on the outputs named in `compared` (a file, or a folder ending in "/")."""
    folders = tuple(name for name in compared if name.endswith("/"))

    def selected(name: str) -> bool:
        return name in compared or name.startswith(folders)

    expected = dict(bundle, outputs=[r for r in bundle["outputs"] if selected(r["file"])])
    skip = frozenset(r["file"] for r in output_records(out) if not selected(r["file"]))
    return compare_rerun(expected, out, skip=skip)


def _rerun_nightly(run: Path, bundle: dict, out: Path, engine: Engine) -> list[str]:
    """Every file again from the bundle: each institution's recorded run facts (run ids, inbox
    files, error), its kept inputs re-analysed and diffed against the kept previous findings,
    then the summaries. A failed institution has its report.md compared only (anything else it
    left was written before it failed: checked against bundle.json)."""
    entries = bundle["parameters"]["institutions"]
    if not all(set(RUN_FACTS) <= entry.keys() for entry in entries):
        return _rerun_nightly_p2e(run, bundle, out, engine)
    runs, compared = [], [SUMMARY_MD, SUMMARY_JSON]
    for entry in entries:
        folder = out / entry["folder"]
        folder.mkdir(parents=True)
        institution, changes = institution_run(entry), None
        if entry["status"] == "succeeded":
            result, findings, changes = _reanalyse(run, bundle, entry, _previous_findings(run, bundle, entry), engine)
            institution.count(result.counts, findings, changes)
            if institution.reused_from is None:
                write_institution_files(folder, result, changes)
                compared.append(f"{entry['folder']}/")
            else:   # its findings were reused: the re-analysis must give them unchanged, every one still open
                write_changes(folder, changes)
                compared += [f"{entry['folder']}/{CHANGES_CSV}", f"{entry['folder']}/{REPORT_MD}"]
        else:
            compared.append(f"{entry['folder']}/{REPORT_MD}")
        write_institution_report(folder, institution, changes)
        runs.append(institution)
    write_summary(out, runs)
    return _compare_selected(bundle, out, compared)


def _rerun_nightly_p2e(run: Path, bundle: dict, out: Path, engine: Engine) -> list[str]:
    """A bundle made before the run facts were recorded: each succeeded institution's p2e/ only."""
    log.info("nightly bundle without run facts (an older almaclean): only each institution's p2e/ is re-run")
    compared = []
    for entry in bundle["parameters"]["institutions"]:
        if entry["status"] == "succeeded":
            result, _, _ = _reanalyse(run, bundle, entry, None, engine)
            write_report(result, out / entry["folder"] / P2E_FOLDER)
            compared.append(f"{entry['folder']}/{P2E_FOLDER}/")
    return _compare_selected(bundle, out, compared)


RERUNS = {"resync": _rerun_resync, "p2e": _rerun_p2e, "nightly": _rerun_nightly}


def _institutions(bundle: dict) -> set[str]:
    p = bundle["parameters"]
    if "institutions" in p:
        return {e["code"] for e in p["institutions"]}
    return {p["institution"]}


def _require_empty(engine: Engine, institutions: set[str]) -> None:
    """A database given for the re-run must hold nothing of these institutions (no user data)."""
    with engine.connect() as conn:
        for code in sorted(institutions):
            if conn.execute(text("SELECT COUNT(*) FROM source_files WHERE institution_code = :i"),
                            {"i": code}).scalar_one():
                raise AlmacleanError(f"verify re-runs into an empty database: {describe(engine)} already holds files "
                                     f"of institution {code!r}")


def _hints(bundle: dict) -> list[str]:
    env = bundle.get("environment", {})
    hints = []
    if env.get("almaclean") not in (None, almaclean.__version__):
        hints.append(f"note: the bundle was made with almaclean {env['almaclean']}, this is {almaclean.__version__}")
    if env.get("current_year") not in (None, datetime.date.today().year):
        hints.append(f"note: the run was made in {env['current_year']}; rolling embargoes are read against the "
                     "current year")
    return hints


def verify_run(run_folder: Path, *, db_url: str | None = None, ledger: Engine | None = None) -> VerifyResult:
    """ok when every input and output matches bundle.json, a re-run writes the same bytes and,
    with `ledger` (the database the run was made with), bundle.json is the one recorded when the
    run was made. db_url: an empty database for the re-run (default: a temporary SQLite file).
    InputError when the folder is not a bundle."""
    run = Path(run_folder)
    bundle = read_bundle(run)
    rerun = RERUNS.get(bundle["flow"])
    if rerun is None:
        raise InputError(f"bundle of an unknown flow {bundle['flow']!r}", file=run / "bundle.json")
    origin = check_origin(ledger, run, bundle) if ledger is not None else None
    input_lines = check_inputs(run, bundle)
    lines = ([] if origin is None or origin.ok else [origin.line]) + input_lines + check_recorded_outputs(run, bundle)
    if input_lines:
        lines.append("not re-run: the inputs are not the ones the run read")
    else:
        with tempfile.TemporaryDirectory(prefix="almaclean-verify-", ignore_cleanup_errors=True) as tmp:
            url = db_url or sqlite_url(Path(tmp) / "verify.db")
            engine = open_database(url)
            try:
                _require_empty(engine, _institutions(bundle))
                rerun_lines = rerun(run, bundle, Path(tmp) / "out", engine)
            except AlmacleanError as exc:
                rerun_lines = [f"re-run failed: {exc}"]
            finally:
                engine.dispose()
            lines += rerun_lines + (_hints(bundle) if rerun_lines else [])
    for line in lines:
        log.warning("%s: %s", run.name, line)
    notes = filled_in(run, bundle)
    log.info("verify %s (%s): %s", run, bundle["flow"], "ok" if not lines else f"{len(lines)} mismatch(es)")
    return VerifyResult(not lines, lines, origin.line if origin is not None else None, notes)
