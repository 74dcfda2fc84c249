"""Retention: old stored files go, what analysis or a kept run needs stays.

A file is removed when it was ingested more than `keep_days` ago, is not the current file of
its scope, no run in the run ledger analysed it (bundle/ledger.py) and no running run holds it
(store/leases.py). Its spans, column
mapping, ingest records and source_files row go, then every content row no remaining file
lists (rows a kept file shares stay), in one transaction; then the space is given back
(SQLite VACUUM, PostgreSQL VACUUM ANALYZE). A removed file fetched from Alma Analytics loses its
fetch records and the canonical CSV kept for it in the data folder.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import polars as pl
from sqlalchemy import Connection, Engine, bindparam, delete, text

from almaclean import settings
from almaclean.kinds.registry import TABLES
from almaclean.store import leases, tables
from almaclean.store.content import last_row_id, unused_ranges
from almaclean.store.db import write_transaction
from almaclean.store.fetches import forget_fetches
from almaclean.store.sqlfiles import query

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Pruned:
    files: int
    rows: int
    kept_for_runs: int        # old, superseded files kept because a recorded run names them


def ledger_sources(conn: Connection) -> set[int]:
    """The stored files the runs in the run ledger analysed (kept runs still verify)."""
    cells = conn.execute(text("SELECT source_file_ids FROM run_ledger WHERE source_file_ids IS NOT NULL")).scalars()
    return {int(i) for cell in cells for i in json.loads(cell)}


def prune(engine: Engine, keep_days: int, *, now: datetime | None = None) -> Pruned:
    """One write transaction, serialised with runs holding their files (store/leases.py): what
    to remove is decided and removed at once, so a running run's files are never among it."""
    before = ((now or datetime.now(timezone.utc)) - timedelta(days=keep_days)).isoformat(timespec="seconds")
    kept_csvs: list[Path] = []
    with write_transaction(engine) as conn:
        leases.lock(conn)
        candidates = [row._asdict() for row in conn.execute(text(query("prunable_files")), {"before": before})]
        needed = ledger_sources(conn) | leases.leased_files(conn, now=now)
        doomed = [row for row in candidates if int(row["id"]) not in needed]
        ids = [int(row["id"]) for row in doomed]
        if ids:
            kept_csvs = forget_fetches(conn, ids)
            for of_file in (tables.file_spans, tables.raw_columns, tables.file_ingests):
                conn.execute(delete(of_file).where(of_file.c.source_file_id.in_(ids)))
            conn.execute(delete(tables.source_files).where(tables.source_files.c.id.in_(ids)))
            for kind in sorted({row["kind"] for row in doomed}):
                _drop_unused_content(conn, kind)
    if doomed:
        _remove_fetched_csvs(kept_csvs)
        _give_space_back(engine)
    result = Pruned(len(doomed), sum(int(r["row_count"]) for r in doomed), len(candidates) - len(doomed))
    log.info("prune (older than %s): %s", before, result)
    return result


def _remove_fetched_csvs(paths: list[Path]) -> None:
    """The canonical CSVs of pruned fetched reports (bundles keep their own copies); only ever
    files in the data folder's fetched/ folder."""
    folder = settings.fetched_dir().resolve()
    for path in paths:
        if path.resolve().is_relative_to(folder) and path.is_file():
            path.unlink()
            log.info("removed %s (its stored file was pruned)", path)


def _drop_unused_content(conn: Connection, kind: str) -> None:
    """Content rows of a kind that no remaining file's spans list."""
    table = TABLES[kind]
    last_id = last_row_id(conn, table)  # locks the table first on PostgreSQL: no ingest meanwhile
    used = pl.DataFrame(conn.execute(text(query("spans_of_kind")), {"kind": kind}).all(),
                        schema={"first_id": pl.Int64, "row_count": pl.Int64}, orient="row")
    ranges = unused_ranges(used, last_id)
    if ranges:
        content = tables.metadata.tables[table]
        conn.execute(delete(content).where(content.c.row_id.between(bindparam("a"), bindparam("b"))),
                     [{"a": a, "b": b} for a, b in ranges])


def _give_space_back(engine: Engine) -> None:
    """VACUUM runs outside any transaction: on the driver's own connection, in autocommit."""
    raw = engine.raw_connection()
    try:
        driver = raw.driver_connection
        if engine.dialect.name == "sqlite":
            driver.execute("VACUUM")   # our SQLite connections are in autocommit (store.db)
        else:
            driver.autocommit = True
            try:
                driver.execute("VACUUM ANALYZE")
            finally:
                driver.autocommit = False
    finally:
        raw.close()
