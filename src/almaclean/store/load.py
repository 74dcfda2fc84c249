"""Reads stored data back: the current files of a kind, their canonical rows, raw cells."""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass

import polars as pl
from sqlalchemy import Engine, text

from almaclean.store.ingest import TABLE_OF_KIND, IngestResult, StoredFrames
from almaclean.store.sqlfiles import query

log = logging.getLogger(__name__)

FETCH_ROWS = 100_000
INTEGER_COLUMNS = {"source_file_id", "row_number", "row_count", "file_size", "first_row", "valid",
                   "files", "current_files", "current_rows", "id"}


def current_sources(engine: Engine, institution: str, kind: str, *, scope: str | None = None) -> pl.DataFrame:
    """The newest file of each scope of a kind for an institution (sql/current_source_files.sql)."""
    frame = fetch_frame(engine, query("current_source_files"), {"institution": institution, "kind": kind})
    return frame.filter(pl.col("scope") == scope) if scope is not None else frame


def current_frame(engine: Engine, institution: str, kind: str, *, scope: str | None = None) -> pl.DataFrame:
    """Canonical rows of the current file(s): "source_file_id", "row" and the kind's columns."""
    ids = current_sources(engine, institution, kind, scope=scope)["id"].to_list()
    table = TABLE_OF_KIND[kind]
    id_list = ", ".join(str(int(i)) for i in ids) or "NULL"
    frame = fetch_frame(
        engine,
        f"SELECT * FROM {table} WHERE source_file_id IN ({id_list}) ORDER BY source_file_id, row_number",
    )
    return frame.rename({"row_number": "row"})


@dataclass(frozen=True)
class CurrentData:
    frame: pl.DataFrame               # as current_frame returns it
    identifiers: pl.DataFrame | None  # its identifier table keyed by ("source_file_id", "row"), when at hand


def current_data(engine: Engine, institution: str, kind: str, *,
                 just_stored: tuple[IngestResult, StoredFrames | None] | None = None) -> CurrentData:
    """current_frame, taken from memory (with its identifiers) when the file just stored
    (ingest.ingest_file_keeping) is the kind's only current file; else read from the database."""
    if just_stored is not None and just_stored[1] is not None:
        result, stored = just_stored
        if current_sources(engine, institution, kind)["id"].to_list() == [result.source_file_id]:
            log.info("current %s data for %s: the file just stored, %d rows (in memory)", kind, institution,
                     stored.frame.height)
            return CurrentData(stored.frame, stored.identifiers)
    frame = current_frame(engine, institution, kind)
    log.info("current %s data for %s: %d rows (from the database)", kind, institution, frame.height)
    return CurrentData(frame, None)


@dataclass(frozen=True)
class StoredTable:
    """A stored file as it was read: exact header and every cell as text, by position."""

    source_file_id: int
    file_name: str
    header: tuple[str, ...]
    frame: pl.DataFrame
    first_row: int


def raw_table(engine: Engine, source_file_id: int) -> StoredTable:
    with engine.connect() as conn:
        source = conn.execute(
            text("SELECT file_name, header_json, column_count, first_row FROM source_files WHERE id = :i"),
            {"i": source_file_id},
        ).one()
    header = tuple(json.loads(source.header_json))
    cells = fetch_frame(
        engine, "SELECT cells FROM raw_rows WHERE source_file_id = :i ORDER BY row_number",
        {"i": source_file_id},
    )
    fields = {f"c{i}": pl.String for i in range(source.column_count)}
    if cells.is_empty() or not fields:
        frame = pl.DataFrame(schema=fields)
    else:
        frame = cells.select(pl.col("cells").str.json_decode(pl.Struct(fields))).unnest("cells")
    return StoredTable(source_file_id, source.file_name, header, frame, source.first_row)


def fetch_frame(engine: Engine, sql: str, params: dict | None = None) -> pl.DataFrame:
    """Runs a query and returns a frame: text columns stay text, counters are integers."""
    parts: list[pl.DataFrame] = []
    with engine.connect() as conn:
        result = conn.execute(text(sql), params or {})
        columns = list(result.keys())
        schema = {c: (pl.Int64 if c in INTEGER_COLUMNS else pl.String) for c in columns}
        while rows := result.fetchmany(FETCH_ROWS):
            parts.append(pl.DataFrame([tuple(r) for r in rows], schema=schema, orient="row"))
    if not parts:
        return pl.DataFrame(schema=schema)
    return pl.concat(parts, rechunk=True)


def stored_status(engine: Engine) -> pl.DataFrame:
    """What is stored, per institution and kind (sql/status.sql)."""
    return fetch_frame(engine, query("status"))
