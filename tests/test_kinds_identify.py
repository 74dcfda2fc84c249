"""Inputs are what they claim: another kind's file is refused, a repeated portfolio id is
refused naming both rows, PO-line headers under other real names are recognised, and
meaningful headers no alias knows are reported with the mapping line that fixes them."""
from __future__ import annotations

import pytest

from almaclean.errors import InputError
from almaclean.kinds import read_kind, unrecognised_columns
from almaclean.kinds.identify import looks_like
from readers_fixtures import mms_id, portfolio_id, write_text, write_xlsx

EE_HEADER = ["LOCALIZED", "ISSN", "ISSN", "ISSN", "ISBN", "ISBN", "ISBN", "PORTFOLIO_PID", "MMS", "TITLE",
             "FROM_YEAR", "TO_YEAR", "AVAILABILITY", "COVERAGE_STATEMENT", "PO_LINE", "PROXY_ENABLE", "URL"]
PO_HEADER = ["PO Line Reference", "PO Line Title", "Status", "Order Line Type", "Vendor Name", "MMS Id",
             "Portfolio Id"]
PORTFOLIO_HEADER = ["Portfolio Id", "MMS Id", "Title", "ISSN", "Electronic Collection Public Name",
                    "Portfolio Linked To CZ", "Availability", "Coverage Statement", "PO Line Reference"]


def ee_row(n: int) -> list[str]:
    return ["Y", "1492-8647", "", "", "", "", "", portfolio_id(n), mms_id(n), "Mens", "2000", "", "ACTIVE",
            "", "", "true", "https://id.erudit.org/revue/mens/"]


def po_row(n: int) -> list[str]:
    return [f"POL-{n}", "Mens", "ACTIVE", "Electronic Title - Subscription", "Érudit", mms_id(n), portfolio_id(n)]


def portfolio_row(n: int, pid: str | None = None) -> list[str]:
    return [pid or portfolio_id(n), mms_id(n), "Mens", "1492-8647", "Érudit", "Y", "Available",
            "Available from 2000.", ""]


@pytest.mark.parametrize(
    ("given", "header", "row", "looks", "label"),
    [
        ("portfolios", EE_HEADER, ee_row, "extended-export", "an Extended Export"),
        ("portfolios", PO_HEADER, po_row, "po-lines", "a PO line export"),
        ("p2e", PO_HEADER, po_row, "po-lines", "a PO line export"),
        ("p2e", PORTFOLIO_HEADER, portfolio_row, "portfolios", "a portfolio export"),
        ("p2e", EE_HEADER, ee_row, "extended-export", "an Extended Export"),
        ("po-lines", PORTFOLIO_HEADER, portfolio_row, "portfolios", "a portfolio export"),
        ("po-lines", EE_HEADER, ee_row, "extended-export", "an Extended Export"),
        ("extended-export", ["PORTFOLIO_PID", "MMS", *PORTFOLIO_HEADER[2:]],
         portfolio_row, "portfolios", "a portfolio export"),
    ],
)
def test_a_file_given_as_another_kind_is_refused_naming_the_kind_it_looks_like(tmp_path, given, header, row,
                                                                               looks, label):
    path = write_xlsx(tmp_path / "export.xlsx", [header, row(1), row(2)])
    assert looks_like(given, header) == looks
    with pytest.raises(InputError, match=f"its columns are those of {label}") as caught:
        read_kind(given, path)
    assert caught.value.exit_code == 2 and "export.xlsx" in str(caught.value)


@pytest.mark.parametrize(
    ("kind", "header", "row"),
    [("portfolios", PORTFOLIO_HEADER, portfolio_row), ("po-lines", PO_HEADER, po_row),
     ("extended-export", EE_HEADER, ee_row)],
)
def test_each_kind_read_as_itself_passes(tmp_path, kind, header, row):
    read = read_kind(kind, write_xlsx(tmp_path / "export.xlsx", [header, row(1), row(2)]))
    assert read.canonical.height == 2 and looks_like(kind, header) is None


def test_p2e_text_file_and_report_pass():
    assert looks_like("p2e", ("EDU01000123456", "portfolio")) is None
    assert looks_like("p2e", ("Bib Number", "Title", "ISSN", "856 URL", "Provider", "PO Number")) is None


def test_repeated_portfolio_id_is_refused_naming_both_rows(tmp_path):
    path = write_text(tmp_path / "portfolios.csv", [
        PORTFOLIO_HEADER, portfolio_row(1), portfolio_row(2), portfolio_row(3, pid=portfolio_id(1))])
    with pytest.raises(InputError) as caught:
        read_kind("portfolios", path)
    error = caught.value
    assert str(error).startswith(
        f"{path}: row 4, column 'Portfolio Id': portfolio id {portfolio_id(1)} is on rows 2 and 4")
    assert error.exit_code == 2


@pytest.mark.parametrize("header", ["POL", "PO Line Ref", "PO Line Reference", "POL Reference"])
def test_portfolio_po_line_headers(tmp_path, header):
    path = write_text(tmp_path / "p.csv", [["Portfolio Id", "MMS Id", header], [portfolio_id(1), mms_id(1), "POL-7"]])
    read = read_kind("portfolios", path)
    assert "po_line" in read.present and read.canonical.item(0, "po_line") == "POL-7"


def test_po_line_export_mms_record_id(tmp_path):
    path = write_text(tmp_path / "pol.csv",
                      [["PO Line Ref", "MMS Record Id", "Status"], ["POL-7", mms_id(1), "active"]])
    read = read_kind("po-lines", path)
    assert read.canonical.select("po_line", "mms_id", "status").row(0) == ("POL-7", mms_id(1), "ACTIVE")


def test_unrecognised_meaningful_headers_come_with_their_mapping_line(tmp_path):
    path = write_text(tmp_path / "p.csv", [
        ["Portfolio Id", "MMS Id", "Title", "Purchase Order No", "Holdings (coverage)", "Licence terms", "Note",
         "Portfolio Static URL"],
        [portfolio_id(1), mms_id(1), "Mens", "POL-7", "Available from 2000.", "L1", "x", "https://x.org"]])
    read = read_kind("portfolios", path)
    assert unrecognised_columns(read) == [
        ("portfolios", "Purchase Order No", 'po_line = ["Purchase Order No"]'),
        ("portfolios", "Holdings (coverage)", 'coverage_statement = ["Holdings (coverage)"]'),
        ("portfolios", "Licence terms", 'license_name = ["Licence terms"]'),
    ]


def test_the_mapping_line_does_fix_the_column(tmp_path):
    path = write_text(tmp_path / "p.csv", [["Portfolio Id", "MMS Id", "Purchase Order No"],
                                           [portfolio_id(1), mms_id(1), "POL-7"]])
    (kind, header, line), = unrecognised_columns(read_kind("portfolios", path))
    mapping_file = tmp_path / "m.toml"
    mapping_file.write_text(f"[{kind}]\n{line}\n", encoding="utf-8")
    from almaclean.kinds import load_mapping
    read = read_kind("portfolios", path, mapping=load_mapping(mapping_file)["portfolios"])
    assert read.canonical.item(0, "po_line") == "POL-7" and unrecognised_columns(read) == []
