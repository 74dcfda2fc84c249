"""Re-sync e-collections from their Extended Exports (the CARLI re-sync guide) as one call.

Every export (and the review workbook's decisions) is read and checked before anything is
written; then each collection is planned and written, one export in memory at a time, into a
hidden staging folder that becomes the run folder only once summary and bundle are written.
A bad export, a full disk or a killed process never leaves a final-named, half-written folder.
A file found in a folder that is no Extended Export (a P2E report beside the exports) is
skipped and named; a file given by name is always read as an Extended Export.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from sqlalchemy import Engine

from almaclean.bundle.ledger import record_run
from almaclean.bundle.manifest import INPUTS_FOLDER
from almaclean.errors import InputError
from almaclean.invocation import command_line
from almaclean.kinds import KindRead, load_mapping, read_kind
from almaclean.resync.decisions import Decisions, ReviewTable, parse_decisions, read_review_workbook
from almaclean.resync.inputs import ExportFile, expand_exports, match_review, not_an_extended_export
from almaclean.resync.outputs import copy_export, write_collection, write_run_summary
from almaclean.resync.plan import collection_name, identity_of, plan_collection
from almaclean.resync.report import REVIEW_FILE, closing_lines
from almaclean.services import options
from almaclean.store.ingest import file_digest, ingest_read
from almaclean.write.atomic import publish_run_folder, unique_folder_names
from almaclean.write.staging import staging_folder

log = logging.getLogger(__name__)

PO_LINES_ROLE, MAPPING_ROLE = "po-lines", "mapping"


@dataclass(frozen=True)
class ResyncRequest:
    exports: list[Path]
    out: Path
    institution: str
    po_lines: Path | None = None
    decisions: Path | None = None
    keep_localized_n: bool = False
    mapping: Path | None = None
    as_of: date | None = None     # the run date pending activations are compared with (default: today)
    db: str | None = None         # the --db given, only repeated in the printed next command


def check_options(request: ResyncRequest) -> tuple[str, ...]:
    """The options of a run that affect its checks, as the next-step command repeats them: the
    PO line export and the mapping as the copies the run keeps (relative to a collection's folder,
    where the command is run), the institution, --keep-localized-n."""
    found: list[str] = []
    for flag, role, path in (("--po-lines", PO_LINES_ROLE, request.po_lines), ("--mapping", MAPPING_ROLE,
                                                                              request.mapping)):
        if path is not None:
            found += [flag, f"../{INPUTS_FOLDER}/{role}/{Path(path).name}"]
    found += ["--institution", request.institution]
    if request.keep_localized_n:
        found.append("--keep-localized-n")
    return tuple(found)


@dataclass(frozen=True)
class ResyncRun:
    folder: Path
    collections: list[dict]   # each collection's summary record, with its folder
    skipped: list[tuple[str, str]] = field(default_factory=list)   # (file, why) found in a folder, not exports
    options: tuple[str, ...] = ()
    db: str | None = None

    def next_command(self, record: dict) -> str:
        """The command that applies a collection's filled review, runnable from any folder."""
        folder = (self.folder / record["folder"]).resolve()   # --out may have been relative
        args = ["resync", str(folder / record["export"]), "--decisions", str(folder / REVIEW_FILE)]
        for i, option in enumerate(self.options):
            previous = self.options[i - 1] if i else ""
            args.append(str((folder / option).resolve()) if previous in ("--po-lines", "--mapping") else option)
        if self.db:
            args += ["--db", self.db]
        return command_line(*args)

    def lines(self) -> list[str]:
        out = [f"re-sync of {len(self.collections)} collection(s):"]
        out += [f"  skipped {name}: {why}" for name, why in self.skipped]
        out += [f"  {line}" for line in closing_lines([(record, record["folder"]) for record in self.collections])]
        out.append(f"  outputs: {self.folder}")
        drafts = [r for r in self.collections if r["loader"] and not r["loader_final"]]
        if drafts:
            out.append("  next: fill in each collection's review.xlsx (its first sheet says what to do), save it, "
                       "then run:")
            out += [f"    {self.next_command(r)}" for r in drafts]
        else:
            out.append("  next: open each collection's review.xlsx; its first sheet says what to do first")
        return out

    def as_json(self) -> dict:
        return {"command": "resync", "folder": str(self.folder), "collections": self.collections,
                "skipped": [{"file": f, "why": w} for f, w in self.skipped],
                "next_commands": {r["collection"]: self.next_command(r) for r in self.collections
                                  if r["loader"] and not r["loader_final"]}}


