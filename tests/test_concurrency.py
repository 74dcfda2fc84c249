"""almaclean processes at once against one SQLite database: all finish, nothing is lost, and
each run analyses exactly the files it was given."""
from __future__ import annotations

import csv
import json
import os
import subprocess
import sys

from almaclean.sample.generator import generate
from almaclean.store.db import open_database
from almaclean.store.ingest import file_digest
from almaclean.store.load import current_frame, stored_status
from conftest import sqlite_url


def _p2e(url, code, portfolios, sample, out):
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    return subprocess.Popen(
        [sys.executable, "-m", "almaclean.cli", "p2e", "--institution", code, "--db", url,
         "--portfolios", str(portfolios), "--p2e", str(sample / "p2e.txt"),
         "--po-lines", str(sample / "po_lines.csv"), "--out", str(out)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(runs):
    for code, process in runs.items():
        _, err = process.communicate(timeout=300)
        assert process.returncode == 0, f"{code}: {err[-2000:]}"


def test_two_concurrent_p2e_runs_on_one_sqlite_database(tmp_path):
    sample = tmp_path / "sample"
    generate(sample, seed=11, scale=0.4)
    url = sqlite_url(tmp_path, "shared.db")
    runs = {code: _p2e(url, code, sample / "portfolios.csv", sample, tmp_path / code) for code in ("INST_A", "INST_B")}
    _finish(runs)

    engine = open_database(url)
    status = stored_status(engine)
    assert sorted(set(status["institution"].to_list())) == ["INST_A", "INST_B"]
    portfolio_rows = sum(1 for _ in open(sample / "portfolios.csv", encoding="utf-8")) - 1
    for code in runs:
        assert current_frame(engine, code, "portfolios").height == portfolio_rows
    # Same inputs, same answers: neither run saw a half-written state of the other.
    outputs = [(tmp_path / code).glob("p2e-*/deletion_candidates.csv") for code in runs]
    first, second = (next(iter(o)).read_bytes() for o in outputs)
    assert first == second and first.count(b"\n") > 1


def _without_keepers(source, target, keep_every):
    """The portfolio export less some CZ-linked rows: fewer duplicates are provable."""
    with open(source, encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    linked = rows[0].index("Portfolio Linked To CZ") if "Portfolio Linked To CZ" in rows[0] else None
    kept = [rows[0]] + [r for i, r in enumerate(rows[1:]) if linked is None or r[linked] != "Y" or i % keep_every]
    with open(target, "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(kept)
    return target


def test_concurrent_runs_of_one_institution_each_analyse_their_own_file(tmp_path):
    """Four runs of one institution on one database, each with its own portfolio export: each
    run's deletion candidates are those of its own file, and its bundle names that file."""
    sample = tmp_path / "sample"
    generate(sample, seed=12, scale=0.3)
    files = [sample / "portfolios.csv"] + [_without_keepers(sample / "portfolios.csv", tmp_path / f"p{n}.csv", n)
                                           for n in (2, 3, 5)]
    url = sqlite_url(tmp_path, "shared.db")
    runs = {f"run{i}": _p2e(url, "SAME", f, sample, tmp_path / f"run{i}") for i, f in enumerate(files)}
    _finish(runs)
    counts = []
    for i, portfolios in enumerate(files):
        folder = next((tmp_path / f"run{i}").glob("p2e-*"))
        bundle = json.loads((folder / "bundle.json").read_text(encoding="utf-8"))
        analysed = [r for r in bundle["inputs"] if r["role"] == "portfolios"]
        assert [r["stored_sha256"] for r in analysed] == [file_digest(portfolios)[0]]
        alone = _p2e(sqlite_url(tmp_path, f"alone{i}.db"), "SAME", portfolios, sample, tmp_path / f"alone{i}")
        _finish({f"alone{i}": alone})
        expected = next((tmp_path / f"alone{i}").glob("p2e-*/deletion_candidates.csv")).read_bytes()
        assert (folder / "deletion_candidates.csv").read_bytes() == expected
        counts.append(expected.count(b"\n"))
    assert len(set(counts)) > 1, "the four files must lead to different answers for the test to mean anything"


def test_opening_a_new_database_while_another_job_holds_its_write_lock_waits(tmp_path):
    """A database not in WAL mode yet (a new file that several batch jobs open at once): SQLite
    refuses the switch to WAL at once while another connection writes, without its busy handler.
    Opening waits for the lock like any writer instead of failing with "database is locked"."""
    import sqlite3
    import threading
    import time

    path = tmp_path / "new.db"
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("CREATE TABLE first_job (x)")
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("INSERT INTO first_job VALUES (1)")
    released = threading.Timer(0.5, lambda: holder.execute("COMMIT"))
    released.start()
    started = time.monotonic()
    engine = open_database(sqlite_url(tmp_path, "new.db"))
    waited = time.monotonic() - started
    released.join()
    holder.close()
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("SELECT count(*) FROM first_job").scalar() == 1
    assert stored_status(engine).height == 0  # the schema was made once the lock was free
    assert waited >= 0.4
    engine.dispose()
