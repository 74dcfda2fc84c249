"""The database engine: any SQLAlchemy URL; SQLite (WAL, busy timeout) by default.

Wired once: the entry point opens the database (open_database) and hands the engine down.
Writers bring the schema to the newest version on open when that only adds (store.schema); readers never write:
`status` and other read-only commands take no lock and work on a read-only database file.
"""
from __future__ import annotations

import errno
import itertools
import logging
import os
import sqlite3
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError, SQLAlchemyError

from almaclean import interrupts, settings
from almaclean.errors import AlmacleanError, InputError
from almaclean.invocation import command_line

log = logging.getLogger(__name__)

# A writer waits this long for another process's write transaction (a 1M-row ingest takes a
# while) before giving up; readers never wait in WAL mode.
BUSY_TIMEOUT_MS = 600_000
WRITE_OPTION = "almaclean_write"


def open_database(url: str | URL | None = None, *, read_only: bool = False, migrate: bool = True) -> Engine:
    """The engine of --db URL / $ALMACLEAN_DB_URL / the default SQLite file.

    A URL that is no database URL, names no database kind or driver almaclean has, or a SQLite
    file whose folder does not exist (a typo: no folder is created but the default data folder)
    is an InputError. read_only: no schema change, no write lock, and a read-only SQLite file
    opens too; AlmacleanError when a SQLite file does not exist (nothing to read). Otherwise the
    schema is brought to the newest version once, here, when its pending migrations are additive
    (store.schema: one that rewrites tables raises UpgradeNeeded, exit 2, and waits for
    `almaclean db upgrade`); migrate=False leaves the schema as it is. A database made by a newer
    almaclean, a damaged one and a server that does not answer are AlmacleanErrors in plain words."""
    source = settings.database_source(url)
    parsed = check_url(settings.database_url(url), source)
    if parsed.get_backend_name() == "sqlite":
        engine = _sqlite_engine(parsed, read_only=read_only, create_folder=source is None, source=source)
    else:
        engine = create_engine(parsed, pool_pre_ping=True)
    from almaclean.store import schema

    try:
        if read_only or not migrate:
            schema.check_known(engine)
        elif not schema.is_current(engine):
            schema.upgrade(engine)
    except (SQLAlchemyError, OSError) as exc:
        raise database_error(exc, describe(engine)) from exc
    return engine


def check_url(url: str | URL, source: str | None) -> URL:
    """The parsed URL, or InputError saying what is wrong with it in plain words."""
    what = source or "the database URL"
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise InputError(f"{what} {str(url)!r} is not a database URL: give one such as "
                         "sqlite:////full/path/to/almaclean.db or postgresql+psycopg://user@host/almaclean") from None
    shown = parsed.render_as_string(hide_password=True)
    if isinstance(url, str) and parsed.get_backend_name() == "sqlite" and "?" in url and not parsed.query:
        # SQLAlchemy reads what follows '?' as options and drops it when it holds none: the
        # database would be another file than the one named.
        raise InputError(f"{what} {url!r}: a '?' in a SQLite path starts URL options, so this names the file "
                         f"{parsed.database!r}, not yours: rename the folder or file without '?'")
    try:
        dialect = parsed.get_dialect()
    except NoSuchModuleError:
        raise InputError(f"{what} {shown!r}: {parsed.drivername!r} is no kind of database almaclean can use: give "
                         "sqlite:///PATH or postgresql+psycopg://user@host/name") from None
    try:
        dialect.import_dbapi()
    except ImportError as exc:
        raise InputError(f"{what} {shown!r}: the driver {exc.name or parsed.drivername!r} is not installed. For "
                         "PostgreSQL use postgresql+psycopg://... with almaclean's postgres extra installed "
                         "(python3 -m uv sync --extra postgres)") from None
    return parsed


