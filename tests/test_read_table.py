"""read_table: every cell as text, header exact, Excel row numbers right, lossy IDs refused."""
from __future__ import annotations

import codecs
import os
from pathlib import Path

import polars as pl
import pytest

from almaclean.errors import InputError
from almaclean.read.detect import detect
from almaclean.read.table import as_headerless, excel_letter, read_table
from faults.xlsx_parts import Book, SheetXml, cell_ref, rows_xml, simple_book, write_book
from readers_fixtures import (
    JSTOR,
    kbart_rows,
    mms_id,
    portfolio_id,
    realdata_file,
    write_text,
    write_xlsx,
)


def assert_points_at(error: InputError, file_name: str, row: int, column: str) -> None:
    message = str(error)
    assert file_name in message
    assert f"row {row}" in message
    assert repr(column) in message
    assert (error.row, error.column) == (row, column)


# --- xlsx ----------------------------------------------------------------------------------

def test_xlsx_keeps_header_exactly_and_every_cell_as_text(tmp_path):
    rows = kbart_rows(accented=True, limit=3)
    sheet = [["LOCALIZED", "ISSN", "ISSN", "PORTFOLIO_PID", "MMS", "TITLE", "URL ", "FROM_YEAR"]]
    for n, row in enumerate(rows):
        sheet.append(["N", row["print_identifier"] or None, row["online_identifier"] or None,
                      portfolio_id(n), mms_id(n), row["publication_title"], row["title_url"], 1997 + n])
    table = read_table(write_xlsx(tmp_path / "Erudit_portfolios.xlsx", sheet), text_columns=["PORTFOLIO_PID", "MMS"])
    assert table.header == tuple(sheet[0])
    assert (table.format, table.encoding, table.first_row) == ("xlsx", None, 2)
    assert set(table.frame.dtypes) == {pl.String}
    assert table.frame.columns == [f"c{j}" for j in range(8)]
    assert table.frame.get_column("c5").to_list() == [row["publication_title"] for row in rows]
    assert table.frame.get_column("c3").to_list() == [portfolio_id(n) for n in range(3)]
    assert table.frame.get_column("c7").to_list() == ["1997", "1998", "1999"]   # number cells as text


def test_xlsx_keeps_blank_rows_and_leading_blank_columns(tmp_path):
    sheet = [[None, "Portfolio Id", "Title"],
             [None, portfolio_id(1), "Études françaises"],
             [],
             [None, portfolio_id(3), None],
             [None, None, " "]]
    table = read_table(write_xlsx(tmp_path / "report.xlsx", sheet))
    assert table.header == ("", "Portfolio Id", "Title")
    assert table.frame.rows() == [(None, portfolio_id(1), "Études françaises"), (None, None, None),
                                  (None, portfolio_id(3), None), (None, None, " ")]
    # portfolio_id(3) is on Excel row 4
    assert table.excel_row(2) == 4
    assert table.column_name(0) == "A"


def test_xlsx_empty_text_cell_is_null(tmp_path):
    table = read_table(write_xlsx(tmp_path / "r.xlsx", [["Title", "ISSN"], ["Études", ""]]))
    assert table.frame.rows() == [("Études", None)]


def test_numeric_id_cell_above_2_53_is_refused(tmp_path):
    sheet = [["Portfolio Id", "MMS Id", "Title"],
             [portfolio_id(1), mms_id(1), "Liberté"],
             [portfolio_id(2), 9977047322103681, "Études"]]
    path = write_xlsx(tmp_path / "E-Inventory.xlsx", sheet)
    with pytest.raises(InputError, match="Excel number") as caught:
        read_table(path, text_columns=["Portfolio Id", "MMS Id"])
    assert_points_at(caught.value, "E-Inventory.xlsx", 3, "MMS Id")
    # Without text_columns the same file reads: the check is asked for, not implied.
    assert read_table(path).frame.height == 2


def test_text_id_that_a_double_holds_exactly_is_accepted(tmp_path):
    # 53496697910003680 is a double exactly, so it looks like a number cell rendered as text;
    # the sheet XML shows it is a text cell.
    sheet = [["PORTFOLIO_PID", "MMS"], ["53496697910003680", "9977047322103680"], ["53496697910003681", 15]]
    table = read_table(write_xlsx(tmp_path / "x.xlsx", sheet), text_columns=["PORTFOLIO_PID", "MMS"])
    assert table.frame.rows() == [("53496697910003680", "9977047322103680"), ("53496697910003681", "15")]


