"""Nightly growth: what storing each night's full export costs in time and database size.

Night 1 ingests a 1,000,000-portfolio export into a new SQLite database; night 2 the same
export with 1% of its rows changed, added or removed; night 3 night 2's export again
(unchanged); night 4 night 1's export again (an export that reverted). Each night is the whole
`almaclean ingest` command in a fresh process. Targets (issue: storage that grows with change):
night 2 adds at most 10% of night 1's size in at most half its time; night 3 adds under 1%.

    python3 -m uv run --frozen python bench/nightly_growth.py [--workdir DIR] [--portfolios N]
"""
from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from almaclean.sample.changes import changed_export


def database_bytes(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return sum(Path(f"{db}{suffix}").stat().st_size for suffix in ("", "-wal") if Path(f"{db}{suffix}").exists())


def night(db: Path, export: Path) -> tuple[float, str]:
    env = {**os.environ}
    env.pop("PREFECT_API_URL", None)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "almaclean.cli", "--json", "ingest", "portfolios", str(export),
                           "--institution", "BENCH", "--db", f"sqlite:///{db}"], capture_output=True, text=True, env=env)
    if done.returncode:
        raise SystemExit(done.stderr)
    return time.perf_counter() - started, json.loads(done.stdout)["files"][0]["status"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--portfolios", type=int, default=1_000_000)
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="almaclean-growth-"))
    work.mkdir(parents=True, exist_ok=True)
    sample = work / "sample" / "portfolios.csv"
    if not sample.exists():
        from almaclean.sample.generator import BASE_PORTFOLIOS, generate

        generate(work / "sample", seed=7, scale=args.portfolios / BASE_PORTFOLIOS)
    changed = work / "portfolios-1pct.csv"
    if not changed.exists():
        changed_export(sample, changed)
    reverted = work / "portfolios-again.csv"
    reverted.write_bytes(sample.read_bytes())
    db = work / "growth.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    before, figures = 0, []
    for label, export in (("night 1: full export", sample), ("night 2: 1% changed/added/removed", changed),
                          ("night 3: night 2's export again", changed), ("night 4: night 1's export again", reverted)):
        seconds, status = night(db, export)
        size = database_bytes(db)
        figures.append((label, seconds, size - before, status))
        print(f"{label:<38} {status:<13} {seconds:7.2f} s   +{(size - before) / 1e6:8.1f} MB   (database {size / 1e6:,.1f} MB)")
        before = size
    first, second, third = figures[0], figures[1], figures[2]
    print(f"night 2 / night 1: size {second[2] / first[2]:.1%} (target <= 10%), time {second[1] / first[1]:.2f}x "
          f"(target <= 0.5x); night 3 adds {third[2] / first[2]:.2%} (target < 1%)")


if __name__ == "__main__":
    main()
