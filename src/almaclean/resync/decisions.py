"""Review decisions: what a person may write in each review sheet, and turning a filled
review workbook into loader edits (pure), after checking it belongs to this export."""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from almaclean.errors import InputError
from almaclean.model import extended_export as model
from almaclean.resync.audit import column_key, positions_of
from almaclean.resync.loader import Edits, cell_edits, drop_edits
from almaclean.resync.values import problem, year_order_problem

log = logging.getLogger(__name__)

KEEP, DROP, KEEP_ROW = "keep", "drop row", "keep row"
SET_Y, SET_N = "set LOCALIZED Y", "set LOCALIZED N"
PO_LINE_SHEET = "po_line_check"
NO_IDENTIFIER_SHEET = "no_identifier"
NOTES_COLUMNS = tuple(c.name for c in model.local_columns("notes"))
LOCAL_DATE_COLUMNS = ("FROM_YEAR", "TO_YEAR", "FROM_MONTH", "TO_MONTH", "FROM_DAY", "TO_DAY",
                      "FROM_VOLUME", "TO_VOLUME", "FROM_ISSUE", "TO_ISSUE", "EXPECTED_ACTIVATION_DATE")
EMBARGO_COLUMNS = ("PUBLICATION_DATE_OPERATOR", "PUBLICATION_DATE_YEAR", "PUBLICATION_DATE_MONTH")
IDENTIFIER_COLUMNS = ("ISSN", "ISBN", "OTHER_SYSTEM_NUMBER")


def clear_choice(column: str) -> str:
    """The decision that empties one column of a row ("clear PUBLIC_NOTES")."""
    return f"clear {column}"


CLEAR_URL, CLEAR_POL = clear_choice("URL"), clear_choice("PO_LINE")

# What a person may write in each sheet's decision cell. The first choice is what almaclean
# proposes for a row when proposing is safe (localized_n: set Y, or set N with
# --keep-localized-n); a row it proposes nothing for waits for an explicit decision. A blank
# cell is never a decision.
CHOICES: dict[str, tuple[str, ...]] = {
    "localized_n": (SET_Y, SET_N, DROP),
    "local_coverage": (KEEP, DROP),
    "inactive": (DROP, KEEP_ROW),
    "notes": (KEEP, *(clear_choice(c) for c in NOTES_COLUMNS), DROP),
    "acquisitions": (KEEP, CLEAR_POL, DROP),
    "override_url": (KEEP, CLEAR_URL, DROP),
    "local_settings": (KEEP, DROP),
    "unknown_columns": (KEEP, DROP),
    PO_LINE_SHEET: (KEEP, CLEAR_POL, DROP),
    NO_IDENTIFIER_SHEET: (KEEP, DROP),
}

# Which columns a "clear"/"set" decision writes, and the value written.
_CELL_ACTIONS: dict[str, tuple[tuple[str, ...], str | None]] = {
    SET_Y: (("LOCALIZED",), "Y"),
    SET_N: (("LOCALIZED",), "N"),
    CLEAR_URL: (("URL",), None),
    CLEAR_POL: (("PO_LINE",), None),
    **{clear_choice(c): ((c,), None) for c in NOTES_COLUMNS},
}

# The cells a reviewer may rewrite in each sheet, through a "<COLUMN> new value" column
# (the guide: edit local coverage, URLs and notes, correct PO lines, add POL details such
# as a simultaneous-user limit to a public note; add an identifier a row cannot load without).
EDITABLE: dict[str, tuple[str, ...]] = {
    "local_coverage": LOCAL_DATE_COLUMNS + EMBARGO_COLUMNS + ("COVERAGE_STATEMENT",),
    "notes": NOTES_COLUMNS,
    "acquisitions": ("PO_LINE", "PUBLIC_NOTES"),
    "override_url": ("URL",),
    PO_LINE_SHEET: ("PO_LINE", "PUBLIC_NOTES"),
    NO_IDENTIFIER_SHEET: IDENTIFIER_COLUMNS,
}
# Columns the export repeats (ISSN x3): a new value goes into the first of them.
FIRST_OF_REPEATED = frozenset(IDENTIFIER_COLUMNS)
NEW_VALUE_SUFFIX = " new value"


def new_value_header(column: str) -> str:
    return f"{column}{NEW_VALUE_SUFFIX}"


