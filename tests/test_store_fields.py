"""The packed `fields` codec (store/fields.py): every text and null comes back, in polars and
through the SQL views on SQLite and PostgreSQL; SQL packs as polars does; a content table
recorded with a codec version this almaclean does not know is refused, never mis-read."""
from __future__ import annotations

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Text, column, select, table as sql_table, text

from almaclean.store import fields
from almaclean.store.connection import write_transaction
from almaclean.store.db import open_database
from almaclean.store.fields import FIELDS, SEPARATOR, VIEWS, UnknownCodec, packed_fields, packed_sql, unpacked
from almaclean.store.history import row_history
from almaclean.store.ingest import bulk_insert, ingest_file
from almaclean.store.load import current_frame
from almaclean.store.tables import CONTENT, content_codecs
from conftest import title_rows
from test_store import portfolios_csv

# Texts that look like the codec's own escapes, separators, line ends, quotes and JSON escapes
# (the SQLite view goes through JSON), around any other character.
SPECIAL = ["\\", "\x1f", "\\u", "\\e", "\\\\", "u", "e", "\n", "\r\n", "\t", '"', '","', "\\u001f", "\\u001fs",
           "\x01", "\x1e", "é", "😀", " ", ""]
# (no NUL: no reader gives one, and PostgreSQL's text cannot hold it)
CHARACTER = st.characters(exclude_categories=("Cs",), exclude_characters="\x00")
PIECE = st.one_of(st.sampled_from(SPECIAL), st.text(CHARACTER, max_size=3))
TEXT = st.one_of(st.none(), st.lists(PIECE, max_size=6).map("".join))
PO_LINE_ROWS = st.lists(st.tuples(*[TEXT] * len(FIELDS["po_lines"])), min_size=1, max_size=12)


@pytest.fixture
def engine(db_url):
    engine = open_database(db_url)
    yield engine
    engine.dispose()


def frame_of(rows, table: str = "po_lines") -> pl.DataFrame:
    return pl.DataFrame(rows, schema={c: pl.String for c in FIELDS[table]}, orient="row")


@settings(max_examples=150, deadline=None)
@given(rows=PO_LINE_ROWS)
def test_every_text_and_null_comes_back_from_the_packed_fields(rows):
    frame = frame_of(rows)
    packed = frame.select(packed_fields(frame, "po_lines"))
    assert unpacked(packed, "po_lines").equals(frame)


@settings(max_examples=100, deadline=None)
@given(first=st.tuples(*[TEXT] * 6), second=st.tuples(*[TEXT] * 6))
def test_two_rows_pack_alike_only_when_their_values_are_the_same(first, second):
    """Null and empty text, a separator inside a value and the fields' boundaries all count."""
    frame = frame_of([first, second])
    packed = frame.select(packed_fields(frame, "po_lines")).to_series().to_list()
    assert (packed[0] == packed[1]) == (first == second)


def test_a_row_stored_before_a_column_was_added_reads_it_as_null():
    older = pl.DataFrame({"fields": [SEPARATOR.join(["A title", "", "\\e"])]})
    assert unpacked(older, "po_lines").row(0) == ("A title", None, "", None, None, None)


def _store_packed(engine, frame: pl.DataFrame, table: str = "po_lines") -> None:
    """The frame's rows as content rows of `table`, packed by the codec (row ids 1..)."""
    key = CONTENT_KEYS[table]
    rows = frame.with_columns(pl.int_range(1, frame.height + 1, dtype=pl.Int64).alias("row_id"),
                              pl.format("key {}", pl.int_range(frame.height)).alias(key))
    with write_transaction(engine) as conn:
        conn.execute(CONTENT_TABLES[table].delete())
        bulk_insert(conn, table, rows, columns=[pl.col("row_id"), pl.col(key), packed_fields(rows, table)])


CONTENT_TABLES = {t.name: t for t in CONTENT.values()}
CONTENT_KEYS = {t.name: t.c[3].name for t in CONTENT.values()}


