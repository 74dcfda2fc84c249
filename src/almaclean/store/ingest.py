"""Stores a read file: one transaction, canonical rows, and the raw cells losslessly.

The same bytes again (institution, kind, sha256) are a no-op. A failure leaves the database
exactly as it was: everything happens inside one transaction.
"""
from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

import polars as pl
from sqlalchemy import Connection, Engine, func, insert, select, text, update
from sqlalchemy import column as sql_column, table as sql_table
from sqlalchemy.exc import IntegrityError

from almaclean import __version__, interrupts
from almaclean.kinds import KindRead, canonical_columns, read_kind
from almaclean.errors import InputError
from almaclean.kinds.registry import BY_NAME, TABLES
from almaclean.kinds.extended_export import collection_name_of
from almaclean.progress import Progress
from almaclean.read.detect import check_regular_file
from almaclean.read.table import TextTable
from almaclean.store.content import (
    HASHES, SPAN_COLUMNS, assign_ids, column_mapping, file_hashes, last_row_id, raw_cells, row_hashes,
)
from almaclean.store.fields import check_codec, packed_fields
from almaclean.store.db import write_transaction
from almaclean.store.tables import source_files
from almaclean.store.sqlfiles import query

log = logging.getLogger(__name__)

TABLE_OF_KIND = TABLES
CHUNK_ROWS = 50_000


@dataclass(frozen=True)
class IngestResult:
    source_file_id: int
    status: str  # "stored" | "unchanged" | "current again" (stored before, superseded, now current)
    rows: int
    sha256: str
    kind: str
    scope: str
    file: str


def file_digest(path: Path) -> tuple[str, int]:
    """sha256 hex and size of a file, streamed (a regular file only: a pipe or /dev/zero would
    never end)."""
    check_regular_file(path)
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            interrupts.check()
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def default_scope(kind: str, path: Path) -> str:
    """An Extended Export covers one collection (named by its file); other kinds the institution."""
    if kind == "extended-export":
        return collection_name_of(path)
    return "all"


def ingest_file(engine: Engine, kind: str, path: Path, institution: str, *, scope: str | None = None,
                mapping: dict | None = None, allow_empty: bool = False) -> IngestResult:
    """Read and store one file, unless these exact bytes are stored already (then no read at all)."""
    return ingest_files(engine, kind, [path], institution, scope=scope, mapping=mapping, allow_empty=allow_empty)[0]


@dataclass(frozen=True)
class PendingFile:
    """A file read and checked (kinds.read_kind), not stored yet."""

    read: KindRead
    sha256: str
    size: int

    @property
    def frame(self) -> pl.DataFrame:
        """Its canonical rows as load.current_frame will give them back once stored, but for
        "source_file_id", unknown until then (PENDING_SOURCE_ID)."""
        return _canonical_rows(self.read, PENDING_SOURCE_ID)


PENDING_SOURCE_ID = 0  # never a stored id (they start at 1)


def ingest_files(engine: Engine, kind: str, paths: list[Path], institution: str, *,
                 scope: str | None = None, mapping: dict | None = None, allow_empty: bool = False) -> list[IngestResult]:
    """Several files of one kind, oldest first: all are read and checked before any is stored,
    so one bad file stores nothing. Each file is then stored in its own transaction.
    allow_empty: store a file of no rows all the same (verify re-running a bundle made before
    such files were refused)."""
    read = [read_unless_stored(engine, kind, path, institution, mapping, allow_empty=allow_empty)
            for path in map(Path, paths)]
    scopes = [r.scope if isinstance(r, IngestResult) else scope or default_scope(kind, Path(r.read.table.path))
              for r in read]
    last = {s: i for i, s in enumerate(scopes)}
    # A stored file followed by a newer one of its scope (old exports left in a nightly inbox)
    # stays as it is: only the last file of a scope may become the current one again.
    return [(make_current(engine, r, institution) if last[scopes[i]] == i else r) if isinstance(r, IngestResult)
            else store_pending(engine, r, institution, scope=scope) for i, r in enumerate(read)]


