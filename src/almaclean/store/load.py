"""Reads stored data back: the current files of a kind, their canonical rows, raw cells."""
from __future__ import annotations

import json
import logging
from collections.abc import Collection
from contextlib import nullcontext
from dataclasses import dataclass, field

import polars as pl
from sqlalchemy import Connection, Engine, Executable, Integer, bindparam, select, text

from almaclean.kinds import canonical_columns
from almaclean.kinds.mapping import resolve_columns
from almaclean.kinds.registry import BY_NAME
from almaclean.model.columns import blank
from almaclean.store.content import column_mapping, driver_statement, restored_cells, span_rows
from almaclean.store.fields import check_codec, unpacked
from almaclean.store.ingest import TABLE_OF_KIND
from almaclean.store.sqlfiles import integer_columns, query
from almaclean.store.tables import CONTENT, file_spans, source_files

log = logging.getLogger(__name__)

FETCH_ROWS = 100_000
# A stored row as span_rows gives it: its file and row number, then its kind's columns, which
# are text (every canonical column of a kind is: kinds.read_kind) as are `fields` and raw_cells.
SPAN_ROW_INTEGERS = ("source_file_id", "row_number")


def current_sources(engine: Engine, institution: str, kind: str, *, scope: str | None = None) -> pl.DataFrame:
    """The newest file of each scope of a kind for an institution (sql/current_source_files.sql)."""
    frame = fetch_query(engine, "current_source_files", {"institution": institution, "kind": kind})
    return frame.filter(pl.col("scope") == scope) if scope is not None else frame


def current_frame(engine: Engine, institution: str, kind: str, *, scope: str | None = None) -> pl.DataFrame:
    """Canonical rows of the current file(s): "source_file_id", "row" and the kind's columns."""
    return sources_frame(engine, kind, current_sources(engine, institution, kind, scope=scope)["id"].to_list())


def sources_by_id(engine: Engine, ids: list[int]) -> pl.DataFrame:
    """Stored files by id (sql/source_files_by_id.sql), as current_sources gives them."""
    statement = text(query("source_files_by_id")).bindparams(bindparam("ids", expanding=True))
    return fetch_frame(engine, statement, {"ids": [int(i) for i in ids]},
                       integers=integer_columns("source_files_by_id"))


def columns_every_file_had(sources: pl.DataFrame, frame: pl.DataFrame,
                           unmapped: dict[int, dict[int, str]] | None = None) -> frozenset[str]:
    """Canonical columns every one of these files had (a column one file lacks is missing
    evidence for that file's rows, never an empty one). Files stored before columns were
    recorded: the columns holding a value in that file's rows. unmapped (unmapped_headers):
    a file's column stored before almaclean knew its header counts as the canonical column the
    aliases of today read it as (its cells are read again with unmapped_cells)."""
    present: set[str] | None = None
    for source_id, columns in sources.select("id", "columns_json").iter_rows():
        if columns is None:
            rows = frame.filter(pl.col("source_file_id") == source_id)
            had = {c for c in rows.columns if c not in ("source_file_id", "row")
                   and rows.get_column(c).null_count() < rows.height}
        else:
            had = set(json.loads(columns))
        if unmapped and unmapped.get(source_id):
            kind = sources.filter(pl.col("id") == source_id).item(0, "kind")
            had |= set(rederived_columns(kind, unmapped[source_id].values()))
        present = had if present is None else present & had
    return frozenset(present or ())


def rederived_columns(kind: str, headers) -> dict[str, str]:
    """Canonical column -> header, for the headers of stored unmapped columns that today's
    aliases read as a canonical column (a header is compared as the readers compare it)."""
    found: dict[str, str] = {}
    for header in headers:
        for column in resolve_columns(kind, (header,)):
            found.setdefault(column, header)
    return found


def unmapped_headers(engine: Engine, ids: list[int]) -> dict[int, dict[int, str]]:
    """Per stored file, the header of each of its columns no canonical column was read from
    (their cells are in the rows' raw_cells), by position; blank headers left out."""
    if not ids:
        return {}
    found: dict[int, dict[int, str]] = {}
    with engine.connect() as conn:
        files = conn.execute(select(source_files.c.id, source_files.c.header_json, source_files.c.columns_json)
                             .where(source_files.c.id.in_([int(i) for i in ids]))).all()
        for source_id, header_json, columns_json in files:
            if columns_json is not None:
                mapped = {j for positions in json.loads(columns_json).values() for j in positions}
            else:
                mapped = set(column_mapping(conn, source_id))
            header = json.loads(header_json)
            found[source_id] = {j: name for j, name in enumerate(header) if j not in mapped and name.strip()}
    return found


