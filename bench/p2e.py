"""P2E clean-up benchmark: 1,000,000 portfolios, 300,000 P2E lines, 50,000 PO lines.

Prints wall time and peak RSS of the whole `almaclean p2e` command beside the floor, on both of
its paths:
- files given: read the three files, store them in a fresh database while analysing, write the
  run folder (the bundle keeps copies of the files);
- stored data: `almaclean p2e --institution BENCH` with no file given, on the database the run
  before filled: the path every nightly run takes (read the stored rows back, analyse, write the
  run folder; the bundle keeps the stored files written back).
The floor is polars reading the same three inputs as text plus a bulk load of the same rows into
SQLite. Also prints the analysis alone (frames in memory) and the same steps without the CLI.
Targets: the whole command within 2.5x of the floor's time, under 1.5 GB (1,536 MB) peak RSS;
the stored-data path within 1.2x of the files path's time and under 1.5 GB; and linear in the
portfolio export: with several sizes (--portfolios 1000000 3000000) the whole command's time at
each size is compared with the first size's, target at most 1.1x the size ratio (3,000,000
portfolios: at most 3.3x the 1,000,000 run). On a shared machine, --repeat N alternates the two
paths N times (each beside the same floor) and --pg URL runs them on PostgreSQL too (a database
<name>_bench_p2e is made on that server and dropped after). Run from the repository root:

    .venv/bin/python bench/p2e.py [--portfolios 1000000 [3000000 ...]] [--p2e-lines 300000]
                                  [--po-lines 50000] [--workdir DIR] [--whole-command-only]
                                  [--repeat N] [--pg postgresql+psycopg://user@host/db]

With --workdir DIR the generated files are kept and reused: the first size's in DIR, each
further size's in DIR-<size> (e.g. /tmp/p2e_bench and /tmp/p2e_bench-3000000). Sizes above
the sample generator's 1,000,000 limit are generated for the benchmark only (their consortium
P2E report workbook, which would not fit in Excel, is cut to its first 1,000 rows; the
benchmark does not read it). Generating 3,000,000 portfolios takes a few minutes.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from harness import measure  # noqa: E402

FLOOR_SETUP = "import sqlite3\nimport polars as pl"
FLOOR_WORK = """
frames = {{
    "portfolios": pl.read_csv({portfolios!r}, infer_schema=False),
    "p2e_lines": pl.read_csv({p2e!r}, infer_schema=False, has_header=False, new_columns=["legacy_id", "p2e_type"]),
    "po_lines": pl.read_csv({po_lines!r}, infer_schema=False),
}}
db = sqlite3.connect({db!r})
db.execute("PRAGMA journal_mode=WAL")
db.execute("PRAGMA synchronous=NORMAL")
with db:
    for name, frame in frames.items():
        columns = ", ".join(f"c{{i}} TEXT" for i in range(frame.width))
        db.execute(f"CREATE TABLE {{name}} (row_number INTEGER, {{columns}})")
        marks = ", ".join("?" * (frame.width + 1))
        db.executemany(f"INSERT INTO {{name}} VALUES ({{marks}})", frame.with_row_index("row_number", 2).iter_rows())
db.close()
"""
FLOW_SETUP = """
from almaclean.cli import main
"""
# The whole command as a user runs it (no Prefect API configured: the service, no server).
FLOW_WORK = """
assert main(["-q", "p2e", "--portfolios", {portfolios!r}, "--p2e", {p2e!r}, "--po-lines", {po_lines!r},
             "--institution", "BENCH", "--out", {out!r}, "--db", {url!r}]) == 0
"""
# The same with no file given: the institution's stored data (what each nightly run analyses).
STORED_WORK = """
assert main(["-q", "p2e", "--institution", "BENCH", "--out", {out!r}, "--db", {url!r}]) == 0
"""
# One institution of a nightly run on the same database, its inbox holding the files already
# stored: the nightly service without Prefect's start-up (the flow runs this per institution).
NIGHTLY_SETUP = """
from pathlib import Path
from almaclean.services.nightly import run_nightly
from almaclean.store.db import open_database
"""
NIGHTLY_WORK = """
run = run_nightly(open_database({url!r}), Path({inbox!r}), out=Path({out!r}))
assert not run.failed, run.lines()
"""
STEPS_SETUP = """
import logging, sys
sys.path.insert(0, {root!r})
logging.basicConfig(level=logging.WARNING)
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from almaclean.p2e.analyse import analyse_p2e
from almaclean.p2e.report import write_report
from almaclean.store.db import make_engine
from almaclean.store.ingest import read_unless_stored, store_pending
from almaclean.write.atomic import new_staging_folder, publish_run_folder
"""
# The flow's steps without Prefect, in the same order: read, then store in the background
# while the analysis runs and the outputs are written into the staging folder.
STEPS_WORK = """
engine = make_engine("sqlite:///{db}")
pending = {{kind: read_unless_stored(engine, kind, Path(path), "BENCH") for kind, path in
           (("portfolios", {portfolios!r}), ("p2e", {p2e!r}), ("po-lines", {po_lines!r}))}}
