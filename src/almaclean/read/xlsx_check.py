"""Look inside an xlsx before fastexcel loads it: which sheet to read, and whether loading is safe.

fastexcel (calamine) allocates a dense grid for the bounding box of a sheet's cells and keeps
every shared string in memory, so a small hostile file can ask for hundreds of gigabytes.
Everything here is checked first, with streaming XML parses (expat) and no grid:
- the zip: every member decompressed once, counting real bytes (a zip header may lie),
  within a budget of max(MIN_XML_BYTES, XML_RATIO x file size); no duplicate member names;
- no DTD in any part read (entity expansion);
- shared strings: none longer than Excel's 32,767 characters;
- the sheet: its <dimension> and its actual cell references inside Excel's grid and their
  bounding box at most MAX_CELLS.
- the sheet's structure as Excel reads it: rows in rising order, each cell inside its own row,
  cells of a row in rising columns. A cell written twice (fastexcel would keep the last value,
  Excel refuses or repairs the file) or out of order is refused, naming it.
(Inline text over 32,767 characters is refused by read.table after loading, naming the cell;
a shared-string index past the table is refused by fastexcel itself.) The scan costs about
0.5 microseconds per XML element, two to three times fastexcel's own load time.

Cells whose value fastexcel would give otherwise than Excel shows it are found in the same
scan and looked at in a second pass over those cells only (`CellNote`, applied by read.table):
- a formula with no saved result (a file written by a script), or in a workbook that asks
  Excel to recalculate every formula on opening (fullCalcOnLoad: its saved results are
  placeholders), and an error cell (#REF!, #N/A, ...): refused, never read as empty;
- a boolean: TRUE / FALSE, as Excel shows it;
- a number shown through a number format: as read.xlsx_formats says (rendered or refused).
Sheet choice when the caller names none: the only visible sheet that holds data. Hidden sheets
are never read; several visible sheets with data are refused as ambiguous, naming them.
"""
from __future__ import annotations

import logging
import posixpath
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from xml.parsers import expat

from almaclean.errors import InputError
from almaclean.read import xlsx_formats
from almaclean.excel import EXCEL_MAX_CHARS

log = logging.getLogger(__name__)

EXCEL_ROWS = 1_048_576
EXCEL_COLUMNS = 16_384
MAX_CELLS = 20_000_000          # rows x columns of a sheet's bounding box: about 1.3 GB to load
# Decompressed bytes allowed: max(MIN_XML_BYTES, XML_RATIO x file size). Real exports inflate
# 5 to 20 times; at this budget a 5 MB file is read in under a minute and 2 GB.
MIN_XML_BYTES = 160 * 2**20
XML_RATIO = 40
SMALL_PART_BYTES = 32 * 2**20   # workbook.xml and its relationships
CHUNK = 1 << 20
_REF = re.compile(r"([A-Z]{1,3})([0-9]{1,7})")   # a cell reference, once split from the XML
_DIGITS = "0123456789"
# Sheet elements the scan looks at, by their expat name ("<namespace> <local>"): transitional
# and strict spreadsheetml, or no namespace. "is" (inline text) counts as a value like "v".
_NAMESPACES = ("http://schemas.openxmlformats.org/spreadsheetml/2006/main ",
               "http://purl.oclc.org/ooxml/spreadsheetml/main ", "")
_SHEET_ELEMENTS: dict[str, str | None] = {ns + local: ("v" if local == "is" else local) for ns in _NAMESPACES
                                          for local in ("c", "v", "is", "row", "dimension", "f")}
# Cell types whose value fastexcel gives otherwise than Excel shows it: error, boolean.
_LOOKED_AT_TYPES = frozenset({"e", "b"})
_HIDDEN = {"hidden", "veryHidden"}


@dataclass(frozen=True)
class SheetRef:
    position: int     # order in the workbook (fastexcel's index)
    name: str
    member: str       # zip member of its XML
    state: str        # "visible", "hidden" or "veryHidden"


@dataclass(frozen=True)
class CellNote:
    """A cell whose value as fastexcel gives it is not what Excel shows."""
    row: int              # as Excel shows it (1-based)
    column: int           # 0-based
    shown: str | None     # the text Excel shows, to read instead (None: refused)
    problem: str | None   # why it is refused, in words, with how to fix it


