"""Rows stored by content: a changed export stores only its new rows, every file still comes
back cell for cell, the history of every row, reverted exports, rollback, databases of the
earlier per-file layout, and prune keeping what a recorded run needs."""
from __future__ import annotations

import json

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from almaclean.kinds import canonical_columns, read_kind
from almaclean.read.table import read_table
from almaclean.store import ingest as ingest_module
from almaclean.store.db import open_database
from almaclean.store.history import row_history
from almaclean.store.ingest import ingest_file
from almaclean.store.load import current_frame, raw_table, sources_frame
from conftest import kbart_rows, upgraded_to
from faults.xlsx_parts import simple_book
from test_store import portfolios_csv


def count(engine, table: str, where: str = "") -> int:
    with engine.connect() as conn:
        return conn.execute(text(f"SELECT COUNT(*) FROM {table} {where}")).scalar_one()


def spans_of(engine, source_file_id: int) -> list[tuple[int, int, int]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(
            "SELECT first_row, first_id, row_count FROM file_spans WHERE source_file_id = :f ORDER BY first_row"),
            {"f": source_file_id})]


def pid(n: int) -> str:
    return f"53{n:011d}03681"


def mms(n: int) -> str:
    return f"99{n:012d}03681"


def three_nights(tmp_path):
    """Night 1: rows 0-99. Night 2: row 0 gone, row 5's title changed, row 100 added.
    Night 3: rows 1-100, row 5's title as on night 1."""
    rows = kbart_rows(limit=101)
    first = portfolios_csv(tmp_path / "night1.csv", rows[:100])
    changed = [dict(r) for r in rows]
    changed[5]["publication_title"] = "A title retitled overnight"
    second = portfolios_csv(tmp_path / "night2.csv", changed[1:], start=1)
    third = portfolios_csv(tmp_path / "night3.csv", rows[1:], start=1)
    return first, second, third


def canonical_of(path) -> pl.DataFrame:
    return read_kind("portfolios", path).canonical


def test_a_changed_export_stores_only_its_new_rows_and_every_file_comes_back(tmp_path, db_url):
    engine = open_database(db_url)
    paths = three_nights(tmp_path)
    results = [ingest_file(engine, "portfolios", p, "UNI") for p in paths]
    assert [r.status for r in results] == ["stored"] * 3
    # 100 rows; then only row 5 as changed and row 100; then row 5 as on night 1 again (night 3
    # is compared with night 2, the current file, which no longer had that content)
    assert count(engine, "portfolios") == 100 + 2 + 1
    with engine.connect() as conn:
        stored = [r[0] for r in conn.execute(text("SELECT content_rows FROM source_files ORDER BY id"))]
    assert stored == [100, 2, 1]
    # night 2's rows 2-5 are night 1's ids 2-5 (its row 2 is gone), row 6 the new id 101, ...
    assert spans_of(engine, results[0].source_file_id) == [(2, 1, 100)]
    assert spans_of(engine, results[1].source_file_id) == [(2, 2, 4), (6, 101, 1), (7, 7, 94), (101, 102, 1)]
    for result, path in zip(results, paths):
        assert raw_table(engine, result.source_file_id).frame.equals(read_table(path).frame)
        assert sources_frame(engine, "portfolios", [result.source_file_id]).drop("source_file_id").equals(
            canonical_of(path))
    assert current_frame(engine, "UNI", "portfolios")["portfolio_id"].to_list() == [pid(n) for n in range(1, 101)]


def test_cells_no_canonical_column_holds_and_blank_rows_come_back_after_a_delta(tmp_path, db_url):
    """A Note column (not canonical), a title with stray spaces and a blank line: stored as raw
    cells with the content, and a change in the Note alone is a changed row."""
    def export(path, note_of_row_3):
        lines = ["Portfolio Id,MMS Id,Title,Note"]
        for n in range(1, 8):
            note = note_of_row_3 if n == 3 else f"note {n}"
            title = "  Padded title " if n == 4 else f"Title {n}"
            lines.append(f"{pid(n)},{mms(n)},{title},{note}")
            if n == 5:
                lines.append(",,,")
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path

    engine = open_database(db_url)
    first = ingest_file(engine, "portfolios", export(tmp_path / "a.csv", "note 3"), "UNI")
    second = ingest_file(engine, "portfolios", export(tmp_path / "b.csv", "note 3 (corrected)"), "UNI")
    assert count(engine, "portfolios") == 7 + 1
    assert count(engine, "portfolios", "WHERE raw_cells IS NOT NULL") == 8
    for result, name in ((first, "a.csv"), (second, "b.csv")):
        back = raw_table(engine, result.source_file_id).frame
        assert back.equals(read_table(tmp_path / name).frame)
        assert back.row(5) == (None, None, None, None)  # the blank line, Excel row 7
    history = row_history(engine, "UNI", "portfolios", pid(3))
    assert history.select("status", "changed").rows() == [("appeared", ""), ("changed", "other cells")]


