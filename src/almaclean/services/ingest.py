"""Store files of one kind for one institution."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from almaclean.kinds import load_mapping
from almaclean.services import options
from almaclean.store.ingest import IngestResult, ingest_files


def mapping_for(mapping: Path | None, kind: str) -> dict | None:
    """The kind's part of a user mapping file (README "If your site renamed columns")."""
    return load_mapping(mapping).get(kind) if mapping else None


def ingest(engine: Engine, kind: str, files: list[Path], institution: str, *, scope: str | None = None,
           mapping: Path | None = None) -> list[IngestResult]:
    """Every file is read and checked before any is stored; each is stored in one transaction."""
    options.institution_code(institution)
    return ingest_files(engine, kind, [Path(f) for f in files], institution, scope=scope,
                        mapping=mapping_for(mapping, kind))