SHA_ITEM = "export sha256"
DECISION, ROW, PID = "decision", "row", "PORTFOLIO_PID"


def default_decision(sheet: str, *, keep_localized_n: bool = False) -> str:
    """What almaclean proposes for a row of the sheet when proposing is safe."""
    if sheet == "localized_n":
        return SET_N if keep_localized_n else SET_Y
    return CHOICES[sheet][0]


_FORMER_CLEAR_NOTES = "clear notes"


def normalise_choice(sheet: str, value: str | None) -> str | None:
    """The canonical spelling of a written decision (case and spaces ignored); None when the
    cell is blank (no decision). ValueError when the text is not one of the sheet's choices."""
    exact = re.sub(r"\s+", " ", (value or "").strip())
    text = exact.lower()
    if not text:
        return None
    if text == _FORMER_CLEAR_NOTES and exact != clear_choice("NOTES"):
        raise ValueError   # once emptied all four notes columns: never read as one of them
    for choice in CHOICES[sheet]:
        if choice.lower() == text:
            return choice
    raise ValueError


@dataclass(frozen=True)
class ReviewTable:
    """One sheet of a review workbook as read back: header names and text rows."""
    header: list[str]
    frame: pl.DataFrame   # positional columns, text


@dataclass(frozen=True)
class Decisions:
    edits: Edits
    undrop: set[int]                       # frame rows kept despite a guide removal
    chosen: dict[tuple[str, int], str]     # (sheet, frame row) -> decision, to show again
    source: Path
    values: dict[tuple[str, int, str], str] = field(default_factory=dict)  # (sheet, frame row, column) -> new value
    # (frame row, column position) of each new value -> (sheet, review row): where a person typed it
    origins: dict[tuple[int, int], tuple[str, int]] = field(default_factory=dict)
    drop_sheets: dict[int, str] = field(default_factory=dict)   # frame row -> first sheet saying "drop row"


def review_sha256(sheets: dict[str, ReviewTable]) -> str | None:
    """The export sha256 written in a review workbook's summary sheet (first filled cell after its item)."""
    summary = sheets.get("summary")
    if summary is None or summary.frame.width < 2:
        return None
    for item, *values in summary.frame.iter_rows():
        if item and item.strip().lower() == SHA_ITEM:
            return next((v.strip().lower() for v in values if v and v.strip()), "")
    return None


def check_belongs(path: Path, sheets: dict[str, ReviewTable], export_sha256: str, export_name: str) -> None:
    found = review_sha256(sheets)
    if found is None:
        raise InputError(f"not an almaclean review workbook: no {SHA_ITEM!r} line in its summary sheet",
                         file=path)
    if found != export_sha256.lower():
        raise InputError(
            f"this review workbook belongs to another export (sha256 {found[:12]}...), "
            f"not to {export_name} (sha256 {export_sha256[:12]}...)", file=path)


def _column(path: Path, sheet: str, table: ReviewTable, name: str) -> str:
    for i, h in enumerate(table.header):
        if h.strip().lower() == name.lower():
            return table.frame.columns[i]
    raise InputError(f"sheet {sheet!r} has no {name!r} column", file=path, row=1, column=name)


def _export_row(value: str | None) -> int | None:
    if value and re.fullmatch(r"\d+(\.0+)?", value.strip()):
        return int(float(value))
    return None


def _new_value_columns(path: Path, sheet: str, table: ReviewTable, header) -> list[tuple[str, int, str]]:
    """(review frame column, export column position, column name) of each "<COLUMN> new value"
    column of a sheet; a column the sheet may not change, or not (or not once) in the export,
    is refused (a repeated identifier column takes the new value in its first position)."""
    export = [column_key(h) for h in header]
    found = []
    for i, name in enumerate(table.header):
        text = name.strip()
        if not text.lower().endswith(NEW_VALUE_SUFFIX):
            continue
        column = column_key(text[: -len(NEW_VALUE_SUFFIX)])
        allowed = EDITABLE.get(sheet, ())
        if column not in allowed:
            raise InputError(f"sheet {sheet!r}: column {text!r} is not one this sheet can change"
                             + (f"; it can change {', '.join(allowed)}" if allowed else ""),
                             file=path, row=1, column=text)
        count = export.count(column)
        if count == 0 or (count > 1 and column not in FIRST_OF_REPEATED):
            raise InputError(f"sheet {sheet!r}: the export has {count} {column} columns, "
                             "so a new value cannot say which one it is for", file=path, row=1, column=text)
        found.append((table.frame.columns[i], export.index(column), column))
    return found