def test_a_file_with_another_header_is_stored_whole(tmp_path, db_url):
    engine = open_database(db_url)
    first, second, _ = three_nights(tmp_path)
    ingest_file(engine, "portfolios", first, "UNI")
    widened = tmp_path / "widened.csv"
    lines = second.read_text(encoding="utf-8").splitlines()
    widened.write_text("\n".join([lines[0] + ",Note"] + [line + ",x" for line in lines[1:]]) + "\n", encoding="utf-8")
    result = ingest_file(engine, "portfolios", widened, "UNI")
    assert count(engine, "portfolios") == 200
    assert raw_table(engine, result.source_file_id).frame.equals(read_table(widened).frame)


def test_history_of_a_row_across_three_files(tmp_path, db_url):
    engine = open_database(db_url)
    for path in three_nights(tmp_path):
        ingest_file(engine, "portfolios", path, "UNI")

    def timeline(n: int) -> list[tuple[str, str, str, str]]:
        history = row_history(engine, "UNI", "portfolios", pid(n))
        return history.select("file", "status", "rows", "changed").rows()

    title = kbart_rows(limit=6)[5]["publication_title"]
    assert timeline(5) == [("night1.csv", "appeared", "7", ""),
                           ("night2.csv", "changed", "6", f"title {title!r} -> 'A title retitled overnight'"),
                           ("night3.csv", "changed", "6", f"title 'A title retitled overnight' -> {title!r}")]
    assert timeline(7) == [("night1.csv", "appeared", "9", ""), ("night2.csv", "unchanged", "8", ""),
                           ("night3.csv", "unchanged", "8", "")]
    assert timeline(0) == [("night1.csv", "appeared", "2", ""), ("night2.csv", "gone", "", "")]
    assert timeline(100) == [("night2.csv", "appeared", "101", ""), ("night3.csv", "unchanged", "101", "")]
    assert row_history(engine, "UNI", "portfolios", "539999999999999999").is_empty()
    assert row_history(engine, "OTHER", "portfolios", pid(5)).is_empty()


def test_an_export_that_reverted_becomes_current_again_storing_nothing(tmp_path, db_url):
    engine = open_database(db_url)
    first, second, _ = three_nights(tmp_path)
    older = ingest_file(engine, "portfolios", first, "UNI")
    ingest_file(engine, "portfolios", second, "UNI")
    before = (count(engine, "portfolios"), count(engine, "file_spans"), count(engine, "source_files"))
    reverted = ingest_file(engine, "portfolios", first, "UNI")
    assert (reverted.status, reverted.source_file_id) == ("current again", older.source_file_id)
    assert (count(engine, "portfolios"), count(engine, "file_spans"), count(engine, "source_files")) == before
    assert current_frame(engine, "UNI", "portfolios").drop("source_file_id").equals(canonical_of(first))
    history = row_history(engine, "UNI", "portfolios", pid(0))
    assert history["status"].to_list() == ["appeared", "gone", "appeared (file #1 current again)"]


def test_a_failing_ingest_stores_nothing(tmp_path, monkeypatch, db_url):
    engine = open_database(db_url)
    first, second, _ = three_nights(tmp_path)
    ingest_file(engine, "portfolios", first, "UNI")
    tables = ("source_files", "file_spans", "portfolios", "file_ingests", "raw_columns")
    before = [count(engine, t) for t in tables]
    real_insert = ingest_module.bulk_insert

    def failing_insert(conn, table, frame, progress=None, **options):
        real_insert(conn, table, frame, progress, **options)
        if table == "file_spans":
            raise RuntimeError("disk full")

    monkeypatch.setattr(ingest_module, "bulk_insert", failing_insert)
    with pytest.raises(RuntimeError, match="disk full"):
        ingest_file(engine, "portfolios", second, "UNI")
    assert [count(engine, t) for t in tables] == before


