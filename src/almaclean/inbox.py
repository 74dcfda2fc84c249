"""The nightly inbox: INBOX/<INSTITUTION_CODE>/ holds the files Alma's scheduled exports drop.

Kind of a file (docs/nightly.md):
- in a kind sub-folder, at any depth below it: portfolios/, p2e/, po-lines/ (or po_lines/),
  extended-export/ (or extended_export/);
- directly in the institution folder, by its lower-cased name, first rule that applies:
  a name containing "p2e" -> p2e; "po_line", "po-line", "poline", "po line" or the word "pol"
  -> po-lines; ending "_portfolios.xlsx" (Alma's Extended Export naming) -> extended-export;
  containing "portfolio" -> portfolios.
Any other file, and any other sub-folder, is refused (InputError naming it): a nightly job
must not guess. Skipped silently: hidden files (".x"), Excel lock files ("~$x"), Thumbs.db,
desktop.ini. `mapping.toml` directly in the institution folder is its header mapping file
(kinds.load_mapping format); `sources.toml` names the Alma Analytics reports nightly fetches
(analytics.sources), and files of a kind fetched that way are skipped, with the reason.

Files are listed oldest first (modification time, then name), the order they are ingested in,
so the newest file of a kind becomes the current one.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

from almaclean.errors import InputError
from almaclean.kinds.registry import FOLDERS

log = logging.getLogger(__name__)

MAPPING_FILE = "mapping.toml"
SOURCES_FILE = "sources.toml"   # analytics.sources
_CLUTTER = {"thumbs.db", "desktop.ini"}
_PO_LINE_NAMES = ("po_line", "po-line", "poline", "po line")
_WORDS = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class InboxFile:
    path: Path
    kind: str
    mtime: float


def is_clutter(name: str) -> bool:
    return name.startswith((".", "~$")) or name.lower() in _CLUTTER


def kind_by_name(name: str) -> str | None:
    """The kind a file directly in the institution folder has by its name, or None."""
    lower = name.lower()
    if "p2e" in lower:
        return "p2e"
    if any(part in lower for part in _PO_LINE_NAMES) or "pol" in _WORDS.findall(lower):
        return "po-lines"
    if lower.endswith("_portfolios.xlsx"):
        return "extended-export"
    if "portfolio" in lower:
        return "portfolios"
    return None


def kind_of(relative: Path, *, institution_folder: Path) -> str:
    """The kind of a file given by its path inside the institution folder; InputError if unknown."""
    parts = relative.parts
    if len(parts) > 1:
        kind = FOLDERS.get(parts[0].lower())
        if kind is None:
            raise InputError(
                f"unknown inbox sub-folder {parts[0]!r}: use one of {', '.join(sorted(set(FOLDERS)))}",
                file=institution_folder / relative)
        return kind
    kind = kind_by_name(relative.name)
    if kind is None:
        raise InputError(
            "cannot tell which kind of export this file is: put it in a sub-folder portfolios/, p2e/, "
            "po-lines/ or extended-export/, or name it like *portfolios*, *p2e*, *po_lines*, "
            "<Collection>_portfolios.xlsx", file=institution_folder / relative)
    return kind


def inbox_files(folder: Path) -> list[InboxFile]:
    """Every data file of an institution folder with its kind, oldest first (mtime, then name).
    Files of no known kind are left out (inbox_listing says which and why)."""
    return inbox_listing(folder)[0]


def inbox_listing(folder: Path, *, fetched: frozenset[str] = frozenset()
                  ) -> tuple[list[InboxFile], list[tuple[Path, str]]]:
    """The data files with their kind, oldest first, and the files skipped with the reason (a
    stray notes.json is reported, never fatal for the institution). fetched: kinds that come
    from an Analytics report (sources.toml) instead: one source per kind, so an old export left
    in the inbox never becomes the current one again after a fetch."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError("no inbox folder for this institution", file=folder)
    found: list[InboxFile] = []
    skipped: list[tuple[Path, str]] = []
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if any(is_clutter(part) for part in relative.parts) or path.is_dir():
            continue
        if relative in (Path(MAPPING_FILE), Path(SOURCES_FILE)):
            continue
        if not path.is_file():
            skipped.append((path, "not a regular file"))
            continue
        try:
            kind = kind_of(relative, institution_folder=folder)
        except InputError as exc:
            skipped.append((path, exc.message))
            continue
        if kind in fetched:
            skipped.append((path, f"this institution's {kind} come from the Analytics report named in {SOURCES_FILE}, "
                                  "not from files (remove it there to use files)"))
            continue
        found.append(InboxFile(path, kind, path.stat().st_mtime))
    for path, reason in skipped:
        log.warning("inbox %s: skipped %s: %s", folder, path.relative_to(folder), reason)
    found.sort(key=lambda f: (f.mtime, f.path.name, str(f.path)))
    log.info("inbox %s: %d files (%s)", folder, len(found),
             ", ".join(f"{k} {sum(f.kind == k for f in found)}" for k in sorted({f.kind for f in found})) or "none")
    return found, skipped


def mapping_file(folder: Path) -> Path | None:
    path = Path(folder) / MAPPING_FILE
    return path if path.is_file() else None


def institutions_in(inbox: Path) -> list[str]:
    """Institution codes: the inbox's sub-folders, sorted (hidden ones skipped)."""
    inbox = Path(inbox)
    if not inbox.is_dir():
        raise InputError("the nightly inbox folder does not exist", file=inbox)
    return sorted(p.name for p in inbox.iterdir() if p.is_dir() and not is_clutter(p.name))
