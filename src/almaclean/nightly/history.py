"""Nightly run history in the database (tables nightly_runs, nightly_findings, nightly_changes
of sql/schema.sql; queries in sql/nightly_*.sql).

A run row is written when an institution's run starts ('running'). It becomes 'succeeded'
in the same transaction that stores its findings and changes, or 'failed' with the error.
Only succeeded runs are ever compared with, so a failed or killed run changes no diff.
"""
from __future__ import annotations

import json
import logging
from datetime import datetime, timezone

import polars as pl
from sqlalchemy import Engine, text

from almaclean import __version__
from almaclean.nightly.changes import CHANGE_COLUMNS, FINDING_COLUMNS
from almaclean.store.db import write_transaction
from almaclean.store.ingest import bulk_insert
from almaclean.store.load import fetch_frame
from almaclean.store.sqlfiles import query

log = logging.getLogger(__name__)

SUCCEEDED = "succeeded"
FAILED = "failed"
STORED_CHANGE_COLUMNS = ("portfolio_id", "mms_id", "change", "what_changed", "outcome", "previous_outcome", "keeper",
                         "previous_keeper")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def start_run(engine: Engine, institution: str) -> int:
    """A new 'running' run row; returns its id."""
    with write_transaction(engine) as conn:
        run_id = conn.execute(
            text(query("nightly_start_run")),
            {"institution": institution, "started_at": _now(), "tool_version": __version__},
        ).scalar_one()
    log.info("nightly run #%d of %s started", run_id, institution)
    return int(run_id)


def previous_run(engine: Engine, institution: str, run_id: int) -> int | None:
    """The institution's newest succeeded run before run_id, if any."""
    frame = fetch_frame(engine, query("nightly_previous_run"), {"institution": institution, "run_id": run_id})
    return int(frame["id"][0]) if frame.height else None


def run_findings(engine: Engine, run_id: int) -> pl.DataFrame:
    """FINDING_COLUMNS of a stored run, all text."""
    frame = fetch_frame(engine, query("nightly_findings"), {"run_id": run_id})
    return frame.select(FINDING_COLUMNS)


def run_changes(engine: Engine, run_id: int) -> pl.DataFrame:
    return fetch_frame(engine, query("nightly_changes"), {"run_id": run_id})


def record_success(engine: Engine, run_id: int, findings: pl.DataFrame, changes: pl.DataFrame,
                   sources: dict[str, list[int]]) -> None:
    """Findings, changes and the 'succeeded' status in one transaction."""
    stored_findings = findings.select(FINDING_COLUMNS).with_columns(pl.lit(run_id, dtype=pl.Int64).alias("run_id"))
    stored_changes = changes.select(CHANGE_COLUMNS).select(STORED_CHANGE_COLUMNS).with_columns(
        pl.lit(run_id, dtype=pl.Int64).alias("run_id"))
    with write_transaction(engine) as conn:
        bulk_insert(conn, "nightly_findings", stored_findings)
        bulk_insert(conn, "nightly_changes", stored_changes)
        conn.execute(text(query("nightly_finish_run")), {
            "run_id": run_id, "finished_at": _now(), "status": SUCCEEDED, "error": None,
            "sources_json": json.dumps(sources, sort_keys=True), "findings": findings.height,
        })
    log.info("nightly run #%d recorded: %d findings, %d change rows", run_id, findings.height, changes.height)


def record_failure(engine: Engine, run_id: int, error: str) -> None:
    with write_transaction(engine) as conn:
        conn.execute(text(query("nightly_finish_run")), {
            "run_id": run_id, "finished_at": _now(), "status": FAILED, "error": error,
            "sources_json": None, "findings": None,
        })
    log.info("nightly run #%d recorded as failed: %s", run_id, error)


def runs(engine: Engine, institution: str) -> list[dict]:
    """Every nightly run of an institution, oldest first, as plain dicts."""
    with engine.connect() as conn:
        rows = conn.execute(text(query("nightly_runs")), {"institution": institution}).mappings().all()
    return [dict(row) for row in rows]
