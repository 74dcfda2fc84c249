"""Nightly as a real Prefect flow: its configuration checked first (one line saying what to set),
one task per institution (retried on a transient database error only, failures isolated),
an artifact per institution and one for the run, two runs never at once on one database;
and the command's closing lines (read, decided, not checked, wrote, next), agreeing with
`almaclean p2e` on the same data, with progress while Prefect starts."""
from __future__ import annotations

import re

import shutil

import pytest
from sqlalchemy.exc import OperationalError

from almaclean.cli import main
from almaclean.invocation import command_line
from almaclean.store import nightly_history as history
from almaclean.orchestration.configuration import ConfigurationError
from almaclean.sample.generator import generate
from almaclean.services import nightly as nightly_service
from almaclean.store.db import open_database
from conftest import sqlite_url


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    folder = tmp_path_factory.mktemp("nightly-sample")
    generate(folder, seed=9, scale=0.1)
    return folder


def inbox_of(sample, root, codes=("EDU01",)):
    for code in codes:
        for name in ("portfolios.csv", "p2e.txt", "po_lines.csv"):
            (root / code).mkdir(parents=True, exist_ok=True)
            shutil.copyfile(sample / name, root / code / name)
    return root


@pytest.mark.parametrize("setting,value,said", [
    ("inbox", None, "no inbox: set ALMACLEAN_INBOX in the worker's environment, or the flow's inbox parameter"),
    ("inbox", "{{ $ALMACLEAN_INBOX }}", "placeholder for $ALMACLEAN_INBOX, which was not set when the deployment "
                                        "was made: set ALMACLEAN_INBOX and run `prefect deploy` again"),
    ("inbox", "/nonexistent/inbox", "inbox /nonexistent/inbox is not a folder"),
    ("db", "/srv/almaclean.db", "$ALMACLEAN_DB_URL of the worker is not a database URL"),
    ("db", "postgresql+psycopg://almaclean@127.0.0.1:1/almaclean",
     "cannot reach the database server postgresql+psycopg://almaclean@127.0.0.1:1/almaclean: "),
    ("secret", "no-such-block", "no Prefect Secret block named 'no-such-block'"),
])
def test_the_flow_checks_its_configuration_first_and_says_in_one_line_what_to_set(
        prefect_server, tmp_path, monkeypatch, setting, value, said):
    from almaclean.orchestration.flows import nightly_flow

    monkeypatch.delenv("ALMACLEAN_INBOX", raising=False)
    (tmp_path / "inbox" / "EDU01").mkdir(parents=True)
    kwargs = {"inbox": tmp_path / "inbox", "out": tmp_path / "out"}
    if setting == "inbox":
        kwargs["inbox"] = value
    elif setting == "db":
        monkeypatch.setenv("ALMACLEAN_DB_URL", value)
    else:
        kwargs["db_secret_block"] = value
    with pytest.raises(ConfigurationError) as refused:
        nightly_flow(**kwargs)
    assert said in str(refused.value) and "\n" not in str(refused.value)
    assert refused.value.exit_code == 2
    assert not (tmp_path / "out").exists()


def test_a_database_waiting_for_db_upgrade_stops_the_flow_before_anything(prefect_server, tmp_path, monkeypatch):
    from almaclean.orchestration.flows import nightly_flow
    from conftest import upgraded_to

    url = sqlite_url(tmp_path)
    engine = upgraded_to(url, "0008")
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO institutions VALUES ('EDU01', 't')")
        conn.exec_driver_sql("INSERT INTO nightly_runs (institution_code, started_at, tool_version, status) "
                             "VALUES ('EDU01', 't', 'v', 'succeeded')")
    monkeypatch.setenv("ALMACLEAN_DB_URL", url)
    (tmp_path / "inbox" / "EDU01").mkdir(parents=True)
    with pytest.raises(ConfigurationError, match="needs `almaclean db upgrade`"):
        nightly_flow(tmp_path / "inbox", out=tmp_path / "out")


def test_the_database_comes_from_a_prefect_secret_block(prefect_server, sample, tmp_path, monkeypatch):
    from prefect.blocks.system import Secret

    from almaclean.orchestration.flows import nightly_flow

    url = sqlite_url(tmp_path, "secret.db")
    Secret(value=url).save("almaclean-test-db", overwrite=True)
    monkeypatch.setenv("ALMACLEAN_DB_URL", "/not/a/url")  # the Secret block wins
    result = nightly_flow(inbox_of(sample, tmp_path / "inbox"), out=tmp_path / "out",
                          db_secret_block="almaclean-test-db")
    assert [r["status"] for r in history.runs(open_database(url), "EDU01")] == ["succeeded"]
    assert result.results[0].run.status == "succeeded"


