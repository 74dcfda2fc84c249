"""One Store per database per process: the wiring every command, flow and batch job shares.

A Store is what the services work with: the engine (its pool, WAL and busy-timeout settings, the
schema checked once), the dialect's name and the SQL files. `open_store` builds it the first time
a process asks for a database and hands the same one out after that: the CLI and a flow it runs
in-process (`--prefect`), the tasks of a flow, the batch jobs of one worker. `close_stores`
disposes every engine; the CLI calls it when a command ends, and it runs at interpreter exit for
the processes that never end a command (Prefect workers, Dask workers).
"""
from __future__ import annotations

import atexit
import threading
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.engine import URL, make_url

from almaclean import settings
from almaclean.store.db import describe, open_database
from almaclean.store.sqlfiles import query


@dataclass(frozen=True)
class Store:
    engine: Engine

    @property
    def dialect(self) -> str:
        """'sqlite', 'postgresql', ...: the few statements that differ by database branch on it."""
        return self.engine.dialect.name

    @staticmethod
    def sql(name: str) -> str:
        """The text of sql/<name>.sql."""
        return query(name)

    def describe(self) -> str:
        """The database as the user named it, password hidden."""
        return describe(self.engine)


_stores: dict[tuple[str, bool], Store] = {}
_lock = threading.Lock()


def _key(url: str | URL | None, read_only: bool) -> tuple[str, bool]:
    resolved = settings.database_url(url)
    parsed = resolved if isinstance(resolved, URL) else make_url(resolved)
    return parsed.render_as_string(hide_password=False), read_only


def open_store(url: str | URL | None = None, *, read_only: bool = False) -> Store:
    """This process's Store for --db URL / $ALMACLEAN_DB_URL / the default SQLite file, opened
    once (store.db.open_database: checks, schema, plain-word errors) and then reused."""
    try:
        key = _key(url, read_only)
    except Exception:  # a URL that is no URL: open_database says why, in words
        return Store(open_database(url, read_only=read_only))
    with _lock:
        store = _stores.get(key)
        if store is None:
            store = _stores[key] = Store(open_database(url, read_only=read_only))
        return store


def close_stores() -> None:
    """Dispose of every engine this process opened; the next open_store opens afresh."""
    with _lock:
        stores = list(_stores.values())
        _stores.clear()
    for store in stores:
        store.engine.dispose()


atexit.register(close_stores)