NEW_VALUE_REASON = "review new value (sheet {})"


class _CellPlan:
    """Cell edits by (frame row, column position); two different values for one cell are refused."""

    def __init__(self, path: Path, header) -> None:
        self.path, self.header = path, header
        self.cells: dict[tuple[int, int], tuple[str | None, str, str, int]] = {}

    def add(self, index: int, pos: int, value: str | None, reason: str, sheet: str, review_row: int) -> None:
        before = self.cells.get((index, pos))
        if before is not None and before[0] != value:
            raise InputError(
                f"sheet {sheet!r} sets {self.header[pos]} of this export row to {value!r} but sheet "
                f"{before[2]!r} (row {before[3]}) sets it to {before[0]!r}: keep one of them",
                file=self.path, row=review_row, column=self.header[pos])
        self.cells.setdefault((index, pos), (value, reason, sheet, review_row))


def _check_new_value(path: Path, sheet: str, review_row: int, column: str, text: str, old: str | None) -> None:
    """A typed value is checked like the export's own: InputError naming the cell when it is not
    what the Portfolio Loader takes."""
    if not text.strip():
        raise InputError(f"sheet {sheet!r}: the new value of {column} is only spaces; to empty "
                         f"the cell write {clear_choice(column)!r} as the decision if the sheet "
                         "offers it, or leave the new value blank", file=path, row=review_row,
                         column=new_value_header(column))
    wrong = problem(column, text, old)
    if wrong:
        raise InputError(f"sheet {sheet!r}: the new value of {column}: {wrong}", file=path, row=review_row,
                         column=new_value_header(column))


def _check_year_order(path: Path, plan: _CellPlan, header, frame: pl.DataFrame) -> None:
    """A corrected coverage must not end before it starts (the row's final FROM_YEAR / TO_YEAR)."""
    years = {name: positions_of(header, [name]) for name in ("FROM_YEAR", "TO_YEAR")}
    if len(years["FROM_YEAR"]) != 1 or len(years["TO_YEAR"]) != 1:
        return
    start, end = years["FROM_YEAR"][0], years["TO_YEAR"][0]
    for index in sorted({i for (i, pos), v in plan.cells.items() if pos in (start, end) and v[1].startswith("review new")}):
        def final(pos: int) -> str | None:
            edit = plan.cells.get((index, pos))
            return edit[0] if edit is not None else frame[f"c{pos}"][index]
        wrong = year_order_problem(final(start), final(end))
        if wrong:
            _, _, sheet, review_row = plan.cells.get((index, start)) or plan.cells[(index, end)]
            raise InputError(f"sheet {sheet!r}: {wrong} once the new values are applied", file=path,
                             row=review_row, column=new_value_header("FROM_YEAR"))


def parse_decisions(
    path: Path,
    sheets: dict[str, ReviewTable],
    *,
    header,
    frame: pl.DataFrame,
    pids: pl.Series,
    first_row: int,
) -> Decisions:
    """Turn the decision and "new value" cells of a filled review workbook into edits on the export.

    header/frame: the export's exact header and text frame (c0..cN); pids: its PORTFOLIO_PIDs.
    Rows are matched by (sheet, export row, PORTFOLIO_PID); anything else is refused with
    an InputError naming the review file, sheet, row and column. A blank decision cell is no
    decision (the row stays awaiting one); a typed new value is applied and checked like the
    export's own values.
    """
    export = _Export(path, header, frame, pids.cast(pl.String).to_list(), first_row)
    found = _Found(_CellPlan(path, header))
    for sheet, table in sheets.items():
        if sheet in CHOICES:
            _read_sheet(export, sheet, table, found)
    _check_year_order(path, found.plan, header, frame)
    return found.decisions(path)


