"""A database-wide lock for work that must never run twice at once on one database (nightly).

PostgreSQL: a session advisory lock held on a connection of its own for as long as the work
runs. SQLite: an operating-system lock on a file beside the database file (`<db>.<name>.lock`,
fcntl on POSIX, msvcrt on Windows), which names the holder. Either way the lock goes with the
process that holds it, however it ends: a killed run never leaves the database locked.
"""
from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import Engine, text

from almaclean.errors import AlmacleanError
from almaclean.store.db import describe, sqlite_file


class Locked(AlmacleanError):
    """Another process holds the lock: the message says who, when and what to do."""


def _holder() -> dict:
    return {"host": socket.gethostname(), "pid": os.getpid(),
            "since": datetime.now(timezone.utc).isoformat(timespec="seconds")}


@contextmanager
def exclusive(engine: Engine, name: str) -> Iterator[None]:
    """Hold `name`'s lock on this database for the duration; Locked at once when another
    process holds it (a second nightly run does nothing rather than wait behind the first)."""
    path = sqlite_file(engine.url)
    if engine.dialect.name == "postgresql":
        with _advisory(engine, name):
            yield
    elif path is not None:
        with _file_lock(path.with_name(f"{path.name}.{name}.lock"), engine, name):
            yield
    else:  # an in-memory database lives in this process only
        yield


def _refusal(engine: Engine, name: str, holder: str) -> Locked:
    return Locked(f"another {name} run is working on the database {describe(engine)} ({holder}): this run did "
                  f"nothing. Let that one finish (or stop it), then run again")


@contextmanager
def _advisory(engine: Engine, name: str) -> Iterator[None]:
    with engine.connect() as conn:
        key = conn.execute(text("SELECT hashtext(:n)"), {"n": f"almaclean {name}"}).scalar_one()
        if not conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar_one():
            holder = conn.execute(text(
                "SELECT a.client_addr, a.backend_start FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                "WHERE l.locktype = 'advisory' AND l.objid::bigint = ((:k)::bigint & 4294967295) AND l.granted LIMIT 1"),
                {"k": key}).first()
            where = (f"a session from {holder.client_addr or 'this server'} started {holder.backend_start:%Y-%m-%d %H:%M}"
                     if holder else "another session")
            conn.rollback()
            raise _refusal(engine, name, where)
        conn.commit()  # the lock is the session's, not the transaction's
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
            conn.commit()


@contextmanager
def _file_lock(path: Path, engine: Engine, name: str) -> Iterator[None]:
    handle = open(path, "a+", encoding="utf-8")
    try:
        if not _try_lock(handle):
            handle.seek(0)
            try:
                holder = json.loads(handle.read() or "{}")
                who = f"process {holder['pid']} on {holder['host']}, since {holder['since']}"
            except (ValueError, KeyError):
                who = f"see {path}"
            raise _refusal(engine, name, who)
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps(_holder()))
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            handle.flush()
            _unlock(handle)
    finally:
        handle.close()


def _try_lock(handle) -> bool:
    if os.name == "nt":  # pragma: no cover - Windows
        import msvcrt

        try:
            handle.seek(0)
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False
    import fcntl

    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


def _unlock(handle) -> None:
    if os.name == "nt":  # pragma: no cover - Windows
        import msvcrt

        handle.seek(0)
        msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)
        return
    import fcntl

    fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
