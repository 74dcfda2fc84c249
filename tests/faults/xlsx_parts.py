"""Build xlsx files part by part, so any structure (valid or hostile) can be written exactly."""
from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
SHEET_TYPE = REL + "/worksheet"


@dataclass
class SheetXml:
    name: str
    body: str                   # everything inside <worksheet>, e.g. "<sheetData>...</sheetData>"
    state: str | None = None    # None (visible), "hidden", "veryHidden"


@dataclass
class Book:
    sheets: list[SheetXml]
    shared: list[str] | None = None          # shared strings, in order
    shared_xml: str | None = None            # or the whole sharedStrings.xml, exactly
    workbook_xml: str | None = None          # override workbook.xml
    rels_xml: str | None = None              # override xl/_rels/workbook.xml.rels
    extra: dict[str, bytes] = field(default_factory=dict)
    drop: set[str] = field(default_factory=set)   # parts to leave out
    active: int | None = None
    calc_pr: str | None = None                    # a <calcPr .../> element for workbook.xml
    styles: tuple[dict[int, str], list[int]] | None = None   # (custom number formats, numFmtId per cell style)


def cell_ref(row: int, column: int) -> str:
    """(1, 1) -> "A1"."""
    letters = ""
    while column:
        column, rest = divmod(column - 1, 26)
        letters = chr(65 + rest) + letters
    return f"{letters}{row}"


def rows_xml(rows: list[list[object]], *, shared: list[str] | None = None, first_row: int = 1) -> str:
    """<sheetData> for rows of values: str -> inline string (or shared when `shared` is a list to
    fill), int/float -> number, None -> no cell."""
    out = ["<sheetData>"]
    for i, row in enumerate(rows):
        number = first_row + i
        cells = []
        for j, value in enumerate(row, start=1):
            ref = cell_ref(number, j)
            if value is None:
                continue
            if isinstance(value, bool):
                cells.append(f'<c r="{ref}" t="b"><v>{int(value)}</v></c>')
            elif isinstance(value, (int, float)):
                cells.append(f'<c r="{ref}"><v>{value}</v></c>')
            elif shared is not None:
                shared.append(value)
                cells.append(f'<c r="{ref}" t="s"><v>{len(shared) - 1}</v></c>')
            else:
                cells.append(f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{escape(value)}</t></is></c>')
        out.append(f'<row r="{number}">{"".join(cells)}</row>')
    out.append("</sheetData>")
    return "".join(out)


def write_book(path: Path, book: Book) -> Path:
    parts: dict[str, bytes] = {}
    overrides = ['<Override PartName="/xl/workbook.xml" '
                 'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>']
    sheet_entries, rel_entries = [], []
    for n, sheet in enumerate(book.sheets, start=1):
        member = f"xl/worksheets/sheet{n}.xml"
        parts[member] = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                         f'<worksheet xmlns="{MAIN}" xmlns:r="{REL}">{sheet.body}</worksheet>').encode()
        state = f' state="{sheet.state}"' if sheet.state else ""
        sheet_entries.append(f'<sheet name="{escape(sheet.name)}" sheetId="{n}"{state} r:id="rId{n}"/>')
        rel_entries.append(f'<Relationship Id="rId{n}" Type="{SHEET_TYPE}" Target="worksheets/sheet{n}.xml"/>')
        overrides.append(f'<Override PartName="/{member}" '
                         'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>')
    if book.shared is not None or book.shared_xml is not None:
        if book.shared_xml is None:
            items = "".join(f'<si><t xml:space="preserve">{escape(s)}</t></si>' for s in book.shared)
            book.shared_xml = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><sst xmlns="{MAIN}" '
                               f'count="{len(book.shared)}" uniqueCount="{len(book.shared)}">{items}</sst>')
        parts["xl/sharedStrings.xml"] = book.shared_xml.encode()
        n = len(book.sheets) + 1
        rel_entries.append(f'<Relationship Id="rId{n}" Type="{REL}/sharedStrings" Target="sharedStrings.xml"/>')
        overrides.append('<Override PartName="/xl/sharedStrings.xml" '
                         'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>')
    views = f'<bookViews><workbookView activeTab="{book.active}"/></bookViews>' if book.active is not None else ""
    if book.styles is not None:
        parts["xl/styles.xml"] = styles_xml(*book.styles)
        n = len(book.sheets) + 2
        rel_entries.append(f'<Relationship Id="rId{n}" Type="{REL}/styles" Target="styles.xml"/>')
        overrides.append('<Override PartName="/xl/styles.xml" '
                         'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>')
    parts["xl/workbook.xml"] = (book.workbook_xml or (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><workbook xmlns="{MAIN}" xmlns:r="{REL}">'
        f'{views}<sheets>{"".join(sheet_entries)}</sheets>{book.calc_pr or ""}</workbook>')).encode()
    parts["xl/_rels/workbook.xml.rels"] = (book.rels_xml or (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="{PKG_REL}">'
        f'{"".join(rel_entries)}</Relationships>')).encode()
    parts["_rels/.rels"] = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="{PKG_REL}">'
        f'<Relationship Id="rId1" Type="{REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>').encode()
    parts["[Content_Types].xml"] = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>' + "".join(overrides) + "</Types>").encode()
    parts.update(book.extra)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in ("[Content_Types].xml", "_rels/.rels", *sorted(set(parts) - {"[Content_Types].xml", "_rels/.rels"})):
            if name in parts and name not in book.drop:
                archive.writestr(name, parts[name])
    return path


def styles_xml(custom: dict[int, str], xf_formats: list[int]) -> bytes:
    """styles.xml with these custom number formats and one cell style (xf) per numFmtId given:
    cell attribute s="i" picks xf_formats[i]."""
    formats = "".join(f'<numFmt numFmtId="{number}" formatCode="{escape(code, {chr(34): "&quot;"})}"/>'
                      for number, code in custom.items())
    applied = ' applyNumberFormat="1"'
    xfs = "".join(f'<xf numFmtId="{number}" fontId="0" fillId="0" borderId="0" xfId="0"{applied if number else ""}/>'
                  for number in xf_formats)
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><styleSheet xmlns="{MAIN}">'
            f'<numFmts count="{len(custom)}">{formats}</numFmts><fonts count="1"><font/></fonts>'
            '<fills count="1"><fill/></fills><borders count="1"><border/></borders>'
            '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
            f'<cellXfs count="{len(xf_formats)}">{xfs}</cellXfs>'
            '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>').encode()


def simple_book(path: Path, rows: list[list[object]], *, shared: bool = False, name: str = "Results") -> Path:
    strings: list[str] | None = [] if shared else None
    body = rows_xml(rows, shared=strings)
    return write_book(path, Book([SheetXml(name, body)], shared=strings))