@dataclass(frozen=True)
class XlsxPlan:
    sheet: SheetRef
    reason: str                      # why this sheet, for the log
    notes: tuple[CellNote, ...] = ()


@dataclass(frozen=True)
class Workbook:
    sheets: list[SheetRef]
    recalculates: bool               # calcPr fullCalcOnLoad: every formula is computed again on opening
    styles: str | None               # zip member of the styles part


@dataclass(frozen=True)
class NumberStyles:
    """Per cell style (xf index): the number format's code and what a number under it needs."""
    codes: tuple[str | None, ...] = ()
    kinds: tuple[str, ...] = ()

    @property
    def looked_at(self) -> frozenset[str]:
        """Style indexes (as the XML writes them) of the number formats xlsx_formats renders."""
        return frozenset(str(i) for i, kind in enumerate(self.kinds) if kind == xlsx_formats.RENDER)


@dataclass
class SheetScan:
    """What a streaming pass over one sheet's XML found."""
    max_row: int = 0
    max_column: int = 0
    cells_with_value: int = 0
    dimension: str | None = None
    looked_at: int = 0            # cells to look at closer (formulas, errors, booleans, formatted numbers)


def plan_xlsx(path: Path, sheet: int | str | None = None) -> XlsxPlan:
    """The sheet to read, after every check in the module notes; InputError naming the file."""
    size = path.stat().st_size
    budget = max(MIN_XML_BYTES, XML_RATIO * size)
    with _open_zip(path) as archive:
        _check_members(path, archive, budget)
        book = read_workbook(path, archive)
        sheets = book.sheets
        _check_shared_strings(path, archive)
        styles = number_styles(path, archive, book.styles)
        if sheet is not None:
            chosen = _named_sheet(path, sheets, sheet)
            scan = scan_sheet(path, archive, chosen, styles.looked_at)
            _check_sheet(path, chosen, scan)
            return XlsxPlan(chosen, "the sheet asked for", _notes(path, archive, chosen, scan, book, styles))
        visible = [s for s in sheets if s.state not in _HIDDEN]
        if not visible:
            raise InputError("every sheet of this workbook is hidden: unhide the export's sheet in Excel "
                             "and save again", file=path)
        scans = {s.name: scan_sheet(path, archive, s, styles.looked_at) for s in visible}
        with_data = [s for s in visible if scans[s.name].cells_with_value]
        hidden = [s.name for s in sheets if s.state in _HIDDEN]
        if len(with_data) > 1:
            raise InputError(
                f"this workbook has {len(with_data)} visible sheets with data "
                f"({', '.join(repr(s.name) for s in with_data)}) and nothing says which one is the export: "
                "keep only the export's sheet (delete the others, or hide them) and save again", file=path)
        chosen = with_data[0] if with_data else visible[0]
        _check_sheet(path, chosen, scans[chosen.name])
        reason = ("the only sheet" if len(sheets) == 1 else
                  "the only visible sheet with data" + (f"; hidden sheets not read: {', '.join(map(repr, hidden))}"
                                                        if hidden else ""))
        return XlsxPlan(chosen, reason, _notes(path, archive, chosen, scans[chosen.name], book, styles))


def numeric_cells(path: Path, sheet: int | str, column: int) -> list[tuple[int, str]]:
    """(row, value) of the number cells of one column (0-based) that a double cannot hold exactly
    (at or above 2**53), straight from the sheet XML."""
    found = []
    with _open_zip(path) as archive:
        chosen = _named_sheet(path, workbook_sheets(path, archive), sheet)
        for cell in _cells(path, archive, chosen, lambda cell: cell.column == column + 1 and cell.type == "n"):
            value = cell.value.strip()
            try:
                big = abs(float(value)) >= 2**53
            except ValueError:
                big = False
            if big:
                found.append((cell.row, value))
    return found


# --- zip ----------------------------------------------------------------------------------