@pytest.mark.parametrize("value", ["9.97704E+15", "9977047322103681.0", " 5.34967E+16 ", "9,97704E+15"])
def test_scientific_notation_and_dot_zero_ids_are_refused_in_xlsx(tmp_path, value):
    sheet = [["Title", "MMS Id"], ["Études", mms_id(1)], ["Liberté", mms_id(2)], ["Acadiensis", value]]
    with pytest.raises(InputError, match="converted to a number") as caught:
        read_table(write_xlsx(tmp_path / "mms.xlsx", sheet), text_columns=["MMS Id"])
    assert_points_at(caught.value, "mms.xlsx", 4, "MMS Id")


def test_refusal_in_a_duplicate_header_column(tmp_path):
    sheet = [["ISSN", "MMS", "MMS"], ["0001-0001", mms_id(1), mms_id(1)], ["0001-0002", mms_id(2), "1.2E+16"]]
    with pytest.raises(InputError) as caught:
        read_table(write_xlsx(tmp_path / "dup.xlsx", sheet), text_columns=["MMS"])
    assert_points_at(caught.value, "dup.xlsx", 3, "MMS")


def test_not_an_id_column_is_not_checked(tmp_path):
    sheet = [["MMS Id", "Price"], [mms_id(1), "1.5E+3"], [mms_id(2), 9977047322103681]]
    table = read_table(write_xlsx(tmp_path / "x.xlsx", sheet), text_columns=["MMS Id"])
    assert table.frame.get_column("c1").to_list() == ["1.5E+3", "9977047322103680"]


# --- CSV / TSV -----------------------------------------------------------------------------

def test_real_kbart_tsv_reads_whole(tmp_path):
    path = realdata_file(JSTOR)
    table = read_table(path)
    lines = path.read_bytes().split(b"\r\n")
    assert (table.format, table.encoding) == ("tsv", "utf-8")
    assert table.header == tuple(lines[0].decode().split("\t"))
    assert table.frame.height == len(lines) - 1    # CRLF, last line without line ending
    last = lines[-1].decode().split("\t")
    assert table.frame.row(-1) == tuple(v or None for v in last)


@pytest.mark.parametrize(("encoding", "bom"), [
    ("utf-8", codecs.BOM_UTF8), ("utf-16-le", codecs.BOM_UTF16_LE), ("cp1252", b""), ("utf-16-le", b"")])
def test_text_encodings_decode_to_the_same_table(tmp_path, encoding, bom):
    rows = kbart_rows(accented=True, limit=20)
    cells = [["Title", "Portfolio Id", "Publisher "]] + [
        [r["publication_title"], portfolio_id(n), r["publisher_name"]] for n, r in enumerate(rows)]
    path = tmp_path / "unicode.txt"
    path.write_bytes(bom + write_text(tmp_path / "tmp.txt", cells, separator="\t").read_text("utf-8").encode(encoding))
    table = read_table(path)
    assert table.header == ("Title", "Portfolio Id", "Publisher ")
    assert table.frame.rows() == [tuple(v or None for v in row) for row in cells[1:]]
    assert table.encoding == (encoding if not bom or encoding != "utf-8" else "utf-8-sig")


def test_csv_quotes_newlines_blank_lines_and_row_numbers(tmp_path):
    path = tmp_path / "report.csv"
    path.write_bytes(b'Title,Portfolio Id,Title\r\n'
                     b'"Lettres, arts","53000000000013681",\r\n'
                     b'\r\n'
                     b'"Two\r\nlines ""quoted""",53000000000033681,""\r\n'
                     b'Acadiensis,,x')
    table = read_table(path)
    assert table.header == ("Title", "Portfolio Id", "Title")
    assert table.frame.rows() == [("Lettres, arts", "53000000000013681", None), (None, None, None),
                                  ('Two\r\nlines "quoted"', "53000000000033681", None),
                                  ("Acadiensis", None, "x")]
    assert (table.first_row, table.format) == (2, "csv")


def test_a_short_row_is_refused_at_its_row_and_first_missing_column(tmp_path):
    path = write_text(tmp_path / "p.csv", [["a", "b", "c"], ["1", "2", ""], ["1", "2"], ["3", "4", "5"]])
    with pytest.raises(InputError, match="2 fields but the first row has 3") as caught:
        read_table(path)
    assert (caught.value.row, caught.value.column) == (3, "C")


