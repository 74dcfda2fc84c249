"""Reading a re-sync's inputs (I/O adapter): export files or folders, the PO line export,
a filled review workbook, and matching that workbook to its export."""
from __future__ import annotations

import logging
from pathlib import Path

from almaclean.errors import InputError
from almaclean.resync.decisions import ReviewTable, check_belongs, review_sha256

log = logging.getLogger(__name__)


def expand_exports(exports: list[Path]) -> list[Path]:
    """Files as given; a folder gives its *.xlsx files, sorted (Excel lock files skipped)."""
    files: list[Path] = []
    for item in map(Path, exports):
        if item.is_dir():
            found = sorted(p for p in item.glob("*.xlsx") if p.is_file() and not p.name.startswith("~$"))
            if not found:
                raise InputError("no .xlsx Extended Export in this folder", file=item)
            files.extend(found)
        elif item.is_file():
            files.append(item)
        else:
            raise InputError("no such file or folder", file=item)
    seen: set[Path] = set()
    unique = [f for f in files if not (f.resolve() in seen or seen.add(f.resolve()))]
    log.info("%d export(s) to re-sync", len(unique))
    return unique


def match_review(review_path: Path, sheets: dict[str, ReviewTable], digests: dict[Path, str]) -> Path:
    """The export a review workbook belongs to (by the sha256 in its summary sheet)."""
    if len(digests) == 1:
        export, sha = next(iter(digests.items()))
        check_belongs(review_path, sheets, sha, export.name)
        return export
    wanted = review_sha256(review_path, sheets)
    for export, sha in digests.items():
        if wanted is not None and sha == wanted:
            return export
    raise InputError("this review workbook belongs to none of the exports given", file=review_path)
