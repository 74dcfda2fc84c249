"""Batch runs: a tree of two institutions where one collection export is corrupt: the other
jobs finish (each a verifiable bundle) and the summary names the bad one."""
from __future__ import annotations

import json
import os
import shutil
import sqlite3
from pathlib import Path

import pytest

from almaclean.batch.summary import is_transient, job_row
from almaclean.batch.tree import P2E, RESYNC, plan_tree
from almaclean.errors import AlmacleanError, InputError
from almaclean.read.table import read_table


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    from almaclean.sample.generator import generate

    return generate(tmp_path_factory.mktemp("sample"), seed=5, scale=0.04, ee_rows=50)


def _place(source: Path, target: Path, mtime: int = 1_700_000_000) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    os.utime(target, (mtime, mtime))
    return target


def _tree(sample, root: Path) -> tuple[Path, str]:
    """EDU01: two exports (the second truncated), portfolios, P2E and PO lines; EDU02: one export
    and the P2E pair. Returns the tree and the corrupt export's name."""
    first, second = sample.extended_exports[:2]
    _place(sample.out_dir / first, root / "EDU01" / first)
    corrupt = root / "EDU01" / "extended-export" / second
    corrupt.parent.mkdir(parents=True)
    data = (sample.out_dir / second).read_bytes()
    corrupt.write_bytes(data[: len(data) // 2])
    _place(sample.path("portfolios"), root / "EDU01" / "portfolios" / "all_portfolios.csv")
    _place(sample.path("p2e"), root / "EDU01" / "p2e" / "p2e.txt")
    _place(sample.path("po_lines"), root / "EDU01" / "po_lines.csv")
    _place(sample.out_dir / first, root / "EDU02" / first)
    _place(sample.path("portfolios"), root / "EDU02" / "EDU02 portfolios.csv")
    _place(sample.path("p2e"), root / "EDU02" / "EDU02 p2e.txt")
    return root, second


def test_tree_jobs_follow_the_inbox_rules(sample, tmp_path):
    tree, corrupt = _tree(sample, tmp_path / "tree")
    (tmp_path / "tree" / "EDU03").mkdir()
    (tmp_path / "tree" / "EDU03" / "notes.docx").write_bytes(b"x")
    # An older portfolio export of EDU02: the newest one is the job's input.
    _place(sample.path("portfolios"), tree / "EDU02" / "portfolios" / "old.csv", mtime=1_600_000_000)

    jobs, problems = plan_tree(tree)
    assert sorted((j.institution, j.flow, j.name) for j in jobs) == sorted([
        ("EDU01", RESYNC, sample.extended_exports[0].removesuffix("_portfolios.xlsx").replace("+", " ")),
        ("EDU01", RESYNC, corrupt.removesuffix("_portfolios.xlsx").replace("+", " ")),
        ("EDU01", P2E, P2E), ("EDU02", RESYNC, sample.extended_exports[0].removesuffix("_portfolios.xlsx")
                                 .replace("+", " ")), ("EDU02", P2E, P2E)])
    p2e_jobs = {j.institution: j for j in jobs if j.flow == P2E}
    assert p2e_jobs["EDU01"].files["po_lines"].name == "po_lines.csv"
    assert p2e_jobs["EDU02"].files["portfolios"].name == "EDU02 portfolios.csv"
    assert all(j.files.get("po_lines") for j in jobs if j.institution == "EDU01")
    assert [p.institution for p in problems] == ["EDU03"]
    assert isinstance(problems[0].error, InputError) and "notes.docx" in str(problems[0].error)


def test_only_transient_errors_are_retried():
    assert is_transient(OSError(5, "Input/output error"))
    assert is_transient(sqlite3.OperationalError("database is locked")) is False  # DB-API, not SQLAlchemy
    from sqlalchemy.exc import OperationalError

    assert is_transient(OperationalError("INSERT", {}, sqlite3.OperationalError("database is locked")))
    assert not is_transient(InputError("bad cell", file="x.xlsx", row=3, column="MMS"))
    assert not is_transient(FileNotFoundError("gone"))
    assert not is_transient(ValueError("a bug"))
    from prefect.states import Failed

    from almaclean.orchestration.flows import _transient_failure

    assert _transient_failure(None, None, Failed(data=OSError(5, "Input/output error")))
    assert not _transient_failure(None, None, Failed(data=InputError("truncated", file="x.xlsx")))
    row = job_row("EDU01", "resync: X", error=InputError("bad cell", file="/share/x.xlsx", row=3, column="MMS"))
    assert (row["status"], row["error_file"], row["error_row"], row["error_column"]) == ("failed", "x.xlsx", 3, "MMS")


def test_batch_with_a_corrupt_collection_finishes_the_rest(prefect_server, sample, tmp_path, monkeypatch):
    from almaclean.orchestration.flows import batch_flow
    from almaclean.services.verify import verify_run

    tree, corrupt = _tree(sample, tmp_path / "tree")
    db = f"sqlite:///{tmp_path / 'batch.db'}"
    monkeypatch.setenv("ALMACLEAN_DB_URL", db)  # the worker's environment: never a flow parameter
    with pytest.raises(AlmacleanError, match=r"1 of 5 job\(s\) failed") as raised:
        batch_flow(tree, out=tmp_path / "out", workers=3)
    assert corrupt in str(raised.value)

    (run,) = (tmp_path / "out").glob("batch-*")
    rows = json.loads((run / "summary.json").read_text(encoding="utf-8"))["jobs"]
    assert [(r["institution"], r["status"]) for r in rows].count(("EDU01", "succeeded")) == 2
    failed = [r for r in rows if r["status"] == "failed"]
    assert len(failed) == 1 and failed[0]["institution"] == "EDU01"
    assert failed[0]["error_file"] == corrupt and corrupt in failed[0]["error"]
    for row in rows:
        if row["status"] == "succeeded":
            assert (run / row["run_folder"] / "bundle.json").is_file()
            assert row["result"]
    p2e_rows = [r for r in rows if r["job"] == "p2e: p2e"]
    assert [r["institution"] for r in p2e_rows] == ["EDU01", "EDU02"]
    assert "deletion_candidates" in p2e_rows[0]["result"]

    sheet = read_table(run / "summary.xlsx")
    assert sheet.header[:3] == ("institution", "job", "status")
    assert sorted(sheet.frame["c2"].to_list()) == ["failed"] + ["succeeded"] * 4

    # A bundle written inside a concurrent batch verifies on its own.
    resync_row = next(r for r in rows if r["institution"] == "EDU02" and r["job"].startswith("resync"))
    result = verify_run(run / resync_row["run_folder"])
    assert result.ok, result.lines


def test_dask_runner_needs_the_optional_extra():
    import importlib.util

    from almaclean.orchestration.flows import task_runner

    if importlib.util.find_spec("prefect_dask") is None:
        with pytest.raises(AlmacleanError, match=r"almaclean\[dask\]"):
            task_runner(4, "tcp://127.0.0.1:8786")
    else:
        assert type(task_runner(4, "tcp://127.0.0.1:8786")).__name__ == "DaskTaskRunner"
    assert task_runner(2, None)._max_workers == 2
    with pytest.raises(AlmacleanError, match="--workers"):
        task_runner(0, None)


def test_batch_service_without_prefect_reports_the_failed_job(sample, tmp_path):
    """The service runs the same jobs on a plain thread pool: the failure is a row, not a crash."""
    from almaclean.services.batch import run_batch

    tree, corrupt = _tree(sample, tmp_path / "tree")
    result = run_batch(f"sqlite:///{tmp_path / 'batch.db'}", tree, out=tmp_path / "out", workers=2)
    assert [r["error_file"] for r in result.failed] == [corrupt]
    assert sum(r["status"] == "succeeded" for r in result.rows) == 4
    assert result.folder.parent == tmp_path / "out" and (result.folder / "summary.xlsx").is_file()
    assert not list((tmp_path / "out").glob(".*partial"))
    assert any(corrupt in line for line in result.lines())


def _outputs(run: Path, rows: list[dict]) -> dict[tuple[str, str], dict[str, bytes]]:
    """Each succeeded job's output files (all but bundle.json, which holds its run id and paths)."""
    found = {}
    for row in rows:
        if row["status"] == "succeeded":
            folder = run / row["run_folder"]
            found[(row["institution"], row["job"])] = {
                p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
                if p.is_file() and p.name != "bundle.json"}
    return found


def test_batch_on_a_dask_cluster_of_worker_processes_equals_the_thread_pool_run(prefect_server, sample, tmp_path,
                                                                               db_url, monkeypatch):
    """A real distributed.LocalCluster with two worker processes: every output equals the
    thread-pool run's byte for byte, and the corrupt export fails alone."""
    distributed = pytest.importorskip("distributed")
    pytest.importorskip("prefect_dask")
    from prefect.settings import PREFECT_API_URL

    from almaclean.orchestration.flows import batch_flow
    from almaclean.services.batch import run_batch

    tree, corrupt = _tree(sample, tmp_path / "tree")
    threads = run_batch(f"sqlite:///{tmp_path / 'threads.db'}", tree, out=tmp_path / "threads", workers=2)
    monkeypatch.setenv("PREFECT_API_URL", PREFECT_API_URL.value())  # the worker processes report there
    monkeypatch.setenv("ALMACLEAN_DB_URL", db_url)  # and find the database in their environment
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with pytest.raises(AlmacleanError, match=r"1 of 5 job\(s\) failed"):
            batch_flow(tree, out=tmp_path / "dask", dask_address=cluster.scheduler_address)
    (run,) = (tmp_path / "dask").glob("batch-*")
    rows = json.loads((run / "summary.json").read_text(encoding="utf-8"))["jobs"]
    assert [r["error_file"] for r in rows if r["status"] == "failed"] == [corrupt]
    dask_outputs, thread_outputs = _outputs(run, rows), _outputs(threads.folder, threads.rows)
    assert len(dask_outputs) == 4 and dask_outputs.keys() == thread_outputs.keys()
    for job, files in dask_outputs.items():
        assert files == thread_outputs[job], job
