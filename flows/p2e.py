"""P2E clean-up (issue 4, the CARLI P2E guide): ingest, load the current data, analyse, write.

Orchestration only: every rule is in almaclean.p2e. Big frames pass between tasks in memory,
so no task caches."""
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
from almaclean.store.ingest import IngestResult, StoredFrames, ingest_file_keeping
from almaclean.store.load import CurrentData, current_data
from almaclean.write.atomic import new_run_folder

log = logging.getLogger(__name__)

step = task(cache_policy=NO_CACHE)


@step
def ingest(kind: str, path: Path, institution: str, mapping: Path | None,
           db_url: str | None) -> tuple[IngestResult, StoredFrames | None]:
    kind_mapping = load_mapping(mapping).get(kind) if mapping else None
    return ingest_file_keeping(make_engine(db_url), kind, Path(path), institution, mapping=kind_mapping)


@step
def load_current(kind: str, institution: str, db_url: str | None,
                 just_stored: tuple[IngestResult, StoredFrames | None] | None) -> CurrentData:
    """The current data; a file this run just stored is handed over in memory, not read back."""
    return current_data(make_engine(db_url), institution, kind, just_stored=just_stored)


@step
def analyse(portfolios: CurrentData, p2e: pl.DataFrame, po_lines: pl.DataFrame) -> P2EResult:
    return analyse_p2e(portfolios.frame, p2e, po_lines, portfolio_identifiers=portfolios.identifiers)


@step
def write(result: P2EResult, out: Path, institution: str, set_header: str, set_size: int) -> Path:
    folder = new_run_folder(Path(out), f"p2e-{institution}")
    write_report(result, folder, set_header=set_header, set_size=set_size)
    return folder


@flow(name="almaclean-p2e")
def p2e_flow(*, portfolios: Path | None, p2e: Path | None = None, po_lines: Path | None = None,
             institution: str = "default", out: Path = Path("out"), db_url: str | None = None,
             set_header: str = DEFAULT_HEADER, set_size: int = DEFAULT_SIZE, mapping: Path | None = None) -> Path:
    """Files given are ingested first; the analysis then uses the institution's current data,
    so a file ingested on an earlier run still counts. Returns the new run folder."""
    if set_size < 1:
        raise AlmacleanError("--set-size must be at least 1")
    stored = {}
    for kind, path in (("portfolios", portfolios), ("p2e", p2e), ("po-lines", po_lines)):
        if path is not None:
            stored[kind] = ingest(kind, path, institution, mapping, db_url)
    current = {kind: load_current(kind, institution, db_url, stored.pop(kind, None))
               for kind in ("portfolios", "p2e", "po-lines")}
    frames = {kind: data.frame for kind, data in current.items()}
    if frames["portfolios"].height == 0:
        raise AlmacleanError(f"no portfolio export stored for institution {institution!r}: pass --portfolios")
    if frames["p2e"].height == 0:
        raise AlmacleanError(f"no P2E file stored for institution {institution!r}: pass --p2e")
    result = analyse(current.pop("portfolios"), frames["p2e"], frames["po-lines"])
    del frames, current
    folder = write(result, out, institution, set_header, set_size)
    write_bundle(folder, institution, {"portfolios": portfolios, "p2e": p2e, "po-lines": po_lines}, mapping,
                 set_header, set_size, db_url)
    return folder


@task(cache_policy=NO_CACHE)
def write_bundle(folder: Path, institution: str, given: dict, mapping: Path | None, set_header: str, set_size: int,
                 db_url: str | None) -> Path:
    """bundle.json (docs/audit.md): the current source files the analysis read, kept re-runnable."""
    from almaclean.bundle.runs import p2e_bundle

    return p2e_bundle(folder, make_engine(db_url), institution=institution,
                      given={k: Path(v) if v else None for k, v in given.items()},
                      mapping=Path(mapping) if mapping else None, set_header=set_header, set_size=set_size)
