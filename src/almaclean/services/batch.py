"""Batch: every institution and collection of a folder tree (docs/audit.md), each job a
re-sync or a P2E clean-up writing its own run folder (an audit bundle) under
OUT/batch-<stamp>/<INSTITUTION>/. One failing job is reported and the others go on.

The jobs' concurrency is the caller's: the Prefect flow runs them as tasks (thread pool or
Dask, with retries on transient errors); run_batch's default is a plain thread pool.
A job takes the database URL, not an engine, so that it can run in another process.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from sqlalchemy import Engine

from almaclean import interrupts, settings
from almaclean.batch.summary import job_row, result_text, write_summary
from almaclean.batch.tree import RESYNC, Job, plan_tree
from almaclean.services import options
from almaclean.services.p2e import P2ERequest, run_p2e
from almaclean.services.resync import ResyncRequest, run_resync
from almaclean.store.db import open_database
from almaclean.write.atomic import publish_run_folder, safe_label
from almaclean.write.staging import staging_folder

log = logging.getLogger(__name__)

JobRunner = Callable[[list[Job], Path, str], list[dict]]
MAX_WORKERS = 64


@dataclass(frozen=True)
class BatchRun:
    folder: Path
    rows: list[dict]

    @property
    def failed(self) -> list[dict]:
        return [r for r in self.rows if r["status"] != "succeeded"]

    def lines(self) -> list[str]:
        out = [f"batch of {len(self.rows)} job(s), {len(self.failed)} failed:"]
        for row in self.rows:
            state = row["result"] if row["status"] == "succeeded" else f"FAILED: {row['error']}"
            out.append(f"  {row['institution']} {row['job']}: {state}")
        out.append(f"  outputs: {self.folder} (summary.xlsx first)")
        return out

    def as_json(self) -> dict:
        return {"command": "batch", "folder": str(self.folder), "jobs": self.rows}


def job_label(job: Job) -> str:
    return f"{job.flow}: {job.name}"


@lru_cache(maxsize=8)
def _engine(url: str) -> Engine:
    """One engine per database per process, shared by the jobs that run in it."""
    return open_database(url)


def run_job(job: Job, run: Path, db_url: str) -> dict:
    """One job into run/<institution>/; returns its summary row (raises on failure)."""
    engine = _engine(settings.database_url(db_url))
    out = run / safe_label(job.institution)
    out.mkdir(exist_ok=True)
    files = job.files
    if job.flow == RESYNC:
        folder = run_resync(engine, ResyncRequest([files["export"]], out, job.institution,
                                                  po_lines=files.get("po_lines"), mapping=files.get("mapping"))).folder
    else:
        folder = run_p2e(engine, P2ERequest(job.institution, out, portfolios=files.get("portfolios"),
                                            p2e=files.get("p2e"), po_lines=files.get("po_lines"),
                                            mapping=files.get("mapping"))).folder
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    return job_row(job.institution, job_label(job), run_folder=folder.relative_to(run).as_posix(),
                   result=result_text(job.flow, summary))


def failed_row(job: Job, exc: BaseException) -> dict:
    log.error("batch job %s %s failed: %s", job.institution, job_label(job), exc)
    return job_row(job.institution, job_label(job), error=exc)


def thread_pool(workers: int) -> JobRunner:
    """Jobs on `workers` threads; a failure becomes a failed row."""
    options.whole_number("--workers", workers, 1, MAX_WORKERS)

    def run_jobs(jobs: list[Job], run: Path, db_url: str) -> list[dict]:
        with interrupts.Workers(workers, "almaclean-job") as pool:
            futures = [pool.submit(run_job, job, run, db_url) for job in jobs]
        rows = []
        for job, future in zip(jobs, futures):
            try:
                rows.append(interrupts.result(future))
            except Exception as exc:  # reported in the summary; the other jobs are not affected
                rows.append(failed_row(job, exc))
        return rows

    return run_jobs


def run_batch(db_url: str, tree: Path, *, out: Path, run_jobs: JobRunner | None = None,
              workers: int = 4) -> BatchRun:
    """Every job of the tree; summary.xlsx and summary.json cover each one."""
    run_jobs = run_jobs or thread_pool(workers)
    options.output_folder(out)
    jobs, problems = plan_tree(Path(tree))
    with staging_folder(Path(out), "batch") as staging:
        rows = run_jobs(jobs, staging, settings.database_url(db_url)) if jobs else []
        rows += [job_row(p.institution, "tree", error=p.error) for p in problems]
        write_summary(staging, rows)
        folder = publish_run_folder(staging)
    result = BatchRun(folder, rows)
    log.info("batch %s: %d job(s), %d failed", folder, len(rows), len(result.failed))
    return result
