"""Runs hold what they pinned: `db prune` while a run goes on never removes a file the run
analyses (a lease per run), and a run whose pinned file vanished all the same fails rather than
publish a bundle without its input."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from almaclean.services.p2e import P2ERequest, run_p2e
from almaclean.services.verify import verify_run
from almaclean.store import leases
from almaclean.store.db import open_database, write_transaction
from almaclean.store.ingest import ingest_file
from almaclean.store.leases import PinnedFileGone, run_lease
from almaclean.store.load import current_sources, fetch_frame
from almaclean.store.prune import prune
from conftest import sqlite_url

PORTFOLIOS = ("Portfolio Id,MMS Id,Title,Network Number,Portfolio Linked To CZ,Availability,Is Standalone\n"
              "531000000000001001,991000000000001001,Revue,(EDU01)000000001,N,Available,Yes\n")


def p2e_file(folder: Path, name: str, lines: str) -> Path:
    path = folder / name
    path.write_text(lines, encoding="utf-8")
    return path


@pytest.fixture
def stored(tmp_path, db_url):
    """An institution with a portfolio export and a first P2E file stored (file ids in order)."""
    engine = open_database(db_url)
    portfolios = tmp_path / "portfolios.csv"
    portfolios.write_text(PORTFOLIOS, encoding="utf-8")
    ingest_file(engine, "portfolios", portfolios, "EDU01")
    first = ingest_file(engine, "p2e", p2e_file(tmp_path, "p2e-first.txt", "000000001,portfolio\n"), "EDU01")
    return engine, first.source_file_id


def file_ids(engine) -> list[int]:
    return fetch_frame(engine, "SELECT id FROM source_files ORDER BY id", integers=("id",))["id"].to_list()


def test_prune_while_a_p2e_run_goes_on_keeps_the_p2e_file_the_run_pinned(tmp_path, stored, db_url, monkeypatch):
    """The run pins the current P2E file; meanwhile a newer P2E file is ingested (the pinned one
    is superseded) and `db prune --keep-days 0` runs: the pinned file stays, the run publishes a
    bundle holding it and verifies; once the run is over, prune may remove it."""
    engine, first = stored
    import almaclean.services.p2e as service

    real = service.write_report

    def meanwhile(*args, **kwargs):
        other = open_database(db_url)
        ingest_file(other, "p2e", p2e_file(tmp_path, "p2e-second.txt", "000000002,portfolio\n"), "EDU01")
        pruned = prune(other, 0)
        assert pruned.files == 0 and first in file_ids(other)
        return real(*args, **kwargs)

    monkeypatch.setattr(service, "write_report", meanwhile)
    run = run_p2e(engine, P2ERequest("EDU01", tmp_path / "out"))
    assert first in run.analysed["p2e"]
    assert verify_run(run.folder, ledger=engine).ok
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM run_leases")).scalar_one() == 0   # released
    monkeypatch.setattr(service, "write_report", real)
    assert first in file_ids(engine)   # the ledger keeps what a published run analysed


def test_a_run_whose_pinned_file_vanished_fails_and_publishes_nothing(tmp_path, stored, monkeypatch):
    """Should a pinned file go all the same (removed by hand, a lease that lapsed), the run fails
    before publishing: no run folder, no ledger entry, the lease released."""
    engine, first = stored
    import almaclean.services.p2e as service

    real = service.write_report

    def removed(*args, **kwargs):
        with write_transaction(engine) as conn:
            for table in ("file_spans", "raw_columns", "file_ingests"):
                conn.execute(text(f"DELETE FROM {table} WHERE source_file_id = :f"), {"f": first})
            conn.execute(text("DELETE FROM source_files WHERE id = :f"), {"f": first})
        return real(*args, **kwargs)

    monkeypatch.setattr(service, "write_report", removed)
    with pytest.raises(PinnedFileGone, match=f"stored file #{first}.*nothing was published"):
        run_p2e(engine, P2ERequest("EDU01", tmp_path / "out"))
    assert not [p for p in (tmp_path / "out").iterdir() if not p.name.startswith(".")]
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM run_ledger")).scalar_one() == 0
        assert conn.execute(text("SELECT COUNT(*) FROM run_leases")).scalar_one() == 0


def test_a_file_pruned_before_the_run_could_hold_it_fails_the_run_at_once(stored, tmp_path):
    engine, first = stored
    ingest_file(engine, "p2e", p2e_file(tmp_path, "p2e-second.txt", "000000002,portfolio\n"), "EDU01")
    with run_lease(engine, "p2e-EDU01") as lease:
        assert prune(engine, 0).files == 1   # nothing held yet
        with pytest.raises(PinnedFileGone, match=f"#{first}"):
            lease.hold([first])


def test_a_lease_holds_its_files_until_released_and_a_dead_runs_lease_lapses(stored, tmp_path):
    engine, first = stored
    ingest_file(engine, "p2e", p2e_file(tmp_path, "p2e-second.txt", "000000002,portfolio\n"), "EDU01")
    with run_lease(engine, "p2e-EDU01") as lease:
        lease.hold([first])
        assert prune(engine, 0).files == 0 and first in file_ids(engine)
    # A killed run's lease: this host, a process that is gone.
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    with write_transaction(engine) as conn:
        conn.execute(text("INSERT INTO run_leases (label, host, pid, started_at, source_file_ids) "
                          "VALUES ('killed', :h, :p, '2026-01-01T00:00:00+00:00', :ids)"),
                     {"h": os.uname().nodename, "p": int(dead.stdout), "ids": f"[{first}]"})
    assert prune(engine, 0).files == 1 and first not in file_ids(engine)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM run_leases")).scalar_one() == 0


def test_a_lease_of_another_host_holds_until_it_is_too_old(stored, tmp_path):
    from datetime import datetime, timezone

    engine, first = stored
    ingest_file(engine, "p2e", p2e_file(tmp_path, "p2e-second.txt", "000000002,portfolio\n"), "EDU01")
    now = datetime.now(timezone.utc)
    with write_transaction(engine) as conn:
        conn.execute(text("INSERT INTO run_leases (label, host, pid, started_at, source_file_ids) "
                          "VALUES ('elsewhere', 'another-host', 1, :t, :ids)"),
                     {"t": now.isoformat(timespec="seconds"), "ids": f"[{first}]"})
    assert prune(engine, 0).files == 0
    assert prune(engine, 0, now=now + leases.LEASE_MAX_AGE * 2).files == 1
    assert current_sources(engine, "EDU01", "p2e")["file_name"].to_list() == ["p2e-second.txt"]


def test_the_institutions_of_a_nightly_run_hold_their_files_on_one_lease(stored, tmp_path, db_url):
    """Each institution's task holds its files on the nightly run's lease through its own engine
    (a thread or a Dask worker): what one holds is added to what the others hold, never replaces it."""
    from almaclean.store.leases import Lease

    engine, first = stored
    second = ingest_file(engine, "p2e", p2e_file(tmp_path, "p2e-second.txt", "000000002,portfolio\n"),
                         "EDU01").source_file_id
    ingest_file(engine, "p2e", p2e_file(tmp_path, "p2e-third.txt", "000000003,portfolio\n"), "EDU01")
    with run_lease(engine, "nightly") as lease:
        task_engine = open_database(db_url)
        Lease(task_engine, "nightly", lease.id).hold([first])
        Lease(open_database(db_url), "nightly", lease.id).hold([second])
        Lease(task_engine, "nightly", lease.id).hold([first])   # a retried task holds again: no change
        assert prune(engine, 0).files == 0 and {first, second} <= set(file_ids(engine))
        lease.hold([first, second])   # the run, before its bundle: both still there
    assert prune(engine, 0).files == 2
