"""The P2E clean-up as one call: read the files given, pin exactly what is analysed, analyse,
write the run folder, store in the background.

Which data a run analyses is decided once, at its start, and never changes: for each kind, the
file given on this run (read now, stored while the analysis runs), plus the institution's
current stored files of the kind's other scopes; for a kind not given, its current stored
files. Concurrent runs on one database therefore never read each other's files. bundle.json
names every analysed file (by id and sha256). Outputs are written into a hidden staging folder
that becomes the run folder only once storage has committed and the bundle is written; a
failed run leaves no folder.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
from sqlalchemy import Engine

from almaclean import interrupts
from almaclean.bundle.ledger import record_run
from almaclean.bundle.runs import p2e_bundle, p2e_inputs
from almaclean.errors import InputError
from almaclean.kinds import CZTitleList, read_cz_title_lists, unrecognised_columns
from almaclean.kinds.common import unmapped_cells
from almaclean.kinds.registry import P2E_INPUTS
from almaclean.outputs.p2e_report import evidence_lines, partition, write_report
from almaclean.outputs.p2e_sets import DEFAULT_HEADER, DEFAULT_SIZE
from almaclean.p2e.analyse import BUCKETS, analyse_p2e
from almaclean.p2e.localdata import ExtraCells, combined, extra_cells_of, no_extra_cells
from almaclean.read.table import excel_letter
from almaclean.services import options
from almaclean.services.ingest import mapping_for
from almaclean.store.ingest import (
    IngestResult, PendingFile, default_scope, make_current, read_unless_stored, store_pending,
)
from almaclean.store.leases import Lease, run_lease
from almaclean.store.load import (
    StoredTable, columns_every_file_had, current_sources, raw_table, sources_by_id, sources_frame,
    unmapped_cells as stored_unmapped_cells, unmapped_headers,
)
from almaclean.write.atomic import publish_run_folder
from almaclean.write.staging import staging_folder

log = logging.getLogger(__name__)

MAX_SET_SIZE = 1_000_000   # IDs per itemized set file at most (an Excel sheet's height)
NEEDED = {"portfolios": ("portfolio export", "--portfolios"), "p2e": ("P2E file", "--p2e")}


@dataclass(frozen=True)
class P2ERequest:
    institution: str
    out: Path
    portfolios: Path | None = None
    p2e: Path | None = None
    po_lines: Path | None = None
    set_header: str = DEFAULT_HEADER
    set_size: int = DEFAULT_SIZE
    mapping: Path | None = None
    cz_titles: tuple[Path, ...] = ()   # CZ collection title lists (KBART or Alma export): link-to-CZ candidates
    without_po_lines: bool = False     # write deletion sets even with no PO-line evidence at all
    deactivate: bool = False           # the same sets as de-activation sets (report.DEACTIVATION_SETS)

    def given(self) -> dict[str, Path]:
        files = {"portfolios": self.portfolios, "p2e": self.p2e, "po-lines": self.po_lines}
        return {kind: Path(path) for kind, path in files.items() if path is not None}


@dataclass
class Inputs:
    """What one run analyses: per kind, the rows and the stored files they come from."""

    frames: dict[str, pl.DataFrame]
    present: dict[str, frozenset[str]]        # columns EVERY analysed file of the kind had
    pinned: dict[str, list[int]]              # stored file ids analysed, per kind
    pending: dict[str, PendingFile] = field(default_factory=dict)   # read now, stored by this run
    unchanged: dict[str, IngestResult] = field(default_factory=dict)
    cz_titles: list[CZTitleList] = field(default_factory=list)     # read, never stored
    # The portfolio export's cells no canonical column holds (read now, or stored): local data
    extra: ExtraCells = field(default_factory=no_extra_cells)


@dataclass(frozen=True)
class P2ERun:
    folder: Path
    institution: str
    counts: dict[str, int]
    analysed: dict[str, list[int]]       # kind -> stored file ids
    files: list[IngestResult]            # the files given on this run
    evidence: list[tuple[str, str]] = field(default_factory=list)   # report.evidence_lines: what was not checked
    steps: list[str] = field(default_factory=list)                  # the next steps, as summary.json says them
    not_checked: dict[str, list[str]] = field(default_factory=dict)  # rule -> the columns it lacked
    header_notes: list[str] = field(default_factory=list)           # headers recognised once normalised
    cz_lists: list[dict] = field(default_factory=list)    # CZ title lists read: file, titles, shape, matched
    commands: list[tuple[str, str]] = field(default_factory=list)   # (what for, command line) to run next

    def lines(self) -> list[str]:
        c = self.counts
        read = ", ".join(f"{f.rows:,} rows of {Path(f.file).name} ({f.kind}, {f.status})" for f in self.files)
        out = [f"P2E clean-up of {self.institution}: read {read or 'the stored files'}"]
        out.append(f"  {c.get('p2e_portfolios', 0):,} P2E portfolios among {c.get('portfolios', 0):,} portfolios")
        if all(bucket in c for bucket in BUCKETS):
            out.append(f"  {partition(c)}")
        out += self._guide_lines()
        out += [f"  {item}: {text}" for item, text in self.evidence if item != "evidence"]
        out += [f"  {note}" for note in self.header_notes]
        out.append(f"  outputs: {self.folder}")
        out += [f"  next: {step}" for step in self.steps[:3]]
        out += [f"  next, {what}: {command}" for what, command in self.commands]
        return out

    def _guide_lines(self) -> list[str]:
        """The guide's sections 3 and 4: local collections, and the CZ title lists and what they gave."""
        c = self.counts
        out = [f"  local collections: {c.get('group_portfolios', 0):,} P2E portfolios with no CZ duplicate in "
               f"{c.get('groups', 0):,} proposed local collection(s) (local_collections.csv, group-sets/)"]
        if self.cz_lists:
            read = ", ".join(f"{item['file']} ({item['titles']:,} titles, {item['shape']})" for item in self.cz_lists)
            out.append(f"  CZ title lists read (kept in the run folder, not stored): {read}")
            matched = ", ".join(f"{item['matched']:,} in {item['file']}" for item in self.cz_lists)
            out.append(f"  link to the CZ: {c.get('cz_link_candidates', 0):,} P2E portfolios that stay match a CZ title "
                       f"list ({matched}); {c.get('cz_link_collections', 0):,} local collection(s) to link whole to a "
                       "CZ collection, the other matches one by one (cz_link_candidates.csv, cz_link_groups.csv)")
        return out

    def as_json(self) -> dict:
        return {"command": "p2e", "institution": self.institution, "folder": str(self.folder),
                "counts": self.counts, "not_checked": self.not_checked, "cz_lists": self.cz_lists,
                "next_commands": [{"for": what, "command": command} for what, command in self.commands],
                "evidence": [f"{item}: {text}" for item, text in self.evidence],
                "analysed_files": self.analysed, "header_changes": self.header_notes,
                "files": [{"file": f.file, "kind": f.kind, "status": f.status, "rows": f.rows,
                           "source_file_id": f.source_file_id} for f in self.files]}


