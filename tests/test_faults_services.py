"""Faults around the services: a killed run, a full disk, a read-only output folder, a held
write lock. Each leaves the database intact and no final-named, half-written run folder."""
from __future__ import annotations

import errno
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from almaclean.errors import AlmacleanError
from almaclean.sample.generator import generate
from almaclean.store.db import open_database
from almaclean.store.load import stored_status
from almaclean.write.staging import owner_file, staging_folder, sweep_leftovers
from conftest import ON_THE_PREFECT_SERVER_WORKER, p2e_run, resync_run, sqlite_url


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    return generate(tmp_path_factory.mktemp("sample"), seed=9, scale=0.3, ee_rows=2000)


def _integrity(path: Path) -> str:
    with sqlite3.connect(path) as conn:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]


def _command(*argv, prefect_api: str | None = None) -> subprocess.Popen:
    """The command in a process of its own; with prefect_api, flows report to that server
    instead of starting a temporary one."""
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    if prefect_api:
        env["PREFECT_API_URL"] = prefect_api
    return subprocess.Popen([sys.executable, "-m", "almaclean.cli", "-q", *map(str, argv)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)


@pytest.mark.parametrize("command", ["ingest", "p2e", "resync",
                                     pytest.param("nightly", marks=ON_THE_PREFECT_SERVER_WORKER)])
def test_kill_9_mid_run_leaves_a_sound_database_and_no_final_folder(command, sample, tmp_path, request):
    db = tmp_path / "a.db"
    out = tmp_path / "out"
    inbox = tmp_path / "inbox" / "EDU01"
    inbox.mkdir(parents=True)
    for name in ("portfolios", "p2e", "po_lines"):
        shutil.copyfile(sample.path(name), inbox / sample.path(name).name)
    argv = {
        "nightly": ["nightly", tmp_path / "inbox", "--out", out],
        "ingest": ["ingest", "portfolios", sample.path("portfolios"), "--institution", "EDU01"],
        "p2e": ["p2e", "--institution", "EDU01", "--portfolios", sample.path("portfolios"), "--p2e",
                sample.path("p2e"), "--out", out],
        "resync": ["resync", *[sample.out_dir / n for n in sample.extended_exports], "--institution", "EDU01",
                   "--out", out],
    }[command]
    prefect_api = None
    if command == "nightly":  # the session's Prefect server: starting a temporary one is not what is tested
        from prefect.settings import PREFECT_API_URL

        request.getfixturevalue("prefect_server")
        prefect_api = PREFECT_API_URL.value()
    process = _command(*argv, "--db", f"sqlite:///{db}", prefect_api=prefect_api)
    if command == "ingest":
        time.sleep(0.9)  # past start-up: reading or storing (any moment must leave the database sound)
    else:  # the moment the outputs are being written
        deadline = time.monotonic() + 120
        while not list(out.glob(".*.partial")) and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        assert process.poll() is None, "the run ended before it could be killed mid-way"
    os.killpg(process.pid, signal.SIGKILL)  # the command and anything it started
    process.wait()
    if db.exists():
        assert _integrity(db) == "ok"
    assert not [p for p in out.glob("*") if not p.name.startswith(".")] if out.exists() else True
    # The next run in the same folder removes what the killed one left, and says so.
    if out.exists():
        for leftover in out.glob(".*.partial"):
            os.utime(leftover, (0, 0))
        sweep_leftovers(out)
        assert not list(out.glob(".*partial*"))


def test_a_leftover_of_a_dead_process_is_removed_and_a_live_one_kept(tmp_path, caplog):
    out = tmp_path / "out"
    with staging_folder(out, "p2e-X") as live:
        dead = out / ".p2e-X-20260101-000000.partial"
        dead.mkdir()
        (dead / "deletion_candidates.csv").write_text("half", encoding="utf-8")
        owner_file(dead).write_text(f"{os.uname().nodename} 999999999\n", encoding="utf-8")
        assert sweep_leftovers(out) == [dead]
        assert live.is_dir() and not dead.exists() and not owner_file(dead).exists()
        assert "interrupted" in caplog.text
    assert not live.exists()  # never published: removed with its owner file
    assert list(out.iterdir()) == []


def test_a_full_disk_while_writing_leaves_no_run_folder(sample, tmp_path, monkeypatch):
    import almaclean.services.resync as resync

    real = resync.write_run_summary

    def full_disk(*args, **kwargs):
        real(*args, **kwargs)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(resync, "write_run_summary", full_disk)
    db = sqlite_url(tmp_path)
    with pytest.raises(OSError, match="No space left"):
        resync_run([sample.out_dir / sample.extended_exports[0]], db_url=db, out=tmp_path / "out")
    assert list((tmp_path / "out").iterdir()) == []
    assert _integrity(tmp_path / "test.db") == "ok"


def test_a_read_only_output_folder_is_a_clear_error_and_stores_nothing_half(sample, tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root writes into read-only folders")
    out = tmp_path / "out"
    out.mkdir()
    out.chmod(0o500)
    try:
        with pytest.raises((AlmacleanError, OSError)):
            p2e_run(db_url=sqlite_url(tmp_path), institution="EDU01", out=out,
                    portfolios=sample.path("portfolios"), p2e=sample.path("p2e"))
    finally:
        out.chmod(0o700)


def test_read_only_output_folder_via_the_command_exits_without_a_traceback(sample, tmp_path):
    """As root a chmod does not stop writes, so the output folder is a file instead: exit 1 or 2,
    one plain line, nothing stored half."""
    out = tmp_path / "out"
    out.write_text("not a folder", encoding="utf-8")
    db = tmp_path / "a.db"
    process = _command("p2e", "--institution", "EDU01", "--portfolios", sample.path("portfolios"), "--p2e",
                       sample.path("p2e"), "--out", out, "--db", f"sqlite:///{db}")
    _, err = process.communicate(timeout=300)
    assert process.returncode in (1, 2) and "Traceback" not in err
    assert _integrity(db) == "ok"


# Longer than the 5 s SQLite and Python's sqlite3 wait by default: an ingest without its own
# busy timeout fails with "database is locked" well before the lock is let go.
LOCK_SECONDS = 8


def test_a_write_lock_held_by_another_process_is_waited_for_not_failed(sample, tmp_path, timed_alone):
    """Another process holds a write transaction for longer than SQLite's default wait: the
    ingest waits (busy timeout) and then stores its file; status answers while the lock is held."""
    db = tmp_path / "a.db"
    url = f"sqlite:///{db}"
    open_database(url).dispose()
    with timed_alone():  # status is timed against the lock's seconds: no other test beside it
        holder = subprocess.Popen(
            [sys.executable, "-c", "import sqlite3, sys, time; c = sqlite3.connect(sys.argv[1], isolation_level=None); "
             "c.execute('BEGIN IMMEDIATE'); print('locked', flush=True); time.sleep(float(sys.argv[2])); "
             "c.execute('COMMIT')", str(db), str(LOCK_SECONDS)],
            stdout=subprocess.PIPE, text=True)
        assert holder.stdout.readline().strip() == "locked"
        started = time.monotonic()
        ingest = _command("ingest", "portfolios", sample.path("portfolios"), "--institution", "EDU01", "--db", url)
        status = _command("status", "--db", url)
        _, err = status.communicate(timeout=30)
        assert status.returncode == 0, err
        assert holder.poll() is None, "status waited for the write lock"
        assert time.monotonic() - started < LOCK_SECONDS
    _, err = ingest.communicate(timeout=LOCK_SECONDS + 120)
    holder.wait()
    assert ingest.returncode == 0, err
    assert time.monotonic() - started >= LOCK_SECONDS - 1
    assert stored_status(open_database(url, read_only=True))["files"].to_list() == [1]


def test_a_run_starting_beside_another_never_takes_its_staging_folder_for_a_leftover(tmp_path):
    """The owner file of a run that has just started may not be written yet, or be empty: the
    other run's sweep leaves that folder alone (only an hour-old folder without an owner goes)."""
    out = tmp_path / "out"
    starting = out / ".resync-20260101-000000.partial"
    starting.mkdir(parents=True)
    assert sweep_leftovers(out) == []
    owner_file(starting).write_text("", encoding="utf-8")
    assert sweep_leftovers(out) == [] and starting.is_dir()
    os.utime(starting, (0, 0))
    assert sweep_leftovers(out) == [starting]
    assert list(out.iterdir()) == []
