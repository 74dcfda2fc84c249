"""What each flow puts in its bundle (I/O adapter): inputs, parameters, then bundle.json.

resync: the export copies the flow already keeps in each collection folder (with their
.sha256), plus copies of the PO line export and the review workbook under inputs/.
p2e and nightly: the analysis reads the institution's CURRENT stored data, which may have been
ingested on an earlier run, so each current source file is kept: a copy of the file given on
this run when its bytes are the stored ones, else its stored rows written back (exact header
and cells) as CSV, with the original file's sha256 recorded beside the copy's.
nightly also keeps, per succeeded institution with a previous run, that run's findings (what
the run-over-run diff compared with) and records each institution's run facts (run ids, inbox
files, error) so that verify rewrites report.md, changes.csv and the summaries.
"""
from __future__ import annotations

import logging
from datetime import date
from pathlib import Path

from sqlalchemy import Engine

from almaclean.bundle.manifest import INPUTS_FOLDER, input_record, keep_input, relative_name, write_bundle
from almaclean.store.nightly_history import run_findings
from almaclean.outputs.nightly_report import InstitutionRun, write_findings
from almaclean.store.fetches import FetchRecord, latest_fetches
from almaclean.store.leases import gone_error
from almaclean.store.load import StoredTable, raw_table, sources_by_id
from almaclean.write.atomic import make_folder, safe_label
from almaclean.write.csvfile import write_csv_in_slices
from almaclean.kinds.registry import P2E_INPUTS

log = logging.getLogger(__name__)

PREVIOUS_FINDINGS = "previous-findings"   # input role
CZ_TITLES = "cz-titles"                   # input role: CZ collection title lists
PREVIOUS_FINDINGS_FILE = "previous_findings.csv"
RUN_FACTS = ("run_id", "previous_run_id", "files", "error")   # recorded per nightly institution
LATER_FACTS = ("reused_from",)   # recorded too, absent from older bundles


def run_record(run: InstitutionRun) -> dict:
    """A nightly institution's entry in bundle.json: what a re-run cannot reproduce (the run ids
    the database gave, the inbox files and whether each was new, the error) plus status."""
    return {"code": run.institution, "folder": run.folder, "status": run.status,
            **{name: getattr(run, name) for name in RUN_FACTS + LATER_FACTS}}


def institution_run(record: dict) -> InstitutionRun:
    """The InstitutionRun of a bundle entry (counts are recomputed by the re-run)."""
    return InstitutionRun(record["code"], record["status"], record["folder"],
                          **{name: record[name] for name in RUN_FACTS},
                          **{name: record.get(name) for name in LATER_FACTS})


def write_back(engine: Engine, source_file_id: int, folder: Path, stored: StoredTable | None = None) -> Path:
    """A stored file's rows as CSV: its exact header (none for a headerless file) and cells, a
    slice at a time (stored: the file as load.raw_table gave it already, else read here)."""
    stored = stored if stored is not None else raw_table(engine, source_file_id)
    stem = safe_label(Path(stored.file_name).stem)
    target = Path(folder) / f"{stem}.csv"
    if target.exists():
        target = Path(folder) / f"{stem}-{source_file_id}.csv"
    return write_csv_in_slices(target, stored.slices(), header=list(stored.header) if stored.header else None)


