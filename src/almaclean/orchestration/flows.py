"""Every almaclean workflow as a Prefect flow. Each opens the database once and calls its
service; nightly and batch add what Prefect is for (artifacts, concurrency, retries)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from almaclean.errors import AlmacleanError
from almaclean.nightly.report import InstitutionRun, artifact_key, summary_rows
from almaclean.services import batch, nightly, options
from almaclean.services.demo import DemoRun, run_demo
from almaclean.services.fetch import FetchRequest, FetchResult, fetch_report
from almaclean.services.ingest import ingest, mapping_for
from almaclean.services.p2e import P2ERequest, P2ERun, run_p2e
from almaclean.services.resync import ResyncRequest, ResyncRun, run_resync
from almaclean.services.verify import VerifyResult, verify_run
from almaclean.store.db import open_database
from almaclean.store.ingest import IngestResult

step = task(cache_policy=NO_CACHE)


@flow(name="almaclean-ingest")
def ingest_flow(kind: str, files: list[Path], institution: str, *, scope: str | None = None,
                mapping: Path | None = None, db_url: str | None = None) -> list[IngestResult]:
    return ingest(open_database(db_url), kind, files, institution, scope=scope, mapping=mapping)


@flow(name="almaclean-fetch")
def fetch_flow(request: FetchRequest, mapping: Path | None = None, db_url: str | None = None) -> FetchResult:
    """The request names where the API key is (a variable or a Secret block), never the key:
    flow parameters are recorded by Prefect."""
    return step(fetch_report)(open_database(db_url), request, mapping=mapping_for(mapping, request.kind))


@flow(name="almaclean-p2e")
def p2e_flow(request: P2ERequest, db_url: str | None = None) -> P2ERun:
    return step(run_p2e)(open_database(db_url), request)


@flow(name="almaclean-resync")
def resync_flow(request: ResyncRequest, db_url: str | None = None) -> ResyncRun:
    return step(run_resync)(open_database(db_url), request)


@flow(name="almaclean-verify")
def verify_flow(run_folder: Path, db_url: str | None = None, ledger_url: str | None = None) -> VerifyResult:
    """The flow run fails when the bundle does not verify. db_url: the re-run's (empty)
    database; ledger_url: the database the run was made with."""
    result = verify_run(Path(run_folder), db_url=db_url,
                        ledger=open_database(ledger_url, read_only=True) if ledger_url else None)
    if not result.ok:
        raise AlmacleanError(f"{run_folder} does not verify:\n" + "\n".join(result.lines))
    return result


@flow(name="almaclean-demo")
def demo_flow(out: Path, db_url: str | None = None) -> DemoRun:
    return run_demo(Path(out), db_url)


def _artifact(run: InstitutionRun, markdown: str) -> None:
    create_markdown_artifact(markdown, key=artifact_key(run.institution),
                             description=f"Nightly P2E detection of {run.institution}: {run.status}")


@flow(name="almaclean-nightly")
def nightly_flow(inbox: Path, institutions: list[str] | None = None, out: Path = Path("out"),
                 db_url: str | None = None) -> Path:
    """The flow run ends Failed, after every report is written, when any institution failed."""
    result = nightly.run_nightly(open_database(db_url), Path(inbox), out=Path(out), institutions=institutions,
                                 on_report=_artifact)
    create_table_artifact([{k: "" if v is None else v for k, v in row.items()} for row in summary_rows(result.runs)],
                          key="nightly-summary", description=f"Nightly P2E detection {result.folder.name}")
    if result.failed:
        raise AlmacleanError(f"nightly run {result.folder}: {len(result.failed)} of {len(result.runs)} "
                             "institution(s) failed: " + "; ".join(f"{r.institution}: {r.error}" for r in result.failed))
    return result.folder


RETRIES, RETRY_DELAY_SECONDS = 2, 3


def _transient_failure(task, task_run, state) -> bool:
    """retry_condition_fn: retry only what a retry can fix (almaclean.batch.summary.is_transient)."""
    from almaclean.batch.summary import is_transient

    exc = state.data if isinstance(state.data, BaseException) else None
    if exc is None:
        try:
            state.result()
        except BaseException as raised:  # the state's exception, however it is stored
            exc = raised
    return exc is not None and is_transient(exc)


run_job = task(batch.run_job, cache_policy=NO_CACHE, retries=RETRIES, retry_delay_seconds=RETRY_DELAY_SECONDS,
               retry_condition_fn=_transient_failure)


def task_runner(workers: int, dask_address: str | None):
    from prefect.task_runners import ThreadPoolTaskRunner

    if dask_address:
        try:
            from prefect_dask import DaskTaskRunner
        except ImportError as exc:
            raise AlmacleanError("--dask needs prefect-dask: install the optional extra almaclean[dask]") from exc
        return DaskTaskRunner(address=dask_address)
    options.positive("--workers", workers)
    return ThreadPoolTaskRunner(max_workers=workers)


@flow(name="almaclean-batch-jobs")
def run_jobs(jobs: list, run: Path, db_url: Any) -> list[dict]:
    """Every job submitted at once to the flow's task runner; a failure becomes a failed row.
    db_url is a string or SQLAlchemy URL object: the default SQLite file's URL has no string
    form when its folder name holds '#', '?' or '%'."""
    futures = [run_job.with_options(task_run_name=f"{job.institution} {batch.job_label(job)}").submit(job, run, db_url)
               for job in jobs]
    rows = []
    for job, future in zip(jobs, futures):
        try:
            rows.append(future.result())
        except Exception as exc:  # reported in the summary; the other jobs are not affected
            rows.append(batch.failed_row(job, exc))
    return rows


@flow(name="almaclean-batch")
def batch_flow(tree: Path, out: Path = Path("out"), db_url: str | None = None, workers: int = 4,
               dask_address: str | None = None) -> Path:
    """The flow run ends Failed, after summary.xlsx and summary.json are written, when any job failed."""
    runner = task_runner(workers, dask_address)
    open_database(db_url).dispose()  # schema in place before jobs start in parallel
    result = batch.run_batch(db_url, Path(tree), out=Path(out),
                             run_jobs=lambda jobs, run, url: run_jobs.with_options(task_runner=runner)(jobs, run, url))
    create_table_artifact([{k: "" if v is None else v for k, v in r.items()} for r in result.rows],
                          key="batch-summary", description=f"Batch {result.folder.name}")
    if result.failed:
        raise AlmacleanError(f"batch {result.folder}: {len(result.failed)} of {len(result.rows)} job(s) failed: "
                             + "; ".join(f"{r['institution']} {r['job']}: {r['error']}" for r in result.failed))
    return result.folder
