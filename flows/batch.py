"""`almaclean batch TREE`: every institution and collection of a tree, concurrently (issue 5).

Jobs (almaclean.batch.tree) run as Prefect tasks on a thread pool (or a Dask cluster with
--dask ADDRESS, prefect-dask being the optional extra almaclean[dask]); each runs the resync or
P2E flow and writes its own run folder (an audit bundle) under OUT/batch-<stamp>/<INSTITUTION>/.
One failing job is reported and the others go on; a job retries twice on a transient I/O or
database error, never on bad input. summary.xlsx and summary.json cover every job; the flow
raises at the end, after writing them, when any job failed."""
from __future__ import annotations

import json
import logging
from pathlib import Path

from prefect import flow, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.task_runners import ThreadPoolTaskRunner

from almaclean.batch.summary import is_transient, job_row, result_text, write_summary
from almaclean.batch.tree import RESYNC, Job, TreeProblem, plan_tree
from almaclean.errors import AlmacleanError
from almaclean.write.atomic import new_run_folder, safe_label

log = logging.getLogger(__name__)

RETRIES, RETRY_DELAY_SECONDS = 2, 3


def _transient_failure(task, task_run, state) -> bool:
    """retry_condition_fn: retry only what a retry can fix (almaclean.batch.summary.is_transient)."""
    exc = state.data if isinstance(state.data, BaseException) else None
    if exc is None:
        try:
            state.result()
        except BaseException as raised:  # the state's exception, however it is stored
            exc = raised
    return exc is not None and is_transient(exc)


io_task = task(cache_policy=NO_CACHE, retries=RETRIES, retry_delay_seconds=RETRY_DELAY_SECONDS,
               retry_condition_fn=_transient_failure)


def job_label(job: Job) -> str:
    return f"{job.flow}: {job.name}"


@io_task
def discover(tree: Path) -> tuple[list[Job], list[TreeProblem]]:
    return plan_tree(tree)


@io_task
def run_job(job: Job, run: Path, db_url: str | None) -> dict:
    """One job's flow into run/<institution>/; returns its summary row."""
    from flows.p2e import p2e_flow
    from flows.resync import resync_flow

    out = run / safe_label(job.institution)
    out.mkdir(exist_ok=True)
    files = job.files
    if job.flow == RESYNC:
        folder = resync_flow([files["export"]], po_lines=files.get("po_lines"), institution=job.institution,
                             out=out, db_url=db_url)
    else:
        folder = p2e_flow(portfolios=files.get("portfolios"), p2e=files.get("p2e"), po_lines=files.get("po_lines"),
                          institution=job.institution, out=out, db_url=db_url, mapping=files.get("mapping"))
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    return job_row(job.institution, job_label(job), run_folder=folder.relative_to(run).as_posix(),
                   result=result_text(job.flow, summary))


@flow(name="almaclean-batch-jobs")
def run_jobs(jobs: list[Job], run: Path, db_url: str | None) -> list[dict]:
    """Every job submitted at once to the flow's task runner; a failure becomes a failed row."""
    futures = [run_job.with_options(task_run_name=f"{job.institution} {job_label(job)}").submit(job, run, db_url)
               for job in jobs]
    rows = []
    for job, future in zip(jobs, futures):
        try:
            rows.append(future.result())
        except Exception as exc:  # reported in the summary; the other jobs are not affected
            log.error("batch job %s %s failed: %s", job.institution, job_label(job), exc)
            rows.append(job_row(job.institution, job_label(job), error=exc))
    return rows


def task_runner(workers: int, dask_address: str | None):
    if dask_address:
        try:
            from prefect_dask import DaskTaskRunner
        except ImportError as exc:
            raise AlmacleanError("--dask needs prefect-dask: install the optional extra almaclean[dask]") from exc
        return DaskTaskRunner(address=dask_address)
    if workers < 1:
        raise AlmacleanError("--workers must be at least 1")
    return ThreadPoolTaskRunner(max_workers=workers)


@flow(name="almaclean-batch")
def batch_flow(tree: Path, *, out: Path = Path("out"), db_url: str | None = None, workers: int = 4,
               dask_address: str | None = None) -> Path:
    """Run every job of the tree; returns OUT/batch-<stamp>/ (summary + one folder per institution)."""
    runner = task_runner(workers, dask_address)
    jobs, problems = discover(Path(tree))
    run = new_run_folder(Path(out), "batch")
    rows = run_jobs.with_options(task_runner=runner)(jobs, run, db_url) if jobs else []
    rows += [job_row(p.institution, "tree", error=p.error) for p in problems]
    write_summary(run, rows)
    create_table_artifact([{k: "" if v is None else v for k, v in r.items()} for r in rows], key="batch-summary",
                          description=f"Batch {run.name}")
    failed = [r for r in rows if r["status"] != "succeeded"]
    log.info("batch %s: %d job(s), %d failed", run, len(rows), len(failed))
    if failed:
        raise AlmacleanError(f"batch {run}: {len(failed)} of {len(rows)} job(s) failed: "
                             + "; ".join(f"{r['institution']} {r['job']}: {r['error']}" for r in failed))
    return run
