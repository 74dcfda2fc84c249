"""One collection's re-sync, start to finish, as pure functions: audit, PO line check,
the guide's edits, the person's decisions, and the loader they produce."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import cached_property
from datetime import date
from pathlib import Path

import polars as pl

from almaclean.errors import InputError
from almaclean.resync.audit import (
    CATEGORIES, MANUAL_LOAD, NOTHING_TO_LOAD, Audit, audit_table, column_key, local_details, positions_of,
)
from almaclean.resync.decisions import (
    DROP, KEEP, NO_IDENTIFIER_SHEET, PO_LINE_SHEET, Decisions, default_decision, new_value_header,
)
from almaclean.resync.loader import ROW_REMOVED, Loader, apply_edits, guide_edits, merge_edits
from almaclean.resync.pending import inactive, pending_rows
from almaclean.resync.polines import check_po_lines
from almaclean.resync.reload import WHAT_TO_ADD, cz_duplicates, no_identifier_rows
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


REVIEW_SCHEMA = {"sheet": pl.String, "index": pl.Int64, "proposal": pl.String, "why": pl.String}


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
    po_issues: pl.DataFrame | None  # None: no PO line export given; else ISSUE_COLUMNS + "corrected"
    loader: Loader
    decisions: Decisions | None
    keep_localized_n: bool
    review: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=REVIEW_SCHEMA))
    # sheet, index (frame row), proposal (the decision almaclean proposes; null: it waits for an
    # explicit one), why (the cells or facts that put the row there), in sheet order then row order
    options: tuple[str, ...] = ()   # the run's options that affect checks, repeated in next-step commands
    as_of: date | None = None       # the run date pending activations are compared with

    def decided(self, sheet: str, index: int, proposal: str | None) -> str | None:
        """The decision standing for a review row: the workbook's when one was applied, else the proposal."""
        if self.decisions is not None:
            return self.decisions.chosen.get((sheet, index))
        return proposal

    @cached_property
    def awaiting(self) -> dict[int, list[str]]:
        """Frame row -> the review sheets where it has no decision (a blank cell, or no proposal
        before any review), for the rows no decision removes."""
        standing = [(sheet, i, self.decided(sheet, i, proposal))
                    for sheet, i, proposal in self.review.select("sheet", "index", "proposal").iter_rows()]
        dropped = {i for _, i, decision in standing if decision == DROP}
        waiting: dict[int, list[str]] = {}
        for sheet, i, decision in standing:
            if decision is None and i not in dropped:
                waiting.setdefault(i, []).append(sheet)
        return waiting

    @property
    def corrected_issues(self) -> pl.DataFrame:
        """PO line issues of corrected values (typed in the review): they keep the loader a draft."""
        if self.po_issues is None:
            return pl.DataFrame(schema={"index": pl.Int64})
        return self.po_issues.filter(pl.col("corrected"))

    @property
    def needs_loader(self) -> bool:
        """Only a manual load uploads a loader file; "Activate all" keeps the export as the backup."""
        return self.audit.decision == MANUAL_LOAD

    @property
    def final(self) -> bool:
        """The loader file may be uploaded: a review workbook was applied, every reviewed row has an
        explicit decision and every corrected value passed its checks."""
        return (self.needs_loader and self.decisions is not None and not self.awaiting
                and self.corrected_issues.height == 0)

    @property
    def loader_name(self) -> str | None:
        return loader_file_name(self.export, final=self.final) if self.needs_loader else None

    @property
    def nothing_to_load(self) -> bool:
        return self.audit.decision == NOTHING_TO_LOAD

    @property
    def removed_rows(self) -> list[int]:
        """Excel rows the loader removes: those portfolios will not exist after the deletion."""
        changes = self.loader.changes
        return changes.filter(pl.col("column") == ROW_REMOVED)["row"].to_list()


def review_rows(plan: CollectionPlan) -> dict[str, list[int]]:
    """Review sheet -> the frame rows it lists, in sheet order."""
    sheets: dict[str, list[int]] = {}
    for sheet, i in plan.review.select("sheet", "index").iter_rows():
        sheets.setdefault(sheet, []).append(i)
    return sheets


def _joined(*parts: str | None) -> str | None:
    text = "; ".join(p for p in parts if p)
    return text or None


def build_review(audit: Audit, frame: pl.DataFrame, *, keep_localized_n: bool, pending: dict[int, str],
                 duplicates: dict[int, str], po_issues: pl.DataFrame | None, no_identifier: list[int]) -> pl.DataFrame:
    """The review's rows: per category sheet holding data, then PO line issues, then rows the
    loader could not match after the deletion; each with what almaclean proposes (nothing when a
    person must decide) and why the row is there."""
    rows: list[tuple[str, int, str | None, str | None]] = []
    index = pl.int_range(frame.height, dtype=pl.Int64, eager=True)
    inactive_rows = set(index.filter(frame.select(inactive(audit.header)).to_series()).to_list())
    for category in CATEGORIES:
        if not audit.counts[category]:
            continue
        listed = index.filter(audit.flags[category]).to_list()
        details = local_details(audit, frame, category, listed)
        default = default_decision(category, keep_localized_n=keep_localized_n)
        for i, why in zip(listed, details):
            proposal, extra = default, None
            if category == "inactive":
                extra = pending.get(i)
                if extra or i not in inactive_rows:
                    proposal = None   # a pending order or activation, or an availability other than INACTIVE
                if extra:
                    extra = f"{extra}: keep row (load it inactive) or drop row"
            elif category == "localized_n" and i in duplicates and not keep_localized_n:
                proposal, extra = None, duplicates[i]
            rows.append((category, i, proposal, _joined(why, extra)))
    if po_issues is not None:
        for i, reason, closed in po_issues.sort("index").select("index", "reason", "closed_only").iter_rows():
            rows.append((PO_LINE_SHEET, i, KEEP if closed else None, reason))
    rows += [(NO_IDENTIFIER_SHEET, i, None, WHAT_TO_ADD) for i in no_identifier]
    return pl.DataFrame(rows, schema=REVIEW_SCHEMA, orient="row")


