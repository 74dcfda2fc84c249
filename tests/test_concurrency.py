"""Two almaclean processes at once against one SQLite database: both finish, nothing is lost."""
from __future__ import annotations

import os
import subprocess
import sys

from almaclean.sample.generator import generate
from almaclean.store.db import make_engine
from almaclean.store.load import current_frame, stored_status
from conftest import sqlite_url


def test_two_concurrent_p2e_runs_on_one_sqlite_database(prefect_server, tmp_path):
    from prefect.settings import PREFECT_API_URL

    sample = tmp_path / "sample"
    generate(sample, seed=11, scale=0.4)
    url = sqlite_url(tmp_path, "shared.db")
    env = {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value()}  # the session's test API
    runs = {
        code: subprocess.Popen(
            [sys.executable, "-m", "almaclean.cli", "p2e", "--institution", code, "--db", url,
             "--portfolios", str(sample / "portfolios.csv"), "--p2e", str(sample / "p2e.txt"),
             "--po-lines", str(sample / "po_lines.csv"), "--out", str(tmp_path / code)],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for code in ("INST_A", "INST_B")
    }
    for code, process in runs.items():
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, f"{code}: {err[-2000:]}"

    engine = make_engine(url)
    status = stored_status(engine)
    assert sorted(set(status["institution"].to_list())) == ["INST_A", "INST_B"]
    portfolio_rows = sum(1 for _ in open(sample / "portfolios.csv", encoding="utf-8")) - 1
    for code in runs:
        assert current_frame(engine, code, "portfolios").height == portfolio_rows
    # Same inputs, same answers: neither run saw a half-written state of the other.
    outputs = [(tmp_path / code).glob("p2e-*/deletion_candidates.csv") for code in runs]
    first, second = (next(iter(o)).read_bytes() for o in outputs)
    assert first == second and first.count(b"\n") > 1
