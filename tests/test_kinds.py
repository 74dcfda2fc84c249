"""kinds: headers found by alias or mapping, canonical columns, and every refusal."""
from __future__ import annotations

import polars as pl
import pytest

from almaclean.errors import InputError
from almaclean.kinds import KIND_NAMES, canonical_columns, load_mapping, read_kind
from readers_fixtures import kbart_rows, mms_id, portfolio_id, write_text, write_xlsx


def assert_points_at(error: InputError, file_name: str, row: int | None, column: str | None) -> None:
    message = str(error)
    assert file_name in message
    if row is not None:
        assert f"row {row}" in message
    if column is not None:
        assert repr(column) in message
    assert (error.row, error.column) == (row, column)


def analytics_rows(n: int = 4) -> list[dict[str, str]]:
    return kbart_rows(accented=True, limit=n)


# --- portfolios ----------------------------------------------------------------------------

@pytest.mark.parametrize(("pid", "mms", "url"), [
    ("Portfolio Id", "MMS Id", "Portfolio Static URL"),
    ("Portfolio ID", "MMS ID", "Access URL"),
    ("PORTFOLIO_PID", "MMS", "URL"),
    ("portfolio_id ", "mms.id", "Portfolio Static URL (override)"),
])
def test_portfolio_headers_by_alias(tmp_path, pid, mms, url):
    rows = analytics_rows()
    sheet = [[pid, mms, "Title", "ISBN", "ISBN (13)", url, "Electronic Collection Public Name", "Note"]]
    for n, r in enumerate(rows):
        sheet.append([f" {portfolio_id(n)} ", mms_id(n), r["publication_title"] + " ", r["print_identifier"],
                      r["online_identifier"], r["title_url"], "Érudit", "x"])
    read = read_kind("portfolios", write_xlsx(tmp_path / "E-Inventory.xlsx", sheet))
    canonical = read.canonical
    assert canonical.columns == ["row", *canonical_columns("portfolios")]
    assert canonical.get_column("row").to_list() == [2, 3, 4, 5]
    assert canonical.get_column("portfolio_id").to_list() == [portfolio_id(n) for n in range(4)]
    assert canonical.get_column("title").to_list() == [r["publication_title"].strip() for r in rows]
    assert canonical.get_column("url").to_list() == [r["title_url"] for r in rows]
    # two identifier columns feed isbn: their values joined
    assert canonical.get_column("isbn").to_list() == [
        "; ".join(v for v in (r["print_identifier"], r["online_identifier"]) if v) or None for r in rows]
    assert canonical.get_column("publisher").null_count() == 4        # absent column -> null
    assert read.present == {"portfolio_id", "mms_id", "title", "isbn", "url", "collection_name"}
    assert read.table.header == tuple(sheet[0])
    assert canonical.schema["row"] == pl.Int64


def test_blank_rows_are_left_out_and_row_numbers_kept(tmp_path):
    path = write_text(tmp_path / "report.csv", [
        ["Portfolio Id", "MMS Id", "Title"], [portfolio_id(1), mms_id(1), "Études"], ["", "", ""],
        [portfolio_id(3), mms_id(3), "Liberté"]])
    read = read_kind("portfolios", path)
    assert read.canonical.select("row", "portfolio_id").rows() == [(2, portfolio_id(1)), (4, portfolio_id(3))]
    assert read.table.frame.height == 3


def test_missing_required_column_lists_headers_seen(tmp_path):
    path = write_text(tmp_path / "titles.csv", [["Portfolio Id", "Title", "ISSN"], [portfolio_id(1), "x", ""]])
    with pytest.raises(InputError, match="no mms_id column") as caught:
        read_kind("portfolios", path)
    message = str(caught.value)
    assert "titles.csv" in message
    assert "'Portfolio Id', 'Title', 'ISSN'" in message
    assert "'MMS Id'" in message


def test_two_different_headers_for_one_column_are_ambiguous(tmp_path):
    path = write_xlsx(tmp_path / "both.xlsx", [["Portfolio Id", "MMS Id", "PID"], [portfolio_id(1), mms_id(1), "7"]])
    with pytest.raises(InputError, match="all mean portfolio_id") as caught:
        read_kind("portfolios", path)
    message = str(caught.value)
    assert "'Portfolio Id' (column A)" in message and "'PID' (column C)" in message
    assert "both.xlsx" in message