def unmapped_cells(engine: Engine, kind: str, ids: list[int], keys: pl.Series,
                   headers: dict[int, dict[int, str]] | None = None) -> pl.DataFrame:
    """The non-empty cells of the unmapped columns (unmapped_headers) of these stored files, for
    the rows whose key (the kind's key column) is in `keys`: key, header, value. Only files that
    have such columns are read, and only their rows holding raw cells."""
    key = BY_NAME[kind].key
    headers = unmapped_headers(engine, ids) if headers is None else headers
    files = [f for f in ids if headers.get(f)]
    empty = pl.DataFrame(schema={key: pl.String, "header": pl.String, "value": pl.String})
    if not files:
        return empty
    table = TABLE_OF_KIND[kind]
    wanted = pl.DataFrame({key: keys.cast(pl.String)}).unique()
    rows = fetch_frame(engine, span_rows(table, (key, "raw_cells"), file_spans.c.source_file_id.in_(files)
                                         & CONTENT[kind].c.raw_cells.is_not(None)))
    rows = rows.join(wanted, on=key, how="semi")
    parts = [empty]
    for source_id in files:
        positions = headers[source_id]
        names = {f"c{j}": name for j, name in positions.items()}
        mine = rows.filter(pl.col("source_file_id") == source_id)
        if mine.height == 0:
            continue
        decoded = mine.select(key, pl.col("raw_cells").str.json_decode(pl.Struct({n: pl.String for n in names}))
                              .alias("cells")).unnest("cells")
        parts.append(decoded.unpivot(index=key, variable_name="header", value_name="value")
                     .filter(~blank(pl.col("value")))
                     .with_columns(pl.col("header").replace_strict(names, return_dtype=pl.String)))
    return pl.concat(parts)


def institutions(engine: Engine) -> list[str]:
    """Institution codes with stored files."""
    return fetch_query(engine, "institutions")["institution"].to_list()


def sources_frame(engine: Engine, kind: str, ids: list[int], *, raw_cells: bool = False) -> pl.DataFrame:
    """Canonical rows of exactly these stored files: "source_file_id", "row" and the kind's
    columns (and, with raw_cells, the cells they do not give back: what raw_table needs too)."""
    frame = stored_rows(engine, kind, file_spans.c.source_file_id.in_([int(i) for i in ids]),
                        raw_cells=raw_cells)
    in_order = ((pl.col("source_file_id").diff() > 0)
                | ((pl.col("source_file_id").diff() == 0) & (pl.col("row_number").diff() > 0))).all()
    if frame.height and not frame.select(in_order).item():
        frame = frame.sort("source_file_id", "row_number")
    return frame.select("source_file_id", pl.col("row_number").alias("row"), *canonical_columns(kind),
                        *(["raw_cells"] if raw_cells else []))


def stored_rows(engine: Engine, kind: str, where, *, raw_cells: bool = True) -> pl.DataFrame:
    """source_file_id, row_number, the kind's canonical columns (and raw_cells) of the rows of
    the files `where` (a condition on file_spans) selects (store/content.py's span_rows), in the
    order the database gives."""
    table, key = TABLE_OF_KIND[kind], BY_NAME[kind].key
    columns = ["source_file_id", "row_number", key, "fields", *(["raw_cells"] if raw_cells else [])]
    schema = {c: pl.Int64 if c in SPAN_ROW_INTEGERS else pl.String for c in columns}
    statement = span_rows(table, columns[2:], where)
    return fetch_rows(engine, statement, schema, lambda part: unpacked(part, table),
                      check=lambda conn: check_codec(conn, table))


