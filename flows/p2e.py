"""P2E clean-up (issue 4, the CARLI P2E guide): read, then store while analysing and writing.

Orchestration only: every rule is in almaclean.p2e. The files given are read and checked
first (a bad file stores nothing). Storing them runs in the background while the analysis
works on the rows just read, which are what the database will hold once they are stored, and
while the outputs are written into a hidden staging folder. That folder becomes the run folder
only once storage has committed and bundle.json is written; a failed run leaves no run folder.
Big frames pass between tasks in memory, so no task caches."""
from __future__ import annotations

import logging
from pathlib import Path

import polars as pl
from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from almaclean.errors import AlmacleanError
from almaclean.kinds import load_mapping
from almaclean.p2e.analyse import P2EResult, analyse_p2e
from almaclean.p2e.report import write_report
from almaclean.p2e.sets import DEFAULT_HEADER, DEFAULT_SIZE
from almaclean.store.db import make_engine
from almaclean.store.ingest import IngestResult, PendingFile, read_unless_stored, store_pending
from almaclean.store.load import current_frame, is_only_current
from almaclean.write.atomic import discard_staging_folder, new_staging_folder, publish_run_folder

log = logging.getLogger(__name__)

KINDS = ("portfolios", "p2e", "po-lines")

step = task(cache_policy=NO_CACHE)


@step
def read_input(kind: str, path: Path, institution: str, mapping: Path | None,
               db_url: str | None) -> IngestResult | PendingFile:
    kind_mapping = load_mapping(mapping).get(kind) if mapping else None
    return read_unless_stored(make_engine(db_url), kind, Path(path), institution, kind_mapping)


@step
def store(pending: dict[str, PendingFile], institution: str, db_url: str | None) -> dict[str, IngestResult]:
    """Each file read, stored in its own transaction."""
    engine = make_engine(db_url)
    return {kind: store_pending(engine, file, institution) for kind, file in pending.items()}


@step
def load_current(kind: str, institution: str, db_url: str | None) -> pl.DataFrame:
    return current_frame(make_engine(db_url), institution, kind)


@step
def analyse(portfolios: pl.DataFrame, p2e: pl.DataFrame, po_lines: pl.DataFrame) -> P2EResult:
    return analyse_p2e(portfolios, p2e, po_lines)


@step
def write(result: P2EResult, folder: Path, set_header: str, set_size: int) -> Path:
    write_report(result, folder, set_header=set_header, set_size=set_size)
    return folder


@flow(name="almaclean-p2e")
def p2e_flow(*, portfolios: Path | None, p2e: Path | None = None, po_lines: Path | None = None,
             institution: str = "default", out: Path = Path("out"), db_url: str | None = None,
             set_header: str = DEFAULT_HEADER, set_size: int = DEFAULT_SIZE, mapping: Path | None = None) -> Path:
    """Files given are stored first; the analysis then uses the institution's current data,
    so a file ingested on an earlier run still counts. Returns the new run folder."""
    if set_size < 1:
        raise AlmacleanError("--set-size must be at least 1")
    given = {"portfolios": portfolios, "p2e": p2e, "po-lines": po_lines}
    read = {kind: read_input(kind, path, institution, mapping, db_url) for kind, path in given.items() if path}
    pending = {kind: r for kind, r in read.items() if isinstance(r, PendingFile)}
    frames = {kind: pending[kind].frame if kind in pending else load_current(kind, institution, db_url)
              for kind in KINDS}
    storing = store.submit(pending, institution, db_url) if pending else None
    needed = (("portfolios", "portfolio export", "--portfolios"), ("p2e", "P2E file", "--p2e"))
    missing = [f"no {name} stored for institution {institution!r}: pass {option}"
               for kind, name, option in needed if frames[kind].height == 0]
    if missing:
        if storing is not None:
            storing.result()  # the files given are stored all the same, for the next run
        raise AlmacleanError(missing[0])
    result = analyse(frames["portfolios"], frames["p2e"], frames["po-lines"])
    staging = new_staging_folder(Path(out), f"p2e-{institution}")
    writing = None
    try:
        writing = write.submit(result, staging, set_header, set_size)
        if storing is not None:
            stored = storing.result()  # a storage failure ends the run here: no run folder
            # Rows just read are the current data unless another file of the kind is current
            # beside or after them (another scope, another process): then analyse what is stored.
            engine = make_engine(db_url)
            stale = [kind for kind, r in stored.items()
                     if not is_only_current(engine, institution, kind, r.source_file_id)]
            if stale:
                log.info("current data of %s is not just the file stored now: analysing what is stored",
                         ", ".join(stale))
                writing.result()
                discard_staging_folder(staging)
                frames.update({kind: load_current(kind, institution, db_url) for kind in stale})
                result = analyse(frames["portfolios"], frames["p2e"], frames["po-lines"])
                staging = new_staging_folder(Path(out), f"p2e-{institution}")
                writing = write.submit(result, staging, set_header, set_size)
        del frames, read, pending
        writing.result()
        write_bundle(staging, institution, given, mapping, set_header, set_size, db_url)
    except BaseException:
        if writing is not None:
            writing.wait()  # never remove a folder a task is still writing into
        discard_staging_folder(staging)
        raise
    return publish_run_folder(staging)


@task(cache_policy=NO_CACHE)
def write_bundle(folder: Path, institution: str, given: dict, mapping: Path | None, set_header: str, set_size: int,
                 db_url: str | None) -> Path:
    """bundle.json (docs/audit.md): the current source files the analysis read, kept re-runnable."""
    from almaclean.bundle.runs import p2e_bundle

    return p2e_bundle(folder, make_engine(db_url), institution=institution,
                      given={k: Path(v) if v else None for k, v in given.items()},
                      mapping=Path(mapping) if mapping else None, set_header=set_header, set_size=set_size)
