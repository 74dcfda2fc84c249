"""Nightly run history in the database: nightly_runs (sql/schema.sql) and the versions of each
finding, nightly_finding_versions (store/tables.py); queries in sql/nightly_*.sql.

A run row is written when an institution's run starts ('running'). It becomes 'succeeded'
in the same transaction that records what changed in its findings, or 'failed' with the error.
Only succeeded runs are ever compared with, so a failed or killed run changes no diff.

A finding is stored when it appears, changes (any of its columns) or ends, not every night:
a version is open from the run where it appeared or changed until the run that ended it.
The findings of a succeeded run are the versions open at it, and its changes are the diff of
those with the findings of the run before (nightly.changes.compare, as the run itself
computed them), resolved or no longer a duplicate as the ending version says.

A run's sources_json names the stored files it analysed, per kind, and under "reuse" what a
later run whose inputs are the same reuses instead of analysing again (services/nightly_reuse.py).
"""
from __future__ import annotations

import json
import logging
from datetime import datetime, timezone

import polars as pl
from sqlalchemy import Engine, bindparam, text, update

from almaclean import __version__
from almaclean.nightly.changes import CHANGED, FINDING_COLUMNS, NO_LONGER, RESOLVED
from almaclean.store.db import write_transaction
from almaclean.store.ingest import bulk_insert
from almaclean.store.load import fetch_query
from almaclean.store.sqlfiles import query
from almaclean.store.tables import nightly_finding_versions

log = logging.getLogger(__name__)

SUCCEEDED = "succeeded"
FAILED = "failed"
VERSIONS = nightly_finding_versions.name
REUSE_KEY = "reuse"   # in sources_json, beside the stored file ids per kind


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
    frame = fetch_query(engine, "nightly_previous_run", {"institution": institution, "run_id": run_id})
    return int(frame["id"][0]) if frame.height else None


def run_findings(engine: Engine, run_id: int) -> pl.DataFrame:
    """FINDING_COLUMNS of a succeeded run (the versions open at it), all text, by portfolio_id;
    empty for a run that did not succeed."""
    frame = fetch_query(engine, "nightly_findings_at", {"run_id": run_id})
    return frame.select(FINDING_COLUMNS)


def record_success(engine: Engine, run_id: int, findings: pl.DataFrame, changes: pl.DataFrame,
                   sources: dict[str, list[int]], reuse: dict | None = None) -> None:
    """What changed in the findings, and the 'succeeded' status, in one transaction: a finding
    that differs in any column from its open version closes it and opens a new one; an open
    version with no finding now is closed as `changes` says (resolved or no longer a duplicate).
    reuse: what a later run needs to reuse this one's results (reuse_facts), kept with its sources."""
    now = findings.select(FINDING_COLUMNS)
    with write_transaction(engine) as conn:
        institution = conn.execute(text("SELECT institution_code FROM nightly_runs WHERE id = :r"),
                                   {"r": run_id}).scalar_one()
        open_ = fetch_query(conn, "nightly_findings_open", {"institution": institution})
        same = open_.join(now, on=list(FINDING_COLUMNS), how="semi", nulls_equal=True)
        ending = open_.join(same.select("id"), on="id", how="anti").join(
            changes.select("portfolio_id", "change"), on="portfolio_id", how="left")
        ended_as = (pl.when(pl.col("portfolio_id").is_in(now.get_column("portfolio_id").implode())).then(pl.lit(CHANGED))
                    .when(pl.col("change") == RESOLVED).then(pl.lit(RESOLVED)).otherwise(pl.lit(NO_LONGER)))
        closing = ending.select("id", ended_as.alias("ended_as"))
        if closing.height:
            versions = nightly_finding_versions
            conn.execute(update(versions).where(versions.c.id == bindparam("version_id"))
                         .values(until_run_id=run_id, ended_as=bindparam("ending")),
                         [{"version_id": version_id, "ending": ending} for version_id, ending in closing.iter_rows()])
        opening = now.join(same.select(FINDING_COLUMNS), on=list(FINDING_COLUMNS), how="anti", nulls_equal=True)
        bulk_insert(conn, VERSIONS, opening.with_columns(pl.lit(institution).alias("institution_code"),
                                                          pl.lit(run_id, dtype=pl.Int64).alias("first_run_id")))
        conn.execute(text(query("nightly_finish_run")), {
            "run_id": run_id, "finished_at": _now(), "status": SUCCEEDED, "error": None,
            "sources_json": _sources_json(sources, reuse), "findings": findings.height,
        })
    log.info("nightly run #%d recorded: %d findings, %d new or changed versions stored, %d ended", run_id,
             findings.height, opening.height, closing.height)


def record_reuse(engine: Engine, run_id: int, findings: int, sources: dict[str, list[int]], reuse: dict) -> None:
    """A run that reused its previous run's results: its findings are the open versions already
    stored (nothing opens or ends), so only the 'succeeded' status and its sources are written."""
    with write_transaction(engine) as conn:
        conn.execute(text(query("nightly_finish_run")), {
            "run_id": run_id, "finished_at": _now(), "status": SUCCEEDED, "error": None,
            "sources_json": _sources_json(sources, reuse), "findings": findings,
        })
    log.info("nightly run #%d recorded: the %d findings of run #%s, unchanged", run_id, findings,
             reuse.get("analysed_in"))


def _sources_json(sources: dict[str, list[int]], reuse: dict | None) -> str:
    return json.dumps({**sources, **({REUSE_KEY: reuse} if reuse else {})}, sort_keys=True)


def reuse_facts(engine: Engine, run_id: int) -> dict | None:
    """What run_id recorded for reuse (its inputs' fingerprint, the run that analysed them, the
    P2E counts and what was not checked), or None (an older run, or not succeeded)."""
    with engine.connect() as conn:
        recorded = conn.execute(text("SELECT sources_json FROM nightly_runs WHERE id = :r AND status = :s"),
                                {"r": run_id, "s": SUCCEEDED}).scalar()
    return json.loads(recorded).get(REUSE_KEY) if recorded else None


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