def test_mapping_file_resolves_ambiguity_and_adds_names(tmp_path):
    mapping_file = tmp_path / "mapping.toml"
    mapping_file.write_text('[portfolios]\nportfolio_id = ["PID"]\ncollection_name = "Paquet"\n'
                            '[extended_export]\nurl = ["LINK"]\n', encoding="utf-8")
    mapping = load_mapping(mapping_file)
    assert mapping == {"portfolios": {"portfolio_id": ["PID"], "collection_name": ["Paquet"]},
                       "extended-export": {"url": ["LINK"]}}
    path = write_xlsx(tmp_path / "both.xlsx", [["Portfolio Id", "MMS Id", "PID", "Paquet"],
                                               ["1", mms_id(1), portfolio_id(1), "Érudit"]])
    read = read_kind("portfolios", path, mapping=mapping["portfolios"])
    assert read.canonical.select("portfolio_id", "collection_name").rows() == [(portfolio_id(1), "Érudit")]
    assert read.source_name("portfolio_id") == "PID"


@pytest.mark.parametrize(("toml", "complaint"), [
    ("[portfolio]\nmms_id = ['X']\n", "unknown kind"),
    ("[portfolios]\nmms = ['X']\n", "has no column 'mms'"),
    ("[portfolios]\nmms_id = [1]\n", "must be a header name"),
    ("[portfolios\n", "not a valid TOML"),
])
def test_bad_mapping_files(tmp_path, toml, complaint):
    path = tmp_path / "map.toml"
    path.write_text(toml, encoding="utf-8")
    with pytest.raises(InputError, match=complaint) as caught:
        load_mapping(path)
    assert "map.toml" in str(caught.value)


def test_empty_required_id_is_refused_at_its_row(tmp_path):
    path = write_text(tmp_path / "inv.csv", [["Portfolio Id", "MMS Id"], [portfolio_id(1), mms_id(1)],
                                             [portfolio_id(2), "  "]])
    with pytest.raises(InputError, match="mms_id is empty") as caught:
        read_kind("portfolios", path)
    assert_points_at(caught.value, "inv.csv", 3, "MMS Id")


@pytest.mark.parametrize(("value", "complaint"), [("9.97704E+15", "converted to a number"),
                                                  ("99-123", "not an Alma ID")])
def test_ids_must_be_digits(tmp_path, value, complaint):
    path = write_text(tmp_path / "inv.tsv", [["MMS Id", "Portfolio Id"], [mms_id(1), portfolio_id(1)],
                                             [mms_id(2), value]], separator="\t")
    with pytest.raises(InputError, match=complaint) as caught:
        read_kind("portfolios", path)
    assert_points_at(caught.value, "inv.tsv", 3, "Portfolio Id")


def test_numeric_id_cell_refused_through_read_kind(tmp_path):
    path = write_xlsx(tmp_path / "Analytics.xlsx", [["Portfolio Id", "MMS Id"], [53496697910003681, mms_id(1)]])
    with pytest.raises(InputError, match="Excel number") as caught:
        read_kind("portfolios", path)
    assert_points_at(caught.value, "Analytics.xlsx", 2, "Portfolio Id")


# --- extended export -----------------------------------------------------------------------

def test_extended_export_joins_repeated_identifier_columns(tmp_path):
    rows = kbart_rows(limit=3)
    header = ["LOCALIZED", "ISSN", "ISSN", "ISSN", "ISBN", "ISBN", "ISBN", "PORTFOLIO_PID", "MMS", "TITLE",
              "OTHER_SYSTEM_NUMBER", "OTHER_SYSTEM_NUMBER", "OTHER_SYSTEM_NUMBER", "AVAILABILITY", "PDA"]
    sheet = [header]
    for n, r in enumerate(rows):
        sheet.append(["N", r["print_identifier"], None, r["online_identifier"], None, None, None,
                      portfolio_id(n), mms_id(n), r["publication_title"], f"(EDU01){n:09d}", None,
                      f"(OCoLC){n}", "ACTIVE", "x"])
    read = read_kind("extended-export", write_xlsx(tmp_path / "Erudit_portfolios.xlsx", sheet))
    got = read.canonical
    assert got.get_column("issn").to_list() == [
        "; ".join(v for v in (r["print_identifier"], r["online_identifier"]) if v) or None for r in rows]
    assert got.get_column("other_system_number").to_list() == [f"(EDU01){n:09d}; (OCoLC){n}" for n in range(3)]
    assert got.get_column("isbn").null_count() == 3
    assert got.get_column("localized").to_list() == ["N", "N", "N"]
    assert read.table.header == tuple(header)       # PDA and every other column stay in the table


