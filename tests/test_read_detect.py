"""Format, encoding and separator are decided by content, never by the file name."""
from __future__ import annotations

import codecs
import shutil

import pytest

from almaclean.errors import InputError
from almaclean.read.detect import detect, sniff_separator
from almaclean.read.table import read_table
from readers_fixtures import kbart_rows, write_text, write_xlsx

TITLE = "Revue d'histoire de l'Amérique française"


def test_xlsx_is_recognised_under_a_csv_name(tmp_path):
    real = write_xlsx(tmp_path / "export.xlsx", [["MMS Id"], ["9977047322103681"]])
    disguised = tmp_path / "export.csv"
    shutil.copy(real, disguised)
    assert detect(disguised).format == "xlsx"


def test_legacy_xls_is_refused_with_advice(tmp_path):
    path = tmp_path / "old report.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600)
    with pytest.raises(InputError) as caught:
        detect(path)
    assert "old report.xls" in str(caught.value)
    assert "save it as .xlsx" in str(caught.value)


def test_a_csv_named_xlsx_is_read_by_its_content(tmp_path, caplog):
    path = tmp_path / "portfolios.xlsx"
    path.write_text("Portfolio Id,MMS Id\n531000000000001001,991000000000001001\n", encoding="utf-8")
    assert detect(path).format == "csv"
    table = read_table(path)
    assert (table.format, table.header, table.frame.row(0)) == (
        "csv", ("Portfolio Id", "MMS Id"), ("531000000000001001", "991000000000001001"))
    assert "portfolios.xlsx is named like an Excel workbook but holds text: read as CSV/TSV" in caplog.text


def test_a_file_named_xlsx_that_is_neither_a_workbook_nor_a_table_says_both(tmp_path):
    path = tmp_path / "portfolios.xlsx"
    path.write_bytes(b'Portfolio Id,MMS Id\n"531000000000001001,991000000000001001\n')   # an unclosed quote
    with pytest.raises(InputError, match="the name ends in .xlsx but this is not an Excel workbook .*nor a CSV or "
                                         "TSV: .*quote") as caught:
        read_table(path)
    assert caught.value.file.endswith("portfolios.xlsx") and caught.value.row == 2


def test_truncated_xlsx_is_refused(tmp_path):
    whole = write_xlsx(tmp_path / "whole.xlsx", [["Title"], [TITLE]] * 50).read_bytes()
    path = tmp_path / "JSTOR+Arts_portfolios.xlsx"
    path.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(InputError, match="truncated") as caught:
        detect(path)
    assert "JSTOR+Arts_portfolios.xlsx" in str(caught.value)


def test_zip_without_a_workbook_is_refused(tmp_path):
    archive = shutil.make_archive(str(tmp_path / "bundle"), "zip", root_dir=tmp_path)
    path = tmp_path / "bundle.xlsx"
    shutil.move(archive, path)
    with pytest.raises(InputError, match="without an Excel workbook"):
        detect(path)


@pytest.mark.parametrize("content", [b"", b"  \r\n\t\n", codecs.BOM_UTF8, codecs.BOM_UTF16_LE + "\r\n".encode("utf-16-le")])
def test_empty_files_are_refused(tmp_path, content):
    path = tmp_path / "p2e.txt"
    path.write_bytes(content)
    with pytest.raises(InputError, match="empty") as caught:
        detect(path)
    assert caught.value.file.endswith("p2e.txt")


@pytest.mark.parametrize(("encoding", "bom", "expected"), [
    ("utf-8", b"", "utf-8"),
    ("utf-8", codecs.BOM_UTF8, "utf-8-sig"),
    ("utf-16-le", codecs.BOM_UTF16_LE, "utf-16-le"),   # Excel "Unicode text"
    ("utf-16-be", codecs.BOM_UTF16_BE, "utf-16-be"),
    ("utf-16-le", b"", "utf-16-le"),                   # no BOM: told by the NUL bytes
    ("utf-16-be", b"", "utf-16-be"),
    ("cp1252", b"", "cp1252"),
])
def test_encodings(tmp_path, encoding, bom, expected):
    titles = [row["publication_title"] for row in kbart_rows(accented=True, limit=5)]
    text = "Title\tPortfolio Id\r\n" + "".join(f"{t}\t5349669791000368{n}\r\n" for n, t in enumerate(titles))
    path = tmp_path / "export.txt"
    path.write_bytes(bom + text.encode(encoding))
    found = detect(path)
    assert (found.format, found.encoding, found.separator) == ("tsv", expected, "\t")


@pytest.mark.parametrize(("line", "separator"), [
    ("Portfolio Id\tMMS Id\tTitle, subtitle", "\t"),
    ("Portfolio Id,MMS Id,Title", ","),
    ("Portfolio Id;MMS Id;Title", ";"),
    ('"Title, with comma";Portfolio Id;MMS Id', ";"),
    ("Portfolio Id", ","),
    ("EDU01000123456,portfolio", ","),
])
def test_separator_is_sniffed_from_the_first_line(line, separator):
    assert sniff_separator(line) == separator


def test_semicolon_csv_format(tmp_path):
    path = write_text(tmp_path / "report.csv", [["Portfolio Id", "MMS Id"], ["1", "2"]], separator=";")
    assert detect(path).format == "csv"
    assert detect(path).separator == ";"
