"""The batch summary: one row per job (and per refused institution); retry rules for jobs."""
from __future__ import annotations

from pathlib import Path

import polars as pl

from almaclean.errors import InputError
from almaclean.write.jsonfile import write_json
from almaclean.write.xlsx import Sheet, write_workbook

SUMMARY_COLUMNS = ["institution", "job", "status", "result", "run_folder", "error", "error_file", "error_row",
                   "error_column"]
SUCCEEDED, FAILED = "succeeded", "failed"


def is_transient(exc: BaseException) -> bool:
    """Worth a retry: an I/O error (a share that hiccups) or a locked database; never bad input."""
    if isinstance(exc, InputError):
        return False
    if isinstance(exc, (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError)):
        return False
    from sqlalchemy.exc import OperationalError

    return isinstance(exc, (OSError, OperationalError))


def result_text(flow: str, summary: dict) -> str:
    """What a job decided or counted, from its run folder's summary.json."""
    if flow == "resync":
        return "; ".join(f"{c['collection']}: {c['decision']} ({c['rows']} rows)" for c in summary["collections"])
    keys = ("deletion_candidates", "pol_relinks", "review", "groups")
    return "; ".join(f"{k} {summary[k]}" for k in keys if k in summary)


def job_row(institution: str, job: str, *, run_folder: str | None = None, result: str = "",
            error: BaseException | None = None) -> dict:
    row = {"institution": institution, "job": job, "status": SUCCEEDED if error is None else FAILED,
           "result": result, "run_folder": run_folder, "error": None, "error_file": None, "error_row": None,
           "error_column": None}
    if error is not None:
        row["error"] = str(error) if isinstance(error, InputError) else f"{type(error).__name__}: {error}"
        if isinstance(error, InputError):
            file = Path(error.file).name if error.file else None
            row |= {"error_file": file, "error_row": error.row, "error_column": error.column}
    return row


def write_summary(folder: Path, rows: list[dict]) -> Path:
    """summary.json and summary.xlsx, rows in a stable order (institution, job)."""
    ordered = sorted(rows, key=lambda r: (r["institution"], r["job"]))
    write_json(Path(folder) / "summary.json", {"jobs": ordered})
    frame = pl.DataFrame([{k: None if r[k] is None else str(r[k]) for k in SUMMARY_COLUMNS} for r in ordered],
                         schema={k: pl.String for k in SUMMARY_COLUMNS})
    return write_workbook(Path(folder) / "summary.xlsx", [Sheet("Summary", SUMMARY_COLUMNS, frame)])