def test_extended_export_needs_its_own_id_names(tmp_path):
    path = write_xlsx(tmp_path / "x_portfolios.xlsx", [["PORTFOLIO_ID", "Title"], [portfolio_id(1), "t"]])
    with pytest.raises(InputError, match="no mms_id column"):
        read_kind("extended-export", path)


# --- P2E -----------------------------------------------------------------------------------

def test_headerless_p2e_text_file(tmp_path):
    path = tmp_path / "p2e.txt"
    path.write_text("EDU01000123456,portfolio\r\nEDU01000123457,Database\r\n\r\nEDU01000123459,package", encoding="utf-8")
    read = read_kind("p2e", path)
    assert read.table.header == ()
    assert read.canonical.select("row", "legacy_id", "p2e_type").rows() == [
        (1, "EDU01000123456", "portfolio"), (2, "EDU01000123457", "database"), (4, "EDU01000123459", "database")]
    assert read.present == {"legacy_id", "p2e_type"}


def test_headerless_p2e_unknown_type_is_refused(tmp_path):
    path = tmp_path / "p2e.txt"
    path.write_text("EDU01000123456,portfolio\nEDU01000123457,ebook\n", encoding="utf-8")
    with pytest.raises(InputError, match="unknown P2E type 'ebook'") as caught:
        read_kind("p2e", path)
    assert_points_at(caught.value, "p2e.txt", 2, "B")


def test_p2e_spreadsheet_by_headers(tmp_path):
    rows = kbart_rows(accented=True, limit=3)
    sheet = [["Bib Number", "Type", "Title", "ISSN", "856$u", "856$z", "PO Number"]]
    for n, r in enumerate(rows):
        sheet.append([f"b{n:07d}", "PORTFOLIO", r["publication_title"], r["print_identifier"], r["title_url"],
                      r["publisher_name"], f"PO-{n}" if n else None])
    read = read_kind("p2e", write_xlsx(tmp_path / "P2E report.xlsx", sheet))
    assert read.canonical.select("legacy_id", "p2e_type", "title", "url", "provider", "po_number").rows() == [
        (f"b{n:07d}", "portfolio", r["publication_title"], r["title_url"], r["publisher_name"] or None,
         f"PO-{n}" if n else None) for n, r in enumerate(rows)]


def test_p2e_spreadsheet_column_a_is_the_legacy_number_when_no_header_names_it(tmp_path):
    path = write_text(tmp_path / "consortium.csv", [["Rec #", "Title", "URL"], ["b1000001", "Études", "http://e"],
                                                    ["b1000002", "Liberté", "http://l"]])
    read = read_kind("p2e", path)
    assert read.table.header == ("Rec #", "Title", "URL")
    assert read.canonical.select("row", "legacy_id", "title", "p2e_type").rows() == [
        (2, "b1000001", "Études", None), (3, "b1000002", "Liberté", None)]


def test_p2e_legacy_number_that_went_through_a_number_is_refused(tmp_path):
    path = write_text(tmp_path / "p2e.csv", [["Legacy ID", "Type"], ["1.00012E+13", "portfolio"]])
    with pytest.raises(InputError) as caught:
        read_kind("p2e", path)
    assert_points_at(caught.value, "p2e.csv", 2, "Legacy ID")


# --- PO lines ------------------------------------------------------------------------------

def test_po_lines_status_upper_cased_and_optional_ids_checked(tmp_path):
    path = write_text(tmp_path / "pol.csv", [
        ["PO Line Reference", "PO Line Title", "Status", "Vendor Name", "MMS Id", "Portfolio Id"],
        ["POL-12345", "Études françaises", "Active", "EBSCO", mms_id(1), ""],
        ["POL-12346", "Liberté", "closed ", "EBSCO", "", portfolio_id(2)]])
    read = read_kind("po-lines", path)
    assert read.canonical.select("po_line", "title", "status", "mms_id", "portfolio_id").rows() == [
        ("POL-12345", "Études françaises", "ACTIVE", mms_id(1), None),
        ("POL-12346", "Liberté", "CLOSED", None, portfolio_id(2))]

    bad = write_text(tmp_path / "pol2.csv", [["POL", "MMS"], ["POL-1", "99 123"]])
    with pytest.raises(InputError, match="not an Alma ID") as caught:
        read_kind("po-lines", bad)
    assert_points_at(caught.value, "pol2.csv", 2, "MMS")


