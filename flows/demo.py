"""The demo: a realistic sample institution run through every workflow, in one folder."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from prefect import flow

from almaclean.sample.generator import generate
from almaclean.write.atomic import new_run_folder
from flows.ingest import ingest_flow
from flows.p2e import p2e_flow
from flows.resync import resync_flow

DEMO_INSTITUTION = "DEMO"


@dataclass
class DemoResult:
    folder: Path
    sample: Path
    database: str
    p2e_run: Path
    resync_run: Path
    ingested: list[str] = field(default_factory=list)

    def describe(self) -> str:
        return "\n".join([
            f"demo finished: everything is in {self.folder}",
            f"  sample exports (input):   {self.sample}",
            f"  database:                 {self.database}",
            f"  P2E clean-up outputs:     {self.p2e_run}",
            f"  re-sync outputs:          {self.resync_run}",
            "Open the .xlsx workbooks in each outputs folder first: they start with a summary sheet.",
        ])


@flow(name="almaclean-demo")
def demo_flow(out: Path = Path("demo-output"), db_url: str | None = None) -> DemoResult:
    folder = new_run_folder(Path(out), "demo")
    sample = folder / "sample"
    generate(sample, seed=1, scale=1.0)
    database = db_url or f"sqlite:///{(folder / 'almaclean.db').resolve()}"
    exports = sorted(sample.glob("*_portfolios.xlsx"))
    ingested = []
    for kind, files in (("portfolios", [sample / "portfolios.csv"]), ("p2e", [sample / "p2e.txt"]),
                        ("po-lines", [sample / "po_lines.csv"]), ("extended-export", exports)):
        ingested += [f"{r.status} {Path(r.file).name}" for r in
                     ingest_flow(kind, files, DEMO_INSTITUTION, db_url=database)]
    p2e_run = p2e_flow(portfolios=None, institution=DEMO_INSTITUTION, out=folder, db_url=database)
    resync_run = resync_flow(exports, po_lines=sample / "po_lines.csv", institution=DEMO_INSTITUTION,
                             out=folder, db_url=database)
    return DemoResult(folder, sample, database, p2e_run, resync_run, ingested)
