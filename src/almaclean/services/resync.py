"""Re-sync e-collections from their Extended Exports (the CARLI re-sync guide) as one call.

Every export (and the review workbook's decisions) is read and checked before anything is
written; then each collection is planned and written, one export in memory at a time, into a
hidden staging folder that becomes the run folder only once summary and bundle are written.
A bad export, a full disk or a killed process never leaves a final-named, half-written folder.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from almaclean.bundle.ledger import record_run
from almaclean.errors import InputError
from almaclean.kinds import KindRead, read_kind
from almaclean.resync.decisions import Decisions, ReviewTable, parse_decisions, read_review_workbook
from almaclean.resync.inputs import expand_exports, match_review
from almaclean.resync.outputs import copy_export, write_collection, write_run_summary
from almaclean.resync.report import closing_lines
from almaclean.resync.plan import collection_name, identity_of, plan_collection
from almaclean.services import options
from almaclean.store.ingest import file_digest, ingest_read
from almaclean.write.atomic import publish_run_folder, unique_folder_names
from almaclean.write.staging import staging_folder

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ResyncRequest:
    exports: list[Path]
    out: Path
    institution: str
    po_lines: Path | None = None
    decisions: Path | None = None
    keep_localized_n: bool = False


@dataclass(frozen=True)
class ResyncRun:
    folder: Path
    collections: list[dict]   # each collection's summary record, with its folder

    def lines(self) -> list[str]:
        out = [f"re-sync of {len(self.collections)} collection(s):"]
        out += [f"  {line}" for line in closing_lines([(record, record["folder"]) for record in self.collections])]
        out.append(f"  outputs: {self.folder}")
        out.append("  next: open each collection's review.xlsx; its first sheet says what to do first")
        return out

    def as_json(self) -> dict:
        return {"command": "resync", "folder": str(self.folder), "collections": self.collections}


def _decisions(review_path: Path, sheets: dict[str, ReviewTable], read: KindRead, keep_localized_n: bool) -> Decisions:
    table = read.table.dense()
    return parse_decisions(review_path, sheets, header=table.header, frame=table.frame,
                           pids=identity_of(read.canonical, table.frame.height).pid,
                           first_row=table.first_row, keep_localized_n=keep_localized_n)


def run_resync(engine: Engine, request: ResyncRequest) -> ResyncRun:
    """Audit each export, decide, and write one folder per collection plus a summary."""
    options.institution_code(request.institution)
    options.output_folder(request.out)
    for path in (request.po_lines, request.decisions):
        if path is not None:
            options.input_file(path)
    digests = {path: file_digest(path)[0] for path in expand_exports([Path(e) for e in request.exports])}
    po_frame = read_kind("po-lines", Path(request.po_lines)).canonical if request.po_lines else None
    review_for, sheets = None, None
    if request.decisions:
        sheets = read_review_workbook(Path(request.decisions))
        review_for = match_review(Path(request.decisions), sheets, digests)
    if len(digests) > 1:  # check them all first; each is read again later, one at a time
        for export in digests:
            read = read_kind("extended-export", export)
            if export == review_for:
                _decisions(Path(request.decisions), sheets, read, request.keep_localized_n)
        del read
    names = unique_folder_names([collection_name(export) for export in digests])
    with staging_folder(Path(request.out), "resync") as staging:
        records = [_collection(engine, request, export, sha, name, staging, po_frame, review_for, sheets)
                   for (export, sha), name in zip(digests.items(), names)]
        write_run_summary(staging, records)
        _bundle(staging, request, list(zip(digests, digests.values(), names)))
        record_run(engine, staging)
        folder = publish_run_folder(staging)
    log.info("re-sync of %d collection(s) written to %s", len(records), folder)
    return ResyncRun(folder, [dict(record, folder=name) for record, name in records])


def _collection(engine: Engine, request: ResyncRequest, export: Path, sha: str, name: str, run: Path,
                po_frame, review_for: Path | None, sheets) -> tuple[dict, str]:
    read = read_kind("extended-export", export)
    chosen = (_decisions(Path(request.decisions), sheets, read, request.keep_localized_n)
              if export == review_for else None)
    table = read.table.dense()  # the loader keeps the export's rows where they were, blank ones too
    plan = plan_collection(export, sha, table.header, table.frame, table.first_row, read.canonical,
                           po_lines=po_frame, decisions=chosen, keep_localized_n=request.keep_localized_n)
    folder = run / name
    folder.mkdir()
    copied_sha, size = copy_export(export, folder)
    if copied_sha != sha:
        raise InputError("the export changed while almaclean was running; run again", file=export)
    ingest_read(engine, read, request.institution, scope=collection_name(export), digest=(copied_sha, size))
    del read, table
    return write_collection(plan, folder), name


def _bundle(run: Path, request: ResyncRequest, exports: list[tuple[Path, str, str]]) -> Path:
    from almaclean.bundle.runs import resync_bundle

    return resync_bundle(run, exports=exports, po_lines=Path(request.po_lines) if request.po_lines else None,
                         decisions=Path(request.decisions) if request.decisions else None,
                         institution=request.institution, keep_localized_n=request.keep_localized_n)