def test_prune_keeps_what_a_recorded_run_names_and_the_rows_kept_files_share(tmp_path, db_url):
    from almaclean.store.prune import prune

    engine = open_database(db_url)
    paths = three_nights(tmp_path)
    ids = [ingest_file(engine, "portfolios", p, "UNI").source_file_id for p in paths]
    with engine.begin() as conn:  # a run analysed night 1
        conn.execute(text("INSERT INTO run_ledger (run_uuid, workflow, folder_name, bundle_sha256, recorded_at, "
                          "tool_version, source_file_ids) VALUES ('r1', 'p2e', 'run', 'x', 't', 'v', :ids)"),
                     {"ids": json.dumps([ids[0]])})
    pruned = prune(engine, 0)
    assert (pruned.files, pruned.kept_for_runs) == (1, 1)  # night 2 goes; night 1 kept for the run
    # night 2's own rows go: its changed row 5 (id 101) is no one's now; row 100 (id 102) night 3 shares
    assert count(engine, "portfolios") == 102
    assert count(engine, "portfolios", "WHERE row_id = 101") == 0
    for source_file_id, path in ((ids[0], paths[0]), (ids[2], paths[2])):
        assert raw_table(engine, source_file_id).frame.equals(read_table(path).frame)
    assert [line for line in row_history(engine, "UNI", "portfolios", pid(5))["file"]] == ["night1.csv", "night3.csv"]


def _migration_0008_layout() -> dict[str, tuple[str, ...]]:
    """The canonical columns each content table had before rows were packed (migration 0008's LAYOUT)."""
    import importlib.util

    from almaclean.store import schema

    spec = importlib.util.spec_from_file_location("packed_fields_migration",
                                                  schema.MIGRATIONS / "versions" / "0008_packed_fields.py")
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    return migration.LAYOUT


LAYOUT_0006 = _migration_0008_layout()


def store_in_earlier_layout(engine, path, institution: str, *, all_cells_raw: bool) -> int:
    """What versions before content storage wrote: the kind's rows by (file, row number) and the
    cells of columns no canonical column held as JSON in raw_rows (every cell when all_cells_raw)."""
    read = read_kind("portfolios", path)
    frame = read.table.frame
    held = {} if all_cells_raw else {position: column for position, column in ingest_module.mapped_columns(read).items()
                                      if read.canonical[column].eq_missing(frame[f"c{position}"]).all()}
    rest = [name for position, name in enumerate(frame.columns) if position not in held]
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO institutions (code, created_at) VALUES (:c, 't') ON CONFLICT DO NOTHING"),
                     {"c": institution})
        source_id = conn.execute(text(
            "INSERT INTO source_files (institution_code, kind, scope, file_name, file_size, sha256, row_count, format, "
            "encoding, header_json, column_count, first_row, ingested_at, tool_version, columns_json, current_order) "
            "VALUES (:i, 'portfolios', 'all', :n, 1, :sha, :rows, 'csv', 'utf-8', :h, :w, :first, "
            "'2025-01-01T00:00:00+00:00', '0', :cols, (SELECT COALESCE(MAX(current_order), 0) + 1 FROM source_files)) "
            "RETURNING id"),
            {"i": institution, "n": path.name, "sha": path.name, "rows": frame.height,
             "h": json.dumps(list(read.table.header)), "w": frame.width, "first": read.table.first_row,
             "cols": json.dumps({c: list(p) for c, p in read.sources.items()})}).scalar_one()
        for position, column in held.items():
            conn.execute(text("INSERT INTO raw_columns VALUES (:f, :p, :c)"), {"f": source_id, "p": position, "c": column})
        columns = ("portfolio_id", *LAYOUT_0006["portfolios"])  # the table's columns at that revision
        conn.execute(text(f"INSERT INTO portfolios (source_file_id, row_number, {', '.join(columns)}) "
                          f"VALUES (:source_file_id, :row, {', '.join(':' + c for c in columns)})"),
                     read.canonical.with_columns(pl.lit(source_id).alias("source_file_id"))
                     .select("source_file_id", "row", *columns).to_dicts())
        if rest:
            cells = frame.select(pl.struct(rest).struct.json_encode()).to_series().to_list()
            conn.execute(text("INSERT INTO raw_rows VALUES (:f, :r, :c)"),
                         [{"f": source_id, "r": read.table.first_row + n, "c": c} for n, c in enumerate(cells)])
    return source_id