def _open_zip(path: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise InputError("not a readable Excel file: the zip container is damaged or truncated "
                         "(download or copy it again)", file=path) from None


def _check_members(path: Path, archive: zipfile.ZipFile, budget: int) -> None:
    infos = archive.infolist()
    names = [info.filename for info in infos]
    if len(set(names)) != len(names):
        raise InputError("not a readable Excel file: the zip container holds two parts under one name",
                         file=path)
    if "xl/workbook.xml" not in names:
        raise InputError("not a readable Excel file: a zip archive without an Excel workbook inside "
                         "(an .ods, .docx or plain .zip?); save it from Excel as .xlsx", file=path)
    if any(info.flag_bits & 0x1 for info in infos):
        raise InputError("this workbook is encrypted: save it from Excel without a password", file=path)
    declared = sum(info.file_size for info in infos)
    if declared > budget:
        _too_big(path, declared, budget)
    total = 0
    for info in infos:
        for chunk in _member_chunks(path, archive, info.filename):
            total += len(chunk)
            if total > budget:
                _too_big(path, total, budget)


def _too_big(path: Path, size: int, budget: int) -> None:
    raise InputError(
        f"the workbook unpacks to more than {budget // 2**20:,} MB of XML ({size // 2**20:,} MB or more) from "
        f"a {path.stat().st_size // 1024:,} KB file: not an export (a zip bomb?); export the report again",
        file=path)


def _member_chunks(path: Path, archive: zipfile.ZipFile, member: str) -> Iterator[bytes]:
    try:
        with archive.open(member) as handle:
            while chunk := handle.read(CHUNK):
                yield chunk
    except KeyError:
        raise InputError(f"not a readable Excel file: the part {member} is missing", file=path) from None
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError, RuntimeError) as exc:
        raise InputError(f"not a readable Excel file: the part {member} is damaged ({exc})", file=path) from None


# --- XML ------------------------------------------------------------------------------------

def _parse(path: Path, archive: zipfile.ZipFile, member: str,
           start: Callable[[str, dict[str, str]], None], text: Callable[[str], None] | None = None,
           limit: int | None = None) -> None:
    """Stream one part through expat; DTDs refused; InputError for XML that is not well-formed."""
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.buffer_text = True
    parser.StartElementHandler = start
    if text is not None:
        parser.CharacterDataHandler = text

    def no_dtd(*_args) -> None:
        raise InputError(f"not a readable Excel file: {member} declares a DTD, which Excel never writes",
                         file=path)

    parser.StartDoctypeDeclHandler = no_dtd
    parser.EntityDeclHandler = no_dtd
    read = 0
    try:
        for chunk in _member_chunks(path, archive, member):
            read += len(chunk)
            if limit is not None and read > limit:
                raise InputError(f"not a readable Excel file: {member} is far too large", file=path)
            parser.Parse(chunk, False)
        parser.Parse(b"", True)
    except expat.ExpatError as exc:
        raise InputError(f"not a readable Excel file: {member} is not well-formed XML "
                         f"({expat.ErrorString(exc.code)}, line {exc.lineno})", file=path) from None


def _local(name: str) -> str:
    """Element or attribute name without its namespace ("<uri> c" -> "c")."""
    return name[name.rfind(" ") + 1:]


def workbook_sheets(path: Path, archive: zipfile.ZipFile) -> list[SheetRef]:
    """Sheets in workbook order with their XML member, via workbook.xml and its relationships."""
    return read_workbook(path, archive).sheets


def read_workbook(path: Path, archive: zipfile.ZipFile) -> Workbook:
    """The sheets (workbook_sheets), whether Excel recalculates every formula on opening, and
    the styles part."""
    sheets: list[tuple[str, str, str]] = []
    targets: dict[str, str] = {}
    facts = {"recalculates": False, "styles": None}

    def on_sheet(name: str, attrs: dict[str, str]) -> None:
        local = _local(name)
        if local == "sheet":
            rel = next((v for k, v in attrs.items() if _local(k) == "id" and k != "sheetId"), "")
            sheets.append((attrs.get("name", ""), rel, attrs.get("state", "visible")))
        elif local == "calcPr":
            facts["recalculates"] = attrs.get("fullCalcOnLoad", "").strip().lower() in ("1", "true")

    def on_rel(name: str, attrs: dict[str, str]) -> None:
        if _local(name) == "Relationship" and "Id" in attrs:
            targets[attrs["Id"]] = attrs.get("Target", "")
            if attrs.get("Type", "").endswith("/styles"):
                facts["styles"] = _member(attrs.get("Target", ""))

    _parse(path, archive, "xl/workbook.xml", on_sheet, limit=SMALL_PART_BYTES)
    rels = "xl/_rels/workbook.xml.rels"
    _parse(path, archive, rels, on_rel, limit=SMALL_PART_BYTES)
    if not sheets:
        raise InputError("not a readable Excel file: the workbook lists no sheet", file=path)
    names = [name for name, _, _ in sheets]
    if len(set(names)) != len(names):
        raise InputError("not a readable Excel file: two sheets have the same name", file=path)
    result = []
    for position, (name, rel, state) in enumerate(sheets):
        target = targets.get(rel)
        if not target:
            raise InputError(f"not a readable Excel file: sheet {name!r} has no part", file=path)
        result.append(SheetRef(position, name, _member(target), state))
    if len({ref.member for ref in result}) != len(result):  # each would be scanned again
        raise InputError("not a readable Excel file: two sheets point to the same part", file=path)
    styles = facts["styles"] or ("xl/styles.xml" if "xl/styles.xml" in archive.namelist() else None)
    return Workbook(result, facts["recalculates"], styles)