with ThreadPoolExecutor(2) as pool:
    storing = pool.submit(lambda: [store_pending(engine, p, "BENCH") for p in pending.values()])
    result = analyse_p2e(*(p.frame for p in pending.values()))
    staging = new_staging_folder(Path({out!r}), "p2e-bench")
    writing = pool.submit(write_report, result, staging)
    storing.result()
    del pending
    writing.result()
publish_run_folder(staging)
print("counts", result.counts)
"""
ANALYSIS_SETUP = """
import sys
sys.path.insert(0, {root!r})
from pathlib import Path
from almaclean.kinds import read_kind
from almaclean.p2e.analyse import analyse_p2e
frames = [read_kind(k, Path(p)).canonical for k, p in
          (("portfolios", {portfolios!r}), ("p2e", {p2e!r}), ("po-lines", {po_lines!r}))]
"""
ANALYSIS_WORK = "result = analyse_p2e(*frames)"


def _head_lines(source: Path, target: Path, lines: int) -> int:
    """The first `lines` lines of a text file; returns how many were copied."""
    count = 0
    with open(source, encoding="utf-8", newline="") as src, open(target, "w", encoding="utf-8", newline="") as out:
        for line in src:
            if count == lines:
                break
            out.write(line)
            count += 1
    return count


def _generate_beyond_limit(sample: Path, portfolios: int) -> None:
    """The sample generator above its size limit: only the files this benchmark reads matter."""
    from almaclean.sample import generator

    real_write_workbook = generator.write_workbook

    def write_workbook(path, sheets, *args, **kwargs):
        sheets = [replace(sheet, frame=sheet.frame.head(1_000)) if sheet.frame.height >= 1_048_575 else sheet
                  for sheet in sheets]
        return real_write_workbook(path, sheets, *args, **kwargs)

    limit = generator.MAX_PORTFOLIOS
    generator.MAX_PORTFOLIOS, generator.write_workbook = portfolios, write_workbook
    try:
        generator.generate(sample, seed=7, scale=portfolios / generator.BASE_PORTFOLIOS)
    finally:
        generator.MAX_PORTFOLIOS, generator.write_workbook = limit, real_write_workbook


def prepare(work: Path, portfolios: int, p2e_lines: int, po_lines: int) -> dict[str, Path]:
    from almaclean.sample.generator import BASE_PORTFOLIOS, MAX_PORTFOLIOS, generate

    sample = work / "sample"
    if not (sample / "truth.json").exists():
        started = time.perf_counter()
        if portfolios > MAX_PORTFOLIOS:
            _generate_beyond_limit(sample, portfolios)
        else:
            generate(sample, seed=7, scale=portfolios / BASE_PORTFOLIOS)
        print(f"generated the sample in {time.perf_counter() - started:.1f} s: {sample}")
    inputs = work / "inputs"
    inputs.mkdir(exist_ok=True)
    paths = {"portfolios": sample / "portfolios.csv", "p2e": inputs / "p2e.txt", "po_lines": inputs / "po_lines.csv"}
    got_p2e = _head_lines(sample / "p2e.txt", paths["p2e"], p2e_lines)
    got_pol = _head_lines(sample / "po_lines.csv", paths["po_lines"], po_lines + 1) - 1
    n_portfolios = sum(1 for _ in open(paths["portfolios"], encoding="utf-8")) - 1
    print(f"inputs: {n_portfolios:,} portfolios, {got_p2e:,} P2E lines, {got_pol:,} PO lines")
    return paths


TIME_TARGET = 2.5      # the whole command's time, in floors
STORED_TARGET = 1.2    # the stored-data path's time, in the files path's
RSS_TARGET_MB = 1536   # 1.5 GB
LINEAR_SLACK = 1.1     # time ratio between two sizes at most 1.1x their size ratio


def _pg_database(admin_url: str, name: str, *, drop_only: bool = False) -> str:
    """A fresh database `name` on the server of admin_url (dropped first); its URL."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        if not drop_only:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def _inbox(work: Path, paths: dict[str, Path]) -> Path:
    """A nightly inbox whose institution BENCH holds the benchmark's three files (links)."""
    folder = work / "inbox" / "BENCH"
    for kind, role in (("portfolios", "portfolios"), ("p2e", "p2e"), ("po-lines", "po_lines")):
        target = folder / kind / paths[role].name
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            os.link(paths[role], target)
    return work / "inbox"


