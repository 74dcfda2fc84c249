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
from almaclean.resync.report import audit_record, collections_summary, draft_reasons, review_sheets
from almaclean.resync.plan import loader_file_name
from almaclean.write.atomic import atomic_path
from almaclean.write.jsonfile import write_json
from almaclean.write.csvfile import write_csv_for_people
from almaclean.write.xlsx import Sheet, write_workbook

log = logging.getLogger(__name__)

DEFAULT_SHEET = "Portfolios"
DRAFT_SHEET = "DRAFT - do not upload"
DRAFT_TITLE = "DRAFT: do not upload"
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


def _shorter(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."


def loader_sheet(plan: CollectionPlan) -> tuple[Sheet, dict[str, str]]:
    """The loader's one sheet (the export's header row exactly, its kept rows) and the workbook's
    document properties. A DRAFT says so where the Portfolio Loader reads no cell: its sheet tab
    (named and coloured), a box Excel shows on the header row while A1 is selected (when the file
    opens), and the document title and comments. No sheet, row or column is added: how the
    Portfolio Loader picks a sheet is not documented, so the file keeps the export's shape."""
    header, frame = list(plan.header), plan.loader.frame
    if plan.final:
        return Sheet(export_sheet_name(plan.export), header, frame, freeze=False, autofilter=True), {}
    why = "; ".join(draft_reasons(plan))
    then = " Fill in review.xlsx, then run the command its first sheet gives."
    message = _shorter("Not the file to upload: " + why + ".", 255 - len(then)) + then
    sheet = Sheet(DRAFT_SHEET, header, frame, freeze=False, autofilter=True,
                  header_note=(DRAFT_TITLE, _shorter(message, 255)), tab_color="#C00000")
    return sheet, {"title": f"{DRAFT_TITLE} ({plan.collection})",
                   "comments": f"almaclean DRAFT loader of {plan.export.name}: {why}.{then} It writes "
                               f"{loader_file_name(plan.export)}, the file to upload."}


def write_collection(plan: CollectionPlan, folder: Path) -> dict:
    """audit.json, review.xlsx and, for a manual load, changes.csv and the loader spreadsheet
    (named _DRAFT while rows await a decision); returns the audit record. The loader is checked
    against its change log first: an unlogged removal or change writes nothing."""
    record = audit_record(plan)
    loader = plan.loader
    if plan.needs_loader:
        check_logged(plan.frame, plan.first_row, plan.header, loader)
        sheet, properties = loader_sheet(plan)
        write_workbook(folder / plan.loader_name, [sheet], **properties)
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
