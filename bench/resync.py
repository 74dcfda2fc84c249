"""Re-sync benchmark: the whole resync of a 100,000-row Extended Export of realistic density.

Prints wall time and peak RSS beside the floor: fastexcel reading the export as text plus
xlsxwriter writing the same cells (constant memory) in one run. Target: within 1.5x of the
floor's time and under 1.5 GB peak RSS.

    .venv/bin/python bench/resync.py [--ee-rows 100000] [--workdir DIR] [--no-flow]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import measure  # noqa: E402

FLOOR = """
frame = fastexcel.read_excel(EE).load_sheet(0, header_row=None, dtypes="string").to_polars()
book = xlsxwriter.Workbook(OUT, {"constant_memory": True, "strings_to_numbers": False,
                                 "strings_to_formulas": False, "strings_to_urls": False})
sheet = book.add_worksheet("Portfolios")
write = sheet.write_string
for r, values in enumerate(frame.iter_rows()):
    for c, v in enumerate(values):
        if v:
            write(r, c, v)
book.close()
"""

# The flow's steps without Prefect: copy + sha256, read, store, audit/plan, write outputs.
PIPELINE = """
folder = Path(OUT)
folder.mkdir()
sha, size = copy_export(EE, folder)
read = read_kind("extended-export", EE)
ingest_read(open_database(DB), read, "BENCH", scope=collection_name(EE), digest=(sha, size))
pols = read_kind("po-lines", POL).canonical
t = read.table
plan = plan_collection(EE, sha, t.header, t.frame, t.first_row, read.canonical, po_lines=pols)
record = write_collection(plan, folder)
print(record["decision"], record["categories"], record["rows_removed"], record["cells_changed"], file=sys.stderr)
"""

FLOW = """
assert main(["-q", "resync", str(EE), "--po-lines", str(POL), "--institution", "BENCH", "--out", OUT,
             "--db", DB]) == 0
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ee-rows", type=int, default=100_000)
    parser.add_argument("--workdir", type=Path, default=None, help="reuse / keep the generated files here")
    parser.add_argument("--no-flow", action="store_true", help="skip the whole command")
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="almaclean-bench-resync-"))
    sample = work / "sample"

    from almaclean.sample.generator import generate

    if not (sample / "po_lines.csv").exists():
        started = time.perf_counter()
        generate(sample, seed=7, scale=1.0, ee_rows=args.ee_rows)
        print(f"generated the sample in {time.perf_counter() - started:.1f} s: {sample}")
    ee = max(sample.glob("*_portfolios.xlsx"), key=lambda p: p.stat().st_size)
    pol = sample / "po_lines.csv"
    print(f"extended export: {ee.name} ({ee.stat().st_size / 1e6:.1f} MB)")
    stamp = time.strftime("%Y%m%d-%H%M%S")
    paths = (f"EE = Path({str(ee)!r}); POL = Path({str(pol)!r})\n")

    floor = measure("floor: fastexcel read + xlsxwriter write", FLOOR,
                    setup=f"import fastexcel, xlsxwriter\nfrom pathlib import Path\n{paths}"
                          f"OUT = {str(work / f'floor-{stamp}.xlsx')!r}")
    pipeline = measure(
        "almaclean resync steps (no Prefect)", PIPELINE,
        setup=("import sys\nfrom pathlib import Path\nfrom almaclean.kinds import read_kind\n"
               "from almaclean.store.db import open_database\nfrom almaclean.store.ingest import ingest_read\n"
               "from almaclean.resync.plan import collection_name, plan_collection\n"
               "from almaclean.outputs.resync_run import copy_export, write_collection\n"
               f"{paths}OUT = {str(work / f'pipeline-{stamp}')!r}\n"
               f"DB = 'sqlite:///{work / f'pipeline-{stamp}.db'}'"),
    )
    print(floor.line())
    print(pipeline.line(floor))
    if not args.no_flow:
        flow = measure(
            "almaclean resync, the whole command", FLOW,
            setup=("from pathlib import Path\nfrom almaclean.cli import main\n"
                   f"{paths}OUT = {str(work / f'flow-{stamp}')!r}\n"
                   f"DB = 'sqlite:///{work / f'flow-{stamp}.db'}'"),
        )
        print(flow.line(floor))
    print("target: within 1.5x of the floor's time and under 1536 MB peak RSS")


if __name__ == "__main__":
    main()
