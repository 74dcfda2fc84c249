"""Rows stored by content; a file is the list of its row ids, kept as spans.

Each kind's table holds row contents: row_id (sequential), hash_a/hash_b, the kind's key
column (portfolio_id, legacy_id, po_line: what history looks rows up by), its other canonical
columns packed into one text, `fields` (store/fields.py), and raw_cells (the row's cells its canonical
columns do not give back, as JSON). A file's rows are file_spans: rows first_row.. are row ids
first_id.. for row_count rows. A new file is compared with the current file of its scope: a row
whose cells (both hashes) the current file already has points at that content; only the other
rows are stored, as new row ids in file order. So storing an export that changed by 1% stores 1%
of its rows and a few thousand spans.

hash_a and hash_b are the row's content hash: XXH3-128 (seed 0) of the row's canonical bytes,
split into its first and last 8 bytes, each read as a big-endian signed 64-bit integer. The
canonical bytes are the row's cells in file column order, packed as `fields` packs columns
(store/fields.py, version 1), in UTF-8: one documented byte string, so the hash is the same for every version of
almaclean, polars and Python (a test pins the hash of a known row). Rows are only matched when
the two files have the same header and column mapping (raw_columns), so the same cells mean the
same canonical values and raw_cells, but for a 128-bit accident.
"""
from __future__ import annotations

import polars as pl
import xxhash
from collections.abc import Iterable

from sqlalchemy import Connection, Executable, Select, func, select
from sqlalchemy.sql.elements import ColumnElement

from almaclean.store.fields import packed
from almaclean.store.tables import CONTENT_TABLES, file_spans, raw_columns

HASHES = ("hash_a", "hash_b")
SPAN_COLUMNS = ("first_row", "first_id", "row_count")
FETCH_ROWS = 100_000
HASH_SLICE_ROWS = 100_000


def last_row_id(conn: Connection, table: str) -> int:
    """The highest row id of a content table (0 when empty), read inside the caller's write
    transaction. On PostgreSQL it first takes the table's advisory lock for the rest of the
    transaction, so no other ingest or prune allocates or frees row ids meanwhile (SQLite's
    write transactions are serial already)."""
    if conn.dialect.name == "postgresql":
        conn.execute(select(func.pg_advisory_xact_lock(func.hashtext(table))))
    return conn.execute(select(func.coalesce(func.max(CONTENT_TABLES[table].c.row_id), 0))).scalar_one()


def column_mapping(conn: Connection, source_file_id: int) -> dict[int, str]:
    """raw_columns of a stored file: file column position -> the canonical column read from it."""
    return dict(conn.execute(select(raw_columns.c.column_position, raw_columns.c.canonical_column)
                             .where(raw_columns.c.source_file_id == source_file_id)).all())


def row_hashes(cells: pl.DataFrame) -> pl.DataFrame:
    """hash_a and hash_b of each row of the file's cells (all its columns: with the same header
    and column mapping, the same cells mean the same canonical values too); see the module text."""
    # a slice at a time: a million rows' bytes never live as Python objects at once
    digests = pl.concat([pl.Series(list(map(xxhash.xxh3_128_digest, canonical_bytes(part).to_list())),
                                   dtype=pl.Binary) for part in cells.iter_slices(HASH_SLICE_ROWS)]
                        or [pl.Series([], dtype=pl.Binary)])
    return pl.DataFrame({
        "hash_a": digests.bin.head(8).bin.reinterpret(dtype=pl.Int64, endianness="big"),
        "hash_b": digests.bin.tail(8).bin.reinterpret(dtype=pl.Int64, endianness="big"),
    })


def canonical_bytes(cells: pl.DataFrame) -> pl.Series:
    """Each row's cells, in column order, packed as `fields` is, as UTF-8 bytes."""
    if not cells.width:
        return pl.Series("canonical", [b""] * cells.height, dtype=pl.Binary)
    return cells.select(packed(cells, cells.columns).cast(pl.Binary).alias("canonical")).to_series()


def raw_cells(rows: pl.DataFrame, mapped: dict[int, str], cells: list[str]) -> pl.Expr:
    """Each row's cells that its canonical columns do not give back, as a JSON object
    {"c<position>": text}: the cells of unmapped columns, and a mapped cell that differs from
    its canonical value (a raw null is always a null canonical value, so a null here means "as
    the canonical value"). Null when there is no such cell (a clean portfolio export)."""
    def kept(name: str) -> pl.Expr:
        column, cell = mapped.get(int(name[1:])), pl.col(name)
        return (pl.when(cell.ne_missing(pl.col(column))).then(cell) if column else cell).alias(name)

    present = rows.select(kept(name).is_not_null().any() for name in cells).row(0) if rows.height else ()
    values = [kept(name) for name, any_value in zip(cells, present) if any_value]
    if not values:
        return pl.lit(None, dtype=pl.String).alias("raw_cells")
    return (pl.when(pl.any_horizontal(v.is_not_null() for v in values))
            .then(pl.struct(values).struct.json_encode()).alias("raw_cells"))


