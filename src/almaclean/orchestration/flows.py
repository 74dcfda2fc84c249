"""Every almaclean workflow as a Prefect flow. Each opens the database once and calls its
service; nightly and batch add what Prefect is for (artifacts, concurrency, retries)."""
from __future__ import annotations

import os
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from almaclean import settings
from almaclean.errors import AlmacleanError
from almaclean.outputs.nightly_report import InstitutionRun, artifact_key, summary_rows, write_institution_report
from almaclean.orchestration import configuration
from almaclean.services import batch, nightly, options
from almaclean.services.demo import DemoRun, run_demo
from almaclean.services.fetch import FetchRequest, FetchResult, fetch_report
from almaclean.services.ingest import ingest, mapping_for
from almaclean.services.p2e import P2ERequest, P2ERun, run_p2e
from almaclean.services.resync import ResyncRequest, ResyncRun, run_resync
from almaclean.services.verify import VerifyResult, verify_run
from almaclean.store.bootstrap import open_store
from almaclean.store.ingest import IngestResult
from almaclean.write.atomic import make_folder

step = task(cache_policy=NO_CACHE)
# Told when a flow's body starts (the CLI stops its "starting Prefect" progress then).
on_flow_start: list = []


def flow_started() -> None:
    for hook in list(on_flow_start):
        hook()


class FlowFailed(AlmacleanError):
    """A flow that ran to its end with failures (failed institutions or jobs): its result is attached."""

    def __init__(self, message: str, result=None) -> None:
        super().__init__(message)
        self.result = result

    def __reduce__(self):
        return (FlowFailed, (str(self), self.result))


def _failed(exc: AlmacleanError):
    """The flow run ends Failed with this one-line message, logged once, without a traceback of
    ours. Called directly (the CLI), the flow raises exc; run by a worker from a deployment,
    nothing is attached (Prefect's engine then only says the run failed, with this message)."""
    from prefect.context import FlowRunContext
    from prefect.states import Failed

    get_run_logger().error("%s", exc)
    context = FlowRunContext.get()
    scheduled = context is not None and context.flow_run is not None and context.flow_run.deployment_id is not None
    return Failed(message=str(exc), data=None if scheduled else exc)


# The one-off commands as flow runs (--prefect): the database is $ALMACLEAN_DB_URL (the CLI sets
# it from --db for the run), else the default one, never a parameter Prefect would show.
@flow(name="almaclean-ingest")
def ingest_flow(kind: str, files: list[Path], institution: str, *, scope: str | None = None,
                mapping: Path | None = None) -> list[IngestResult]:
    flow_started()
    return ingest(open_store().engine, kind, files, institution, scope=scope, mapping=mapping)


@flow(name="almaclean-fetch")
def fetch_flow(request: FetchRequest, mapping: Path | None = None) -> FetchResult:
    """The request names where the API key is (a variable or a Secret block), never the key:
    flow parameters are recorded by Prefect (the database, likewise, comes from the environment)."""
    flow_started()
    return step(fetch_report)(open_store().engine, request, mapping=mapping_for(mapping, request.kind))


@flow(name="almaclean-p2e")
def p2e_flow(request: P2ERequest) -> P2ERun:
    flow_started()
    return step(run_p2e)(open_store().engine, request)


@flow(name="almaclean-resync")
def resync_flow(request: ResyncRequest) -> ResyncRun:
    flow_started()
    return step(run_resync)(open_store().engine, request)


@flow(name="almaclean-verify")
def verify_flow(run_folder: Path, check_ledger: bool = False) -> VerifyResult:
    """The flow run fails when the bundle does not verify. The re-run goes into
    $ALMACLEAN_RERUN_DB_URL (an empty database) when set, else a temporary one; check_ledger:
    also check bundle.json against the run ledger of the database ($ALMACLEAN_DB_URL)."""
    flow_started()
    result = verify_run(Path(run_folder), db_url=os.environ.get(settings.RERUN_DB_URL_ENV) or None,
                        ledger=open_store(read_only=True).engine if check_ledger else None)
    if not result.ok:
        raise AlmacleanError(f"{run_folder} does not verify:\n" + "\n".join(result.lines))
    return result


@flow(name="almaclean-demo")
def demo_flow(out: Path, configured_database: bool = False) -> DemoRun:
    """configured_database: into $ALMACLEAN_DB_URL (the CLI's --db), else a database of its own."""
    flow_started()
    return run_demo(Path(out), settings.database_url(None) if configured_database else None)


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
    if isinstance(exc, nightly.InstitutionFailed):
        return exc.result.transient
    return exc is not None and is_transient(exc)


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
def run_jobs(jobs: list, run: Path, db_secret_block: str | None = None) -> list[dict]:
    """Every job submitted at once to the flow's task runner; a failure becomes a failed row."""
    futures = [batch_job.with_options(task_run_name=f"{job.institution} {batch.job_label(job)}")
               .submit(job, run, db_secret_block) for job in jobs]
    rows = []
    for job, future in zip(jobs, futures):
        try:
            rows.append(future.result())
        except Exception as exc:  # reported in the summary; the other jobs are not affected
            rows.append(batch.failed_row(job, exc))
    return rows


@task(cache_policy=NO_CACHE, retries=RETRIES, retry_delay_seconds=RETRY_DELAY_SECONDS,
      retry_condition_fn=_transient_failure)
def batch_job(job, run: Path, db_secret_block: str | None = None) -> dict:
    """One batch job, its database found where it runs (a Dask worker too)."""
    return batch.run_job(job, run, configuration.database(db_secret_block).url)


