"""One collection's re-sync, start to finish, as pure functions: audit, PO line check,
the guide's edits, the person's decisions, and the loader they produce."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from almaclean.resync.audit import CATEGORIES, MANUAL_LOAD, NOTHING_TO_LOAD, Audit, audit_table
from almaclean.resync.decisions import PO_LINE_SHEET, Decisions
from almaclean.resync.loader import Loader, apply_edits, guide_edits, merge_edits
from almaclean.resync.polines import check_po_lines
from almaclean.store.ingest import collection_name_of

log = logging.getLogger(__name__)

NOTHING_TO_LOAD_TEXT = "nothing to load: the export has no portfolios"


def collection_name(export: Path) -> str:
    """`JSTOR+Open+Access_portfolios.xlsx` -> `JSTOR Open Access` (the store's rule)."""
    return collection_name_of(Path(export))


def loader_file_name(export: Path, *, final: bool = True) -> str:
    """The export's name with `_loader` before `.xlsx`; `_loader_DRAFT` while rows await a decision."""
    return f"{Path(export).stem}_loader{'' if final else '_DRAFT'}.xlsx"


@dataclass(frozen=True)
class Identity:
    """The identifying values of each export row, aligned with the table frame."""
    pid: pl.Series      # PORTFOLIO_PID
    mms: pl.Series
    title: pl.Series
    po_line: pl.Series


def identity_of(canonical: pl.DataFrame, height: int) -> Identity:
    """Identifying columns from the kind's canonical frame (aliases already resolved).

    The canonical frame leaves out rows with no cell at all; they get nulls here, so the
    series stay aligned with the table frame (row numbers from the canonical "row" column)."""
    if canonical.height != height:
        if "row" not in canonical.columns or canonical.height > height:
            raise ValueError(f"canonical frame has {canonical.height} rows, the table {height}")
        first = int(canonical["row"].min()) if canonical.height else 0
        rows = pl.DataFrame({"row": pl.int_range(first, first + height, dtype=pl.Int64, eager=True)})
        canonical = rows.join(canonical, on="row", how="left", maintain_order="left")

    def col(name: str) -> pl.Series:
        if name in canonical.columns:
            return canonical[name].cast(pl.String)
        return pl.Series(name, [None] * height, dtype=pl.String)

    return Identity(col("portfolio_id"), col("mms_id"), col("title"), col("po_line"))


@dataclass(frozen=True)
class CollectionPlan:
    collection: str
    export: Path
    sha256: str
    header: tuple[str, ...]
    first_row: int
    frame: pl.DataFrame             # the export as read (c0..cN)
    identity: Identity
    audit: Audit
    po_issues: pl.DataFrame | None  # None: no PO line export given
    loader: Loader
    decisions: Decisions | None
    keep_localized_n: bool

    @property
    def awaiting(self) -> set[tuple[str, int]]:
        """(review sheet, frame row) of every reviewed row without a decision from a review workbook."""
        chosen = self.decisions.chosen if self.decisions is not None else {}
        return {(sheet, i) for sheet, rows in review_rows(self).items() for i in rows if (sheet, i) not in chosen}

    @property
    def needs_loader(self) -> bool:
        """Only a manual load uploads a loader file; "Activate all" keeps the export as the backup."""
        return self.audit.decision == MANUAL_LOAD

    @property
    def final(self) -> bool:
        """The loader file may be uploaded: a review workbook was applied and left no row undecided."""
        return self.needs_loader and self.decisions is not None and not self.awaiting

    @property
    def loader_name(self) -> str | None:
        return loader_file_name(self.export, final=self.final) if self.needs_loader else None

    @property
    def nothing_to_load(self) -> bool:
        return self.audit.decision == NOTHING_TO_LOAD


def review_rows(plan: CollectionPlan) -> dict[str, list[int]]:
    """Review sheet -> the frame rows it lists (a sheet per category holding data, then PO line issues)."""
    sheets: dict[str, list[int]] = {}
    index = pl.int_range(plan.frame.height, dtype=pl.Int64, eager=True)
    for category in CATEGORIES:
        if plan.audit.counts[category]:
            sheets[category] = index.filter(plan.audit.flags[category]).to_list()
    if plan.po_issues is not None and plan.po_issues.height:
        sheets[PO_LINE_SHEET] = sorted(plan.po_issues["index"].to_list())
    return sheets


def plan_collection(
    export: Path,
    sha256: str,
    header: tuple[str, ...],
    frame: pl.DataFrame,
    first_row: int,
    canonical: pl.DataFrame,
    *,
    po_lines: pl.DataFrame | None = None,
    decisions: Decisions | None = None,
    keep_localized_n: bool = False,
) -> CollectionPlan:
    identity = identity_of(canonical, frame.height)
    audit = audit_table(header, frame)
    po_issues = None
    if po_lines is not None:
        rows = pl.DataFrame({
            "index": pl.int_range(frame.height, dtype=pl.Int64, eager=True),
            "row": pl.int_range(first_row, first_row + frame.height, dtype=pl.Int64, eager=True),
            "portfolio_pid": identity.pid, "mms": identity.mms, "po_line": identity.po_line,
        })
        po_issues = check_po_lines(rows, po_lines)
    edits = guide_edits(header, frame, audit, keep_localized_n=keep_localized_n)
    if decisions is not None:
        edits = merge_edits(edits, decisions.edits, undrop=decisions.undrop)
    loader = apply_edits(header, frame, first_row, identity.pid, edits)
    return CollectionPlan(collection_name(export), Path(export), sha256, tuple(header), first_row, frame,
                          identity, audit, po_issues, loader, decisions, keep_localized_n)
