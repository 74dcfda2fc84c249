"""The Prefect side, on a temporary API: one-off commands run as flow runs with --prefect and
give the service's result; a Prefect start-up failure is one plain line."""
from __future__ import annotations

import pytest

from almaclean.cli import _prefect_hint, main
from almaclean.sample.generator import generate
from conftest import sqlite_url


def test_prefect_option_runs_p2e_as_a_flow_run_with_the_same_outputs(prefect_server, tmp_path, capsys, monkeypatch):
    """The flow run gives the same outputs, and runs on the database the command opened: one
    open per database per command (store.bootstrap), every engine disposed at the end."""
    from almaclean.store import bootstrap

    opened, disposed = [], []
    real_open = bootstrap.open_database

    def counting_open(url=None, **kwargs):
        engine = real_open(url, **kwargs)
        opened.append(str(url))
        real_dispose = engine.dispose
        monkeypatch.setattr(engine, "dispose", lambda *a, **k: (disposed.append(str(url)), real_dispose(*a, **k)))
        return engine

    monkeypatch.setattr(bootstrap, "open_database", counting_open)
    sample = tmp_path / "sample"
    generate(sample, seed=6, scale=0.05)
    args = ["p2e", "--portfolios", str(sample / "portfolios.csv"), "--p2e", str(sample / "p2e.txt"),
            "--po-lines", str(sample / "po_lines.csv"), "--institution", "EDU01"]
    assert main([*args, "--db", sqlite_url(tmp_path, "plain.db"), "--out", str(tmp_path / "plain")]) == 0
    assert main(["--prefect", *args, "--db", sqlite_url(tmp_path, "flow.db"), "--out", str(tmp_path / "flow")]) == 0
    assert opened == [sqlite_url(tmp_path, "plain.db"), sqlite_url(tmp_path, "flow.db")]
    assert disposed == opened
    assert "P2E clean-up of EDU01" in capsys.readouterr().out
    (plain,) = (tmp_path / "plain").glob("p2e-*")
    (flow,) = (tmp_path / "flow").glob("p2e-*")
    for name in ("deletion_candidates.csv", "pol_relinks.csv", "review.csv", "groups.csv"):
        assert (plain / name).read_bytes() == (flow / name).read_bytes(), name


@pytest.mark.parametrize("error,hint", [
    (RuntimeError("Timed out while attempting to connect to ephemeral Prefect API server."),
     "temporary server did not start in time"),
    (RuntimeError("Failed to reach API at http://127.0.0.1:4200/api/"), "does not answer"),
    (ValueError("a bug"), None),
])
def test_prefect_start_up_failures_become_one_line_with_what_to_do(error, hint):
    said = _prefect_hint(error)
    assert (said is None) if hint is None else (hint in said and "\n" not in said)


def test_bad_input_in_a_flow_run_is_still_exit_2_naming_file_row_and_column(prefect_server, tmp_path, capsys):
    bad = tmp_path / "export.csv"
    bad.write_text("Portfolio Id,MMS Id,Title\n5312345678903681,9912345678903681,Fine\n"
                   "5312345678903682,9.97704E+15,Corrupted by Excel\n", encoding="utf-8")
    code = main(["--prefect", "ingest", "portfolios", str(bad), "--institution", "UNI",
                 "--db", sqlite_url(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2
    assert "export.csv" in err and "row 3" in err and "MMS Id" in err and "Traceback" not in err
