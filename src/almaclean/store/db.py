"""The database engine: any SQLAlchemy URL; SQLite (WAL, busy timeout) by default.

Wired once: the entry point opens the database (open_database) and hands the engine down.
Writers bring the schema to the newest version on open (store.schema); readers never write:
`status` and other read-only commands take no lock and work on a read-only database file.
"""
from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url

from almaclean import settings
from almaclean.errors import AlmacleanError

log = logging.getLogger(__name__)

# A writer waits this long for another process's write transaction (a 1M-row ingest takes a
# while) before giving up; readers never wait in WAL mode.
BUSY_TIMEOUT_MS = 600_000
WRITE_OPTION = "almaclean_write"


def open_database(url: str | None = None, *, read_only: bool = False) -> Engine:
    """The engine of --db URL / $ALMACLEAN_DB_URL / the default SQLite file.

    read_only: no schema change, no write lock, and a read-only SQLite file opens too;
    raises AlmacleanError when a SQLite file does not exist (nothing to read).
    Otherwise the schema is brought to the newest version once, here."""
    url = settings.database_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = _sqlite_engine(parsed, read_only=read_only)
    else:
        engine = create_engine(url, pool_pre_ping=True)
    if not read_only:
        from almaclean.store import schema

        try:
            current = schema.is_current(engine)
        except Exception as exc:
            raise AlmacleanError(f"cannot open the database {describe(engine)}: {exc}") from exc
        if not current:
            schema.upgrade(engine)
    return engine


def make_engine(url: str | None = None, *, create_schema: bool = True) -> Engine:
    """open_database for a writer (create_schema=True) or a reader."""
    return open_database(url, read_only=not create_schema)


def describe(engine: Engine) -> str:
    """The database as the user named it, password hidden."""
    return engine.url.render_as_string(hide_password=True)


def sqlite_file(url: str | URL) -> Path | None:
    """The file of a SQLite URL (None for other databases and in-memory ones)."""
    parsed = make_url(url) if isinstance(url, str) else url
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def _sqlite_engine(parsed: URL, *, read_only: bool) -> Engine:
    path = sqlite_file(parsed)
    if read_only:
        if path is not None and not path.is_file():
            raise AlmacleanError(f"no database at {path}: nothing stored yet (use `almaclean ingest`)")
        # mode=ro never writes; a WAL database in a folder the user cannot write to still
        # opens when its -shm file exists, else it is read as immutable.
        writable_folder = path is None or os.access(path.parent, os.W_OK)
        uri = f"file:{path}?mode=ro" if writable_folder else f"file:{path}?immutable=1"
        engine = create_engine(parsed, creator=_connector(uri))
    else:
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let SQLAlchemy, not pysqlite, decide when a transaction starts (see "begin" below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if not read_only:
            _wal_mode(cursor)
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        # A write transaction takes the lock up front (IMMEDIATE), so a second writer waits
        # (busy timeout) instead of failing half-way with "database is locked".
        immediate = conn.get_execution_options().get(WRITE_OPTION)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def _wal_mode(cursor) -> None:
    """PRAGMA journal_mode=WAL, waiting like any writer. Switching a database that is not in WAL
    mode yet (a new file, opened by several jobs at once) needs the write lock, and SQLite
    answers "database is locked" at once there, without its busy handler."""
    import sqlite3

    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _connector(uri: str):
    import sqlite3

    def connect():
        return sqlite3.connect(uri, uri=True, check_same_thread=False)

    return connect


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """One write transaction: committed on success, rolled back on any error."""
    with engine.connect() as conn:
        conn = conn.execution_options(**{WRITE_OPTION: True})
        with conn.begin():
            yield conn

