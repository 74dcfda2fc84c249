"""Where almaclean keeps its data, and the defaults a site can change through the environment.

One per-user data folder holds the database and, unless --out says otherwise, the run
folders, so a follow-up command run from any folder finds the same history. It is
$ALMACLEAN_DATA when set, else the platform's user data folder (platformdirs), e.g.
~/.local/share/almaclean on Linux, ~/Library/Application Support/almaclean on macOS,
%LOCALAPPDATA%\\almaclean on Windows.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.engine import URL

DB_URL_ENV = "ALMACLEAN_DB_URL"
# The database a `verify` flow run re-runs into (never a flow parameter either).
RERUN_DB_URL_ENV = "ALMACLEAN_RERUN_DB_URL"
DATA_DIR_ENV = "ALMACLEAN_DATA"
PREFECT_API_ENV = "PREFECT_API_URL"


def data_dir() -> Path:
    """The data folder: $ALMACLEAN_DATA (an absolute path), else the user data folder."""
    if os.environ.get(DATA_DIR_ENV):
        folder = Path(os.environ[DATA_DIR_ENV]).expanduser()
        if not folder.is_absolute():
            from almaclean.errors import InputError

            raise InputError(f"${DATA_DIR_ENV} is {os.environ[DATA_DIR_ENV]!r}, a relative path: every folder you run "
                             "almaclean from would have a database and history of its own. Set it to an absolute "
                             f"path, e.g. export {DATA_DIR_ENV}={folder.absolute()}")
        return folder
    from platformdirs import user_data_path

    return user_data_path("almaclean", appauthor=False)


def runs_dir() -> Path:
    """Where run folders go when --out is not given."""
    return data_dir() / "runs"


def fetched_dir() -> Path:
    """Where the canonical CSVs of fetched Alma Analytics reports are kept."""
    return data_dir() / "fetched"


def database_url(explicit: str | URL | None = None) -> str | URL:
    """--db wins, then $ALMACLEAN_DB_URL, then a SQLite file in the data folder (a URL object:
    a folder name holding '#', '?' or '%' has no string form SQLAlchemy reads back)."""
    if explicit:
        return explicit
    if os.environ.get(DB_URL_ENV):
        return os.environ[DB_URL_ENV]
    return default_database_url()


def default_database_url() -> URL:
    from sqlalchemy.engine import URL

    return URL.create("sqlite", database=str((data_dir() / "almaclean.db").resolve()))


def database_source(explicit: str | URL | None = None) -> str | None:
    """Where the database URL came from, in the user's words: "--db", "$ALMACLEAN_DB_URL", or
    None for the default SQLite file in the data folder (the one folder almaclean creates)."""
    if explicit:
        return "--db"
    if os.environ.get(DB_URL_ENV):
        return f"${DB_URL_ENV}"
    return None


def prefect_api_configured() -> bool:
    """A Prefect server is named in the environment (then one-off commands run as flow runs)."""
    return bool(os.environ.get(PREFECT_API_ENV))


@contextmanager
def environment(**values: str | None) -> Iterator[None]:
    """These environment variables set (those given a value) for the duration, then as they were:
    how the CLI hands --db to a flow run without making it a parameter Prefect would show."""
    saved = {name: os.environ.get(name) for name in values}
    try:
        for name, value in values.items():
            if value:
                os.environ[name] = value
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
