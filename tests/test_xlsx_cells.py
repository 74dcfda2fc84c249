"""The vectorised cell writer: same bytes as xlsxwriter's own write_string loop, literal text back."""
from __future__ import annotations

import re
import zipfile
import zlib
from collections import defaultdict
from pathlib import Path

import fastexcel
import polars as pl
import pytest
import xlsxwriter
from hypothesis import given
from hypothesis import strategies as st
from xlsxwriter.xmlwriter import XMLwriter

from almaclean.errors import AlmacleanError
from almaclean.write import xlsx_cells
from almaclean.write.xlsx import FIXED_CREATED, ZIP_LEVEL, Sheet, lay_out, write_workbook
from conftest import KBART_DIR

CONTROL = [chr(c) for c in [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20)]]
TRICKY = [
    *(f"a{c}b" for c in CONTROL), "\x00", "end\x1f", "line\r\nbreak", "tab\tinside",
    "_x0041_", "a_x00ff_b", "_x005F_x0041_", "_X0041_ upper X is not an escape", "_x004_", "_x00zz_",
    " lead", "trail ", "\ttab", "nl\n", "\nnl", "\xa0nbsp", "nbsp\xa0", "ideographic\u3000", "\u3000",
    "\u2028line sep", "\x85nel", " ", "\t", "\u200bzero width is not space", "mid  dle",
    "&<>\"'", "a & b", "<b>bold</b>", "]]>", "&amp; already", "\ufffe", "x\uffff",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 😀", "Œuvres complètes – Tome I", "Ἀθῆναι", "東京大学",
    "=1+2", "+33 1 44 27 00 00", "0012", "-5", "@user", "TRUE", "9.97704E+15", "http://example.org/a?b=1&c=<2>",
    "53496697910003681", "123456789012345", "1234567890123456789", "",
]


def _reference_workbook(path: Path, sheets: list[Sheet]) -> Path:
    """What plain xlsxwriter produces: one write_string/write_number/write_blank call per cell."""
    book = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_numbers": False,
                                           "strings_to_formulas": False, "strings_to_urls": False})
    book.set_properties({"created": FIXED_CREATED})
    bold = book.add_format({"bold": True})
    for sheet in sheets:
        ws = book.add_worksheet(sheet.name)
        numeric = [(not sheet.text_only) and dt.is_numeric() for dt in sheet.frame.dtypes]
        frame = sheet.frame.select(pl.col(c) if num else pl.col(c).cast(pl.String)
                                   for c, num in zip(sheet.frame.columns, numeric))
        lay_out(ws, sheet, frame)  # the same layout: only the cells are compared
        for col, name in enumerate(sheet.header):
            ws.write_string(0, col, str(name), bold)
        fill = book.add_format({"bg_color": sheet.highlight_color}) if sheet.highlight else None
        marked = defaultdict(set)
        for r, c in sheet.highlight:
            marked[r].add(c)
        for r, values in enumerate(frame.iter_rows()):
            for c, v in enumerate(values):
                fmt = fill if c in marked.get(r, ()) else None
                if v is None or v == "":
                    if fmt is not None:
                        ws.write_blank(r + 1, c, None, fmt)
                elif numeric[c]:
                    ws.write_number(r + 1, c, v, fmt)
                else:
                    assert ws.write_string(r + 1, c, v, fmt) == 0
    book.close()
    return path


def _members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {name: z.read(name) for name in z.namelist()}


def _assert_same_package(tmp_path: Path, sheets: list[Sheet]) -> dict[str, bytes]:
    ours = _members(write_workbook(tmp_path / "ours.xlsx", sheets))
    reference = _members(_reference_workbook(tmp_path / "reference.xlsx", sheets))
    assert ours.keys() == reference.keys()
    for name in reference:
        assert ours[name] == reference[name], name
    return ours


def _read_back(path: Path, sheet: str) -> list[list[str | None]]:
    frame = fastexcel.read_excel(str(path)).load_sheet(sheet, header_row=None, dtypes="string").to_polars()
    return [list(row) for row in frame.iter_rows()]