def run_size(work: Path, portfolios: int, p2e_lines: int, po_lines: int, whole_command_only: bool,
             repeat: int = 1, pg: str | None = None):
    """Floor and whole command on both paths (and, unless whole_command_only, the analysis alone
    and the steps without the CLI) at one size; returns (floor, whole command with files)."""
    from sqlalchemy.engine import make_url

    work.mkdir(parents=True, exist_ok=True)
    paths = prepare(work, portfolios, p2e_lines, po_lines)
    names = {k: str(v) for k, v in paths.items()}

    def fresh_db(label: str) -> str:
        db = work / f"{label}.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        return str(db)

    root = str(ROOT)
    floor = measure("floor: polars read + SQLite bulk load",
                    FLOOR_WORK.format(db=fresh_db("floor"), **names), setup=FLOOR_SETUP)
    others = []
    if not whole_command_only:
        others.append(measure("analysis only (frames in memory)", ANALYSIS_WORK,
                              setup=ANALYSIS_SETUP.format(root=root, **names)))
        others.append(measure("almaclean p2e steps, no CLI",
                              STEPS_WORK.format(db=fresh_db("steps"), out=str(work / "out"), **names),
                              setup=STEPS_SETUP.format(root=root)))
    print(f"{portfolios:,} portfolios:")
    print(floor.line())
    for other in others:
        print(other.line(floor))
    databases = [("SQLite", lambda: f"sqlite:///{fresh_db('flow')}")]
    if pg:
        pg_name = f"{make_url(pg).database}_bench_p2e"
        databases.append(("PostgreSQL", lambda: _pg_database(pg, pg_name)))
    flows = []
    for attempt in range(repeat):
        for label, new_url in databases:
            url = new_url()
            out = str(work / "out")
            files = measure(f"almaclean p2e, files given ({label})", FLOW_WORK.format(url=url, out=out, **names),
                            setup=FLOW_SETUP)
            stored = measure(f"almaclean p2e, stored data ({label})", STORED_WORK.format(url=url, out=out),
                             setup=FLOW_SETUP)
            nightly = measure(f"nightly, one institution ({label})", NIGHTLY_WORK.format(
                url=url, out=out, inbox=str(_inbox(work, paths))), setup=NIGHTLY_SETUP)
            print(files.line(floor))
            print(stored.line(floor))
            print(nightly.line(floor))
            print(f"  nightly institution: {nightly.wall / files.wall:.2f}x the time of files given "
                  f"({nightly.cpu / max(files.cpu, 1e-9):.2f}x the processor time), {nightly.rss_mb:,.0f} MB")
            ok = stored.wall <= STORED_TARGET * files.wall and stored.rss_mb < RSS_TARGET_MB
            print(f"  {label} run {attempt + 1}: stored data {stored.wall / files.wall:.2f}x the time of files "
                  f"given ({stored.cpu / max(files.cpu, 1e-9):.2f}x the processor time), {stored.rss_mb:,.0f} MB "
                  f"against {files.rss_mb:,.0f} MB; target (<= {STORED_TARGET}x, < {RSS_TARGET_MB} MB): "
                  f"{'met' if ok else 'NOT met'}")
            flows.append(files)
    if pg:
        _pg_database(pg, pg_name, drop_only=True)
    flow = flows[0]
    ok = flow.wall <= TIME_TARGET * floor.wall and flow.rss_mb < RSS_TARGET_MB
    print(f"target (<= {TIME_TARGET}x floor time, < {RSS_TARGET_MB} MB): {'met' if ok else 'NOT met'} "
          f"({flow.wall / floor.wall:.2f}x, {flow.rss_mb:,.0f} MB; processor time "
          f"{flow.cpu / max(floor.cpu, 1e-9):.2f}x the floor's, the figure to compare on a busy machine)")
    return floor, flow


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--portfolios", type=int, nargs="+", default=[1_000_000],
                        help="one or more sizes; the time at each is compared with the first's")
    parser.add_argument("--p2e-lines", type=int, default=300_000)
    parser.add_argument("--po-lines", type=int, default=50_000)
    parser.add_argument("--workdir", type=Path, default=None,
                        help="keep (and reuse) the generated files here; further sizes in <workdir>-<size>")
    parser.add_argument("--whole-command-only", action="store_true",
                        help="measure only the floor and the whole command (quicker at big sizes)")
    parser.add_argument("--repeat", type=int, default=1, help="alternate the two paths this many times")
    parser.add_argument("--pg", metavar="URL", help="also on PostgreSQL: a server URL (a bench database is made there)")
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="almaclean-p2e-bench-"))
    results = []
    for i, portfolios in enumerate(args.portfolios):
        size_work = work if i == 0 else work.with_name(f"{work.name}-{portfolios}")
        results.append((portfolios, *run_size(size_work, portfolios, args.p2e_lines, args.po_lines,
                                              args.whole_command_only, args.repeat, args.pg)))
    first, _, first_flow = results[0]
    for portfolios, floor, flow in results[1:]:
        size_ratio = portfolios / first
        ratio = flow.wall / first_flow.wall
        ok = ratio <= LINEAR_SLACK * size_ratio
        cpu_ratio = flow.cpu / max(first_flow.cpu, 1e-9)
        print(f"{portfolios:,} / {first:,} portfolios: whole command {ratio:.2f}x the time, {cpu_ratio:.2f}x the "
              "processor time "
              f"(floor {floor.wall / results[0][1].wall:.2f}x; target <= {LINEAR_SLACK * size_ratio:.2f}x): "
              f"{'met' if ok else 'NOT met'}")


if __name__ == "__main__":
    main()
