"""Fetch benchmark: a 100,000-row portfolio report through the local Analytics server, in pages
of 1,000, beside `ingest` of the same rows from a CSV file (the floor).

The server (tests/analytics_server.py) runs in its own process with every page rendered
beforehand, so it answers at once: what is measured is almaclean's side, paging, XML reading,
the canonical CSV, then the same ingest. Runs alternate (ingest, fetch, ingest, fetch...) so a
busy shared machine slows both alike; each pair gives a ratio.

    python3 -m uv run --frozen python bench/fetch.py [--rows 100000] [--runs 3]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from harness import measure  # noqa: E402

REPORT = "/shared/Bench University/Reports/almaclean/All portfolios"
KEY = "l7xx-test-analytics-key-0123456789abcdef"   # the test server's key (tests/analytics_server.py)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3, help="pairs of runs (ingest, fetch)")
    parser.add_argument("--workdir", type=Path, default=None, help="keep the generated files here")
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="almaclean-bench-fetch-"))
    work.mkdir(parents=True, exist_ok=True)
    csv_path = work / f"portfolios-{args.rows}.csv"
    if not csv_path.exists():
        import polars as pl

        from almaclean.sample.generator import BASE_PORTFOLIOS, generate

        started = time.perf_counter()
        generate(work / "sample", seed=7, scale=args.rows * 1.05 / BASE_PORTFOLIOS)
        pl.read_csv(work / "sample" / "portfolios.csv", infer_schema=False).head(args.rows).write_csv(csv_path)
        print(f"generated the sample in {time.perf_counter() - started:.1f} s")
    print(f"report rows: {csv_path} ({csv_path.stat().st_size / 1e6:.0f} MB)")

    server = subprocess.Popen([sys.executable, str(HERE.parent / "tests" / "analytics_server.py"), str(csv_path)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        base = server.stdout.readline().strip()
        print(f"local Analytics server: {base} (pages rendered beforehand, answers at once)")
        os.environ.update({"ALMA_API_KEY": KEY, "ALMACLEAN_DATA": str(work / "data")})
        ratios = []
        for run in range(1, args.runs + 1):
            db_ingest, db_fetch = work / f"ingest-{run}.db", work / f"fetch-{run}.db"
            for db in (db_ingest, db_fetch):
                db.unlink(missing_ok=True)
            # httpx imports its HTTP machinery (httpcore, h11, h2...) when its first client is made:
            # imported here, as the ingest's libraries are, so that neither side's time holds imports.
            setup = "from almaclean.store.db import open_database\nfrom almaclean.store.ingest import ingest_files\n" \
                    "from almaclean.services.fetch import FetchRequest, fetch_report\nimport httpx\n" \
                    "httpx.Client(transport=httpx.HTTPTransport(verify=False)).close()\n"
            ingest = measure(f"run {run}: ingest the CSV (floor)",
                             f"engine = open_database('sqlite:///{db_ingest}')\n"
                             f"ingest_files(engine, 'portfolios', [{str(csv_path)!r}], 'BENCH')",
                             setup=setup + f"open_database('sqlite:///{db_ingest}').dispose()")
            fetch = measure(f"run {run}: fetch the report, then store it",
                            f"engine = open_database('sqlite:///{db_fetch}')\n"
                            f"fetch_report(engine, FetchRequest('portfolios', 'BENCH', {REPORT!r}, api_base={base!r}))",
                            setup=setup + f"open_database('sqlite:///{db_fetch}').dispose()")
            for m in (ingest, fetch):
                print(f"{m.line()}  {args.rows / m.wall:,.0f} rows/s")
            ratios.append(fetch.wall / ingest.wall)
            print(f"run {run}: fetch / ingest = {ratios[-1]:.2f}x (target at most 1.30x)")
        print(f"ratios: {', '.join(f'{r:.2f}x' for r in ratios)}; median {statistics.median(ratios):.2f}x")
    finally:
        server.stdin.close()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