def _decisions(review_path: Path, sheets: dict[str, ReviewTable], read: KindRead) -> Decisions:
    table = read.table.dense()
    return parse_decisions(review_path, sheets, header=table.header, frame=table.frame,
                           pids=identity_of(read.canonical, table.frame.height).pid, first_row=table.first_row)


def _exports(files: list[ExportFile], mapping: dict | None) -> tuple[list[Path], list[tuple[str, str]]]:
    """The Extended Exports among the files, and the folder files skipped as no export (with why).
    Each is read and checked here when there are several or any came from a folder (read again,
    one at a time, when planned)."""
    if len(files) == 1 and not files[0].from_folder:
        return [files[0].path], []
    exports, skipped = [], []
    for file in files:
        try:
            read_kind("extended-export", file.path, mapping=mapping)
        except InputError:
            why = not_an_extended_export(file.path) if file.from_folder else None
            if why is None:
                raise
            log.info("skipped %s: %s", file.path, why)
            skipped.append((file.path.name, why))
            continue
        exports.append(file.path)
    if not exports:
        folders = sorted({str(f.path.parent) for f in files})
        raise InputError("no Extended Export here: " + "; ".join(f"{n} is {w}" for n, w in skipped),
                         file=folders[0] if folders else None)
    return exports, skipped


def run_resync(engine: Engine, request: ResyncRequest) -> ResyncRun:
    """Audit each export, decide, and write one folder per collection plus a summary."""
    options.institution_code(request.institution)
    options.output_folder(request.out)
    for path in (request.po_lines, request.decisions, request.mapping):
        if path is not None:
            options.input_file(path)
    as_of = request.as_of or date.today()
    mapping = load_mapping(request.mapping) if request.mapping else {}
    exports, skipped = _exports(expand_exports([Path(e) for e in request.exports]), mapping.get("extended-export"))
    digests = {path: file_digest(path)[0] for path in exports}
    po_frame = (read_kind("po-lines", Path(request.po_lines), mapping=mapping.get("po-lines")).canonical
                if request.po_lines else None)
    review_for, sheets = None, None
    if request.decisions:
        sheets = read_review_workbook(Path(request.decisions))
        review_for = match_review(Path(request.decisions), sheets, digests)
        if len(digests) > 1:  # checked before anything is written; read again when planned
            _decisions(Path(request.decisions), sheets,
                       read_kind("extended-export", review_for, mapping=mapping.get("extended-export")))
    names = unique_folder_names([collection_name(export) for export in digests])
    run_options = check_options(request)
    with staging_folder(Path(request.out), "resync") as staging:
        records = [_collection(engine, request, export, sha, name, staging, po_frame, review_for, sheets,
                               mapping.get("extended-export"), run_options, as_of)
                   for (export, sha), name in zip(digests.items(), names)]
        write_run_summary(staging, records)
        _bundle(staging, request, list(zip(digests, digests.values(), names)), as_of)
        record_run(engine, staging)
        folder = publish_run_folder(staging)
    log.info("re-sync of %d collection(s) written to %s", len(records), folder)
    return ResyncRun(folder, [dict(record, folder=name) for record, name in records], skipped, run_options,
                     request.db)


def _collection(engine: Engine, request: ResyncRequest, export: Path, sha: str, name: str, run: Path,
                po_frame, review_for: Path | None, sheets, mapping, run_options: tuple[str, ...],
                as_of: date) -> tuple[dict, str]:
    read = read_kind("extended-export", export, mapping=mapping)
    chosen = _decisions(Path(request.decisions), sheets, read) if export == review_for else None
    table = read.table.dense()  # the loader keeps the export's rows where they were, blank ones too
    plan = plan_collection(export, sha, table.header, table.frame, table.first_row, read.canonical,
                           po_lines=po_frame, decisions=chosen, keep_localized_n=request.keep_localized_n,
                           options=run_options, as_of=as_of)
    folder = run / name
    folder.mkdir()
    copied_sha, size = copy_export(export, folder)
    if copied_sha != sha:
        raise InputError("the export changed while almaclean was running; run again", file=export)
    ingest_read(engine, read, request.institution, scope=collection_name(export), digest=(copied_sha, size))
    del read, table
    return write_collection(plan, folder), name


def _bundle(run: Path, request: ResyncRequest, exports: list[tuple[Path, str, str]], as_of: date) -> Path:
    from almaclean.bundle.runs import resync_bundle

    return resync_bundle(run, exports=exports, po_lines=Path(request.po_lines) if request.po_lines else None,
                         decisions=Path(request.decisions) if request.decisions else None,
                         mapping=Path(request.mapping) if request.mapping else None,
                         institution=request.institution, keep_localized_n=request.keep_localized_n, as_of=as_of)