def test_ragged_row_is_refused(tmp_path):
    rows = [["Title", "Portfolio Id"], ["Études", portfolio_id(1)], ["Lettres, arts", portfolio_id(2)],
            ["ok", portfolio_id(3)]]
    path = tmp_path / "ragged.csv"
    path.write_text("\n".join(",".join(r) for r in rows) + "\n", encoding="utf-8")  # comma not quoted
    with pytest.raises(InputError, match="3 fields but the first row has 2") as caught:
        read_table(path)
    assert_points_at(caught.value, "ragged.csv", 3, "C")


def test_tsv_with_stray_quotes_is_read_as_is(tmp_path):
    path = tmp_path / "kbart.txt"
    path.write_text('publication_title\ttitle_id\n"Hamlet" revisited\th1\nPlain\t"p2"\n', encoding="utf-8")
    assert read_table(path).frame.rows() == [('"Hamlet" revisited', "h1"), ("Plain", '"p2"')]


def test_cp1252_fallback_decodes_everything(tmp_path):
    path = tmp_path / "win.csv"
    path.write_bytes("Title;Portfolio Id\r\nÉtudes – “Littéraires”;1\r\n".encode("cp1252"))
    table = read_table(path)
    assert table.encoding == "cp1252"
    assert table.frame.rows() == [("Études – “Littéraires”", "1")]


@pytest.mark.parametrize("value", ["9.97704E+15", "9977047322103681.0"])
def test_number_like_ids_are_refused_in_csv(tmp_path, value):
    path = write_text(tmp_path / "pol.csv", [["PO Line Reference", "MMS Id"], ["POL-1", mms_id(1)],
                                             ["POL-2", ""], ["POL-3", value]])
    with pytest.raises(InputError) as caught:
        read_table(path, text_columns=["MMS Id"])
    assert_points_at(caught.value, "pol.csv", 4, "MMS Id")


def test_headerless_file(tmp_path):
    path = tmp_path / "p2e.txt"
    path.write_text("EDU01000123456,portfolio\nEDU01000123457,database\n", encoding="utf-8")
    table = read_table(path, has_header=False)
    assert (table.header, table.first_row) == ((), 1)
    assert table.frame.rows() == [("EDU01000123456", "portfolio"), ("EDU01000123457", "database")]
    assert as_headerless(read_table(path)).frame.equals(table.frame)


def test_excel_letters():
    assert [excel_letter(j) for j in (0, 25, 26, 51, 52, 701, 702)] == ["A", "Z", "AA", "AZ", "BA", "ZZ", "AAA"]


def test_empty_sheet_is_refused(tmp_path):
    with pytest.raises(InputError, match="empty") as caught:
        read_table(write_xlsx(tmp_path / "blank.xlsx", []))
    assert "blank.xlsx" in str(caught.value)


def test_bytes_no_encoding_knows_are_refused_with_their_line(tmp_path):
    path = tmp_path / "odd.csv"
    path.write_bytes(b"Title,ISSN\r\nCaf\xe9,1\r\nBad \x81 byte,2\r\n")   # not UTF-8, and 0x81 is not cp1252
    with pytest.raises(InputError, match="cannot decode") as caught:
        read_table(path)
    assert "odd.csv" in str(caught.value) and caught.value.row == 3


# --- hostile text files ------------------------------------------------------------------

def _portfolio_lines(n: int, title: str = "Études") -> str:
    return "Portfolio Id,MMS Id,Title\n" + "".join(f"{portfolio_id(i)},{mms_id(i)},{title} {i}\n" for i in range(n))


@pytest.mark.parametrize("text", ["Portfolio Id,MMS Id,Title\n", "Portfolio Id,MMS Id,Title",
                                  "Portfolio Id,MMS Id,Title\r"])
def test_header_only_file_is_an_empty_table(tmp_path, text):
    table = read_table(write_bytes(tmp_path / "empty.csv", text.encode()))
    assert table.header == ("Portfolio Id", "MMS Id", "Title")
    assert (table.frame.height, table.frame.width) == (0, 3)


def test_cr_only_line_ends_are_lines(tmp_path):
    path = write_bytes(tmp_path / "mac.csv", _portfolio_lines(3).replace("\n", "\r").encode())
    table = read_table(path)
    assert table.header == ("Portfolio Id", "MMS Id", "Title")
    assert table.frame.rows() == [(portfolio_id(i), mms_id(i), f"Études {i}") for i in range(3)]


