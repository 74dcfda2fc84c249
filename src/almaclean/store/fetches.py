"""The record of fetched Analytics reports (table fetched_reports, migration 0009).

One row per fetch that ended in a stored file (new, unchanged or current again): which report,
from which gateway, when, and the canonical CSV kept for it, so that every bundle analysing
that stored file names and copies the CSV (bundle.runs.stored_inputs).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, Engine, bindparam, text

from almaclean.store.db import write_transaction


@dataclass(frozen=True)
class FetchRecord:
    institution: str
    kind: str
    report: str
    api_base: str
    started_at: str
    fetched_at: str
    rows: int
    pages: int
    source_file_id: int
    status: str
    csv_file: Path


def record_fetch(engine: Engine, record: FetchRecord) -> None:
    with write_transaction(engine) as conn:
        conn.execute(text(
            "INSERT INTO fetched_reports (institution_code, kind, report, api_base, started_at, fetched_at, row_count, "
            "pages, source_file_id, status, csv_file) VALUES (:i, :k, :r, :b, :s, :f, :n, :p, :id, :st, :csv)"),
            {"i": record.institution, "k": record.kind, "r": record.report, "b": record.api_base,
             "s": record.started_at, "f": record.fetched_at, "n": record.rows, "p": record.pages,
             "id": record.source_file_id, "st": record.status, "csv": str(record.csv_file)})


def latest_fetches(engine: Engine, source_file_ids: list[int]) -> dict[int, FetchRecord]:
    """The most recent fetch of each of these stored files (none for a file that was given)."""
    if not source_file_ids:
        return {}
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT institution_code, kind, report, api_base, started_at, fetched_at, row_count, pages, source_file_id, "
            "status, csv_file FROM fetched_reports WHERE source_file_id IN :ids ORDER BY id")
            .bindparams(bindparam("ids", expanding=True)), {"ids": list(source_file_ids)}).all()
    return {int(row[8]): FetchRecord(*row[:8], int(row[8]), row[9], Path(row[10])) for row in rows}


def forget_fetches(conn: Connection, source_file_ids: list[int]) -> list[Path]:
    """Delete the records of these stored files (prune); the CSV files they kept."""
    if not source_file_ids:
        return []
    ids = bindparam("ids", expanding=True)
    files = conn.execute(text("SELECT DISTINCT csv_file FROM fetched_reports WHERE source_file_id IN :ids")
                         .bindparams(ids), {"ids": list(source_file_ids)}).scalars().all()
    conn.execute(text("DELETE FROM fetched_reports WHERE source_file_id IN :ids").bindparams(ids),
                 {"ids": list(source_file_ids)})
    return [Path(f) for f in files]
