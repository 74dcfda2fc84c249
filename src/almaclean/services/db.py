"""Database upkeep: schema upgrade and retention."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from almaclean.services import options
from almaclean.store.db import describe
from almaclean.store.prune import Pruned, prune


@dataclass(frozen=True)
class PruneRun:
    database: str
    keep_days: int
    pruned: Pruned

    def lines(self) -> list[str]:
        p = self.pruned
        return [f"database: {self.database}",
                f"removed {p.files:,} stored file(s) ({p.rows:,} rows) ingested more than {self.keep_days} day(s) ago "
                "and superseded since",
                f"kept {p.kept_for_runs:,} such file(s) that recorded runs analysed (so those runs still verify); "
                "current files are always kept"]

    def as_json(self) -> dict:
        return {"command": "db prune", "database": self.database, "keep_days": self.keep_days,
                "files_removed": self.pruned.files, "rows_removed": self.pruned.rows,
                "kept_for_runs": self.pruned.kept_for_runs}


MAX_KEEP_DAYS = 36_500   # a hundred years


def prune_history(engine: Engine, keep_days: int) -> PruneRun:
    options.whole_number("--keep-days", keep_days, 0, MAX_KEEP_DAYS)
    return PruneRun(describe(engine), keep_days, prune(engine, keep_days))