def test_one_latin1_byte_past_the_head_of_a_utf8_file_is_refused_at_its_row(tmp_path):
    text = _portfolio_lines(3000).encode() + f"{portfolio_id(9)},{mms_id(9)},Caf\xe9\n".encode("latin-1")
    assert len(text) > 1 << 16
    with pytest.raises(InputError, match="mixes two encodings") as caught:
        read_table(write_bytes(tmp_path / "mixed.csv", text))
    assert caught.value.row == 3002 and "mixed.csv" in str(caught.value)


def test_row_of_an_invalid_byte_counts_records_not_lines(tmp_path):
    text = ('Title,Portfolio Id\n"Two\nlines é",1\n').encode() + b"Caf\xe9,2\n"
    with pytest.raises(InputError) as caught:
        read_table(write_bytes(tmp_path / "mixed.csv", text))
    assert caught.value.row == 3


def test_a_bom_file_with_a_non_utf8_byte_is_refused(tmp_path):
    text = codecs.BOM_UTF8 + b"Title,Portfolio Id\nA,1\nCaf\xe9,2\n"
    with pytest.raises(InputError, match="mixes two encodings") as caught:
        read_table(write_bytes(tmp_path / "bom.csv", text))
    assert caught.value.row == 3


def test_windows_1252_file_with_its_first_accent_late_is_still_windows_1252(tmp_path):
    text = _portfolio_lines(3000, title="Plain").encode() + f"{portfolio_id(9)},{mms_id(9)},Caf\xe9\n".encode("cp1252")
    table = read_table(write_bytes(tmp_path / "win.csv", text))
    assert table.encoding == "cp1252"
    assert table.frame.row(-1) == (portfolio_id(9), mms_id(9), "Café")


@pytest.mark.parametrize(("line", "fixture"), [
    ('{pid},{mms},"no closing quote\n', "unclosed"),
    ('{pid},{mms},"closed" then text\n', "text after"),
])
def test_broken_quote_names_its_own_row(tmp_path, line, fixture):
    body = _portfolio_lines(5) + line.format(pid=portfolio_id(8), mms=mms_id(8)) + f"{portfolio_id(9)},{mms_id(9)},x\n"
    with pytest.raises(InputError, match="quote") as caught:
        read_table(write_bytes(tmp_path / "quotes.csv", body.encode()))
    assert caught.value.row == 7, fixture


def write_bytes(path, data: bytes):
    path.write_bytes(data)
    return path


# --- what is not a regular file --------------------------------------------------------------

def _fifo(tmp_path):
    path = tmp_path / "pipe.csv"
    os.mkfifo(path)
    return path


def _loop(tmp_path):
    (tmp_path / "a.csv").symlink_to(tmp_path / "b.csv")
    (tmp_path / "b.csv").symlink_to(tmp_path / "a.csv")
    return tmp_path / "a.csv"


def _dangling(tmp_path):
    (tmp_path / "gone.csv").symlink_to(tmp_path / "nowhere.csv")
    return tmp_path / "gone.csv"


@pytest.mark.parametrize(("make", "complaint"), [
    (lambda tmp: Path("/dev/zero"), "not a regular file"),
    (_fifo, "not a regular file"),
    (lambda tmp: tmp, "folder"),
    (_dangling, "symbolic link to a file that does not exist"),
    (_loop, "loop"),
    (lambda tmp: tmp / "missing.csv", "not found"),
])
def test_what_is_not_a_regular_file_is_refused_by_name_before_any_read(tmp_path, make, complaint):
    path = make(tmp_path)
    with pytest.raises(InputError, match=complaint) as caught:
        read_table(path)
    assert caught.value.file == str(path)
    with pytest.raises(InputError, match=complaint):
        detect(path)


# --- hostile workbooks ---------------------------------------------------------------------

HEADER = ["Portfolio Id", "MMS Id", "Title"]


def _rows(n: int) -> list[list[object]]:
    return [HEADER] + [[portfolio_id(i), mms_id(i), f"Title {i}"] for i in range(n)]


def test_hidden_first_sheet_is_not_read_and_the_sheet_read_is_named(tmp_path, caplog):
    book = Book([SheetXml("Old", rows_xml(_rows(2)), state="hidden"), SheetXml("Results", rows_xml(_rows(320)))])
    with caplog.at_level("INFO"):
        table = read_table(write_book(tmp_path / "two.xlsx", book))
    assert (table.sheet, table.frame.height) == ("Results", 320)
    assert "reading sheet 'Results'" in caplog.text and "'Old'" in caplog.text