@flow(name="almaclean-batch", persist_result=False)
def batch_flow(tree: Path | None = None, out: Path | None = None, db_secret_block: str | None = None,
               workers: int = 4, dask_address: str | None = None):
    """Every collection and institution of a folder tree. The database is the worker's
    $ALMACLEAN_DB_URL or the Prefect Secret block named by db_secret_block, never a parameter.
    The run ends Failed, after summary.xlsx and summary.json are written, when any job failed."""
    flow_started()
    try:
        tree = configuration.folder(tree, "tree", configuration.BATCH_ENV, "batch folder tree", must_exist=True)
        out = configuration.folder(out, "out", configuration.OUT_ENV, "output folder", must_exist=False)
        db = configuration.database(db_secret_block)
        configuration.open_checked(db)  # schema in place before jobs start in parallel
        runner = task_runner(workers, dask_address)
    except AlmacleanError as exc:
        return _failed(exc)
    result = batch.run_batch(db.url, Path(tree), out=Path(out),
                             run_jobs=lambda jobs, run, _url: run_jobs.with_options(task_runner=runner)(
                                 jobs, run, db_secret_block))
    create_table_artifact([{k: "" if v is None else v for k, v in r.items()} for r in result.rows],
                          key="batch-summary", description=f"Batch {result.folder.name}")
    if result.failed:
        return _failed(FlowFailed(f"batch {result.folder}: {len(result.failed)} of {len(result.rows)} job(s) failed: "
                                  + "; ".join(f"{r['institution']} {r['job']}: {r['error']}" for r in result.failed),
                                  result))
    return result


@task(cache_policy=NO_CACHE, retries=RETRIES, retry_delay_seconds=RETRY_DELAY_SECONDS,
      retry_condition_fn=_transient_failure)
def nightly_institution(inbox: Path, institution: str, folder: Path, lease_id: int,
                        db_secret_block: str | None = None) -> nightly.InstitutionResult:
    """One institution's night (services.nightly.run_institution), its database found where it
    runs (a Dask worker too), its files held on the nightly run's lease. Retried only on a
    transient database error."""
    engine = configuration.engine_for(configuration.database(db_secret_block).url)
    return nightly.run_institution(engine, Path(inbox), institution, Path(folder), lease_id)


@flow(name="almaclean-nightly-institutions")
def nightly_institutions(inbox: Path, jobs: list[tuple[str, Path]], lease_id: int,
                         db_secret_block: str | None = None) -> list[nightly.InstitutionResult]:
    """Each institution a task on the flow's task runner; a failed one (after its retries)
    becomes its failed result, and the others are not affected."""
    futures = [nightly_institution.with_options(task_run_name=f"nightly {code}")
               .submit(inbox, code, folder, lease_id, db_secret_block) for code, folder in jobs]
    results = []
    for (code, folder), future in zip(jobs, futures):
        try:
            results.append(future.result())
        except nightly.InstitutionFailed as failed:
            results.append(failed.result)
        except Exception as exc:  # the task itself could not run (a worker lost): reported as failed
            run = InstitutionRun(code, "failed", Path(folder).name, error=f"{type(exc).__name__}: {exc}")
            make_folder(Path(folder))
            results.append(nightly.InstitutionResult(run, write_institution_report(Path(folder), run, None)))
    for result in results:
        create_markdown_artifact(result.markdown, key=artifact_key(result.run.institution),
                                 description=f"Nightly P2E detection of {result.run.institution}: {result.run.status}")
    return results


@flow(name="almaclean-nightly", persist_result=False)
def nightly_flow(inbox: Path | None = None, institutions: list[str] | None = None, out: Path | None = None,
                 db_secret_block: str | None = None, workers: int = 1, dask_address: str | None = None):
    """Nightly P2E detection of every institution of the inbox (docs/nightly.md), one task each.
    The database is the worker's $ALMACLEAN_DB_URL or the Prefect Secret block named by
    db_secret_block, never a parameter; inbox and out, when not given, the worker's
    $ALMACLEAN_INBOX and $ALMACLEAN_OUT. The configuration is checked first (one line saying what
    to set); two runs never work on one database at once. The run ends Failed, after every
    report is written, when any institution failed."""
    flow_started()
    try:
        inbox = configuration.folder(inbox, "inbox", configuration.INBOX_ENV, "inbox", must_exist=True)
        out = configuration.folder(out, "out", configuration.OUT_ENV, "output folder", must_exist=False)
        db = configuration.database(db_secret_block)
        engine = configuration.open_checked(db)
        runner = task_runner(workers, dask_address)
    except AlmacleanError as exc:
        return _failed(exc)
    get_run_logger().info("nightly: inbox %s, output %s, database %s (from %s)", inbox, out, db.name, db.source)
    try:
        result = nightly.run_nightly(engine, inbox, out=out, institutions=institutions,
                                     run_institutions=lambda jobs, lease_id: nightly_institutions.with_options(
                                         task_runner=runner)(inbox, jobs, lease_id, db_secret_block))
    except AlmacleanError as exc:  # the nightly lock held by another run, an empty inbox
        return _failed(exc)
    create_markdown_artifact("\n".join(result.lines()), key="nightly-run",
                             description=f"Nightly P2E detection {result.folder.name}")
    create_table_artifact([{k: "" if v is None else v for k, v in row.items()} for row in summary_rows(result.runs)],
                          key="nightly-summary", description=f"Nightly P2E detection {result.folder.name}")
    if result.failed:
        return _failed(FlowFailed(f"nightly run {result.folder}: {len(result.failed)} of {len(result.runs)} "
                                  "institution(s) failed: "
                                  + "; ".join(f"{r.institution}: {r.error}" for r in result.failed), result))
    return result
