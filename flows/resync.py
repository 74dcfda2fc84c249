"""Re-sync e-collections from their Extended Exports (the CARLI re-sync guide).

Orchestration only: every rule is in almaclean.resync. Tasks pass big frames in memory,
so none of them caches (hashing a 100,000 x 99 frame would cost more than the work)."""
from __future__ import annotations

import logging
from pathlib import Path

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from almaclean.errors import InputError
from almaclean.kinds import KindRead, read_kind
from almaclean.resync.decisions import Decisions, ReviewTable, parse_decisions, read_review_workbook
from almaclean.resync.inputs import expand_exports, match_review
from almaclean.resync.outputs import copy_export, write_collection, write_run_summary
from almaclean.resync.plan import CollectionPlan, collection_name, identity_of, plan_collection
from almaclean.store.ingest import file_digest
from almaclean.write.atomic import new_run_folder, unique_folder_names

log = logging.getLogger(__name__)

step = task(cache_policy=NO_CACHE)


@step
def find_exports(exports: list[Path]) -> dict[Path, str]:
    """Every export file with its sha256 (read before anything is written)."""
    return {path: file_digest(path)[0] for path in expand_exports(exports)}


@step
def read_po_lines(path: Path):
    return read_kind("po-lines", path).canonical


@step
def read_review(path: Path, digests: dict[Path, str]) -> tuple[Path, dict[str, ReviewTable]]:
    sheets = read_review_workbook(path)
    return match_review(path, sheets, digests), sheets


@step
def copy_original(export: Path, folder: Path, expected_sha256: str) -> tuple[str, int]:
    sha, size = copy_export(export, folder)
    if sha != expected_sha256:
        raise InputError("the export changed while almaclean was running; run again", file=export)
    return sha, size


@step
def read_export(export: Path) -> KindRead:
    return read_kind("extended-export", export)


@step
def store_export(read: KindRead, institution: str, scope: str, digest: tuple[str, int], db_url: str | None):
    """Keep the export in the database for history (same bytes again = no-op)."""
    from almaclean.store.db import make_engine
    from almaclean.store.ingest import ingest_read

    return ingest_read(make_engine(db_url), read, institution, scope=scope, digest=digest)


def _decisions(review_path: Path, sheets: dict[str, ReviewTable], read: KindRead,
               keep_localized_n: bool) -> Decisions:
    table = read.table
    return parse_decisions(review_path, sheets, header=table.header, frame=table.frame,
                           pids=identity_of(read.canonical, table.frame.height).pid,
                           first_row=table.first_row, keep_localized_n=keep_localized_n)


@step
def review_decisions(review_path: Path, sheets: dict[str, ReviewTable], read: KindRead,
                     keep_localized_n: bool) -> Decisions:
    return _decisions(review_path, sheets, read, keep_localized_n)


@step
def check_exports(exports: list[Path], review_path: Path | None, sheets: dict[str, ReviewTable] | None,
                  review_for: Path | None, keep_localized_n: bool) -> None:
    """Bad input in any export (or in its review decisions) stops the run before anything is
    written. Each export is read again later, one at a time, so memory stays that of one."""
    for export in exports:
        read = read_kind("extended-export", export)
        if export == review_for:
            _decisions(review_path, sheets, read, keep_localized_n)


@step
def plan(export: Path, sha256: str, read: KindRead, po_lines, decisions: Decisions | None,
         keep_localized_n: bool) -> CollectionPlan:
    table = read.table
    return plan_collection(export, sha256, table.header, table.frame, table.first_row, read.canonical,
                           po_lines=po_lines, decisions=decisions, keep_localized_n=keep_localized_n)


@step
def write_outputs(collection_plan: CollectionPlan, folder: Path) -> dict:
    return write_collection(collection_plan, folder)


@step
def write_summary(run: Path, records: list[tuple[dict, str]]) -> Path:
    return write_run_summary(run, records)



@flow(name="almaclean-resync")
def resync_flow(exports: list[Path], *, po_lines: Path | None = None, institution: str = "default",
                out: Path = Path("out"), decisions: Path | None = None, keep_localized_n: bool = False,
                db_url: str | None = None) -> Path:
    """Audit each export, decide, and write one folder per collection plus a summary; returns the run folder."""
    digests = find_exports([Path(e) for e in exports])
    po_frame = read_po_lines(Path(po_lines)) if po_lines else None
    review_for, review_sheets = read_review(Path(decisions), digests) if decisions else (None, None)
    if len(digests) > 1:
        check_exports(list(digests), Path(decisions) if decisions else None, review_sheets, review_for,
                      keep_localized_n)
    run: Path | None = None
    records: list[tuple[dict, str]] = []
    names = unique_folder_names([collection_name(export) for export in digests])
    for (export, sha), name in zip(digests.items(), names):
        read = read_export(export)
        chosen = (review_decisions(Path(decisions), review_sheets, read, keep_localized_n)
                  if export == review_for else None)
        run = run or new_run_folder(Path(out), "resync")
        folder = run / name
        folder.mkdir()
        digest = copy_original(export, folder, sha)
        store_export(read, institution, collection_name(export), digest, db_url)
        collection_plan = plan(export, sha, read, po_frame, chosen, keep_localized_n)
        del read
        records.append((write_outputs(collection_plan, folder), name))
        del collection_plan
    write_summary(run, records)
    write_bundle(run, list(zip(digests, digests.values(), names)), po_lines, decisions,
                 institution, keep_localized_n)
    log.info("re-sync of %d collection(s) written to %s", len(records), run)
    return run


@step
def write_bundle(run: Path, exports: list[tuple[Path, str, str]], po_lines: Path | None, decisions: Path | None,
                 institution: str, keep_localized_n: bool) -> Path:
    """bundle.json (docs/audit.md): `almaclean verify` re-runs the collection from the run folder."""
    from almaclean.bundle.runs import resync_bundle

    return resync_bundle(run, exports=exports, po_lines=Path(po_lines) if po_lines else None,
                         decisions=Path(decisions) if decisions else None, institution=institution,
                         keep_localized_n=keep_localized_n)