def test_one_task_per_institution_retries_only_a_transient_error(prefect_server, sample, tmp_path, monkeypatch):
    """EDU01 meets a locked database once (retried, then succeeds); BAD02 has a bad file (no
    retry, reported); EDU03 is not affected. Each has its artifact, and the run one more."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
    from prefect.utilities.asyncutils import run_coro_as_sync

    from almaclean.errors import AlmacleanError
    from almaclean.orchestration.flows import nightly_flow

    inbox = inbox_of(sample, tmp_path / "inbox", ("EDU01", "EDU03"))
    (inbox / "BAD02" / "p2e").mkdir(parents=True)
    (inbox / "BAD02" / "p2e" / "p2e.txt").write_text("EDU01000100000,portfolio\nEDU01000100004,journal\n",
                                                     encoding="utf-8")
    url = sqlite_url(tmp_path)
    monkeypatch.setenv("ALMACLEAN_DB_URL", url)
    attempts = {}
    real = nightly_service.ingest_inbox

    def flaky(engine, folder, institution, **options):
        attempts[institution] = attempts.get(institution, 0) + 1
        if institution == "EDU01" and attempts[institution] == 1:
            raise OperationalError("INSERT", {}, Exception("database is locked"))
        return real(engine, folder, institution, **options)

    monkeypatch.setattr(nightly_service, "ingest_inbox", flaky)
    monkeypatch.setattr("almaclean.orchestration.flows.RETRY_DELAY_SECONDS", 0)
    with pytest.raises(AlmacleanError, match=r"1 of 3 institution\(s\) failed: BAD02: .*journal") as failed:
        nightly_flow(inbox, out=tmp_path / "out", workers=2)
    assert attempts == {"EDU01": 2, "BAD02": 1, "EDU03": 1}
    result = failed.value.result
    assert {r.run.institution: r.run.status for r in result.results} == {
        "BAD02": "failed", "EDU01": "succeeded", "EDU03": "succeeded"}
    engine = open_database(url)
    assert [r["status"] for r in history.runs(engine, "EDU01")] == ["failed", "succeeded"]  # the attempt, the retry

    async def artifacts():
        async with get_client() as client:
            found = await client.read_artifacts()
            runs = await client.read_flow_runs(flow_run_filter=FlowRunFilter(
                id=FlowRunFilterId(any_=list({a.flow_run_id for a in found if a.flow_run_id}))))
            tasks = await client.read_task_runs()
        return found, runs, tasks

    found, _, tasks = run_coro_as_sync(artifacts())
    keys = {a.key for a in found}
    assert {"nightly-edu01", "nightly-bad02", "nightly-edu03", "nightly-run", "nightly-summary"} <= keys
    nightly_tasks = [t for t in tasks if t.name.startswith("nightly ")]
    assert {t.name for t in nightly_tasks} >= {"nightly EDU01", "nightly BAD02", "nightly EDU03"}


def test_two_nightly_runs_never_work_on_one_database_at_once(db_url, sample, tmp_path):
    from almaclean.store.locks import Locked, exclusive

    engine = open_database(db_url)
    inbox = inbox_of(sample, tmp_path / "inbox")
    with exclusive(engine, "nightly"):
        with pytest.raises(Locked, match="another nightly run is working on the database .*: this run did nothing"):
            nightly_service.run_nightly(open_database(db_url), inbox, out=tmp_path / "out")
    assert history.runs(engine, "EDU01") == [] and not (tmp_path / "out").exists()
    nightly_service.run_nightly(engine, inbox, out=tmp_path / "out")  # once the first is done
    assert [r["status"] for r in history.runs(engine, "EDU01")] == ["succeeded"]


def test_nightly_closing_lines_say_what_was_read_decided_not_checked_written_and_next(
        prefect_server, sample, tmp_path, capsys):
    """And the relink count is `almaclean p2e`'s on the same data: a P2E portfolio whose PO line
    waits on its review is counted with the review, in both."""
    inbox = inbox_of(sample, tmp_path / "inbox")
    (inbox / "BAD02").mkdir()
    (inbox / "BAD02" / "p2e.txt").write_text("EDU01000100000,portfolio\nEDU01000100004,journal\n", encoding="utf-8")
    url = sqlite_url(tmp_path)
    assert main(["nightly", str(inbox), "--db", url, "--out", str(tmp_path / "out")]) == 1
    captured = capsys.readouterr()
    out = captured.out
    assert "nightly P2E detection of 2 institution(s), 1 failed:" in out
    assert "EDU01: read portfolios.csv (" in out and "p2e.txt (" in out and "rows, stored)" in out
    assert "BAD02" in out and "FAILED: " in out and "journal" in out
    assert "not checked: " in out   # the sample's portfolio export has no Publication Date column
    assert "changes: first run, every finding is new" in out
    assert "wrote EDU01/report.md, EDU01/changes.csv, EDU01/p2e/" in out
    assert "next: read the new findings in EDU01/report.md" in out
    again = command_line("nightly", str(inbox), "--institution", "BAD02", "--db", url)   # on the same database
    assert f"next: fix what each FAILED line says, then run {again}" in out
    # progress while Prefect's server is made ready (no $PREFECT_API_URL here)
    assert "starting Prefect's temporary server" in captured.err and "started in" in captured.err

    decided = next(line for line in out.splitlines() if "decided:" in line).split("decided: ", 1)[1]
    assert main(["p2e", "--institution", "EDU01", "--db", url, "--out", str(tmp_path / "p2e")]) == 0
    p2e_out = capsys.readouterr().out
    assert decided in p2e_out
    (run,) = (tmp_path / "out").glob("nightly-*")
    findings = history.run_findings(open_database(url), history.runs(open_database(url), "EDU01")[0]["id"])
    relink_findings = findings.filter(findings["outcome"] == "pol_relink").height
    review_findings = findings.filter(findings["outcome"] == "review").height
    # the partition: relinks ready are the pol_relink findings; a blocked relink's finding is a review
    ready, blocked, review = (int(re.search(rf"([\d,]+) {words}", decided).group(1).replace(",", ""))
                              for words in ("PO line relinks ready", "PO line relinks blocked", "to review"))
    assert (relink_findings, review_findings) == (ready, blocked + review)
