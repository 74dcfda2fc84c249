"""CZ collection title lists: the four real KBART files (excerpts, byte for byte) and an Alma
portfolio export."""
from __future__ import annotations

import pytest

from almaclean.errors import InputError
from almaclean.kinds import read_cz_title_lists, read_cz_titles
from almaclean.kinds.kbart import ALMA_EXPORT, KBART
from conftest import JSTOR, KBART_DIR, KBART_FILES, MUSE, kbart_excerpt_lines, kbart_rows


@pytest.mark.parametrize("name", sorted(KBART_FILES.values()))
def test_real_kbart_files_read_every_row_by_standard_column_names(name):
    rows = kbart_rows(name)
    titles = read_cz_titles(KBART_DIR / name)
    assert titles.shape == KBART and titles.name == name.removesuffix(".txt")
    assert titles.titles.height == len(kbart_excerpt_lines(name)) == len(rows)
    first = titles.titles.row(0, named=True)
    assert first["row"] == 2  # the header is line 1
    assert first["title"] == rows[0]["publication_title"]
    expected_ids = "; ".join(v for v in (rows[0]["print_identifier"], rows[0]["online_identifier"]) if v)
    assert first["identifiers"] == (expected_ids or None)
    assert first["date_first"] == (rows[0]["date_first_issue_online"] or None)
    assert first["title_url"] == rows[0]["title_url"]


def test_muse_last_row_without_line_ending_and_moving_walls_are_kept():
    titles = read_cz_titles(KBART_DIR / MUSE).titles
    rows = kbart_rows(MUSE)
    assert titles.row(-1, named=True)["title"] == rows[-1]["publication_title"]
    assert titles.row(-1, named=True)["row"] == len(rows) + 1
    jstor = read_cz_titles(KBART_DIR / JSTOR).titles
    moving_walls = [row["embargo_info"] for row in kbart_rows(JSTOR) if row["embargo_info"]]
    assert jstor.filter(jstor["embargo"].is_not_null())["embargo"].to_list() == moving_walls
    assert moving_walls.count("P4Y") > 10


def test_alma_portfolio_export_of_a_cz_collection_reads_issn_columns_and_coverage(tmp_path):
    path = tmp_path / "Project+MUSE+Premium_portfolios.csv"
    path.write_text(
        "Portfolio Id,Title,ISSN,ISSN,Coverage Statement,Portfolio Static URL\n"
        "53496697910003681,American Jewish History,0164-0178,1086-3141,Available from 1996.,"
        "https://muse.jhu.edu/journal/4\n",
        encoding="utf-8",
    )
    titles = read_cz_titles(path)
    assert titles.shape == ALMA_EXPORT
    row = titles.titles.row(0, named=True)
    assert row["identifiers"] == "0164-0178; 1086-3141"
    assert row["coverage_statement"] == "Available from 1996."
    assert row["date_first"] is None


def test_a_list_without_identifier_column_is_refused_with_the_file_named(tmp_path):
    path = tmp_path / "titles.tsv"
    path.write_text("publication_title\ttitle_url\nMens\thttps://www.erudit.org/fr/revues/mens/\n", encoding="utf-8")
    with pytest.raises(InputError) as error:
        read_cz_titles(path)
    assert "no identifier column" in str(error.value) and "titles.tsv" in str(error.value)
    assert error.value.exit_code == 2


def test_an_unreadable_date_names_its_row_and_column(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text(
        "publication_title\tprint_identifier\tonline_identifier\tdate_first_issue_online\tembargo_info\n"
        "Mens\t1492-8647\t\t2000\t\n"
        "Mens II\t1492-8647\t\tspring 2001\t\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError) as error:
        read_cz_title_lists([path])
    text = str(error.value)
    assert "row 3" in text and "date_first_issue_online" in text and "spring 2001" in text