def _member(target: str) -> str:
    """The zip member of a workbook relationship's target."""
    return target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))


def number_styles(path: Path, archive: zipfile.ZipFile, member: str | None) -> NumberStyles:
    """The number format of each cell style (cellXfs), from the styles part (none: all General)."""
    if member is None or member not in archive.namelist():
        return NumberStyles()
    custom: dict[int, str] = {}
    formats: list[int] = []
    inside = {"cellXfs": False}

    def start(name: str, attrs: dict[str, str]) -> None:
        local = _local(name)
        if local == "numFmt":
            try:
                custom[int(attrs.get("numFmtId", ""))] = attrs.get("formatCode", "")
            except ValueError:
                raise InputError("not a readable Excel file: a number format without a number id", file=path) from None
        elif local == "cellXfs":
            inside["cellXfs"] = True
        elif local == "xf" and inside["cellXfs"]:
            try:
                formats.append(int(attrs.get("numFmtId", "0")))
            except ValueError:
                formats.append(-1)   # no format Excel knows: its numbers are refused
        elif local in ("cellStyles", "dxfs", "tableStyles", "colors", "extLst"):
            inside["cellXfs"] = False

    _parse(path, archive, member, start, limit=SMALL_PART_BYTES)
    codes = tuple(xlsx_formats.format_code(number, custom) for number in formats)
    kinds = tuple(xlsx_formats.kind_of(number, custom) for number in formats)
    return NumberStyles(codes, kinds)


def _named_sheet(path: Path, sheets: list[SheetRef], sheet: int | str) -> SheetRef:
    if isinstance(sheet, int):
        if 0 <= sheet < len(sheets):
            return sheets[sheet]
    else:
        for ref in sheets:
            if ref.name == sheet:
                return ref
    raise InputError(f"this workbook has no sheet {sheet!r}; its sheets: "
                     f"{', '.join(repr(s.name) for s in sheets)}", file=path)


def _check_shared_strings(path: Path, archive: zipfile.ZipFile) -> int:
    """Number of shared strings; InputError for one longer than Excel allows."""
    member = "xl/sharedStrings.xml"
    if member not in archive.namelist():
        return 0
    state = {"count": 0, "length": 0, "in_text": False, "phonetic": False}

    def start(name: str, _attrs: dict[str, str]) -> None:
        local = _local(name)
        if local == "si":
            state["count"] += 1
            state["length"] = 0
        elif local == "rPh":
            state["phonetic"] = True
        elif local == "t":
            state["in_text"] = not state["phonetic"]
            return
        elif local in ("r", "phoneticPr"):
            state["phonetic"] = False
        state["in_text"] = False

    def text(data: str) -> None:
        if state["in_text"]:
            state["length"] += len(data)
            if state["length"] > EXCEL_MAX_CHARS:
                raise InputError(
                    f"shared string {state['count']} of the workbook is longer than Excel's "
                    f"{EXCEL_MAX_CHARS:,} characters a cell can hold: not a file Excel wrote; "
                    "export the report again", file=path)

    _parse(path, archive, member, start, text)
    return state["count"]