@dataclass(frozen=True)
class _Export:
    """The export a review workbook decides on: its file, exact header, text frame, PORTFOLIO_PIDs
    and the row number of its first data row."""

    path: Path
    header: object
    frame: pl.DataFrame
    pids: list[str | None]
    first_row: int

    def index_of(self, sheet: str, review_row: int, row_text, pid) -> int:
        """The frame row a review row names (its export row and PORTFOLIO_PID, which must agree)."""
        export_row = _export_row(row_text)
        index = None if export_row is None else export_row - self.first_row
        if index is None or not 0 <= index < len(self.pids):
            raise InputError(f"sheet {sheet!r}: {row_text!r} is not a row of the export",
                             file=self.path, row=review_row, column=ROW)
        if (pid or "").strip() != (self.pids[index] or "").strip():
            raise InputError(
                f"sheet {sheet!r}: PORTFOLIO_PID {pid!r} does not match export row {export_row} "
                f"(PORTFOLIO_PID {self.pids[index]!r})", file=self.path, row=review_row, column=PID)
        return index


@dataclass
class _Found:
    """What the sheets decided so far: cell edits, dropped and kept rows, choices, new values."""

    plan: _CellPlan
    drops: list[tuple[int, str]] = field(default_factory=list)
    undrop: set[int] = field(default_factory=set)
    chosen: dict[tuple[str, int], str] = field(default_factory=dict)
    values: dict[tuple[str, int, str], str] = field(default_factory=dict)
    drop_sheet: dict[int, str] = field(default_factory=dict)

    def choose(self, export: _Export, sheet: str, index: int, choice: str, review_row: int) -> None:
        """A decision on a row: drop it, keep it, or set the cells the choice names."""
        self.chosen[(sheet, index)] = choice
        reason = f"review decision: {choice} (sheet {sheet})"
        if choice == DROP:
            self.drops.append((index, reason))
            self.drop_sheet.setdefault(index, sheet)
        elif choice == KEEP_ROW:
            self.undrop.add(index)
        elif choice in _CELL_ACTIONS:
            names, value = _CELL_ACTIONS[choice]
            for pos in positions_of(export.header, names):
                old = export.frame[f"c{pos}"][index]
                # A cell that already says what was asked keeps its exact text (" n" stays " n").
                same = value is not None and (old or "").strip().upper() == value
                self.plan.add(index, pos, old if same else value, reason, sheet, review_row)

    def new_value(self, export: _Export, sheet: str, index: int, review_row: int, pos: int, column: str,
                  text: str) -> None:
        """A value typed in a "new value" column, checked like the export's own."""
        _check_new_value(export.path, sheet, review_row, column, text, export.frame[f"c{pos}"][index])
        self.values[(sheet, index, column)] = text
        self.plan.add(index, pos, text, NEW_VALUE_REASON.format(sheet), sheet, review_row)

    def decisions(self, path: Path) -> Decisions:
        dropped = {index for index, _ in self.drops}
        # A row dropped in any sheet is dropped, whatever another sheet says.
        undrop = self.undrop - dropped
        origins = {(index, pos): (v[2], v[3]) for (index, pos), v in self.plan.cells.items()
                   if v[1] == NEW_VALUE_REASON.format(v[2])}
        cells = [(index, pos, v[0], v[1]) for (index, pos), v in self.plan.cells.items()]
        log.info("decisions from %s: %d decisions, %d cell edits, %d new values", path, len(self.chosen), len(cells),
                 len(self.values))
        return Decisions(Edits(cell_edits(cells), drop_edits(self.drops)), undrop, self.chosen, path, self.values,
                         origins, self.drop_sheet)


def _read_sheet(export: _Export, sheet: str, table: ReviewTable, found: _Found) -> None:
    """Every filled row of one sheet of the review workbook: its decision and its new values."""
    path = export.path
    dcol, rcol, pcol = (_column(path, sheet, table, c) for c in (DECISION, ROW, PID))
    editable = _new_value_columns(path, sheet, table, export.header)
    new_cols = [c for c, _, _ in editable]
    for i, (raw, row_text, pid, *typed) in enumerate(table.frame.select(dcol, rcol, pcol, *new_cols).iter_rows()):
        review_row = i + 2
        if not any((raw, row_text, pid, *typed)):
            continue
        try:
            choice = normalise_choice(sheet, raw)
        except ValueError:
            raise InputError(f"sheet {sheet!r}: unknown decision {raw!r}; write one of: "
                             + ", ".join(CHOICES[sheet]), file=path, row=review_row, column=DECISION) from None
        index = export.index_of(sheet, review_row, row_text, pid)
        if choice is not None:
            found.choose(export, sheet, index, choice, review_row)
        for (_, pos, column), text in zip(editable, typed):
            if text is not None:
                found.new_value(export, sheet, index, review_row, pos, column, text)