def make_current(engine: Engine, stored: IngestResult, institution: str) -> IngestResult:
    """A file ingested again: when a newer file of its scope was ingested since (an export
    that reverted), it becomes the current one again ("current again"), stored once all the
    same; otherwise nothing changes ("unchanged")."""
    with write_transaction(engine) as conn:
        if _current_file(conn, institution, stored.kind, stored.scope) == stored.source_file_id:
            return stored
        conn.execute(update(source_files).where(source_files.c.id == stored.source_file_id)
                     .values(current_order=_next_current_order()))
        _record_ingest(conn, stored.source_file_id, "current again")
    log.info("%s (%s) is stored already as file #%d: it is the current one of scope %r again",
             Path(stored.file).name, stored.kind, stored.source_file_id, stored.scope)
    return replace(stored, status="current again")


def read_unless_stored(engine: Engine, kind: str, path: Path, institution: str,
                       mapping: dict | None = None, *, allow_empty: bool = False, table: TextTable | None = None,
                       digest: tuple[str, int] | None = None) -> IngestResult | PendingFile:
    """The "unchanged" result when these bytes are stored already (no read at all), else the
    file read and checked, ready for store_pending. A file of no rows is refused for a kind whose
    empty file is no news (refuse_empty). table, digest: the file as read_table reads it and
    its sha256 and size, known already (a fetched report's canonical CSV, written from the rows
    fetched): the file is then not read at all."""
    sha, size = digest or file_digest(path)
    with engine.connect() as conn:
        existing = _existing(conn, institution, kind, sha)
    if existing is not None:
        result = _unchanged(existing, kind, path, sha)
        if not allow_empty:
            refuse_empty(kind, path, result.rows)
        return result
    read = read_kind(kind, table if table is not None else path, mapping=mapping)
    if not allow_empty:
        refuse_empty(kind, path, read.canonical.height)
    return PendingFile(read, sha, size)


def ingest_table(engine: Engine, kind: str, table: TextTable, institution: str, *, digest: tuple[str, int],
                 mapping: dict | None = None) -> IngestResult:
    """One file whose table and digest are known already (read_unless_stored), stored as
    ingest_files stores it alone."""
    read = read_unless_stored(engine, kind, table.path, institution, mapping, table=table, digest=digest)
    if isinstance(read, IngestResult):
        return make_current(engine, read, institution)
    return store_pending(engine, read, institution)


def refuse_empty(kind: str, path: Path, rows: int) -> None:
    """A portfolio export, P2E file or PO line export with no rows (a header only) is never made
    current: it would replace the real one and hide every row of it (an Analytics report that
    failed or was filtered to nothing). InputError naming the file."""
    if rows or BY_NAME[kind].empty_is_news:
        return
    raise InputError(
        f"this {BY_NAME[kind].what} has no rows (a header only), so it is not stored: made the current one it "
        "would replace the real one and hide every row of it. Export the report again (check its filters) and "
        "give that file", file=path)


def store_pending(engine: Engine, pending: PendingFile, institution: str, *,
                  scope: str | None = None) -> IngestResult:
    """Store a file read by read_unless_stored, in one transaction ("unchanged" when another
    process stored the same bytes meanwhile)."""
    return _store_read(engine, pending.read, institution, scope=scope, digest=(pending.sha256, pending.size))


def ingest_read(engine: Engine, read: KindRead, institution: str, *, scope: str | None = None,
                digest: tuple[str, int] | None = None) -> IngestResult:
    """Store a file already read with kinds.read_kind, in one transaction."""
    return _store_read(engine, read, institution, scope=scope, digest=digest)


