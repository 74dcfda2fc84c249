"""nightly and `almaclean p2e` count the same data alike: the nightly report, its terminal lines and
its JSON give the partition of the P2E portfolios in the words of the P2E run, beside the findings."""
from __future__ import annotations

import json
import shutil

from almaclean.p2e.analyse import BUCKETS
from almaclean.sample.generator import generate
from almaclean.services.nightly import run_nightly
from almaclean.store.db import open_database
from conftest import p2e_run, sqlite_url


def test_nightly_gives_the_partition_the_p2e_run_gives_on_the_same_files(tmp_path):
    sample = tmp_path / "sample"
    generate(sample, seed=11, scale=0.3)
    inbox = tmp_path / "inbox" / "EDU01"
    inbox.mkdir(parents=True)
    for name in ("portfolios.csv", "p2e.txt", "po_lines.csv"):
        shutil.copy(sample / name, inbox / name)

    p2e_folder = p2e_run(db_url=sqlite_url(tmp_path, "p2e.db"), institution="EDU01", out=tmp_path / "p2e",
                         portfolios=sample / "portfolios.csv", p2e=sample / "p2e.txt", po_lines=sample / "po_lines.csv")
    summary = json.loads((p2e_folder / "summary.json").read_text(encoding="utf-8"))
    assert set(summary["buckets"]) == set(BUCKETS) and summary["buckets"]["pol_relink_portfolios_ready"] > 0

    night = run_nightly(open_database(sqlite_url(tmp_path, "nightly.db")), tmp_path / "inbox", out=tmp_path / "night")
    (run,) = night.runs
    assert run.status == "succeeded", run.error
    assert run.partition == summary["partition"]
    report = (night.folder / "EDU01" / "report.md").read_text(encoding="utf-8")
    assert f"As `almaclean p2e` counts them: {summary['partition']}." in report
    assert "'review' also holds the duplicates to copy to their keeper first" in report
    assert f"    decided: {summary['partition']}" in night.lines()
    assert night.as_json()["institutions"][0]["partition"] == summary["partition"]
    # the findings describe the same portfolios: every duplicate is one finding
    buckets = summary["buckets"]
    findings = sum(run.outcomes.values())
    assert findings == summary["p2e_portfolios"] - buckets["group_portfolios"]
