"""Storage: lossless raw rows, normalised tables, idempotent re-ingest, supersession, rollback."""
from __future__ import annotations

import csv
import multiprocessing
from pathlib import Path

import polars as pl
import pytest
import xlsxwriter
from sqlalchemy import text

from almaclean.errors import InputError
from almaclean.read.table import read_table
from almaclean.store import ingest as ingest_module
from almaclean.store.db import open_database
from almaclean.store.ingest import ingest_file, ingest_files
from almaclean.store.load import current_frame, raw_table, stored_status
from conftest import sqlite_url
from conftest import title_rows

HEADER = ["Portfolio Id", "MMS Id", "Title", "ISSN", "Electronic Collection Public Name",
          "Portfolio Linked To CZ", "Availability", "Portfolio Static URL"]


def portfolios_csv(path: Path, rows: list[dict], *, start: int = 0) -> Path:
    """An Analytics-style portfolio export built from real JSTOR KBART rows."""
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for n, row in enumerate(rows, start=start):
            issns = "; ".join(v for v in (row["print_identifier"], row["online_identifier"]) if v)
            writer.writerow([f"53{n:011d}03681", f"99{n:012d}03681", row["publication_title"], issns,
                             "JSTOR Arts & Sciences I", "Y", "Available", row["title_url"]])
    return path