def test_a_database_of_the_earlier_layout_is_migrated_and_every_file_comes_back(tmp_path, db_url):
    url = db_url
    engine = upgraded_to(url, "0006")
    first, second, third = three_nights(tmp_path)
    with_blank = tmp_path / "blank.csv"
    with_blank.write_text("Portfolio Id,MMS Id,Note\n" + f"{pid(1)},{mms(1)},x\n,,\n{pid(2)},{mms(2)},y\n", encoding="utf-8")
    old_ids = [store_in_earlier_layout(engine, first, "UNI", all_cells_raw=False),
               store_in_earlier_layout(engine, with_blank, "OLD", all_cells_raw=True)]

    engine = upgraded_to(url, "head")  # what `almaclean db upgrade` does: 0007 and 0008 rewrite tables
    assert count(engine, "portfolios") == 100 + 2
    for source_file_id, path in zip(old_ids, (first, with_blank)):
        assert raw_table(engine, source_file_id).frame.equals(read_table(path).frame)
        assert sources_frame(engine, "portfolios", [source_file_id]).drop("source_file_id").equals(canonical_of(path))
    assert spans_of(engine, old_ids[1]) == [(2, 101, 1), (4, 102, 1)]
    # rows stored before content storage got their content hash from 0011 (put back from the file's
    # cells): the next file is stored as a delta at once (row 5 changed, row 100 added), and so
    # is the one after (row 5 as on night 1)
    results = [ingest_file(engine, "portfolios", p, "UNI") for p in (second, third)]
    assert count(engine, "portfolios") == 102 + 2 + 1
    for result, path in zip(results, (second, third)):
        assert raw_table(engine, result.source_file_id).frame.equals(read_table(path).frame)
    assert row_history(engine, "UNI", "portfolios", pid(5))["status"].to_list() == ["appeared", "changed", "changed"]


TRICKY_TITLES = ["C:\\docs\\u1 \\e", "\\", "a\x1fb", "\\u", "\\e", "Título é"]


def test_a_database_of_the_content_layout_gets_its_columns_packed_and_every_value_comes_back(tmp_path, db_url):
    """Migration 0008 packs the canonical columns in SQL as packed_fields does in polars: texts
    with backslashes, separators and escape-like sequences, nulls and an empty text read back."""
    engine = upgraded_to(db_url, "0006")
    # An xlsx: a text file with a control character (the unit separator) is refused, while a
    # workbook cell holds one as _x001F_.
    path = simple_book(tmp_path / "tricky.xlsx", [["Portfolio Id", "MMS Id", "Title", "Publisher"]] + [
        [pid(n), mms(n), title.replace("\x1f", "_x001F_"), "P" if n % 2 else None]
        for n, title in enumerate(TRICKY_TITLES)])
    source_id = store_in_earlier_layout(engine, path, "UNI", all_cells_raw=False)
    with engine.begin() as conn:  # an empty text, which no reader gives today but a database may hold
        conn.execute(text("UPDATE portfolios SET publisher = '' WHERE portfolio_id = :p"), {"p": pid(0)})
    upgraded_to(db_url, "0007")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT title FROM portfolios ORDER BY row_id")).scalars().all() == TRICKY_TITLES

    engine = upgraded_to(db_url, "head")  # 0008 and on
    expected = canonical_of(path).with_columns(
        pl.when(pl.col("portfolio_id") == pid(0)).then(pl.lit("")).otherwise(pl.col("publisher")).alias("publisher"))
    assert sources_frame(engine, "portfolios", [source_id]).drop("source_file_id").equals(expected)
    assert expected["title"].to_list() == TRICKY_TITLES and expected["publisher"].to_list()[:2] == ["", "P"]
    assert raw_table(engine, source_id).frame.equals(read_table(path).frame.with_columns(
        pl.when(pl.col("c0") == pid(0)).then(pl.lit("")).otherwise(pl.col("c3")).alias("c3")))


TEXTS = st.one_of(st.none(), st.text(alphabet=st.sampled_from(["a", "é", "\\", "\x1f", "u", "e", "N", " "]),
                                     max_size=6))