def _expected_cells(header: list[str], frame: pl.DataFrame) -> list[list[str | None]]:
    rows = [header, *([v or None for v in row] for row in frame.iter_rows())]
    while rows and all(v is None for v in rows[-1]):  # a reader stops at the last row with a cell
        rows.pop()
    return rows


def _tricky_frame(values: list[str] = TRICKY) -> pl.DataFrame:
    """Tricky values in three rotated columns, with null cells, empty strings and all-empty rows."""
    n = len(values)
    columns = {f"c{k}": [values[(i + 7 * k) % n] for i in range(n)] for k in range(3)}
    frame = pl.DataFrame(columns, schema={c: pl.String for c in columns})
    frame = frame.with_columns(pl.when(pl.int_range(pl.len()) % 5 == 2).then(None).otherwise(pl.col("c1")).alias("c1"))
    blank = pl.DataFrame({c: [None, "", None] for c in columns}, schema=frame.schema)
    return pl.concat([blank, frame.head(20), blank, frame.slice(20), blank])


@pytest.fixture(params=["polars", "python"])
def cell_path(request, monkeypatch):
    """Each chunk through the polars query, or cell by cell in Python (what small chunks take)."""
    monkeypatch.setattr(xlsx_cells, "PYTHON_CELLS", -1 if request.param == "polars" else 10**9)
    return request.param


@pytest.fixture
def small_chunks(monkeypatch):
    monkeypatch.setattr(xlsx_cells, "MIN_CHUNK_ROWS", 1)
    monkeypatch.setattr(xlsx_cells, "CHUNK_CELLS", 7)  # 2 rows of 3 columns per chunk


def test_the_package_is_compressed_at_the_fast_zlib_level(tmp_path):
    """write/xlsx.py has xlsxwriter zip the package at ZIP_LEVEL; an xlsxwriter that opened its
    zip file another way would silently go back to the slow default level."""
    frame = pl.DataFrame({"id": [f"5350{i:013d}" for i in range(20_000)],
                          "title": [f"Revue d'histoire {i % 997} : cahiers" for i in range(20_000)]})
    path = write_workbook(tmp_path / "big.xlsx", [Sheet("Rows", ["Portfolio Id", "Title"], frame)])
    with zipfile.ZipFile(path) as z:
        info = z.getinfo("xl/worksheets/sheet1.xml")
        data = z.read(info)
    assert info.compress_type == zipfile.ZIP_DEFLATED

    def deflated(level: int) -> int:
        packer = zlib.compressobj(level, zlib.DEFLATED, -15)
        return len(packer.compress(data) + packer.flush())

    assert ZIP_LEVEL == 1 and deflated(1) != deflated(6)
    assert info.compress_size == deflated(ZIP_LEVEL)


def test_the_zip_level_is_this_writer_s_own(tmp_path):
    """Only write_workbook's packages change level: xlsxwriter's module and every other writer
    in the process (polars' write_excel here) still zip at zipfile's default."""
    import xlsxwriter.workbook

    assert xlsxwriter.workbook.ZipFile is zipfile.ZipFile
    frame = pl.DataFrame({"title": [f"Revue d'histoire {i % 997} : cahiers" for i in range(5_000)]})
    frame.write_excel(tmp_path / "polars.xlsx")
    with zipfile.ZipFile(tmp_path / "polars.xlsx") as z:
        info = z.getinfo("xl/worksheets/sheet1.xml")
        data = z.read(info)
    packer = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -15)
    assert info.compress_size == len(packer.compress(data) + packer.flush())
    assert xlsxwriter.workbook.ZipFile is zipfile.ZipFile


def test_tricky_text_gives_the_same_package_as_xlsxwriter(tmp_path, cell_path):
    frame = _tricky_frame()
    header = ["Portfolio Id", "", " Title "]
    members = _assert_same_package(tmp_path, [Sheet("Tricky", header, frame)])
    xml = members["xl/worksheets/sheet1.xml"].decode()
    assert "_x005F_x0041_" in xml and "_x0000_" in xml and "&lt;b&gt;" in xml
    assert '<t xml:space="preserve">\u3000</t>' in xml and "<t>\u200bzero" in xml
    assert '<row r="2">' not in xml  # leading all-empty row: no <row> element