def p2e_decisions(c: dict[str, int]) -> str:
    """The P2E decisions in words, each P2E portfolio counted once (`p2e` and `nightly` alike): the
    partition when the counts hold every bucket."""
    if all(bucket in c for bucket in BUCKETS):
        return partition(c)
    in_review = c.get("pol_relinks_in_review", 0)
    return (f"{c.get('deletion_candidates', 0):,} deletion candidates, {c.get('review', 0):,} to review, "
            f"{c.get('pol_relink_portfolios', 0):,} to delete once their PO lines are relinked "
            f"({c.get('pol_relinks', 0):,} relink rows"
            + (f", {in_review:,} of them blocked until their portfolio's review" if in_review else "") + "), "
            f"{c.get('group_portfolios', 0):,} for local collections")


def check_request(request: P2ERequest) -> None:
    options.institution_code(request.institution)
    check_options(request)


def check_options(request: P2ERequest) -> None:
    """Every option but the institution (which may come from the database)."""
    options.set_header(request.set_header)
    options.whole_number("--set-size", request.set_size, 1, MAX_SET_SIZE)
    options.output_folder(request.out)


def read_inputs(engine: Engine, request: P2ERequest, lease: Lease) -> Inputs:
    """Read the files given (a bad one stores nothing) and pin every analysed file: the lease
    holds it before its rows are read, so `db prune` cannot take it away meanwhile."""
    mapping = {kind: mapping_for(request.mapping, kind) for kind in P2E_INPUTS}
    # The portfolio export is read beside the smaller files; the first bad file (in P2E_INPUTS order)
    # is the error said.
    with interrupts.Workers(2, "almaclean-read") as pool:
        reading = {kind: pool.submit(read_unless_stored, engine, kind, path, request.institution, mapping[kind])
                   for kind, path in request.given().items()}
    read = {kind: interrupts.result(future) for kind, future in reading.items()}
    inputs = Inputs({}, {}, {}, cz_titles=read_cz_title_lists(request.cz_titles))
    for kind in P2E_INPUTS:
        current = current_sources(engine, request.institution, kind)
        given = read.get(kind)
        if given is None:
            ids = current["id"].to_list()
        else:
            scope = given.scope if isinstance(given, IngestResult) else default_scope(kind, given.read.table.path)
            ids = current.filter(pl.col("scope") != scope)["id"].to_list()
            if isinstance(given, IngestResult):
                ids.append(given.source_file_id)
                inputs.unchanged[kind] = given
        lease.hold(ids)
        stored = sources_by_id(engine, ids)
        # with the raw cells: the bundle keeps these files as they were read (written_back)
        frame = sources_frame(engine, kind, ids, raw_cells=True)
        unmapped = unmapped_headers(engine, ids) if kind == "portfolios" else {}
        present = columns_every_file_had(stored, frame, unmapped) if ids else None
        extras = [stored_extra_cells(engine, ids, unmapped)] if kind == "portfolios" else []
        if isinstance(given, PendingFile):
            inputs.pending[kind] = given
            frame = pl.concat([given.frame.with_columns(pl.lit(None, dtype=pl.String).alias("raw_cells")), frame])
            present = given.read.present if present is None else present & given.read.present
            if kind == "portfolios":
                extras.append(extra_cells_of(*unmapped_cells(given.read, "portfolio_id")))
        if extras:
            inputs.extra = combined(*extras)
        inputs.frames[kind], inputs.pinned[kind] = frame, sorted(ids)
        inputs.present[kind] = present if present is not None else frozenset()
    return inputs