def _store_read(engine: Engine, read: KindRead, institution: str, *, scope: str | None,
                digest: tuple[str, int] | None) -> IngestResult:
    path = Path(read.table.path)
    sha, size = digest or file_digest(path)
    scope = scope or default_scope(read.kind, path)
    try:
        with write_transaction(engine) as conn:
            existing = _existing(conn, institution, read.kind, sha)
            if existing is not None:
                return _unchanged(existing, read.kind, path, sha)
            current = _current_file(conn, institution, read.kind, scope)
            source_id = _insert_source(conn, read, institution, scope, sha, size)
            stored_rows = _store_rows(conn, read, source_id, current)
            conn.execute(text("UPDATE source_files SET content_rows = :n WHERE id = :id"),
                         {"n": stored_rows, "id": source_id})
            _record_ingest(conn, source_id, "stored")
    except IntegrityError:
        # Another process stored the same bytes between our check and our insert.
        with engine.connect() as conn:
            existing = _existing(conn, institution, read.kind, sha)
        if existing is None:
            raise
        return _unchanged(existing, read.kind, path, sha)
    rows = read.canonical.height
    log.info("stored %s (%s, institution %s, scope %r): %s rows, sha256 %s", path.name, read.kind,
             institution, scope, f"{rows:,}", sha[:12])
    return IngestResult(source_id, "stored", rows, sha, read.kind, scope, str(path))


def _record_ingest(conn: Connection, source_id: int, status: str) -> None:
    """file_ingests: each time a file became the current one of its scope (row history)."""
    conn.execute(text("INSERT INTO file_ingests (source_file_id, ingested_at, status) VALUES (:f, :t, :s)"),
                 {"f": source_id, "t": datetime.now(timezone.utc).isoformat(timespec="seconds"), "s": status})


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
    return conn.execute(insert(source_files).values(
        institution_code=institution, kind=read.kind, scope=scope, file_name=Path(table.path).name, file_size=size,
        sha256=sha, row_count=table.row_span, format=table.format, encoding=table.encoding,
        header_json=json.dumps(list(table.header), ensure_ascii=False),
        column_count=table.frame.width, first_row=table.first_row, ingested_at=now, tool_version=__version__,
        columns_json=json.dumps({c: list(p) for c, p in sorted(read.sources.items())}),
        current_order=_next_current_order(),
    ).returning(source_files.c.id)).scalar_one()


def _next_current_order():
    """The current_order a file takes when it is ingested (or ingested again): above every other."""
    return select(func.coalesce(func.max(source_files.c.current_order), 0) + 1).scalar_subquery()


def _canonical_rows(read: KindRead, source_id: int) -> pl.DataFrame:
    return read.canonical.with_columns(pl.lit(source_id, dtype=pl.Int64).alias("source_file_id")).select(
        "source_file_id", "row", *canonical_columns(read.kind))


def _current_file(conn: Connection, institution: str, kind: str, scope: str) -> int | None:
    return conn.execute(text("SELECT id FROM current_files WHERE institution_code = :i AND kind = :k AND scope = :s"),
                        {"i": institution, "k": kind, "s": scope}).scalar()


def _store_rows(conn: Connection, read: KindRead, source_id: int, current: int | None) -> int:
    """The file's rows as content rows and spans (store/content.py): only rows the current file
    of its scope (before this one) does not hold are stored. Returns how many were."""
    table = TABLE_OF_KIND[read.kind]
    check_codec(conn, table)
    name = Path(read.table.path).name
    mapped = mapped_columns(read)
    write_rows(conn, "raw_columns", ["source_file_id", "column_position", "canonical_column"],
               [(source_id, position, column) for position, column in mapped.items()])
    cells = _cells_of_rows(read)
    rows = read.canonical.select("row", *canonical_columns(read.kind)).hstack(cells).hstack(row_hashes(cells))
    base = current if current is not None and _same_layout(conn, current, read, mapped) else None
    known = file_hashes(conn, table, base) if base is not None else pl.DataFrame(
        schema={"row_id": pl.Int64, "hash_a": pl.Int64, "hash_b": pl.Int64})
    new_rows, file_spans = assign_ids(rows, known, last_row_id(conn, table) + 1)
    progress = Progress(f"storing {name} ({table})", new_rows.height, logger=log, unit="records")
    bulk_insert(conn, table, new_rows, progress, columns=[
        pl.col("row_id"), *map(pl.col, HASHES), pl.col(BY_NAME[read.kind].key), packed_fields(new_rows, table),
        raw_cells(new_rows, mapped, cells.columns)])
    bulk_insert(conn, "file_spans", file_spans.with_columns(pl.lit(source_id, dtype=pl.Int64).alias("source_file_id"))
                .select("source_file_id", *SPAN_COLUMNS))
    progress.finish()
    log.info("%s: %s of %s rows stored, the others shared with file #%s (%s spans)", name,
             f"{new_rows.height:,}", f"{rows.height:,}", base, f"{file_spans.height:,}")
    return new_rows.height