def test_many_small_chunks_and_highlights_give_the_same_package(tmp_path, small_chunks, cell_path):
    frame = _tricky_frame()
    n = frame.height
    # Highlights on text, on null and "" cells, on a whole empty row, and outside the frame (ignored).
    highlight = {(0, 0), (1, 2), (3, 1), (4, 0), (4, 1), (n - 2, 2), (n - 1, 0), (n + 3, 0), (5, 9)}
    sheets = [
        Sheet("Marked", ["Id", "Title", "Note"], frame, highlight=highlight,
              validations={2: ["keep", "delete"]}),
        Sheet("Only header", ["Nothing below"], pl.DataFrame({"c0": []}, schema={"c0": pl.String})),
        Sheet("Trailing blanks", ["a", "b", "c"], frame.head(25).vstack(frame.tail(3)), highlight={(2, 1)},
              freeze=False, autofilter=False, widths={0: 30.0}),
    ]
    members = _assert_same_package(tmp_path, sheets)
    assert re.search(r'<c r="A2" s="\d+"/>', members["xl/worksheets/sheet1.xml"].decode())


def test_numbers_when_asked_give_the_same_package(tmp_path, small_chunks, cell_path):
    frame = pl.DataFrame({
        "what": ["dups", "relinks", None, "deleted", "ratio"],
        "count": [12, 3, None, 12_345_678_901_234_567, -4],
        "share": [0.1, 1e20, 2.5e-7, None, 1 / 3],
    })
    _assert_same_package(tmp_path, [Sheet("Summary", ["what", "count", "share"], frame, text_only=False,
                                          highlight={(1, 1), (2, 2)})])


def test_numbers_excel_cannot_store_are_refused(tmp_path):
    frame = pl.DataFrame({"what": ["a", "b"], "share": [0.5, float("nan")]})
    with pytest.raises(AlmacleanError, match=r"sheet 'S', row 3, column 'share'"):
        write_workbook(tmp_path / "nan.xlsx", [Sheet("S", ["what", "share"], frame, text_only=False)])
    assert not any(tmp_path.iterdir())


def _realdata_frame(rows_per_file: int) -> pl.DataFrame:
    paths = sorted(KBART_DIR.glob("*.txt"))
    frames = [pl.read_csv(p, separator="\t", infer_schema=False, quote_char=None, n_rows=rows_per_file)
              for p in paths]
    return pl.concat(frames, how="diagonal")


def test_real_kbart_lists_give_the_same_package_and_read_back(tmp_path, small_chunks, monkeypatch, cell_path):
    monkeypatch.setattr(xlsx_cells, "CHUNK_CELLS", 26 * 300)
    frame = _realdata_frame(400)
    header = list(frame.columns)
    _assert_same_package(tmp_path, [Sheet("KBART", header, frame, highlight={(10, 9), (700, 0)})])
    assert _read_back(tmp_path / "ours.xlsx", "KBART") == _expected_cells(header, frame)


def test_tricky_text_reads_back_as_written(tmp_path, cell_path):
    # Kept for byte parity but not read back as is: xlsxwriter escapes "_x005F_x0041_" as
    # "_x005F_x005F_x0041_" (its escapes overlap), read as "_x005FA"; the reader leaves U+FFFE/U+FFFF
    # as their "_xFFFE_" escapes.
    not_round_trip = {"_x005F_x0041_", "\ufffe", "x\uffff"}
    frame = _tricky_frame([v for v in TRICKY if v not in not_round_trip])
    header = ["Id", " spaced header ", "&<>"]
    path = write_workbook(tmp_path / "t.xlsx", [Sheet("Tricky", header, frame)])
    assert _read_back(path, "Tricky") == _expected_cells(header, frame)