def scan_sheet(path: Path, archive: zipfile.ZipFile, sheet: SheetRef,
               looked_at_styles: frozenset[str] = frozenset()) -> SheetScan:
    """One streaming pass over a sheet's XML: the bounding box of its cells, whether any holds a
    value, the order of rows and cells, and how many cells to look at closer (formulas, error
    and boolean cells, numbers in the styles `looked_at_styles`). Called for every element of a
    sheet of millions of cells, so kept lean: the row number of a reference is parsed once per
    row, column letters once per column."""
    scan = SheetScan()
    known = dict(_SHEET_ELEMENTS)
    columns: dict[str, int] = {}
    row_of_digits: dict[str, int] = {}
    row = column = max_row = max_column = values = looked = 0
    row_known = True   # the row element said its number (else the first cell reference says it)

    def start(name: str, attrs: dict[str, str]) -> None:
        nonlocal row, column, max_row, max_column, values, looked, row_known
        local = known.get(name, "?")
        if local == "?":  # any namespace: calamine matches local names
            local = known[name] = _SHEET_ELEMENTS.get(_local(name))
        if local is None:
            return
        if local == "c":
            ref = attrs.get("r")
            if ref is None:
                column += 1
                cell_row = row
            else:
                letters = ref.rstrip(_DIGITS)
                cell_column = columns.get(letters) or _column_number(path, sheet, letters, columns)
                digits = ref[len(letters):]
                cell_row = row_of_digits.get(digits) or _reference_row(path, sheet, ref, digits, row_of_digits)
                if cell_column <= column or cell_row != row:
                    if row_known or column or cell_row < row:
                        _out_of_order(path, sheet, ref, cell_row, letters, row)
                    row = max_row = max(max_row, cell_row)
                    row_known = True
                column = cell_column
            if column > max_column or cell_row > max_row:
                max_column = max(max_column, column)
                max_row = max(max_row, cell_row)
                if max_row * max_column > MAX_CELLS:
                    _too_many_cells(path, sheet, max_row, max_column)
            kind = attrs.get("t")
            if kind in _LOOKED_AT_TYPES or (looked_at_styles and kind in (None, "n")
                                            and attrs.get("s") in looked_at_styles):
                looked += 1
        elif local == "v":
            values += 1
        elif local == "f":
            looked += 1
        elif local == "row":
            number = attrs.get("r")
            if number is not None:
                given = _row_number(path, sheet, number)
                if given <= row:
                    _row_out_of_order(path, sheet, given, row)
                row, row_known = given, True
            else:
                row, row_known = row + 1, False
            column = 0
            if row > max_row:
                max_row = row
                if max_row * max_column > MAX_CELLS:
                    _too_many_cells(path, sheet, max_row, max_column)
        else:
            scan.dimension = attrs.get("ref")
            _check_dimension(path, sheet, scan.dimension)

    _parse(path, archive, sheet.member, start)
    scan.max_row, scan.max_column, scan.cells_with_value, scan.looked_at = max_row, max_column, values, looked
    return scan


def _out_of_order(path: Path, sheet: SheetRef, ref: str, row: int, letters: str, in_row: int) -> None:
    raise InputError(
        f"not a readable Excel file: sheet {sheet.name!r} writes cell {ref[:20]} twice or out of its place "
        f"(in row {in_row}'s part of the sheet, after a cell at or right of it): Excel would refuse or repair "
        "the file, and which value counts is not clear. Export the file again (or open it in Excel, check "
        "this cell and save it again)", file=path, row=row, column=letters)


def _row_out_of_order(path: Path, sheet: SheetRef, given: int, after: int) -> None:
    raise InputError(
        f"not a readable Excel file: sheet {sheet.name!r} writes row {given} twice or out of order (after row "
        f"{after}): Excel would refuse or repair the file, and which values count is not clear. Export the file "
        "again (or open it in Excel, check this row and save it again)", file=path, row=given)


def _reference_row(path: Path, sheet: SheetRef, ref: str, digits: str, cache: dict[str, int]) -> int:
    if not (digits.isascii() and digits.isdigit() and len(digits) < 8 and 1 <= int(digits) <= EXCEL_ROWS):
        _bad_reference(path, sheet, ref)
    if len(cache) > 4096:  # rows come in order: old ones are not asked again
        cache.clear()
    cache[digits] = int(digits)
    return cache[digits]


@dataclass
class Cell:
    """One cell of the sheet XML, as far as the second pass needs it."""
    row: int = 0
    column: int = 0                # 1-based
    type: str = "n"                # the t attribute ("n" when absent)
    style: str | None = None       # the s attribute
    formula: bool = False
    value: str | None = None       # the <v> text (cut at 64 characters); None: no <v>