def _cells_of_rows(read: KindRead) -> pl.DataFrame:
    """The file's cells (c<position>) of the rows with content, row for row with read.canonical
    (blank rows have no content: they come back as nulls)."""
    frame = read.table.frame
    if frame.height != read.canonical.height:
        frame = frame.gather(read.table.positions(read.canonical.get_column("row")))
    return frame


def _same_layout(conn: Connection, stored_id: int, read: KindRead, mapped: dict[int, str]) -> bool:
    """Whether a stored file's rows can be shared with this one: same header and the same
    canonical column read from each file column, so the same cells mean the same content."""
    header = conn.execute(text("SELECT header_json FROM source_files WHERE id = :f"), {"f": stored_id}).scalar_one()
    if json.loads(header) != list(read.table.header):
        return False
    return column_mapping(conn, stored_id) == mapped


def mapped_columns(read: KindRead) -> dict[int, str]:
    """File column position -> the canonical column read from it alone. Its cells are stored
    once, as that column's value; a cell that differs from it (spaces stripped, say) is kept in
    the row's raw_cells (store/content.py)."""
    mapped: dict[int, str] = {}
    for column, positions in read.sources.items():
        if len(positions) == 1 and positions[0] not in mapped:
            mapped[positions[0]] = column
    return dict(sorted(mapped.items()))


def _insert_statement(conn: Connection, table: str, columns: list[str]) -> str:
    """The INSERT of these columns as the connection's dialect writes it, placeholders included
    (compiled by SQLAlchemy, for the DB-API's executemany: the fast path on SQLite)."""
    # A table of the schema or a migration's work table: named, with its columns in the rows' order.
    statement = insert(sql_table(table, *map(sql_column, columns)))
    return str(statement.compile(dialect=conn.dialect, column_keys=columns))


def _copy_statement(conn: Connection, table: str, columns: list[str]) -> str:
    quote = conn.dialect.identifier_preparer.quote
    return f"COPY {quote(table)} ({', '.join(map(quote, columns))}) FROM STDIN"


def bulk_insert(conn: Connection, table: str, frame: pl.DataFrame, progress: Progress | None = None, *,
                columns: list[pl.Expr] | None = None) -> None:
    """A frame's rows into `table`, in chunks, inside the caller's transaction; with `columns`,
    the values these expressions give, computed a chunk at a time (a packed text column of a
    million rows is never held whole)."""
    if frame.is_empty():
        return
    for chunk in frame.iter_slices(CHUNK_ROWS):
        interrupts.check()  # the transaction is rolled back as the stop leaves it
        if columns is not None:
            chunk = chunk.select(columns)
        write_rows(conn, table, chunk.columns, chunk.rows())
        if progress is not None:
            progress.advance(chunk.height)


def write_rows(conn: Connection, table: str, columns: list[str], rows: list[tuple]) -> None:
    """PostgreSQL: COPY (psycopg's copy, on the transaction's own connection); others:
    executemany, the fast path on SQLite."""
    if conn.dialect.name == "postgresql":
        with conn.connection.driver_connection.cursor() as cursor:
            with cursor.copy(_copy_statement(conn, table, columns)) as copy:
                for row in rows:
                    copy.write_row(row)
        return
    if not conn.dialect.positional:  # a driver taking named parameters
        rows = [dict(zip(columns, row)) for row in rows]
    conn.exec_driver_sql(_insert_statement(conn, table, columns), rows)