def restored_cells(rows: pl.DataFrame, mapped: dict[int, str], width: int) -> pl.DataFrame:
    """The inverse of raw_cells: c0..c<width-1> from rows holding "raw_cells" and the
    canonical columns of `mapped`."""
    names = [f"c{i}" for i in range(width)]
    decoded = rows.get_column("raw_cells").str.json_decode(pl.Struct({n: pl.String for n in names})).struct.unnest()
    return pl.DataFrame([
        (decoded.get_column(name).fill_null(rows.get_column(mapped[i])) if i in mapped else decoded.get_column(name))
        .cast(pl.String).alias(name) for i, name in enumerate(names)])


def spans(rows: pl.Series, ids: pl.Series) -> pl.DataFrame:
    """(row number, row id) pairs in file order as spans: a run of consecutive rows holding
    consecutive ids is one span."""
    pairs = pl.DataFrame({"row": rows, "id": ids})
    breaks = ((pl.col("row").diff() != 1) | (pl.col("id").diff() != 1)).fill_null(True)
    return (pairs.with_columns(breaks.cum_sum().alias("span"))
            .group_by("span", maintain_order=True)
            .agg(pl.col("row").first().alias("first_row"), pl.col("id").first().alias("first_id"),
                 pl.len().cast(pl.Int64).alias("row_count"))
            .drop("span"))


def span_rows(table: str, columns: Iterable[str], where: ColumnElement) -> Select:
    """source_file_id, row_number (the row's number in its file) and these columns of the
    content table's rows listed by the file_spans `where` selects."""
    content = CONTENT_TABLES[table]
    listed = (content.c.row_id >= file_spans.c.first_id) & (content.c.row_id < file_spans.c.first_id
                                                           + file_spans.c.row_count)
    return (select(file_spans.c.source_file_id,
                   (file_spans.c.first_row + (content.c.row_id - file_spans.c.first_id)).label("row_number"),
                   *(content.c[name] for name in columns))
            .select_from(file_spans.join(content, listed)).where(where))


def driver_statement(conn: Connection, statement: Executable) -> tuple[str, object]:
    """A Core statement as the connection's DB-API driver takes it: the SQL its dialect writes
    and the bound values (a sequence for a positional paramstyle, else a mapping)."""
    compiled = statement.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    values = compiled.params
    if compiled.positional:
        return str(compiled), tuple(values[name] for name in compiled.positiontup)
    return str(compiled), values


def file_hashes(conn: Connection, table: str, source_file_id: int) -> pl.DataFrame:
    """row_id, hash_a, hash_b of the rows of one stored file (rows stored without hashes, by a
    version before content storage, are left out: nothing can match them)."""
    statement = span_rows(table, ("row_id", *HASHES), (file_spans.c.source_file_id == source_file_id)
                          & CONTENT_TABLES[table].c.hash_a.is_not(None))
    # The driver's own cursor (inside the caller's transaction): a million rows come back in
    # half the time SQLAlchemy's result rows take; in slices, so few Python tuples live at once.
    schema = {"source_file_id": pl.Int64, "row_number": pl.Int64, "row_id": pl.Int64, "hash_a": pl.Int64,
              "hash_b": pl.Int64}
    parts = [pl.DataFrame(schema=schema)]
    cursor = conn.connection.driver_connection.cursor()
    try:
        cursor.execute(*driver_statement(conn, statement))
        while rows := cursor.fetchmany(FETCH_ROWS):
            parts.append(pl.DataFrame(rows, schema=schema, orient="row"))
    finally:
        cursor.close()
    return pl.concat(parts).select("row_id", *HASHES)


def assign_ids(content: pl.DataFrame, known: pl.DataFrame, next_id: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Each row's row_id: the known content's id when it has the same hashes, else a new id
    from next_id on, in file order. Returns (the new rows with their row_id, spans of the file)."""
    if known.is_empty():
        ids = pl.int_range(next_id, next_id + content.height, dtype=pl.Int64, eager=True).alias("row_id")
        return content.with_columns(ids), spans(content.get_column("row"), ids)
    known = known.unique(subset=list(HASHES), keep="first", maintain_order=True)
    # only the hashes are joined, not the whole rows: a million-row file is not copied
    found = content.select(HASHES).join(known, on=list(HASHES), how="left", maintain_order="left")
    new = found.get_column("row_id").is_null()
    ids = found.get_column("row_id").fill_null(new.cum_sum().cast(pl.Int64) + (next_id - 1))
    return content.filter(new).with_columns(ids.filter(new)), spans(content.get_column("row"), ids)


def unused_ranges(used: pl.DataFrame, last_id: int) -> list[tuple[int, int]]:
    """Row id ranges (first, last) within 1..last_id that no span in `used` (first_id,
    row_count) covers."""
    if last_id < 1:
        return []
    if used.is_empty():
        return [(1, last_id)]
    intervals = used.select(pl.col("first_id").alias("start"),
                            (pl.col("first_id") + pl.col("row_count") - 1).alias("end")).sort("start")
    reached = pl.col("end").cum_max().shift(1, fill_value=0)
    gaps = (intervals.with_columns(reached.alias("reached"))
            .filter(pl.col("start") > pl.col("reached") + 1)
            .select((pl.col("reached") + 1).alias("first"), (pl.col("start") - 1).alias("last")))
    ranges = list(gaps.iter_rows())
    end = intervals.get_column("end").max()
    if end < last_id:
        ranges.append((end + 1, last_id))
    return ranges