def test_rich_text_lookalikes_stay_literal_text(tmp_path, cell_path):
    values = ["<r>x</r>", "<r><t>injected</t></r>", "<r>"]
    frame = pl.DataFrame({"c0": values, "c1": ["plain", None, "<r>y</r>"]})
    header = ["<r>head</r>", "Note"]
    path = write_workbook(tmp_path / "r.xlsx", [Sheet("Rich", header, frame)])
    assert _read_back(path, "Rich") == _expected_cells(header, frame)
    with zipfile.ZipFile(path) as z:
        xml = z.read("xl/worksheets/sheet1.xml").decode()
    assert "&lt;r&gt;x&lt;/r&gt;" in xml and "<r>" not in xml


def test_text_over_excel_limit_is_refused_naming_the_first_cell(tmp_path):
    astral_limit = "😀" * 16_383 + "a"  # 32,767 UTF-16 units: fits exactly
    frame = pl.DataFrame({
        "c0": ["ok", "ok", "ok", "😀" * 16_384],  # 16,384 characters but 32,768 UTF-16 units
        "c1": [astral_limit, "ok", "z" * 32_768, "ok"],
    })
    with pytest.raises(AlmacleanError, match=r"sheet 'Long', row 4, column 'Notes'"):
        write_workbook(tmp_path / "long.xlsx", [Sheet("Long", ["Id", "Notes"], frame)])
    with pytest.raises(AlmacleanError, match=r"sheet 'Long', row 4, column 'Id'"):
        write_workbook(tmp_path / "long.xlsx", [Sheet("Long", ["Id", "Notes"], frame.head(2).vstack(frame.tail(1)))])
    with pytest.raises(AlmacleanError, match=r"sheet 'H', row 1, column"):
        write_workbook(tmp_path / "long.xlsx", [Sheet("H", ["x" * 32_768], frame.select("c0"))])
    assert not any(tmp_path.iterdir())
    path = write_workbook(tmp_path / "fits.xlsx", [Sheet("Fits", ["Id", "Notes"], frame.head(2))])
    assert _read_back(path, "Fits")[1][1] == astral_limit


def test_control_escaping_matches_xlsxwriter():
    samples = [*TRICKY, "_x0041__x0042_", "__x0041_", "_x0041", "\x1b[0m", "\ufffe_xFFFE_"]
    for text in samples:
        assert xlsx_cells.escape_control_characters(text) == XMLwriter._escape_control_characters(text), repr(text)


def test_whitespace_set_is_pythons():
    python_space = {chr(c) for c in range(0x110000) if re.match(r"\s", chr(c))}
    assert set(xlsx_cells.PYTHON_WHITESPACE) == python_space


CELL_TEXT = st.one_of(st.none(), st.sampled_from(TRICKY), st.text(max_size=6))


@given(rows=st.integers(0, 6), columns=st.integers(1, 4), data=st.data())
def test_both_cell_paths_write_the_same_rows(rows, columns, data):
    """Whatever the cells, styles, highlights and numbers: the Python path writes the polars
    query's text, and names the same last row."""
    numeric = data.draw(st.lists(st.booleans(), min_size=columns, max_size=columns))
    cells = {f"k{c}": data.draw(st.lists(st.one_of(st.none(), st.from_regex(r"-?[0-9]{1,4}(\.[0-9]{1,3})?",
                                                                             fullmatch=True))
                                         if numeric[c] else CELL_TEXT, min_size=rows, max_size=rows))
             for c in range(columns)}
    chunk = pl.DataFrame(cells, schema={name: pl.String for name in cells})
    marked = {c: sorted(data.draw(st.sets(st.integers(0, rows - 1)))) if rows else []
              for c in data.draw(st.sets(st.integers(0, columns - 1)))}
    styles = xlsx_cells.CellStyles(every=data.draw(st.none() | st.integers(0, 3)), highlight=data.draw(st.integers(1, 5)),
                                   marked={c: r for c, r in marked.items() if r})
    first_row, keep_empty = data.draw(st.integers(0, 70_000)), data.draw(st.booleans())
    expected = xlsx_cells._polars_rows_xml(chunk, first_row, numeric, styles, keep_empty=keep_empty, as_bytes=False)
    assert xlsx_cells._python_rows_xml(chunk, first_row, numeric, styles, keep_empty=keep_empty) == expected
