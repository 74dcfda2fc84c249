"""The database engine: any SQLAlchemy URL; SQLite (WAL, busy timeout) by default."""
from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url

from almaclean import settings
from almaclean.errors import AlmacleanError
from almaclean.store.sqlfiles import schema_statements

log = logging.getLogger(__name__)

# A writer waits this long for another process's write transaction (a 1M-row ingest takes a
# while) before giving up; readers never wait in WAL mode.
BUSY_TIMEOUT_MS = 600_000
WRITE_OPTION = "almaclean_write"


def make_engine(url: str | None = None, *, create_schema: bool = True) -> Engine:
    """An engine for --db URL / $ALMACLEAN_DB_URL / the default SQLite file, schema in place."""
    url = settings.database_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = _sqlite_engine(parsed)
    else:
        engine = create_engine(url, pool_pre_ping=True)
    if create_schema:
        ensure_schema(engine)
    return engine


def _sqlite_engine(parsed) -> Engine:
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(parsed, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let SQLAlchemy, not pysqlite, decide when a transaction starts (see "begin" below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        # A write transaction takes the lock up front (IMMEDIATE), so a second writer waits
        # (busy timeout) instead of failing half-way with "database is locked".
        immediate = conn.get_execution_options().get(WRITE_OPTION)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """One write transaction: committed on success, rolled back on any error."""
    with engine.connect() as conn:
        conn = conn.execution_options(**{WRITE_OPTION: True})
        with conn.begin():
            yield conn


def ensure_schema(engine: Engine) -> None:
    try:
        with write_transaction(engine) as conn:
            for statement in schema_statements(engine.dialect.name):
                conn.execute(text(statement))
    except Exception as exc:  # an unreachable server or a bad URL: say which database
        raise AlmacleanError(f"cannot prepare the database {engine.url!r}: {exc}") from exc
