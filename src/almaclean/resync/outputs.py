"""Writing one collection's outputs into its folder of the run (I/O adapter).

Everything goes through the project's atomic writers: nothing is ever overwritten."""
from __future__ import annotations

import hashlib
import logging
import re
import shutil
import zipfile
from pathlib import Path

from almaclean.resync.loader import check_logged
from almaclean.resync.plan import CollectionPlan
from almaclean.resync.report import audit_record, collections_summary, review_sheets
from almaclean.write.atomic import atomic_path
from almaclean.write.jsonfile import write_json
from almaclean.write.csvfile import write_csv_for_people
from almaclean.write.xlsx import Sheet, write_workbook

log = logging.getLogger(__name__)

DEFAULT_SHEET = "Portfolios"
_SHEET_NAME = re.compile(rb'<sheet\b[^>]*?\bname="([^"]*)"')


def copy_export(export: Path, folder: Path) -> tuple[str, int]:
    """Copy the export unchanged into folder, with a `.sha256` file beside it; returns (sha256, size)."""
    export = Path(export)
    digest = hashlib.sha256()
    size = 0
    with atomic_path(folder / export.name) as temp:
        with open(export, "rb") as src, open(temp, "wb") as dst:
            while chunk := src.read(1 << 20):
                digest.update(chunk)
                dst.write(chunk)
                size += len(chunk)
        shutil.copystat(export, temp)
    sha = digest.hexdigest()
    with atomic_path(folder / f"{export.name}.sha256") as temp:
        temp.write_text(f"{sha}  {export.name}\n", encoding="utf-8")
    log.info("copied %s (%d bytes, sha256 %s) into %s", export.name, size, sha[:12], folder)
    return sha, size


def export_sheet_name(export: Path) -> str:
    """The first sheet's name in the export, so the loader looks like the original."""
    try:
        with zipfile.ZipFile(export) as z:
            found = _SHEET_NAME.search(z.read("xl/workbook.xml"))
    except (OSError, KeyError, zipfile.BadZipFile):
        return DEFAULT_SHEET
    if not found:
        return DEFAULT_SHEET
    from html import unescape

    name = unescape(found.group(1).decode("utf-8", "replace"))
    return name if 0 < len(name) <= 31 and not set(name) & set("[]:*?/\\") else DEFAULT_SHEET


def write_collection(plan: CollectionPlan, folder: Path) -> dict:
    """audit.json, review.xlsx and, for a manual load, changes.csv and the loader spreadsheet
    (named _DRAFT while rows await a decision); returns the audit record. The loader is checked
    against its change log first: an unlogged removal or change writes nothing."""
    record = audit_record(plan)
    loader = plan.loader
    if plan.needs_loader:
        check_logged(plan.frame, plan.first_row, plan.header, loader)
        write_workbook(folder / plan.loader_name, [
            Sheet(export_sheet_name(plan.export), list(plan.header), loader.frame, freeze=False, autofilter=True),
        ])
    if not plan.nothing_to_load:
        write_csv_for_people(folder / "changes.csv", loader.changes.select("row", "portfolio_pid", "column", "old",
                                                                           "new", "reason"))
    write_workbook(folder / "review.xlsx", review_sheets(plan))
    write_json(folder / "audit.json", record)
    log.info("%s: decision %s; loader %s (%d rows), review.xlsx, %d change lines, in %s",
             plan.collection, plan.audit.decision, plan.loader_name or "none", loader.frame.height,
             loader.changes.height, folder)
    return record


def write_run_summary(run_folder: Path, records: list[tuple[dict, str]]) -> Path:
    """summary.xlsx and summary.json across the run's collections."""
    write_json(run_folder / "summary.json", {"collections": [dict(r, folder=f) for r, f in records]})
    return write_workbook(run_folder / "summary.xlsx", [collections_summary(records)])