def test_every_kind_has_canonical_columns_and_unknown_kind_fails():
    assert set(KIND_NAMES) == {"p2e", "portfolios", "extended-export", "po-lines"}
    assert all(canonical_columns(kind) for kind in KIND_NAMES)
    with pytest.raises(ValueError, match="unknown kind"):
        read_kind("holdings", "x.csv")


def test_canonical_values_are_stripped_only_where_needed(tmp_path):
    """Columns with stray spaces are stripped (and blank-only cells become null); clean columns
    come through unchanged."""
    path = tmp_path / "portfolios.csv"
    path.write_text(
        "Portfolio Id,MMS Id,Title,Publisher\n"
        "53496697910003681, 9977047322103681 ,Revue d’histoire de l’Amérique française ,Érudit\n"
        "53496697920003681,9977047322203681,  ,Presses de l'Université de Montréal\n",
        encoding="utf-8")
    canonical = read_kind("portfolios", path).canonical
    assert canonical["mms_id"].to_list() == ["9977047322103681", "9977047322203681"]
    assert canonical["title"].to_list() == ["Revue d’histoire de l’Amérique française", None]
    assert canonical["publisher"].to_list() == ["Érudit", "Presses de l'Université de Montréal"]
    assert canonical["portfolio_id"].to_list() == ["53496697910003681", "53496697920003681"]


# --- the Alma ID rule ----------------------------------------------------------------------

@pytest.mark.parametrize(("value", "complaint"), [
    ("５３１２３４５６７８９０１２３６８１", "digits other than 0-9"),      # fullwidth
    ("٥٣١٢٣٤٥٦٧٨٩٠١٢٣٦٨١", "digits other than 0-9"),                    # Arabic-Indic
    ("0", "starts with 0"),
    ("0053123456789013681", "starts with 0"),
    ("5" * 25, "has 25 digits"),
    ("53123456789013", "has 14 digits"),
    ("53 1234567890123681", "characters other than digits"),
])
def test_alma_ids_are_15_to_19_ascii_digits(tmp_path, value, complaint):
    path = write_text(tmp_path / "inv.csv", [["Portfolio Id", "MMS Id"], [portfolio_id(1), mms_id(1)],
                                             [value, mms_id(2)]])
    with pytest.raises(InputError, match=complaint) as caught:
        read_kind("portfolios", path)
    assert_points_at(caught.value, "inv.csv", 3, "Portfolio Id")


@pytest.mark.parametrize("value", ["5" * 15, "5" * 19, "53496697910003681", "9977047322103681"])
def test_alma_ids_of_15_to_19_digits_are_accepted(tmp_path, value):
    path = write_text(tmp_path / "inv.csv", [["Portfolio Id", "MMS Id"], [value, mms_id(1)]])
    assert read_kind("portfolios", path).canonical.get_column("portfolio_id").to_list() == [value]


def test_header_only_file_gives_an_empty_canonical_frame_with_its_row_column(tmp_path):
    path = write_text(tmp_path / "inv.csv", [["Portfolio Id", "MMS Id", "Title"]])
    read = read_kind("portfolios", path)
    assert read.canonical.height == 0
    assert read.canonical.columns == ["row", *canonical_columns("portfolios")]
    assert read.canonical.schema["row"] == pl.Int64


def test_every_list_of_kinds_derives_from_the_registry():
    from almaclean.cli import build_parser
    from almaclean.kinds import ALIASES, READERS, REQUIRED
    from almaclean.kinds.registry import FOLDERS, NAMES, TABLES
    from almaclean.store.ingest import TABLE_OF_KIND

    ingest = build_parser().commands["ingest"]
    choices = next(a.choices for a in ingest._actions if a.dest == "kind")  # argparse keeps choices here
    assert tuple(choices) == NAMES
    assert set(ALIASES) == set(REQUIRED) == set(READERS) == set(TABLES) == set(NAMES)
    assert TABLE_OF_KIND is TABLES
    assert set(FOLDERS.values()) == set(NAMES) and all(FOLDERS[name] == name for name in NAMES)