def test_several_visible_sheets_with_data_are_ambiguous(tmp_path):
    book = Book([SheetXml("Results", rows_xml(_rows(3))), SheetXml("Copy", rows_xml(_rows(2)))])
    with pytest.raises(InputError, match="2 visible sheets with data .'Results', 'Copy'.") as caught:
        read_table(write_book(tmp_path / "two.xlsx", book))
    assert caught.value.file.endswith("two.xlsx")


def test_an_empty_visible_sheet_beside_the_data_is_not_ambiguous(tmp_path):
    book = Book([SheetXml("Notes", "<sheetData/>"), SheetXml("Results", rows_xml(_rows(3)))])
    assert read_table(write_book(tmp_path / "two.xlsx", book)).sheet == "Results"


def test_a_sheet_asked_for_by_name_is_read_even_when_hidden(tmp_path):
    book = Book([SheetXml("Old", rows_xml(_rows(2)), state="hidden"), SheetXml("Results", rows_xml(_rows(3)))])
    assert read_table(write_book(tmp_path / "two.xlsx", book), sheet="Old").frame.height == 2


def test_one_far_cell_is_refused_before_anything_is_allocated(tmp_path):
    far = f'<row r="1000001"><c r="{cell_ref(1000001, 16001)}"><v>1</v></c></row>'
    body = rows_xml(_rows(3)).replace("</sheetData>", far + "</sheetData>")
    path = write_book(tmp_path / "far.xlsx", Book([SheetXml("Results", body)]))
    assert path.stat().st_size < 50_000
    with pytest.raises(InputError, match="1,000,001 rows x 16,001 columns"):
        read_table(path)


def test_a_huge_declared_dimension_is_refused(tmp_path):
    body = '<dimension ref="A1:XFD1048576"/>' + rows_xml(_rows(3))
    with pytest.raises(InputError, match="used range of A1:XFD1048576"):
        read_table(write_book(tmp_path / "dim.xlsx", Book([SheetXml("Results", body)])))


def test_a_shared_string_longer_than_excel_allows_is_refused_early(tmp_path):
    strings = HEADER + ["x" * 5_000_000]
    body = ('<sheetData><row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c>'
            '<c r="C1" t="s"><v>2</v></c></row><row r="2"><c r="C2" t="s"><v>3</v></c></row></sheetData>')
    path = write_book(tmp_path / "sst.xlsx", Book([SheetXml("Results", body)], shared=strings))
    assert path.stat().st_size < 100_000
    with pytest.raises(InputError, match="shared string 4 .* longer than Excel's 32,767"):
        read_table(path)


@pytest.mark.parametrize("cell", [
    '<c s="0" r="A2"><v>9977047322103681</v></c>',
    '<c  r="A2"  t="n"><v>9977047322103681</v></c>',
    "<c r='A2'><v>9.977047322103681E+15</v></c>",
    '<c r="A2"><f>A3</f><v>9977047322103681</v></c>',
])
def test_numeric_id_cells_are_found_by_an_xml_parse_whatever_the_attribute_order(tmp_path, cell):
    body = ('<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>Portfolio Id</t></is></c></row>'
            f'<row r="2">{cell}</row></sheetData>')
    path = write_book(tmp_path / "num.xlsx", Book([SheetXml("Results", body)]))
    with pytest.raises(InputError, match="stored as an Excel number") as caught:
        read_table(path, text_columns=["Portfolio Id"])
    assert_points_at(caught.value, "num.xlsx", 2, "Portfolio Id")


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_cell_longer_than_excel_holds_is_refused_at_read_time(tmp_path, fmt):
    rows = _rows(3)
    rows[3][2] = "long " * 8_000
    path = (write_text(tmp_path / "long.csv", rows) if fmt == "csv" else simple_book(tmp_path / "long.xlsx", rows))
    with pytest.raises(InputError, match="40,000 characters, more than the 32,767") as caught:
        read_table(path)
    assert_points_at(caught.value, f"long.{fmt}", 4, "Title")


def test_excel_counts_characters_above_u_ffff_twice_and_so_does_the_reader(tmp_path):
    rows = _rows(2)
    rows[2][2] = "😀" * 16_384 + "x"       # 16,385 characters, 32,769 UTF-16 units
    with pytest.raises(InputError, match="32,769 characters") as caught:
        read_table(write_text(tmp_path / "emoji.csv", rows))
    assert_points_at(caught.value, "emoji.csv", 3, "Title")