def counts(engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {t: conn.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar_one()
                for t in ("institutions", "source_files", "raw_columns", "file_spans", "file_ingests", "portfolios")}


def rows_with_raw_cells(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT COUNT(*) FROM portfolios WHERE raw_cells IS NOT NULL")).scalar_one()


def test_ingest_stores_canonical_rows_and_each_raw_cell_once(tmp_path, db_url):
    rows = title_rows(limit=300)
    path = portfolios_csv(tmp_path / "portfolios.csv", rows)
    engine = open_database(db_url)
    result = ingest_file(engine, "portfolios", path, "UNI")
    assert (result.status, result.rows, result.scope) == ("stored", 300, "all")

    stored = current_frame(engine, "UNI", "portfolios")
    assert stored.height == 300
    assert stored["row"].to_list() == list(range(2, 302))  # Excel row numbers: header is row 1
    assert stored["portfolio_id"][0] == "530000000000003681"
    assert stored["title"].to_list() == [r["publication_title"] for r in rows]
    # A clean export: every file column is held by a canonical column, so no raw cells at all,
    # and the file still comes back cell for cell.
    with engine.connect() as conn:
        held = dict(conn.execute(text("SELECT column_position, canonical_column FROM raw_columns")).all())
    raw_count = rows_with_raw_cells(engine)
    assert held == {0: "portfolio_id", 1: "mms_id", 2: "title", 3: "issn", 4: "collection_name",
                    5: "portfolio_linked_to_cz", 6: "availability", 7: "url"}
    assert raw_count == 0
    assert raw_table(engine, result.source_file_id).frame.equals(read_table(path).frame)


def test_a_cell_that_differs_from_its_canonical_value_is_kept_raw_in_its_row_alone(tmp_path, db_url):
    rows = title_rows(limit=40)
    path = portfolios_csv(tmp_path / "portfolios.csv", rows)
    lines = path.read_text(encoding="utf-8").splitlines()
    # a stray space around one title: canonical titles are stripped, the raw cell is not
    cells = next(csv.reader([lines[5]]))
    cells[2] = f"  {cells[2]} "
    lines[5] = ",".join(f'"{c}"' for c in cells)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    engine = open_database(db_url)
    result = ingest_file(engine, "portfolios", path, "UNI")
    with engine.connect() as conn:
        held = dict(conn.execute(text("SELECT column_position, canonical_column FROM raw_columns")).all())
    raw_count = rows_with_raw_cells(engine)
    assert held[2] == "title" and len(held) == 8 and raw_count == 1
    back = raw_table(engine, result.source_file_id).frame
    assert back.equals(read_table(path).frame) and back["c2"][4] == cells[2]
    assert current_frame(engine, "UNI", "portfolios")["title"][4] == cells[2].strip()


def test_same_file_again_is_a_no_op(tmp_path, db_url):
    path = portfolios_csv(tmp_path / "portfolios.csv", title_rows(limit=50))
    engine = open_database(db_url)
    first = ingest_file(engine, "portfolios", path, "UNI")
    before = counts(engine)
    again = ingest_file(engine, "portfolios", path, "UNI")
    assert again.status == "unchanged" and again.source_file_id == first.source_file_id
    assert counts(engine) == before
    # The same bytes for another institution are that institution's own file.
    other = ingest_file(engine, "portfolios", path, "OTHER")
    assert other.status == "stored" and other.source_file_id != first.source_file_id


def test_newer_export_supersedes_older_and_history_is_kept(tmp_path, db_url):
    rows = title_rows(limit=120)
    old = portfolios_csv(tmp_path / "old.csv", rows[:100])
    new = portfolios_csv(tmp_path / "new.csv", rows[20:120], start=20)
    engine = open_database(db_url)
    ingest_file(engine, "portfolios", old, "UNI")
    ingest_file(engine, "portfolios", new, "UNI")
    current = current_frame(engine, "UNI", "portfolios")
    assert current["title"].to_list() == [r["publication_title"] for r in rows[20:120]]
    # the old file's rows are history, not deleted; the 80 rows both files have are stored once
    assert counts(engine)["portfolios"] == 120
    status = stored_status(engine).row(0, named=True)
    assert (status["files"], status["current_files"], status["current_rows"]) == (2, 1, 100)


def test_failing_ingest_leaves_database_exactly_as_it_was(tmp_path, monkeypatch, db_url):
    rows = title_rows(limit=80)
    engine = open_database(db_url)
    ingest_file(engine, "portfolios", portfolios_csv(tmp_path / "a.csv", rows[:40]), "UNI")
    before = counts(engine)
    real_insert = ingest_module.bulk_insert

    def failing_insert(conn, table, frame, progress=None, **options):
        real_insert(conn, table, frame, progress, **options)
        if table == "file_spans":  # the last step: everything before it was already written
            raise RuntimeError("disk full")

    monkeypatch.setattr(ingest_module, "bulk_insert", failing_insert)
    with pytest.raises(RuntimeError, match="disk full"):
        ingest_file(engine, "portfolios", portfolios_csv(tmp_path / "b.csv", rows[40:], start=40), "UNI")
    assert counts(engine) == before
    assert current_frame(engine, "UNI", "portfolios").height == 40


def test_one_bad_file_stores_none_of_the_batch(tmp_path, db_url):
    good = portfolios_csv(tmp_path / "good.csv", title_rows(limit=10))
    bad = tmp_path / "bad.csv"
    bad.write_text("Portfolio Id,MMS Id,Title\n53000000000003681,9.97704E+15,Some title\n", encoding="utf-8")
    engine = open_database(db_url)
    before = counts(engine)
    with pytest.raises(InputError) as error:
        ingest_files(engine, "portfolios", [good, bad], "UNI")
    assert "bad.csv" in str(error.value) and "row 2" in str(error.value)
    assert counts(engine) == before


def extended_export(path: Path, rows: list[dict]) -> Path:
    header = ["LOCALIZED", "ISSN", "ISSN", "ISSN", "PORTFOLIO_PID", "MMS", "TITLE", "URL ", "NOTES"]
    workbook = xlsxwriter.Workbook(path)
    sheet = workbook.add_worksheet()
    sheet.write_row(0, 0, header)
    for n, row in enumerate(rows, start=1):
        cells = ["Y", row["print_identifier"], row["online_identifier"], None, f"53{n:011d}03681",
                 f"99{n:012d}03681", row["publication_title"], "=HYPERLINK(\"x\")" if n == 3 else None,
                 "+33 1 44 00" if n == 4 else None]
        for col, value in enumerate(cells):
            if value:
                sheet.write_string(n, col, value)
    workbook.close()
    return path


def test_extended_export_comes_back_cell_for_cell(tmp_path, db_url):
    rows = title_rows("PROJECTMUSE_GLOBAL_ALLJOURNALS_2026-03-24.txt", limit=60)
    path = extended_export(tmp_path / "Project+MUSE+Premium_portfolios.xlsx", rows)
    engine = open_database(db_url)
    result = ingest_file(engine, "extended-export", path, "UNI")
    assert result.scope == "Project MUSE Premium"
    original = read_table(path)
    stored = raw_table(engine, result.source_file_id)
    assert stored.header == original.header == ("LOCALIZED", "ISSN", "ISSN", "ISSN", "PORTFOLIO_PID",
                                                "MMS", "TITLE", "URL ", "NOTES")
    assert stored.first_row == original.first_row
    assert stored.frame.equals(original.frame)


def test_headerless_p2e_file_round_trips(tmp_path, db_url):
    path = tmp_path / "p2e.txt"
    path.write_text("EDU01000123456,portfolio\nEDU01000123457,database\n", encoding="utf-8")
    engine = open_database(db_url)
    result = ingest_file(engine, "p2e", path, "UNI")
    stored = raw_table(engine, result.source_file_id)
    assert stored.header == ()
    assert stored.frame.rows() == [("EDU01000123456", "portfolio"), ("EDU01000123457", "database")]
    lines = current_frame(engine, "UNI", "p2e")
    assert lines.select("row", "legacy_id", "p2e_type").rows() == [
        (1, "EDU01000123456", "portfolio"), (2, "EDU01000123457", "database")]


def _ingest_in_process(args):
    url, path, institution = args
    return ingest_file(open_database(url), "portfolios", Path(path), institution).status


def test_concurrent_writers_on_one_sqlite_file_both_finish(tmp_path):
    rows = title_rows()
    url = sqlite_url(tmp_path, "shared.db")
    open_database(url)
    files = [portfolios_csv(tmp_path / f"p{i}.csv", rows[i * 2000:(i + 1) * 2000], start=i * 2000)
             for i in range(2)]
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        statuses = pool.map(_ingest_in_process, [(url, str(f), f"INST{i}") for i, f in enumerate(files)])
    assert statuses == ["stored", "stored"]
    engine = open_database(url)
    assert [current_frame(engine, f"INST{i}", "portfolios").height for i in range(2)] == [2000, 2000]


def test_rows_read_are_the_rows_the_database_gives_back_once_stored(tmp_path, db_url):
    """The P2E flow analyses a file's rows while they are stored: they must be what
    current_frame returns afterwards, as long as that file alone is current."""
    from almaclean.store.ingest import PENDING_SOURCE_ID, read_unless_stored, store_pending
    from almaclean.store.load import current_sources

    def is_only_current(engine, institution: str, kind: str, source_file_id: int) -> bool:
        return current_sources(engine, institution, kind)["id"].to_list() == [source_file_id]

    engine = open_database(db_url)
    first = portfolios_csv(tmp_path / "first.csv", title_rows(limit=120))
    second = portfolios_csv(tmp_path / "second.csv", title_rows(limit=200), start=500)
    pending = read_unless_stored(engine, "portfolios", first, "UNI")
    assert set(pending.frame["source_file_id"]) == {PENDING_SOURCE_ID}
    stored = store_pending(engine, pending, "UNI")
    assert stored.status == "stored"
    from_db = current_frame(engine, "UNI", "portfolios")
    # rows read but not stored yet differ only by their (unknown) source id
    assert pending.frame.drop("source_file_id").equals(from_db.drop("source_file_id"))
    assert pending.frame.schema == from_db.schema
    assert is_only_current(engine, "UNI", "portfolios", stored.source_file_id)

    # once a newer file is current, the older file's rows are no longer the current data
    newer = ingest_file(engine, "portfolios", second, "UNI")
    assert not is_only_current(engine, "UNI", "portfolios", stored.source_file_id)
    assert current_frame(engine, "UNI", "portfolios")["portfolio_id"][0] == "530000000050003681"
    # the same bytes again are not read at all: the stored file is named, nothing pending
    again = read_unless_stored(engine, "portfolios", second, "UNI")
    assert isinstance(again, type(newer)) and again.status == "unchanged"
    assert again.source_file_id == newer.source_file_id


def test_an_export_ingested_again_after_a_newer_one_is_current_again(db_url, tmp_path):
    """Night 1 file A, night 2 file B (same scope), night 3 the bytes of A again: A is current,
    stored once, and ingesting it once more changes nothing."""
    from almaclean.store.load import current_frame, stored_status

    engine = open_database(db_url)
    first = tmp_path / "night1.csv"
    first.write_text("Portfolio Id,MMS Id\n531000000000000001,991000000000000001\n", encoding="utf-8")
    second = tmp_path / "night2.csv"
    second.write_text("Portfolio Id,MMS Id\n531000000000000002,991000000000000002\n", encoding="utf-8")
    third = tmp_path / "night3.csv"
    third.write_bytes(first.read_bytes())
    a = ingest_file(engine, "portfolios", first, "EDU01")
    assert ingest_file(engine, "portfolios", second, "EDU01").status == "stored"
    assert current_frame(engine, "EDU01", "portfolios")["portfolio_id"].to_list() == ["531000000000000002"]
    again = ingest_file(engine, "portfolios", third, "EDU01")
    assert (again.status, again.source_file_id) == ("current again", a.source_file_id)
    assert current_frame(engine, "EDU01", "portfolios")["portfolio_id"].to_list() == ["531000000000000001"]
    assert ingest_file(engine, "portfolios", third, "EDU01").status == "unchanged"
    row = stored_status(engine).row(0, named=True)
    assert (row["files"], row["current_files"], row["current_rows"]) == (2, 1, 1)


def test_prune_removes_superseded_history_and_keeps_the_current_file(db_url, tmp_path):
    from almaclean.store.load import current_frame, raw_table, stored_status
    from almaclean.store.prune import prune
    from almaclean.store.size import institution_bytes

    engine = open_database(db_url)
    ids = []
    for n in range(3):
        path = tmp_path / f"night{n}.csv"
        path.write_text(f"Portfolio Id,MMS Id,Note\n53100000000000{n}001,99100000000000{n}001,x{n}\n", encoding="utf-8")
        ids.append(ingest_file(engine, "portfolios", path, "EDU01").source_file_id)
    assert set(institution_bytes(engine)) == {"EDU01"}
    pruned = prune(engine, 0)
    assert (pruned.files, pruned.rows, pruned.kept_for_runs) == (2, 2, 0)
    assert stored_status(engine).row(0, named=True)["files"] == 1
    assert current_frame(engine, "EDU01", "portfolios")["portfolio_id"].to_list() == ["531000000000002001"]
    assert raw_table(engine, ids[2]).frame.row(0) == ("531000000000002001", "991000000000002001", "x2")
    assert prune(engine, 0).files == 0
