"""Column types of what the store reads back come from where the columns are defined, never from
one list of names: a Core statement's column types, an SQL file's `-- integers:` line, a kind's
canonical columns (all text). A text column named like a counter stays text."""
from __future__ import annotations

import re

import polars as pl
from sqlalchemy import Integer, Text, literal, select

from almaclean.kinds import canonical_columns
from almaclean.store.db import open_database
from almaclean.store.ingest import ingest_file
from almaclean.store.load import fetch_frame, sources_frame
from almaclean.store.sqlfiles import integer_columns, query, sql_dir
from conftest import title_rows
from test_store import portfolios_csv


def test_a_text_column_named_like_a_counter_stays_text(tmp_path):
    engine = open_database(f"sqlite:///{tmp_path / 'a.db'}")
    frame = fetch_frame(engine, select(literal("0012", Text).label("row_count"), literal("007", Text).label("id"),
                                       literal(5, Integer).label("title")))
    assert frame.schema == {"row_count": pl.String, "id": pl.String, "title": pl.Int64}
    assert frame.row(0) == ("0012", "007", 5)
    assert fetch_frame(engine, "SELECT '0012' AS files").schema == {"files": pl.String}
    assert fetch_frame(engine, "SELECT '12' AS files", integers=("files",)).row(0) == (12,)


def test_every_query_read_into_a_frame_names_its_integer_columns_among_its_result():
    for path in sorted(sql_dir().glob("*.sql")):
        if "-- integers:" not in path.read_text(encoding="utf-8"):
            continue
        select_list = re.split(r"\bFROM\b", query(path.stem), maxsplit=1)[0]
        for column in integer_columns(path.stem):
            assert re.search(rf"\b{column}\b", select_list), (path.name, column)


def test_stored_rows_come_back_as_text_but_their_file_and_row_number(tmp_path):
    engine = open_database(f"sqlite:///{tmp_path / 'a.db'}")
    stored = ingest_file(engine, "portfolios", portfolios_csv(tmp_path / "p.csv", title_rows(limit=3)), "UNI")
    frame = sources_frame(engine, "portfolios", [stored.source_file_id])
    assert frame.schema == {"source_file_id": pl.Int64, "row": pl.Int64,
                            **{c: pl.String for c in canonical_columns("portfolios")}}
