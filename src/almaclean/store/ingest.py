"""Stores a read file: one transaction, raw rows losslessly, canonical rows, identifiers.

The same bytes again (institution, kind, sha256) are a no-op. A failure leaves the database
exactly as it was: everything happens inside one transaction.
"""
from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from itertools import repeat
from pathlib import Path

import polars as pl
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import IntegrityError

from almaclean import __version__
from almaclean.kinds import KindRead, canonical_columns, read_kind
from almaclean.normalize.identifiers import identifier_table
from almaclean.progress import Progress
from almaclean.store.db import write_transaction

log = logging.getLogger(__name__)

TABLE_OF_KIND = {
    "portfolios": "portfolios",
    "p2e": "p2e_lines",
    "po-lines": "po_lines",
    "extended-export": "extended_export_rows",
}
IDENTIFIER_COLUMNS = {
    "portfolios": ["issn", "isbn"],
    "p2e": ["issn", "isbn"],
    "extended-export": ["issn", "isbn"],
    "po-lines": [],
}
CHUNK_ROWS = 50_000
EXTENDED_EXPORT_SUFFIX = "_portfolios"


@dataclass(frozen=True)
class IngestResult:
    source_file_id: int
    status: str  # "stored" | "unchanged"
    rows: int
    sha256: str
    kind: str
    scope: str
    file: str


@dataclass(frozen=True)
class StoredFrames:
    """What an ingest just stored, as load.current_frame would read it back."""

    frame: pl.DataFrame                # "source_file_id", "row" and the kind's canonical columns
    identifiers: pl.DataFrame | None   # identifier_table(frame, ["source_file_id", "row"], IDENTIFIER_COLUMNS[kind])