def stored_extra_cells(engine: Engine, ids: list[int], unmapped: dict[int, dict[int, str]]) -> ExtraCells:
    """The unmapped cells of stored portfolio exports, read only for the ids the analysis asks."""
    headers = tuple(dict.fromkeys(h for by_position in unmapped.values() for h in by_position.values()))
    if not headers:
        return no_extra_cells()
    return ExtraCells(headers, lambda keys: stored_unmapped_cells(engine, "portfolios", ids, keys, unmapped))


def _store(engine: Engine, inputs: Inputs, institution: str) -> dict[str, IngestResult]:
    """The files read are stored; a file given again after a newer one is current again.

    Each file read is let go of once stored (inputs.pending empties): its file cells are no
    longer needed, and the analysis running meanwhile holds only its canonical rows."""
    stored = {kind: make_current(engine, result, institution) for kind, result in inputs.unchanged.items()}
    for kind in list(inputs.pending):
        stored[kind] = store_pending(engine, inputs.pending[kind], institution)
        del inputs.pending[kind]
    return stored


def run_p2e(engine: Engine, request: P2ERequest) -> P2ERun:
    """Returns the run; InputError for bad input (nothing written, files read stay unstored only
    when they were bad)."""
    check_request(request)
    with run_lease(engine, f"p2e-{request.institution}") as lease:
        return _run(engine, request, lease)