def stored_inputs(engine: Engine, institution: str, run_folder: Path, *, given: dict[str, list[Path]],
                  analysed: dict[str, list[int]], folder: str = INPUTS_FOLDER,
                  kinds: tuple[str, ...] = P2E_INPUTS,
                  prefetched: dict[int, StoredTable] | None = None) -> list[dict]:
    """An input record per analysed source file of each kind (by stored id, whatever was
    ingested since), with the re-runnable copy kept. A file fetched from Alma Analytics keeps
    its canonical CSV from the data folder, and its record says which report and when.
    prefetched: stored files already read back (load.raw_table), each let go of once written."""
    prefetched = prefetched if prefetched is not None else {}
    run_folder = Path(run_folder)
    records: list[dict] = []
    fetched = latest_fetches(engine, [i for kind in kinds for i in analysed.get(kind, [])])
    for kind in kinds:
        wanted = analysed.get(kind, [])
        sources = sources_by_id(engine, wanted)
        if len(sources) != len(set(wanted)):   # the run must not publish a bundle without its inputs
            raise gone_error(f"{kind} of {institution}", set(wanted) - {int(i) for i in sources["id"]})
        for source in sources.iter_rows(named=True):
            place = run_folder / folder / kind
            fetch = fetched.get(int(source["id"]))
            extra = {"kind": kind, "scope": source["scope"], "institution": institution,
                     "original_name": source["file_name"], "source_file_id": int(source["id"]),
                     "stored_sha256": source["sha256"], **({"fetched": _fetch_facts(fetch)} if fetch else {})}
            candidates = given.get(kind, []) + ([fetch.csv_file] if fetch and fetch.csv_file.is_file() else [])
            record = _kept_original(candidates, source, kind, place, run_folder, extra)
            if record is None:
                make_folder(place)
                kept = write_back(engine, int(source["id"]), place, prefetched.pop(int(source["id"]), None))
                record = input_record(kind, kept, run_folder, original=None, original_sha256=source["sha256"],
                                      written_back=True, **extra)
                log.info("%s (%s) was ingested on an earlier run: its stored rows are kept as %s",
                         source["file_name"], kind, kept.name)
            records.append(record)
    return records


def _fetch_facts(fetch: FetchRecord) -> dict:
    return {"report": fetch.report, "api_base": fetch.api_base, "fetched_at": fetch.fetched_at,
            "rows": fetch.rows, "pages": fetch.pages}


def _kept_original(candidates: list[Path], source: dict, kind: str, place: Path, run_folder: Path,
                   extra: dict) -> dict | None:
    """The input record of a copy of the given file that is the stored one, else None.

    The copy is made first and its own sha256 decides (one pass over a big export, not a hash
    of the original before copying): a file changed since it was read is no match, and its
    copy goes."""
    for original in candidates:
        if Path(original).name != source["file_name"]:
            continue
        kept = keep_input(Path(original), run_folder, relative_name(place, run_folder))
        record = input_record(kind, kept, run_folder, original=Path(original), **extra)
        if record["sha256"] == source["sha256"]:
            return record
        kept.unlink()
    return None


REVIEW_WORKBOOK = "review.xlsx"   # in each collection folder: the workbook a person fills in


def resync_bundle(run: Path, *, exports: list[tuple[Path, str, str]], po_lines: Path | None,
                  decisions: Path | None, institution: str, keep_localized_n: bool,
                  mapping: Path | None = None, as_of: date | None = None) -> Path:
    """exports: (original path, sha256, collection folder) in the order they were run. Each
    collection's review.xlsx is listed as a workbook to fill in: verify reports it edited, as
    expected, when a person filled it in (and still compares the re-run's with the recorded one)."""
    run = Path(run)
    inputs = []
    for original, sha, name in exports:
        copy = run / name / Path(original).name
        record = input_record("extended-export", copy, run, original=original)
        if record["sha256"] != sha:
            log.warning("the copy of %s differs from the export that was read", original)
        inputs.append(record)
    kept = {}
    for role, path in (("po-lines", po_lines), ("decisions", decisions)):
        if path is not None:
            copy = keep_input(Path(path), run, f"{INPUTS_FOLDER}/{role}")
            inputs.append(input_record(role, copy, run, original=Path(path)))
            kept[role] = relative_name(copy, run)
    mapping_record = _mapping_input(mapping, run, INPUTS_FOLDER)
    if mapping_record:
        inputs.append(mapping_record)
    parameters = {"exports": [r["file"] for r in inputs if r["role"] == "extended-export"],
                  "po_lines": kept.get("po-lines"), "decisions": kept.get("decisions"),
                  "mapping": mapping_record["file"] if mapping_record else None,
                  "institution": institution, "keep_localized_n": keep_localized_n,
                  "as_of": as_of.isoformat() if as_of else None}
    fill_in = [f"{name}/{REVIEW_WORKBOOK}" for _, _, name in exports if (run / name / REVIEW_WORKBOOK).is_file()]
    return write_bundle(run, flow="resync", parameters=parameters, inputs=inputs, fill_in=fill_in)