def _cells(path: Path, archive: zipfile.ZipFile, sheet: SheetRef, wanted: Callable[[Cell], bool]) -> list[Cell]:
    """The cells `wanted` picks, in one streaming pass over the sheet XML (values read)."""
    found: list[Cell] = []
    state = {"cell": Cell(), "in_value": False, "open": False}

    def close() -> None:
        cell = state["cell"]
        if state["open"] and wanted(cell):
            if cell.value is not None:
                cell.value = cell.value.strip()
            found.append(cell)
        state["open"] = state["in_value"] = False

    def start(name: str, attrs: dict[str, str]) -> None:
        local = name[name.rfind(" ") + 1:]
        state["in_value"] = False
        if local == "c":
            previous = state["cell"]
            close()
            ref = attrs.get("r")
            if ref is None:
                row, column = previous.row, previous.column + 1
            else:
                row, column = _cell_position(path, sheet, ref)
            state["cell"] = Cell(row, column, attrs.get("t", "n"), attrs.get("s"))
            state["open"] = True
        elif local == "row":
            close()
            number = attrs.get("r")
            row = _row_number(path, sheet, number) if number is not None else state["cell"].row + 1
            state["cell"] = Cell(row, 0)
        elif local == "f" and state["open"]:
            state["cell"].formula = True
        elif local == "v" and state["open"]:
            state["cell"].value = ""
            state["in_value"] = True

    def text(data: str) -> None:
        cell = state["cell"]
        if state["in_value"] and len(cell.value) < 64:
            cell.value += data

    _parse(path, archive, sheet.member, start, text)
    close()
    return found


# Errors a cell can show, in words (Excel's own meanings).
ERROR_MEANINGS = {
    "#NULL!": "two ranges that do not meet", "#DIV/0!": "a division by zero", "#VALUE!": "a value of the wrong type",
    "#REF!": "a reference to cells that were deleted", "#NAME?": "a name Excel does not know",
    "#NUM!": "a number out of range", "#N/A": "a value not available (a lookup that found nothing)",
    "#GETTING_DATA": "data still loading", "#SPILL!": "a result that could not spill", "#CALC!": "a calculation error",
}
PASTE_VALUES = ("in Excel select the column, Copy, then Paste Special > Values (as text for IDs), save, "
                "and give the file again")


def _notes(path: Path, archive: zipfile.ZipFile, sheet: SheetRef, scan: SheetScan, book: Workbook,
           styles: NumberStyles) -> tuple[CellNote, ...]:
    """The cells of the sheet read whose value fastexcel gives otherwise than Excel shows it."""
    if not scan.looked_at:
        return ()
    looked = styles.looked_at

    def wanted(cell: Cell) -> bool:
        return cell.formula or cell.type in _LOOKED_AT_TYPES or (cell.type == "n" and cell.style in looked)

    notes = [note for cell in _cells(path, archive, sheet, wanted)
             if (note := _note(cell, book.recalculates, styles)) is not None]
    log.info("%s: %d cell(s) of sheet %r read as Excel shows them, %d refused", path.name,
             sum(n.shown is not None for n in notes), sheet.name, sum(n.shown is None for n in notes))
    return tuple(notes)


def _note(cell: Cell, recalculates: bool, styles: NumberStyles) -> CellNote | None:
    def refuse(problem: str) -> CellNote:
        return CellNote(cell.row, cell.column - 1, None, problem)

    if cell.formula and recalculates:
        return refuse("this cell holds a formula, and the workbook asks Excel to compute every formula again on "
                      "opening (a file written by a script), so the result saved in the file is not known to be "
                      f"what Excel shows. Open the file in Excel, then {PASTE_VALUES}")
    if cell.formula and (cell.value is None or (cell.value == "" and cell.type != "str")):
        return refuse("this cell holds a formula whose result is not saved in the file (written by a script and "
                      "never opened in Excel), so its value is unknown, not empty. Open the file in Excel (it "
                      f"computes the formulas), then {PASTE_VALUES}")
    if cell.type == "e":
        error = (cell.value or "").upper()
        meaning = ERROR_MEANINGS.get(error)
        return refuse(f"this cell shows the error {error or '(an error)'} in Excel"
                      + (f" ({meaning})" if meaning else "") + ": its value is lost, not empty. Fix the cell or the "
                      f"formula behind it, or {PASTE_VALUES}")
    if cell.type == "b":
        flag = (cell.value or "").lower()
        if flag in ("1", "true"):
            return CellNote(cell.row, cell.column - 1, "TRUE", None)
        if flag in ("0", "false"):
            return CellNote(cell.row, cell.column - 1, "FALSE", None)
        return refuse(f"this TRUE/FALSE cell holds {cell.value!r}, which is neither")
    if cell.type == "n" and cell.style is not None and cell.value:
        code = styles.codes[int(cell.style)]   # a looked-at style: an index of styles.codes
        result = xlsx_formats.shown(code, cell.value)
        if isinstance(result, xlsx_formats.Refused):
            return refuse(f"Excel shows this number ({cell.value}) through a number format, and {result.reason}, so "
                          "what Excel shows cannot be read exactly. In Excel: format the column as Text, or Copy, "
                          "then Paste Special > Values as text, save, and give the file again")
        return CellNote(cell.row, cell.column - 1, result, None)
    return None


