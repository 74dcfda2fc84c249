"""P2E clean-up benchmark: 1,000,000 portfolios, 300,000 P2E lines, 50,000 PO lines.

Prints wall time and peak RSS of the whole `almaclean p2e` flow (ingest into a fresh SQLite
database, load the current data back, analyse, write the run folder) beside the floor:
polars reading the same three inputs as text plus a bulk load of the same rows into SQLite.
Also prints the same work without Prefect's start-up. Target: within 5x of the floor, under
2 GB peak RSS. Run from the repository root:

    .venv/bin/python bench/p2e.py [--portfolios 1000000] [--p2e-lines 300000] [--po-lines 50000]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
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
             "--institution", "BENCH", "--out", {out!r}, "--db", "sqlite:///{db}"]) == 0
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


def prepare(work: Path, portfolios: int, p2e_lines: int, po_lines: int) -> dict[str, Path]:
    from almaclean.sample.generator import BASE_PORTFOLIOS, generate

    sample = work / "sample"
    if not (sample / "truth.json").exists():
        started = time.perf_counter()
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--portfolios", type=int, default=1_000_000)
    parser.add_argument("--p2e-lines", type=int, default=300_000)
    parser.add_argument("--po-lines", type=int, default=50_000)
    parser.add_argument("--workdir", type=Path, default=None, help="keep (and reuse) the generated files here")
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="almaclean-p2e-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    paths = prepare(work, args.portfolios, args.p2e_lines, args.po_lines)
    names = {k: str(v) for k, v in paths.items()}

    def fresh_db(label: str) -> str:
        db = work / f"{label}.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        return str(db)

    root = str(ROOT)
    floor = measure("floor: polars read + SQLite bulk load",
                    FLOOR_WORK.format(db=fresh_db("floor"), **names), setup=FLOOR_SETUP)
    analysis = measure("analysis only (frames in memory)", ANALYSIS_WORK,
                       setup=ANALYSIS_SETUP.format(root=root, **names))
    steps = measure("almaclean p2e steps, no Prefect",
                    STEPS_WORK.format(db=fresh_db("steps"), out=str(work / "out"), **names),
                    setup=STEPS_SETUP.format(root=root))
    flow = measure("almaclean p2e flow (whole command)",
                   FLOW_WORK.format(db=fresh_db("flow"), out=str(work / "out"), **names),
                   setup=FLOW_SETUP.format(root=root))
    print(floor.line())
    print(analysis.line(floor))
    print(steps.line(floor))
    print(flow.line(floor))
    ok = flow.wall <= 5 * floor.wall and flow.rss_mb < 2048
    print(f"target (<= 5x floor time, < 2048 MB): {'met' if ok else 'NOT met'}")


if __name__ == "__main__":
    main()