def database_error(exc: BaseException, where: str) -> AlmacleanError:
    """A database failure in plain words: exit 2 when the file given is no database at all,
    1 otherwise (a damaged file, a full disk, a server that does not answer)."""
    original = getattr(exc, "orig", None) or exc
    first = (str(original).strip().splitlines() or [type(original).__name__])[0]
    low = first.lower()
    if "file is not a database" in low:
        return InputError(f"{where} is not a SQLite database (a file of another kind, or an encrypted one): "
                          "check the path you gave")
    if any(sign in low for sign in ("malformed", "database corrupt", "disk i/o error")):
        return AlmacleanError(f"the database {where} is damaged ({first}): restore it from a backup, or recover "
                              "what it still holds with `sqlite3 FILE .recover`")
    if "database or disk is full" in low or getattr(original, "errno", None) in (errno.ENOSPC, errno.EDQUOT):
        return AlmacleanError(f"the disk holding the database {where} is full: free some space and run the "
                              "command again (nothing was half-written)")
    if "unable to open database file" in low:
        return AlmacleanError(f"cannot open the database file {where}: check that its folder exists and that you "
                              "may write to it")
    if "readonly database" in low or "read-only" in low:
        return AlmacleanError(f"the database {where} is read-only here, and this command stores things: run it "
                              "where you may write to the database (status and history only read)")
    if "locked" in low:
        return AlmacleanError(f"the database {where} stayed locked by another almaclean: run again once it ends")
    if isinstance(exc, OperationalError) and not isinstance(original, sqlite3.Error):
        return AlmacleanError(f"cannot reach the database server {where}: {first}. Is it running, and are the "
                              "host, port, user and database name in the URL right?")
    return AlmacleanError(f"the database {where} answered with an error: {first}")


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


def sqlite_url(path: str | Path) -> URL:
    """The URL of a SQLite file, whatever its name holds ('#', '?', '%' and spaces included)."""
    return URL.create("sqlite", database=str(path))


def sqlite_uri(path: Path, **parameters: str) -> str:
    """The file: URI SQLite opens with these parameters: the path escaped, so '#' or '?' in a
    folder name can never end the path and open (or create) another file."""
    query = "&".join(f"{key}={value}" for key, value in parameters.items())
    return f"file:{urllib.parse.quote(str(Path(path).absolute()))}" + (f"?{query}" if query else "")


def _sqlite_engine(parsed: URL, *, read_only: bool, create_folder: bool, source: str | None) -> Engine:
    path = sqlite_file(parsed)
    if read_only:
        if path is not None and not path.is_file():
            raise AlmacleanError(f"no database at {path}: nothing stored yet (store your exports with "
                                 f"{command_line('ingest', 'KIND', 'FILE', '--institution', 'CODE')})")
        # mode=ro never writes; a WAL database in a folder the user cannot write to still
        # opens when its -shm file exists, else it is read as immutable.
        writable_folder = path is None or os.access(path.parent, os.W_OK)
        if path is None:
            engine = create_engine(parsed)
        else:
            uri = sqlite_uri(path, mode="ro") if writable_folder else sqlite_uri(path, immutable="1")
            engine = create_engine(parsed, creator=_connector(uri))
    else:
        if path is not None and not path.parent.is_dir():
            if not create_folder:
                raise InputError(f"the folder of this database, {path.parent}, does not exist (a typo?): create it "
                                 f"first, or give another path in {source}", file=path)
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
        if conn.get_execution_options().get(WRITE_OPTION):
            _begin_immediate(conn.connection.driver_connection)
        else:
            conn.exec_driver_sql("BEGIN")

    return engine


LOCK_WAIT_STEP_MS = 200


def _begin_immediate(dbapi_connection) -> None:
    """BEGIN IMMEDIATE, waiting for another process's write transaction up to the busy timeout,
    in short steps: SQLite's own wait cannot be interrupted, and Ctrl-C must stop a waiting run."""
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={LOCK_WAIT_STEP_MS}")
    try:
        _execute_while_locked(cursor, "BEGIN IMMEDIATE", waiting=(
            f"waiting for another run to finish writing to the database (up to {BUSY_TIMEOUT_MS // 60_000} minutes)"))
    finally:
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.close()


def _wal_mode(cursor) -> None:
    """PRAGMA journal_mode=WAL, waiting like any writer. Switching a database that is not in WAL
    mode yet (a new file, opened by several jobs at once) needs the write lock, and SQLite
    answers "database is locked" at once there, without its busy handler."""
    _execute_while_locked(cursor, "PRAGMA journal_mode=WAL", pause=0.05)


def _execute_while_locked(cursor, statement: str, *, pause: float = 0.0, waiting: str | None = None) -> None:
    """`statement`, executed again while SQLite answers "database is locked", up to the busy
    timeout; a stop (Ctrl-C) ends the wait. `waiting` is logged once, when a wait begins."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    for attempt in itertools.count():
        try:
            cursor.execute(statement)
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            interrupts.check()
            if attempt == 0 and waiting:
                log.info(waiting)
            time.sleep(pause)


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
            interrupts.check()  # a stopped run commits nothing more