def file_digest(path: Path) -> tuple[str, int]:
    """sha256 hex and size of a file, streamed."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def default_scope(kind: str, path: Path) -> str:
    """An Extended Export covers one collection (named by its file); other kinds the institution."""
    if kind == "extended-export":
        return collection_name_of(path)
    return "all"


def collection_name_of(path: Path) -> str:
    """`JSTOR+Open+Access_portfolios.xlsx` -> `JSTOR Open Access` (Alma's naming convention)."""
    stem = Path(path).stem
    if stem.endswith(EXTENDED_EXPORT_SUFFIX):
        stem = stem[: -len(EXTENDED_EXPORT_SUFFIX)]
    return stem.replace("+", " ").strip() or Path(path).stem


def ingest_file(engine: Engine, kind: str, path: Path, institution: str, *, scope: str | None = None,
                mapping: dict | None = None) -> IngestResult:
    """Read and store one file, unless these exact bytes are stored already (then no read at all)."""
    return ingest_files(engine, kind, [path], institution, scope=scope, mapping=mapping)[0]


def ingest_file_keeping(engine: Engine, kind: str, path: Path, institution: str, *, scope: str | None = None,
                        mapping: dict | None = None) -> tuple[IngestResult, StoredFrames | None]:
    """ingest_file, also handing back what was stored (None when the file was stored already),
    so that an analysis of the file just ingested need not read it back from the database."""
    read = _read_unless_stored(engine, kind, Path(path), institution, mapping)
    if isinstance(read, IngestResult):
        return read, None
    return _store_read(engine, read[0], institution, scope=scope, digest=read[1])


def ingest_files(engine: Engine, kind: str, paths: list[Path], institution: str, *,
                 scope: str | None = None, mapping: dict | None = None) -> list[IngestResult]:
    """Several files of one kind: all are read and checked before any is stored, so one bad
    file stores nothing. Each file is then stored in its own transaction."""
    pending: list[tuple[int, KindRead, tuple[str, int]]] = []
    results: dict[int, IngestResult] = {}
    for index, path in enumerate(map(Path, paths)):
        read = _read_unless_stored(engine, kind, path, institution, mapping)
        if isinstance(read, IngestResult):
            results[index] = read
        else:
            pending.append((index, *read))
    for index, read, digest in pending:
        results[index] = ingest_read(engine, read, institution, scope=scope, digest=digest)
    return [results[i] for i in sorted(results)]


def _read_unless_stored(engine: Engine, kind: str, path: Path, institution: str,
                        mapping: dict | None) -> IngestResult | tuple[KindRead, tuple[str, int]]:
    """The "unchanged" result when these bytes are stored already, else the file read and its digest."""
    sha, size = file_digest(path)
    with engine.connect() as conn:
        existing = _existing(conn, institution, kind, sha)
    if existing is not None:
        return _unchanged(existing, kind, path, sha)
    return read_kind(kind, path, mapping=mapping), (sha, size)


def ingest_read(engine: Engine, read: KindRead, institution: str, *, scope: str | None = None,
                digest: tuple[str, int] | None = None) -> IngestResult:
    """Store a file already read with kinds.read_kind, in one transaction."""
    return _store_read(engine, read, institution, scope=scope, digest=digest)[0]


def _store_read(engine: Engine, read: KindRead, institution: str, *, scope: str | None,
                digest: tuple[str, int] | None) -> tuple[IngestResult, StoredFrames | None]:
    path = Path(read.table.path)
    sha, size = digest or file_digest(path)
    scope = scope or default_scope(read.kind, path)
    try:
        with write_transaction(engine) as conn:
            existing = _existing(conn, institution, read.kind, sha)
            if existing is not None:
                return _unchanged(existing, read.kind, path, sha), None
            source_id = _insert_source(conn, read, institution, scope, sha, size)
            stored = _store_rows(conn, read, source_id)
    except IntegrityError:
        # Another process stored the same bytes between our check and our insert.
        with engine.connect() as conn:
            existing = _existing(conn, institution, read.kind, sha)
        if existing is None:
            raise
        return _unchanged(existing, read.kind, path, sha), None
    rows = read.canonical.height
    log.info("stored %s (%s, institution %s, scope %r): %s rows, sha256 %s", path.name, read.kind,
             institution, scope, f"{rows:,}", sha[:12])
    return IngestResult(source_id, "stored", rows, sha, read.kind, scope, str(path)), stored


def _existing(conn: Connection, institution: str, kind: str, sha: str):
    return conn.execute(
        text("SELECT id, row_count, scope FROM source_files "
             "WHERE institution_code = :i AND kind = :k AND sha256 = :s"),
        {"i": institution, "k": kind, "s": sha},
    ).first()


def _unchanged(existing, kind: str, path: Path, sha: str) -> IngestResult:
    log.info("%s (%s) is already stored as file #%d: nothing to do", path.name, kind, existing.id)
    return IngestResult(existing.id, "unchanged", existing.row_count, sha, kind, existing.scope, str(path))


def _insert_source(conn: Connection, read: KindRead, institution: str, scope: str, sha: str,
                   size: int) -> int:
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    exists = conn.execute(text("SELECT 1 FROM institutions WHERE code = :c"), {"c": institution}).first()
    if exists is None:
        conn.execute(text("INSERT INTO institutions (code, created_at) VALUES (:c, :t)"),
                     {"c": institution, "t": now})
    table = read.table
    return conn.execute(
        text("INSERT INTO source_files (institution_code, kind, scope, file_name, file_size, sha256, "
             "row_count, format, encoding, header_json, column_count, first_row, ingested_at, tool_version) VALUES "
             "(:i, :k, :scope, :name, :size, :sha, :rows, :fmt, :enc, :header, :width, :first, :at, :ver) "
             "RETURNING id"),
        {"i": institution, "k": read.kind, "scope": scope, "name": Path(table.path).name, "size": size,
         "sha": sha, "rows": table.frame.height, "fmt": table.format, "enc": table.encoding,
         "header": json.dumps(list(table.header), ensure_ascii=False),
         "width": table.frame.width, "first": table.first_row,
         "at": now, "ver": __version__},
    ).scalar_one()


def _store_rows(conn: Connection, read: KindRead, source_id: int) -> StoredFrames:
    canonical = read.canonical.with_columns(pl.lit(source_id, dtype=pl.Int64).alias("source_file_id")).select(
        "source_file_id", "row", *canonical_columns(read.kind))
    columns = IDENTIFIER_COLUMNS[read.kind]
    identifiers = identifier_table(canonical, ["source_file_id", "row"], columns) if columns else None
    height = read.table.frame.height
    total = 2 * height + (identifiers.height if identifiers is not None else 0)
    progress = Progress(f"storing {Path(read.table.path).name} (raw rows, {TABLE_OF_KIND[read.kind]}"
                        f"{', identifiers' if identifiers is not None else ''})", total, logger=log,
                        unit="records")
    _insert_raw_rows(conn, read.table, source_id, progress)
    bulk_insert(conn, TABLE_OF_KIND[read.kind], canonical.rename({"row": "row_number"}), progress)
    if identifiers is not None:
        bulk_insert(conn, "identifiers", identifiers.select(
            "source_file_id", pl.col("row").alias("row_number"), "source_column", "raw", "id_type", "value",
            pl.col("valid").cast(pl.Int64)), progress)
    progress.finish()
    return StoredFrames(canonical, identifiers)


def _insert_raw_rows(conn: Connection, table, source_id: int, progress: Progress) -> None:
    """raw_rows: every row's cells as one JSON object, encoded chunk by chunk (never all at once)."""
    statement = _insert_statement(conn, "raw_rows", ["source_file_id", "row_number", "cells"])
    for offset in range(0, table.frame.height, CHUNK_ROWS):
        chunk = table.frame.slice(offset, CHUNK_ROWS)
        cells = (chunk.select(pl.struct(pl.all()).struct.json_encode()).to_series().to_list()
                 if chunk.width else ["{}"] * chunk.height)
        first = table.first_row + offset
        conn.exec_driver_sql(statement, list(zip(repeat(source_id), range(first, first + chunk.height), cells)))
        progress.advance(chunk.height)


def _insert_statement(conn: Connection, table: str, columns: list[str]) -> str:
    marker = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join([marker] * len(columns))})"


def bulk_insert(conn: Connection, table: str, frame: pl.DataFrame, progress: Progress | None = None) -> None:
    """executemany in chunks: the fast path on SQLite and PostgreSQL alike."""
    if frame.is_empty():
        return
    statement = _insert_statement(conn, table, frame.columns)
    for chunk in frame.iter_slices(CHUNK_ROWS):
        conn.exec_driver_sql(statement, chunk.rows())
        if progress is not None:
            progress.advance(chunk.height)