def _column_number(path: Path, sheet: SheetRef, letters: str, cache: dict[str, int]) -> int:
    if not (1 <= len(letters) <= 3 and letters.isascii() and letters.isalpha() and letters.isupper()):
        _bad_reference(path, sheet, letters)
    number = 0
    for letter in letters:
        number = number * 26 + ord(letter) - 64
    if number > EXCEL_COLUMNS:
        _bad_reference(path, sheet, letters)
    cache[letters] = number
    return number


def _bad_reference(path: Path, sheet: SheetRef, ref: str) -> None:
    raise InputError(f"not a readable Excel file: sheet {sheet.name!r} has a cell reference {ref[:20]!r} "
                     "outside Excel's grid", file=path)


def _cell_position(path: Path, sheet: SheetRef, ref: str) -> tuple[int, int]:
    found = _REF.fullmatch(ref.strip().upper())
    if not found:
        raise InputError(f"not a readable Excel file: sheet {sheet.name!r} has a cell named {ref[:20]!r}",
                         file=path)
    column = 0
    for letter in found.group(1):
        column = column * 26 + ord(letter) - 64
    number = int(found.group(2))
    if not (1 <= number <= EXCEL_ROWS and 1 <= column <= EXCEL_COLUMNS):
        raise InputError(f"not a readable Excel file: cell {ref} of sheet {sheet.name!r} is outside "
                         "Excel's grid", file=path)
    return number, column


def _row_number(path: Path, sheet: SheetRef, text: str) -> int:
    text = text.strip()
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= EXCEL_ROWS:
        raise InputError(f"not a readable Excel file: sheet {sheet.name!r} has a row numbered {text[:20]!r}",
                         file=path)
    return int(text)


def _check_dimension(path: Path, sheet: SheetRef, ref: str | None) -> None:
    if not ref:
        return
    corners = ref.split(":")
    try:
        points = [_cell_position(path, sheet, corner) for corner in corners]
    except InputError:
        raise InputError(f"not a readable Excel file: sheet {sheet.name!r} declares its size as {ref[:40]!r}",
                         file=path) from None
    rows = max(p[0] for p in points)
    columns = max(p[1] for p in points)
    if rows * columns > MAX_CELLS:
        raise InputError(
            f"sheet {sheet.name!r} declares a used range of {ref} ({rows:,} rows x {columns:,} columns), "
            f"more than the {MAX_CELLS:,} cells this tool reads: delete the rows and columns past the data "
            "in Excel and save again", file=path)


def _too_many_cells(path: Path, sheet: SheetRef, rows: int, columns: int) -> None:
    raise InputError(
        f"sheet {sheet.name!r} has cells out to row {rows:,} and column {_letters(columns - 1)}, so it spans "
        f"{rows:,} rows x {columns:,} columns, more than the {MAX_CELLS:,} cells this tool reads: delete the "
        "rows and columns past the data in Excel and save again", file=path)


def _letters(position: int) -> str:
    letters = ""
    position += 1
    while position > 0:
        position, rest = divmod(position - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _check_sheet(path: Path, sheet: SheetRef, scan: SheetScan) -> None:
    log.debug("%s: sheet %r spans %d rows x %d columns (%d cells with a value)", path.name, sheet.name,
              scan.max_row, scan.max_column, scan.cells_with_value)