def fetch_rows(engine: Engine, statement: Executable, schema: dict, transform=None, *, check=None) -> pl.DataFrame:
    """A big query's rows as a frame, a slice at a time through the driver's own cursor (a
    server-side one on PostgreSQL): few Python objects live at once, and transform(slice)
    (unpacking, say) runs on each slice before the next is fetched. check(connection) runs
    first, on the same connection (the codec check, say)."""
    transform = transform or (lambda part: part)
    parts = []
    with engine.connect() as conn:
        if check is not None:
            check(conn)
        driver = conn.connection.driver_connection
        cursor = driver.cursor(name="almaclean_rows") if conn.dialect.name == "postgresql" else driver.cursor()
        try:
            cursor.execute(*driver_statement(conn, statement))
            while rows := cursor.fetchmany(FETCH_ROWS):
                parts.append(transform(pl.DataFrame(rows, schema=schema, orient="row")))
        finally:
            cursor.close()
    return pl.concat(parts) if parts else transform(pl.DataFrame(schema=schema))


@dataclass(frozen=True)
class StoredTable:
    """A stored file as it was read: exact header and every cell as text, by position. The cells
    are put back from its stored rows when asked for: whole (frame), or a slice at a time
    (slices), so a million-row file is written back without all its cells held at once."""

    source_file_id: int
    file_name: str
    header: tuple[str, ...]
    rows: pl.DataFrame = field(repr=False)   # row_number (every row of the file), canonical columns, raw_cells
    mapped: dict[int, str] = field(repr=False)
    width: int
    first_row: int

    @property
    def frame(self) -> pl.DataFrame:
        return restored_cells(self.rows, self.mapped, self.width)

    def slices(self, rows: int = FETCH_ROWS):
        for part in self.rows.iter_slices(rows):
            yield restored_cells(part, self.mapped, self.width)


def raw_table(engine: Engine, source_file_id: int, rows: pl.DataFrame | None = None) -> StoredTable:
    """The file as read: each cell from the canonical column read from it (raw_columns) unless
    the row's raw_cells holds it; rows with no content (blank rows) are all null. rows: the
    file's stored rows when already fetched (sources_frame with raw_cells), else fetched here."""
    with engine.connect() as conn:
        source = conn.execute(
            text("SELECT kind, file_name, header_json, column_count, first_row, row_count FROM source_files "
                 "WHERE id = :i"), {"i": source_file_id},
        ).one()
        mapped = column_mapping(conn, source_file_id)
    header = tuple(json.loads(source.header_json))
    if rows is None:
        rows = stored_rows(engine, source.kind, file_spans.c.source_file_id == source_file_id)
    else:
        rows = rows.rename({"row": "row_number"})
    first, count = source.first_row, source.row_count
    whole = rows.height == count and (count == 0 or (rows.item(0, "row_number") == first and rows.select(
        (pl.col("row_number").diff() == 1).all()).item()))
    if not whole:  # blank rows have no content: put them back, in file order
        numbers = pl.DataFrame({"row_number": pl.int_range(first, first + count, dtype=pl.Int64, eager=True)})
        rows = numbers.join(rows, on="row_number", how="left").sort("row_number")
    return StoredTable(source_file_id, source.file_name, header, rows, mapped, source.column_count, source.first_row)


def fetch_query(engine: Engine | Connection, name: str, params: dict | None = None) -> pl.DataFrame:
    """sql/<name>.sql's rows as a frame: the columns its `-- integers:` line names are
    integers, every other one text."""
    return fetch_frame(engine, query(name), params, integers=integer_columns(name))


def fetch_frame(engine: Engine | Connection, sql: str | Executable, params: dict | None = None, *,
                integers: Collection[str] = ()) -> pl.DataFrame:
    """Runs a query (on a new connection, or inside the transaction of the connection given) and
    returns a frame: text columns stay text. Integers: the columns a Core statement types as
    integers, and those `integers` names."""
    parts: list[pl.DataFrame] = []
    statement = text(sql) if isinstance(sql, str) else sql
    typed = {c.name for c in getattr(statement, "selected_columns", ()) if isinstance(c.type, Integer)}
    with (nullcontext(engine) if isinstance(engine, Connection) else engine.connect()) as conn:
        result = conn.execute(statement, params or {})
        schema = {c: (pl.Int64 if c in integers or c in typed else pl.String) for c in result.keys()}
        while rows := result.fetchmany(FETCH_ROWS):
            parts.append(pl.DataFrame([tuple(r) for r in rows], schema=schema, orient="row"))
    if not parts:
        return pl.DataFrame(schema=schema)
    return pl.concat(parts, rechunk=True)


def stored_status(engine: Engine) -> pl.DataFrame:
    """What is stored, per institution and kind (sql/status.sql)."""
    return fetch_query(engine, "status")