ROW = st.tuples(st.integers(1, 40), st.sampled_from(["Title A", "Title B", " Padded ", "Título é"]),
                st.sampled_from(["", "note", "note 2", "x,y"]))
NIGHTS = st.lists(st.lists(st.one_of(ROW, st.none()), max_size=25), min_size=1, max_size=4)


def night_file(path, rows) -> None:
    """A portfolio export of (portfolio number, title, note) rows; None is a blank line."""
    import csv

    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Portfolio Id", "MMS Id", "Title", "Note"])
        seen = set()
        for row in rows:
            if row is None:
                writer.writerow(["", "", "", ""])
            elif row[0] not in seen:  # a portfolio export never repeats an id
                seen.add(row[0])
                writer.writerow([pid(row[0]), mms(row[0]), row[1], row[2]])


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(nights=NIGHTS)
def test_any_sequence_of_exports_comes_back_cell_for_cell_and_stores_only_rows_the_file_before_lacked(
        tmp_path_factory, nights):
    folder = tmp_path_factory.mktemp("nights")
    engine = open_database(f"sqlite:///{folder / 'db.sqlite'}")
    stored, previous = {}, None
    for n, rows in enumerate(nights):
        path = folder / f"night{n}.csv"
        night_file(path, rows)
        if not any(r is not None for r in rows):
            continue  # no data row at all: nothing to compare
        before = count(engine, "portfolios")
        result = ingest_file(engine, "portfolios", path, "UNI")
        if result.status != "stored":
            continue
        table = read_table(path)
        now = {tuple(r) for r in table.frame.rows() if any(c is not None for c in r)}
        same_layout = previous is not None and previous[1] == table.header
        expected_new = len(now - previous[0]) if same_layout else len(now)
        assert count(engine, "portfolios") - before == expected_new
        stored[result.source_file_id] = path
        previous = (now, table.header)
    for source_file_id, path in stored.items():
        assert raw_table(engine, source_file_id).frame.equals(read_table(path).frame)
        assert sources_frame(engine, "portfolios", [source_file_id]).drop("source_file_id").equals(canonical_of(path))
    engine.dispose()


def test_old_exports_left_in_an_inbox_change_nothing_and_a_reverted_one_dropped_last_is_current_again(
        tmp_path, db_url):
    from almaclean.store.ingest import ingest_files

    engine = open_database(db_url)
    first, second, third = three_nights(tmp_path)
    ingest_files(engine, "portfolios", [first, second], "UNI")
    events = count(engine, "file_ingests")
    again = ingest_files(engine, "portfolios", [first, second], "UNI")  # the next night, nothing new
    assert [r.status for r in again] == ["unchanged", "unchanged"] and count(engine, "file_ingests") == events
    assert current_frame(engine, "UNI", "portfolios").drop("source_file_id").equals(canonical_of(second))
    reverted = tmp_path / "night1-again.csv"
    reverted.write_bytes(first.read_bytes())
    results = ingest_files(engine, "portfolios", [first, second, reverted], "UNI")
    assert [r.status for r in results] == ["unchanged", "unchanged", "current again"]
    assert count(engine, "file_ingests") == events + 1
    assert current_frame(engine, "UNI", "portfolios").drop("source_file_id").equals(canonical_of(first))


def test_spans_break_where_rows_or_ids_stop_following_each_other():
    from almaclean.store.content import spans

    frame = spans(pl.Series([2, 3, 4, 6, 7, 8, 9]), pl.Series([10, 11, 12, 13, 14, 3, 4]))
    assert frame.rows() == [(2, 10, 3), (6, 13, 2), (8, 3, 2)]
    assert spans(pl.Series([], dtype=pl.Int64), pl.Series([], dtype=pl.Int64)).is_empty()


@pytest.mark.parametrize("used,last_id,gaps", [
    ([], 5, [(1, 5)]),
    ([(1, 5)], 5, []),
    ([(3, 2)], 6, [(1, 2), (5, 6)]),                      # a gap before and after
    ([(1, 3), (2, 5), (10, 1)], 12, [(7, 9), (11, 12)]),  # overlapping spans, shared rows
    ([(1, 2), (3, 2)], 4, []),                            # adjacent spans leave no gap
    ([(5, 1), (1, 1)], 5, [(2, 4)]),                      # spans in any order
    ([], 0, []),
])
def test_unused_ranges_are_the_row_ids_no_span_covers(used, last_id, gaps):
    from almaclean.store.content import unused_ranges

    frame = pl.DataFrame(used, schema={"first_id": pl.Int64, "row_count": pl.Int64}, orient="row")
    assert unused_ranges(frame, last_id) == gaps


