"""The jobs of a batch tree: TREE/<INSTITUTION>/ holds files by the nightly inbox's rules
(almaclean.nightly.inbox). Each Extended Export is one re-sync job; the portfolio export, the
P2E file and the PO line export make one P2E job (the newest file of each kind, as the newest
becomes the current one). The institution's PO line export, when there is one, is also
checked against in each re-sync."""
from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from almaclean.errors import InputError
from almaclean.nightly.inbox import inbox_listing, institutions_in, mapping_file
from almaclean.store.ingest import collection_name_of

log = logging.getLogger(__name__)

RESYNC, P2E = "resync", "p2e"


@dataclass(frozen=True)
class Job:
    institution: str
    flow: str                       # "resync" | "p2e"
    name: str                       # the collection (re-sync) or "p2e"
    files: dict[str, Path] = field(default_factory=dict)   # role -> file: export, portfolios, p2e, po_lines, mapping


@dataclass(frozen=True)
class TreeProblem:
    """An institution folder no job can be made of (an unknown file, nothing to run)."""
    institution: str
    error: Exception


def institution_jobs(tree: Path, institution: str) -> list[Job]:
    folder = Path(tree) / institution
    by_kind: dict[str, list[Path]] = defaultdict(list)
    found, skipped = inbox_listing(folder)
    for item in found:  # oldest first
        by_kind[item.kind].append(item.path)
    po_lines = by_kind["po-lines"][-1] if by_kind.get("po-lines") else None
    mapping = mapping_file(folder)
    common = ({"po_lines": po_lines} if po_lines else {}) | ({"mapping": mapping} if mapping else {})
    jobs = [Job(institution, RESYNC, collection_name_of(export), {"export": export} | common)
            for export in sorted(by_kind.get("extended-export", []), key=lambda p: p.name)]
    if by_kind.get("portfolios") or by_kind.get("p2e"):
        files = {role: by_kind[kind][-1] for role, kind in (("portfolios", "portfolios"), ("p2e", "p2e"))
                 if by_kind.get(kind)} | common
        jobs.append(Job(institution, P2E, P2E, files))
    if not jobs:
        ignored = "".join(f"; skipped {path.name}: {reason}" for path, reason in skipped)
        raise InputError(f"nothing to run: no Extended Export, portfolio export or P2E file here{ignored}",
                         file=folder)
    return jobs


def plan_tree(tree: Path) -> tuple[list[Job], list[TreeProblem]]:
    """Every job of the tree, and the institutions whose folder is refused (the others still run)."""
    jobs: list[Job] = []
    problems: list[TreeProblem] = []
    codes = institutions_in(tree)
    if not codes:
        raise InputError("no institution folder in the batch tree (TREE/<INSTITUTION_CODE>/...)", file=tree)
    for code in codes:
        try:
            jobs += institution_jobs(tree, code)
        except InputError as exc:
            log.error("batch: institution %s refused: %s", code, exc)
            problems.append(TreeProblem(code, exc))
    log.info("batch tree %s: %d institution(s), %d job(s), %d refused", tree, len(codes), len(jobs), len(problems))
    return jobs, problems