def _mapping_input(mapping: Path | None, run: Path, folder: str) -> dict | None:
    if mapping is None:
        return None
    copy = keep_input(Path(mapping), run, f"{folder}/mapping")
    return input_record("mapping", copy, run, original=Path(mapping))


def p2e_inputs(folder: Path, engine: Engine, *, institution: str, given: dict[str, Path],
               analysed: dict[str, list[int]], mapping: Path | None, cz_titles: list[Path] = (),
               prefetched: dict[int, StoredTable] | None = None) -> list[dict]:
    """The inputs of a P2E run, kept under inputs/ of its folder (copies of the files given,
    stored rows of the others; the mapping; the CZ title lists, read and never stored)."""
    folder = Path(folder)
    inputs = stored_inputs(engine, institution, folder, given={k: [p] for k, p in given.items()},
                           analysed=analysed, prefetched=prefetched)
    mapping_record = _mapping_input(mapping, folder, INPUTS_FOLDER)
    if mapping_record:
        inputs.append(mapping_record)
    inputs += [input_record(CZ_TITLES, keep_input(Path(path), folder, f"{INPUTS_FOLDER}/{CZ_TITLES}"), folder,
                            original=Path(path)) for path in cz_titles]
    return inputs


def p2e_bundle(folder: Path, inputs: list[dict], *, institution: str, set_header: str, set_size: int,
               without_po_lines: bool = False, deactivate: bool = False) -> Path:
    """bundle.json of a P2E run whose outputs are written and whose inputs (p2e_inputs) are kept."""
    mapping = next((record["file"] for record in inputs if record["role"] == "mapping"), None)
    parameters = {"institution": institution, "set_header": set_header, "set_size": set_size,
                  "mapping": mapping,
                  "cz_titles": [record["file"] for record in inputs if record["role"] == CZ_TITLES],
                  "without_po_lines": without_po_lines, "deactivate": deactivate}
    return write_bundle(Path(folder), flow="p2e", parameters=parameters, inputs=inputs)


def previous_findings_file(institution_folder: Path) -> Path:
    """Where a nightly run's bundle keeps the previous findings an institution was compared with."""
    institution_folder = Path(institution_folder)
    return institution_folder.parent / INPUTS_FOLDER / institution_folder.name / PREVIOUS_FINDINGS_FILE


def keep_previous_findings(institution_folder: Path, findings) -> None:
    """The previous findings an institution's task compared with, kept for the bundle as it
    goes (nightly_bundle then need not read them from the database again)."""
    path = previous_findings_file(institution_folder)
    make_folder(path.parent)
    write_findings(path, findings)


def nightly_bundle(run_folder: Path, engine: Engine, *, institutions: list[dict],
                   inbox_files: dict[str, dict[str, list[Path]]], mappings: dict[str, Path | None],
                   analysed: dict[str, dict[str, list[int]]]) -> Path:
    """institutions: run_record() of each institution of the run; the inputs of each succeeded
    one (and the previous run's findings it was compared with) are kept under inputs/<folder>/."""
    run_folder = Path(run_folder)
    inputs: list[dict] = []
    for entry in institutions:
        if entry["status"] != "succeeded":
            continue
        place = f"{INPUTS_FOLDER}/{entry['folder']}"
        inputs += stored_inputs(engine, entry["code"], run_folder, given=inbox_files.get(entry["code"], {}),
                                analysed=analysed.get(entry["code"], {}), folder=place)
        mapping_record = _mapping_input(mappings.get(entry["code"]), run_folder, place)
        if mapping_record:
            inputs.append(mapping_record | {"institution": entry["code"]})
        if entry.get("previous_run_id") is not None:
            kept = run_folder / place / PREVIOUS_FINDINGS_FILE
            if not kept.is_file():   # else its task kept them already (keep_previous_findings)
                make_folder(kept.parent)
                write_findings(kept, run_findings(engine, entry["previous_run_id"]))
            inputs.append(input_record(PREVIOUS_FINDINGS, kept, run_folder, original=None,
                                       institution=entry["code"], run_id=entry["previous_run_id"]))
    return write_bundle(run_folder, flow="nightly", parameters={"institutions": institutions}, inputs=inputs)