def test_the_content_hash_of_a_known_row_is_pinned():
    """The documented canonical bytes (cells packed as `fields` is, UTF-8) and their XXH3-128:
    no polars, Python or almaclean version may change either, or every stored row would look
    changed to the next ingest (or, worse, two different rows alike)."""
    from almaclean.store.content import canonical_bytes, row_hashes

    cells = pl.DataFrame([("531000000000000001", None, "Título é", "a\x1fb\\", "")],
                         schema={f"c{i}": pl.String for i in range(5)}, orient="row")
    assert canonical_bytes(cells).to_list() == [b"531000000000000001\x1f\x1fT\xc3\xadtulo \xc3\xa9\x1fa\\ub\\\\\x1f\\e"]
    digest = bytes.fromhex("63ea29d33a7521b7c6924e9fa49bac57")
    assert row_hashes(cells).row(0) == (int.from_bytes(digest[:8], "big", signed=True),
                                        int.from_bytes(digest[8:], "big", signed=True))


@settings(max_examples=100, deadline=None)
@given(first=st.lists(TEXTS, min_size=1, max_size=5), second=st.lists(TEXTS, min_size=1, max_size=5))
def test_two_rows_share_a_content_hash_only_when_their_cells_are_the_same(first, second):
    """Null and empty text, a separator inside a value and the cells' boundaries all count."""
    from almaclean.store.content import row_hashes

    width = max(len(first), len(second))
    rows = pl.DataFrame([tuple(first) + (None,) * (width - len(first)), tuple(second) + (None,) * (width - len(second))],
                        schema={f"c{i}": pl.String for i in range(width)}, orient="row")
    hashes = row_hashes(rows).rows()
    assert (hashes[0] == hashes[1]) == (rows.row(0) == rows.row(1))


def test_migration_0011_rehashes_every_stored_row_from_its_file(tmp_path, db_url):
    """Rows hashed by an earlier version (polars' own hash, here any other value) get the stable
    hash of their file's cells, each row once however many files share it; the next export is
    then stored as a delta against them."""
    from almaclean.store.content import row_hashes

    engine = upgraded_to(db_url, "0008")
    first, second, third = three_nights(tmp_path)
    ids = [ingest_file(engine, "portfolios", p, "UNI").source_file_id for p in (first, second)]
    with engine.begin() as conn:  # hashes as an earlier polars gave them
        conn.execute(text("UPDATE portfolios SET hash_a = hash_a + 7, hash_b = -hash_b"))
    engine = upgraded_to(db_url, "0011")
    for source_file_id, path in zip(ids, (first, second)):
        with engine.connect() as conn:
            stored = conn.execute(text(
                "SELECT c.hash_a, c.hash_b FROM file_spans s JOIN portfolios c ON c.row_id >= s.first_id "
                "AND c.row_id < s.first_id + s.row_count WHERE s.source_file_id = :f "
                "ORDER BY s.first_row + c.row_id - s.first_id"), {"f": source_file_id}).all()
        assert [tuple(r) for r in stored] == row_hashes(read_table(path).frame).rows()
    assert ingest_file(engine, "portfolios", third, "UNI").status == "stored"
    assert count(engine, "portfolios") == 100 + 2 + 1  # night 3: only row 5 as on night 1 is new


def test_migration_0011_downgrade_clears_the_hashes_and_nothing_is_lost(tmp_path, db_url):
    from almaclean.store import schema

    engine = upgraded_to(db_url, "0011")
    first, second, _ = three_nights(tmp_path)
    source_file_id = ingest_file(engine, "portfolios", first, "UNI").source_file_id
    assert schema.downgrade(engine, "0010") == ["0011"]
    assert count(engine, "portfolios", "WHERE hash_a IS NOT NULL") == 0
    assert raw_table(engine, source_file_id).frame.equals(read_table(first).frame)
    ingest_file(engine, "portfolios", second, "UNI")  # rows without a hash match nothing: stored whole
    assert count(engine, "portfolios") == 100 + 100
