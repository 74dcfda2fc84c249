"""Below opening a database: one write transaction at a time, and failures in plain words.

store.db opens the engine (and, through store.schema, brings its schema up to date); both use
these, so neither has to import the other's caller.
"""
from __future__ import annotations

import errno
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import OperationalError

from almaclean import interrupts
from almaclean.errors import AlmacleanError, InputError

# The execution option that makes the SQLite engine begin a transaction IMMEDIATE (store.db).
WRITE_OPTION = "almaclean_write"


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """One write transaction: committed on success, rolled back on any error."""
    with engine.connect() as conn:
        conn = conn.execution_options(**{WRITE_OPTION: True})
        with conn.begin():
            yield conn
            interrupts.check()  # a stopped run commits nothing more


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
