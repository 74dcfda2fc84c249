"""Where almaclean keeps its data, and the defaults a site can change through the environment."""
from __future__ import annotations

import os
from pathlib import Path

DB_URL_ENV = "ALMACLEAN_DB_URL"
DATA_DIR_ENV = "ALMACLEAN_DATA"
DEFAULT_INSTITUTION = "default"


def data_dir() -> Path:
    """The data folder: $ALMACLEAN_DATA, else ./data under the current folder."""
    return Path(os.environ.get(DATA_DIR_ENV) or "data")


def database_url(explicit: str | None = None) -> str:
    """--db wins, then $ALMACLEAN_DB_URL, then a SQLite file in the data folder."""
    if explicit:
        return explicit
    if os.environ.get(DB_URL_ENV):
        return os.environ[DB_URL_ENV]
    return f"sqlite:///{(data_dir() / 'almaclean.db').resolve()}"
