"""Retention: old stored files go, what analysis or a kept run needs stays.

A file is removed when it was ingested more than `keep_days` ago, is not the current file of
its scope, and no run in the run ledger analysed it (bundle/ledger.py). Its rows go from the
kind's table, raw_rows and raw_columns, then source_files, in one transaction; then the space is
given back (SQLite VACUUM, PostgreSQL VACUUM ANALYZE).
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import Engine, bindparam, text

from almaclean.kinds.registry import TABLES
from almaclean.store.db import write_transaction
from almaclean.store.load import fetch_frame
from almaclean.store.sqlfiles import query

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Pruned:
    files: int
    rows: int
    kept_for_runs: int        # old, superseded files kept because a recorded run names them


def ledger_sources(engine: Engine) -> set[int]:
    with engine.connect() as conn:
        cells = conn.execute(text("SELECT source_file_ids FROM run_ledger WHERE source_file_ids IS NOT NULL")).scalars()
        return {int(i) for cell in cells for i in json.loads(cell)}


def prune(engine: Engine, keep_days: int, *, now: datetime | None = None) -> Pruned:
    before = ((now or datetime.now(timezone.utc)) - timedelta(days=keep_days)).isoformat(timespec="seconds")
    candidates = fetch_frame(engine, query("prunable_files"), {"before": before})
    needed = ledger_sources(engine)
    doomed = [row for row in candidates.iter_rows(named=True) if int(row["id"]) not in needed]
    if doomed:
        by_kind: dict[str, list[int]] = {}
        for row in doomed:
            by_kind.setdefault(row["kind"], []).append(int(row["id"]))
        ids = [int(row["id"]) for row in doomed]
        with write_transaction(engine) as conn:
            for kind, kind_ids in by_kind.items():
                conn.execute(text(f"DELETE FROM {TABLES[kind]} WHERE source_file_id IN :ids")
                             .bindparams(bindparam("ids", expanding=True)), {"ids": kind_ids})
            for table in ("raw_rows", "raw_columns"):
                conn.execute(text(f"DELETE FROM {table} WHERE source_file_id IN :ids")
                             .bindparams(bindparam("ids", expanding=True)), {"ids": ids})
            conn.execute(text("DELETE FROM source_files WHERE id IN :ids").bindparams(bindparam("ids", expanding=True)),
                         {"ids": ids})
        _give_space_back(engine)
    result = Pruned(len(doomed), sum(int(r["row_count"]) for r in doomed), candidates.height - len(doomed))
    log.info("prune (older than %s): %s", before, result)
    return result


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
