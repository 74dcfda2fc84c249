"""The demo: a realistic sample institution run through both workflows, in one folder."""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from almaclean.sample.generator import generate
from almaclean.services import options
from almaclean.services.ingest import ingest
from almaclean.services.p2e import P2ERequest, P2ERun, run_p2e
from almaclean.services.resync import ResyncRequest, ResyncRun, run_resync
from almaclean.store.db import describe, open_database, sqlite_url
from almaclean.write.atomic import new_run_folder

DEMO_INSTITUTION = "DEMO"


@dataclass
class DemoRun:
    folder: Path
    sample: Path
    database: str
    p2e: P2ERun
    resync: ResyncRun
    ingested: list[str] = field(default_factory=list)
    database_url: str = ""                 # the demo's database, for the commands that look at it
    example_portfolio: str | None = None   # a deletion candidate's portfolio id, for `history`
    commands: list[tuple[str, str]] = field(default_factory=list)   # (what for, command line) to run next

    def lines(self) -> list[str]:
        return [
            f"demo finished: everything is in {self.folder}",
            f"  sample exports (input):   {self.sample}",
            f"  database:                 {self.database}",
            f"  P2E clean-up outputs:     {self.p2e.folder}",
            f"  re-sync outputs:          {self.resync.folder}",
            *self.p2e.lines(),
            *self.resync.lines(),
            "Open the .xlsx workbooks in each outputs folder first: they start with a summary sheet.",
            *(f"next, {what}: {command}" for what, command in self.commands),
        ]

    def as_json(self) -> dict:
        return {"command": "demo", "folder": str(self.folder), "sample": str(self.sample),
                "database": self.database, "p2e": self.p2e.as_json(), "resync": self.resync.as_json(),
                "next_commands": [{"for": what, "command": command} for what, command in self.commands]}


def _first_candidate(run: Path) -> str | None:
    with open(run / "deletion_candidates.csv", encoding="utf-8-sig", newline="") as handle:
        return next((row["portfolio_id"] for row in csv.DictReader(handle)), None)


def run_demo(out: Path, db_url: str | None = None) -> DemoRun:
    """A new demo-<stamp> folder under `out` with the sample, its own database (unless db_url
    names one) and the outputs of both workflows."""
    options.output_folder(out)
    folder = new_run_folder(Path(out), "demo")
    sample = folder / "sample"
    generate(sample, seed=1, scale=1.0)
    url = db_url or sqlite_url((folder / "almaclean.db").resolve())
    engine = open_database(url)
    url = url if isinstance(url, str) else url.render_as_string(hide_password=False)
    try:
        exports = sorted(sample.glob("*_portfolios.xlsx"))
        ingested = []
        for kind, files in (("portfolios", [sample / "portfolios.csv"]), ("p2e", [sample / "p2e.txt"]),
                            ("po-lines", [sample / "po_lines.csv"]), ("extended-export", exports)):
            ingested += [f"{r.status} {Path(r.file).name}" for r in ingest(engine, kind, files, DEMO_INSTITUTION)]
        p2e = run_p2e(engine, P2ERequest(DEMO_INSTITUTION, folder))
        resync = run_resync(engine, ResyncRequest(exports, folder, DEMO_INSTITUTION, po_lines=sample / "po_lines.csv",
                                                  db=url))
        return DemoRun(folder, sample, describe(engine), p2e, resync, ingested, database_url=url,
                       example_portfolio=_first_candidate(p2e.folder))
    finally:
        engine.dispose()
