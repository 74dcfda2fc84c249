"""Ingest benchmark: a 1,000,000-portfolio CSV export and a 100,000-row Extended Export.

Prints wall time and peak RSS of `almaclean ingest` (without Prefect's start-up) beside the
floor: polars / fastexcel alone reading the same files as text.

    python3 -m uv run --frozen python bench/ingest.py [--portfolios 1000000] [--ee-rows 100000]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import measure  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--portfolios", type=int, default=1_000_000)
    parser.add_argument("--ee-rows", type=int, default=100_000)
    parser.add_argument("--workdir", type=Path, default=None, help="keep the generated files here")
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="almaclean-bench-"))
    sample = work / "sample"

    from almaclean.sample.generator import BASE_PORTFOLIOS, generate

    if not (sample / "portfolios.csv").exists():
        started = time.perf_counter()
        generate(sample, seed=7, scale=args.portfolios / BASE_PORTFOLIOS, ee_rows=args.ee_rows)
        print(f"generated the sample in {time.perf_counter() - started:.1f} s: {sample}")
    csv_path = sample / "portfolios.csv"
    ee_path = max(sample.glob("*_portfolios.xlsx"), key=lambda p: p.stat().st_size)
    print(f"portfolios: {csv_path} ({csv_path.stat().st_size / 1e6:.0f} MB)")
    print(f"extended export: {ee_path} ({ee_path.stat().st_size / 1e6:.0f} MB)")

    for label, kind, path, floor_work in (
        ("portfolios CSV", "portfolios", csv_path,
         f"pl.read_csv({str(csv_path)!r}, infer_schema=False, has_header=False)"),
        ("Extended Export xlsx", "extended-export", ee_path,
         f"fastexcel.read_excel({str(ee_path)!r}).load_sheet(0, header_row=None, dtypes='string').to_polars()"),
    ):
        floor = measure(f"floor: {label} read as text", floor_work, setup="import polars as pl, fastexcel")
        bulk_db = work / f"bulk-{kind}.db"
        bulk_db.unlink(missing_ok=True)
        bulk = measure(
            f"floor: read + bulk load the rows into SQLite",
            f"""frame = {floor_work}
con = sqlite3.connect({str(bulk_db)!r})
con.execute(f"CREATE TABLE t ({{', '.join(f'c{{i}} TEXT' for i in range(frame.width))}})")
con.executemany(f"INSERT INTO t VALUES ({{', '.join('?' * frame.width)}})", frame.rows())
con.commit()""",
            setup="import polars as pl, fastexcel, sqlite3",
        )
        db = work / f"bench-{kind}.db"
        db.unlink(missing_ok=True)
        read = measure(f"almaclean: read + check {label}",
                       f"read_kind({kind!r}, Path({str(path)!r}))",
                       setup="from pathlib import Path\nfrom almaclean.kinds import read_kind")
        ingest = measure(
            f"almaclean: ingest {label} into SQLite",
            f"ingest_file(engine, {kind!r}, Path({str(path)!r}), 'BENCH')",
            setup=("import logging\nfrom pathlib import Path\nfrom almaclean.store.db import open_database\n"
                   "from almaclean.store.ingest import ingest_file\n"
                   f"engine = open_database('sqlite:///{db}')"),
        )
        print(floor.line())
        print(bulk.line(floor))
        print(read.line(floor))
        print(ingest.line(floor))
        print(f"{'':48} ingest is {ingest.wall / bulk.wall:.2f}x the read + bulk load floor")


if __name__ == "__main__":
    main()
