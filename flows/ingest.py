"""Ingest files of one kind for one institution."""
from __future__ import annotations

from pathlib import Path

from prefect import flow, task

from almaclean.kinds import load_mapping
from almaclean.store.db import make_engine
from almaclean.store.ingest import IngestResult, ingest_files


@task(name="ingest-files")
def ingest_task(kind: str, files: list[Path], institution: str, scope: str | None,
                mapping: Path | None, db_url: str | None) -> list[IngestResult]:
    kind_mapping = load_mapping(mapping).get(kind) if mapping else None
    return ingest_files(make_engine(db_url), kind, files, institution, scope=scope, mapping=kind_mapping)


@flow(name="almaclean-ingest")
def ingest_flow(kind: str, files: list[Path], institution: str, *, scope: str | None = None,
                mapping: Path | None = None, db_url: str | None = None) -> list[IngestResult]:
    """Every file is read and checked before any is stored; each is stored in one transaction."""
    return ingest_task(kind, [Path(f) for f in files], institution, scope, mapping, db_url)