def _po_check(frame: pl.DataFrame, header, first_row: int, identity: Identity, loader: Loader,
              decisions: Decisions | None, po_lines: pl.DataFrame) -> pl.DataFrame:
    """PO lines of the loaded rows checked against the PO line export, as the loader will hold
    them: a corrected value (typed in the review) is checked like the export's own and marked
    "corrected"; a cleared one is not checked."""
    po_line = identity.po_line
    positions = positions_of(header, ["PO_LINE"])
    typed = sorted({i for (_, i, column) in (decisions.values if decisions else {}) if column == "PO_LINE"})
    if decisions is not None and len(positions) == 1:
        edited = {i: new for i, pos, new in decisions.edits.cells.select("index", "pos", "new").iter_rows()
                  if pos == positions[0]}
        if edited:
            po_line = pl.Series("po_line", [edited[i] if i in edited else old for i, old in enumerate(po_line)],
                                dtype=pl.String)
    kept = (loader.rows - first_row).implode()
    rows = pl.DataFrame({
        "index": pl.int_range(frame.height, dtype=pl.Int64, eager=True),
        "row": pl.int_range(first_row, first_row + frame.height, dtype=pl.Int64, eager=True),
        "portfolio_pid": identity.pid, "mms": identity.mms, "po_line": po_line,
    }).filter(pl.col("index").is_in(kept))
    corrected = pl.col("index").is_in(typed)
    return check_po_lines(rows, po_lines).with_columns(
        pl.when(corrected).then(pl.concat_str(pl.lit("corrected value "), pl.col("po_line"), pl.lit(": "),
                                              pl.col("reason"))).otherwise("reason").alias("reason"),
        corrected.alias("corrected"))


def _refuse_lost_values(decisions: Decisions, loader: Loader, first_row: int, header) -> None:
    """A new value typed on a row the loader removes would be lost: refused, naming the cell."""
    removed = {r - first_row for r in loader.changes.filter(pl.col("column") == ROW_REMOVED)["row"].to_list()}
    lost = sorted((index, pos, where) for (index, pos), where in decisions.origins.items() if index in removed)
    if not lost:
        return
    index, pos, (sheet, review_row) = lost[0]
    if index in decisions.drop_sheets:
        keep = " (write 'keep row' there to keep it)" if decisions.drop_sheets[index] == "inactive" else ""
        why = f"the decision 'drop row' in sheet {decisions.drop_sheets[index]!r} removes{keep}: clear one of them"
    else:
        why = "the loader removes as INACTIVE: write 'keep row' for it in the inactive sheet, or clear the new value"
    value = decisions.values.get((sheet, index, column_key(header[pos])))
    raise InputError(f"sheet {sheet!r}: a new value for {header[pos]} ({value!r}) is given on a row that {why}",
                     file=decisions.source, row=review_row, column=new_value_header(column_key(header[pos])))


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
    options: tuple[str, ...] = (),
    as_of: date | None = None,
) -> CollectionPlan:
    as_of = as_of or date.today()
    identity = identity_of(canonical, frame.height)
    audit = audit_table(header, frame)
    manual = audit.decision == MANUAL_LOAD
    pending = pending_rows(header, frame, po_lines=po_lines, as_of=as_of) if manual else {}
    localized = (pl.int_range(frame.height, dtype=pl.Int64, eager=True).filter(audit.flags["localized_n"]).to_list()
                 if manual and audit.counts["localized_n"] else [])
    duplicates = cz_duplicates(header, frame, localized, identity.pid, first_row) if localized else {}
    edits = guide_edits(header, frame, keep_localized_n=keep_localized_n, hold=pending,
                        keep_n=() if keep_localized_n else duplicates)
    if decisions is not None:
        edits = merge_edits(edits, decisions.edits, undrop=decisions.undrop)
    loader = apply_edits(header, frame, first_row, identity.pid, edits)
    if decisions is not None:
        _refuse_lost_values(decisions, loader, first_row, header)
    po_issues = (_po_check(frame, header, first_row, identity, loader, decisions, po_lines)
                 if po_lines is not None else None)
    no_identifier = no_identifier_rows(header, frame) if manual else []
    review = build_review(audit, frame, keep_localized_n=keep_localized_n, pending=pending, duplicates=duplicates,
                          po_issues=po_issues if manual else None, no_identifier=no_identifier)
    return CollectionPlan(collection_name(export), Path(export), sha256, tuple(header), first_row, frame,
                          identity, audit, po_issues, loader, decisions, keep_localized_n, review, tuple(options),
                          as_of)