def _run(engine: Engine, request: P2ERequest, lease: Lease) -> P2ERun:
    inputs = read_inputs(engine, request, lease)
    read_now = set(inputs.pending)
    not_recognised = [item for pending in inputs.pending.values() for item in unrecognised_columns(pending.read)]
    header_notes = [f"{Path(pending.read.table.path).name}, column {excel_letter(change.position)}: {change.describe()}"
                    for pending in inputs.pending.values() for change in pending.read.header_changes]
    # One thread beside the analysis: it stores the files given, then keeps the run's inputs.
    with interrupts.Workers(1, "almaclean-store") as pool, \
            staging_folder(Path(request.out), f"p2e-{request.institution}") as staging:
        storing = pool.submit(_store, engine, inputs, request.institution) if request.given() else None
        missing = [f"no {name} stored for institution {request.institution!r}: pass {option}"
                   for kind, (name, option) in NEEDED.items() if inputs.frames[kind].height == 0]
        if missing:
            if storing is not None:
                interrupts.result(storing)  # the files given are stored all the same, for the next run
            raise InputError(missing[0])
        kept = pool.submit(_keep_inputs, staging, engine, request, inputs.pinned, read_now, storing,
                           written_back(engine, inputs), lease)
        # Popped, not kept: the analysis lets the portfolio export go once it has read it.
        result = analyse_p2e(inputs.frames.pop("portfolios"), inputs.frames.pop("p2e"), inputs.frames.pop("po-lines"),
                             cz_titles=inputs.cz_titles or None, present=inputs.present,
                             not_recognised=not_recognised, extra=inputs.extra)
        # The report needs only the analysis: it is written while the files given are still being stored.
        counts = write_report(result, staging, set_header=request.set_header, set_size=request.set_size,
                              without_po_lines=request.without_po_lines, deactivate=request.deactivate)
        analysed, stored, kept_inputs = interrupts.result(kept)
        p2e_bundle(staging, kept_inputs, institution=request.institution, set_header=request.set_header,
                   set_size=request.set_size, without_po_lines=request.without_po_lines,
                   deactivate=request.deactivate)
        lease.check()   # every analysed file is still stored: the bundle names what exists
        record_run(engine, staging)
        folder = publish_run_folder(staging)
    steps = json.loads((folder / "summary.json").read_text(encoding="utf-8"))["next_steps"]
    files = [stored[kind] for kind in request.given()]
    log.info("P2E run %s analysed stored files %s", folder, analysed)
    return P2ERun(folder, request.institution, counts, analysed, files,
                  evidence=evidence_lines(result, without_po_lines=request.without_po_lines), steps=steps,
                  not_checked=dict(result.not_checked), header_notes=header_notes,
                  cz_lists=_cz_lists_read(inputs.cz_titles, result))


def _cz_lists_read(lists: list[CZTitleList], result) -> list[dict]:
    """Each CZ title list read: its file, titles, shape and how many P2E portfolios it matches."""
    candidates = result.cz_link_candidates
    matched = ({name: n for name, n in candidates.group_by("cz_list").agg(pl.col("portfolio_id").n_unique()).rows()}
               if candidates.height else {})
    return [{"file": titles.path.name, "titles": titles.titles.height, "shape": titles.shape,
             "matched": matched.get(titles.name, 0)} for titles in lists]


def written_back(engine: Engine, inputs: Inputs) -> dict[int, StoredTable]:
    """The stored files this run analyses without having been given them, as they were read
    (load.raw_table), from the rows already fetched: the bundle keeps them as its inputs. Their
    raw cells then leave the analysed frames."""
    tables = {}
    for kind, frame in inputs.frames.items():
        if "raw_cells" not in frame.columns:
            continue
        given = {r.source_file_id for k, r in inputs.unchanged.items() if k == kind}
        for source_id in (i for i in inputs.pinned[kind] if i not in given):
            rows = frame if frame["source_file_id"].n_unique() == 1 else frame.filter(
                pl.col("source_file_id") == source_id)
            tables[source_id] = raw_table(engine, source_id, rows.drop("source_file_id"))
        inputs.frames[kind] = frame.drop("raw_cells")
    return tables


def _keep_inputs(staging: Path, engine: Engine, request: P2ERequest, pinned: dict[str, list[int]], read_now: set[str],
                 storing, prefetched: dict[int, StoredTable], lease: Lease):
    """Once the files given are stored (and held on the run's lease): the analysed files by kind,
    the stored results, and the run's inputs kept under inputs/ (files given copied, stored ones
    written back)."""
    stored = interrupts.result(storing) if storing is not None else {}
    lease.hold(stored[kind].source_file_id for kind in read_now)
    analysed = {kind: sorted(ids + [stored[kind].source_file_id] if kind in read_now else ids)
                for kind, ids in pinned.items()}
    # The inputs are copied into the run (a big export: a second or so) while the analysis runs.
    kept = p2e_inputs(staging, engine, institution=request.institution, given=request.given(), analysed=analysed,
                      mapping=request.mapping, cz_titles=list(request.cz_titles), prefetched=prefetched)
    return analysed, stored, kept


__all__ = ["P2ERequest", "P2ERun", "run_p2e"]
