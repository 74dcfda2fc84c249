"""Reading a re-sync's inputs (I/O adapter): export files or folders, the PO line export,
a filled review workbook, and matching that workbook to its export."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from almaclean.errors import InputError
from almaclean.kinds.identify import KIND_LABELS, marks
from almaclean.model import extended_export as model
from almaclean.read.table import read_table
from almaclean.resync.audit import column_key
from almaclean.resync.decisions import ReviewTable, check_belongs, review_sha256

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExportFile:
    path: Path
    from_folder: bool   # found in a folder given (a file that is no Extended Export is skipped, not refused)


def expand_exports(exports: list[Path]) -> list[ExportFile]:
    """Files as given; a folder gives its *.xlsx files, sorted (Excel lock files skipped)."""
    files: list[ExportFile] = []
    for item in map(Path, exports):
        if item.is_dir():
            found = sorted(p for p in item.glob("*.xlsx") if p.is_file() and not p.name.startswith("~$"))
            if not found:
                raise InputError("no .xlsx Extended Export in this folder", file=item)
            files.extend(ExportFile(p, True) for p in found)
        elif item.is_file():
            files.append(ExportFile(item, False))
        else:
            raise InputError("no such file or folder", file=item)
    seen: set[Path] = set()
    unique = [f for f in files if not (f.path.resolve() in seen or seen.add(f.path.resolve()))]
    log.info("%d export(s) to re-sync", len(unique))
    return unique


def not_an_extended_export(path: Path) -> str | None:
    """Why a file found in a folder is no Extended Export (its header carries none of the export's
    column names: a P2E report, a PO line export...), or None when it looks like a damaged or odd
    Extended Export, which must be refused with its own error."""
    try:
        header = read_table(path, sheet=0).header
    except InputError:
        return None
    found = marks(header)
    known = [h for h in header if model.column(h) is not None]
    if found["any loader name"] or any(column_key(h) in ("PORTFOLIO_PID", "MMS") for h in known):
        return None
    other = next((k for k in ("p2e", "po-lines", "portfolios") if found[k]), None)
    what = f"its columns are those of {KIND_LABELS[other]}" if other else "none of its columns is an Extended " \
        "Export column"
    return f"not an Extended Export: {what}"


def match_review(review_path: Path, sheets: dict[str, ReviewTable], digests: dict[Path, str]) -> Path:
    """The export a review workbook belongs to (by the sha256 in its summary sheet)."""
    if len(digests) == 1:
        export, sha = next(iter(digests.items()))
        check_belongs(review_path, sheets, sha, export.name)
        return export
    wanted = review_sha256(sheets)
    for export, sha in digests.items():
        if wanted is not None and sha == wanted:
            return export
    raise InputError("this review workbook belongs to none of the exports given", file=review_path)