def _view_rows(engine, table: str) -> pl.DataFrame:
    with engine.connect() as conn:
        rows = conn.execute(text(f"SELECT * FROM {VIEWS[table]} ORDER BY row_id")).all()
    names = ["row_id", "hash_a", "hash_b", CONTENT_KEYS[table], *FIELDS[table], "raw_cells"]
    return pl.DataFrame([tuple(r) for r in rows], orient="row",
                        schema={n: (pl.Int64 if n in ("row_id", "hash_a", "hash_b") else pl.String) for n in names})


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=PO_LINE_ROWS)
def test_the_view_gives_the_values_the_python_decoder_gives(engine, rows):
    frame = frame_of(rows)
    _store_packed(engine, frame)
    assert _view_rows(engine, "po_lines").select(FIELDS["po_lines"]).equals(frame)


def test_every_content_table_has_a_view_of_all_its_columns(engine):
    """A view per content table, with every column of FIELDS: a column added to FIELDS without
    making the views again fails here. Rows stored before a column existed read it as null."""
    for table, columns in FIELDS.items():
        frame = pl.DataFrame({c: [f"{c} a\\u\x1f", None, ""] for c in columns})
        _store_packed(engine, frame, table)
        with write_transaction(engine) as conn:  # a row of an older, shorter layout
            conn.execute(CONTENT_TABLES[table].insert().values(row_id=9, fields="only the first",
                                                               **{CONTENT_KEYS[table]: "old"}))
        got = _view_rows(engine, table)
        assert got.select(columns).head(3).equals(frame), table
        assert got.row(3)[4:-1] == ("only the first",) + (None,) * (len(columns) - 1), table


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=PO_LINE_ROWS)
def test_sql_packs_as_polars_packs(engine, rows):
    """packed_sql (what migration 0008 converted stored rows with) and packed give the same text."""
    frame = frame_of(rows)
    columns = FIELDS["po_lines"]
    with write_transaction(engine) as conn:
        conn.execute(text("CREATE TEMPORARY TABLE plain (n INTEGER, " + ", ".join(f"{c} TEXT" for c in columns)
                          + ")"))
        bulk_insert(conn, "plain", frame.with_row_index("n").with_columns(pl.col("n").cast(pl.Int64)))
        plain = sql_table("plain", column("n"), *(column(c, Text) for c in columns))
        in_sql = conn.execute(select(packed_sql([plain.c[c] for c in columns], conn.dialect))
                              .order_by(plain.c.n)).scalars().all()
        conn.execute(text("DROP TABLE plain"))
    assert in_sql == frame.select(packed_fields(frame, "po_lines")).to_series().to_list()


def _set_codec(engine, table: str, version: int) -> None:
    with write_transaction(engine) as conn:
        conn.execute(content_codecs.update().where(content_codecs.c.content_table == table).values(version=version))


def test_a_table_of_an_unknown_codec_version_is_refused_by_readers_and_writers(tmp_path, engine):
    path = portfolios_csv(tmp_path / "portfolios.csv", title_rows(limit=20))
    ingest_file(engine, "portfolios", path, "UNI")
    assert current_frame(engine, "UNI", "portfolios").height == 20
    _set_codec(engine, "portfolios", 2)

    message = "the stored rows of portfolios are recorded with codec version 2, and this almaclean reads version 1"
    with pytest.raises(UnknownCodec, match=message):
        current_frame(engine, "UNI", "portfolios")
    with pytest.raises(UnknownCodec, match=message):
        row_history(engine, "UNI", "portfolios", "530000000000003681")
    newer = portfolios_csv(tmp_path / "newer.csv", title_rows(limit=21))
    with pytest.raises(UnknownCodec, match=message):
        ingest_file(engine, "portfolios", newer, "UNI")
    with engine.connect() as conn:  # nothing of the refused file was stored
        assert conn.execute(text("SELECT COUNT(*) FROM source_files")).scalar_one() == 1
        assert conn.execute(text("SELECT COUNT(*) FROM portfolios")).scalar_one() == 20
        # the view reads only the rows of the codec it was made for
        assert conn.execute(text(f"SELECT COUNT(*) FROM {VIEWS['portfolios']}")).scalar_one() == 0
    assert current_frame(engine, "UNI", "po-lines").height == 0  # other tables are read as before

    _set_codec(engine, "portfolios", fields.VERSION)
    assert current_frame(engine, "UNI", "portfolios").height == 20


def test_a_missing_codec_record_is_refused(engine):
    with write_transaction(engine) as conn:
        conn.execute(content_codecs.delete().where(content_codecs.c.content_table == "p2e_lines"))
    with pytest.raises(UnknownCodec, match="p2e_lines are recorded with no codec version"):
        current_frame(engine, "UNI", "p2e")
