"""What a scheduled flow needs, checked before it does anything: its folders and its database.

The database URL is never a flow parameter (Prefect shows parameters in its UI and API, and a
PostgreSQL URL can hold a password): it comes from the worker's environment
($ALMACLEAN_DB_URL, else almaclean.db in the worker's data folder) or from a Prefect Secret
block named by the db_secret_block parameter. Folder parameters left empty come from the
worker's environment too ($ALMACLEAN_INBOX, $ALMACLEAN_BATCH, $ALMACLEAN_OUT). Each check fails
in one line that says what to set.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from almaclean import settings
from almaclean.errors import AlmacleanError

INBOX_ENV = "ALMACLEAN_INBOX"
BATCH_ENV = "ALMACLEAN_BATCH"
OUT_ENV = "ALMACLEAN_OUT"
# prefect.yaml's `{{ $NAME }}` when NAME was not set at `prefect deploy`: Prefect keeps the text.
_PLACEHOLDER = re.compile(r"\{\{\s*\$?([A-Za-z_][A-Za-z0-9_.-]*)\s*\}\}")


class ConfigurationError(AlmacleanError):
    """A flow's configuration is wrong or missing; the message says what to set (exit 2)."""

    exit_code = 2


@dataclass(frozen=True)
class Database:
    """The database a flow works on: its URL (never shown) and where it came from, in words."""

    url: str = field(repr=False)
    source: str

    @property
    def name(self) -> str:
        return make_url(self.url).render_as_string(hide_password=True)


def unfilled(value) -> str | None:
    """The variable name when `value` is prefect.yaml's placeholder that was never filled."""
    match = _PLACEHOLDER.search(str(value)) if value is not None else None
    return match.group(1) if match else None


def _given(value, parameter: str):
    name = unfilled(value)
    if name:
        raise ConfigurationError(f"the {parameter} parameter is prefect.yaml's placeholder for ${name}, which was not "
                                 f"set when the deployment was made: set {name} and run `prefect deploy` again")
    return value if value not in (None, "") else None


def folder(value, parameter: str, env: str, what: str, *, must_exist: bool) -> Path:
    """A folder parameter, else the worker's $env; must exist (inbox, tree) or be creatable (out)."""
    given = _given(value, parameter) or os.environ.get(env) or None
    if given is None:
        if must_exist:
            raise ConfigurationError(f"no {what}: set {env} in the worker's environment, or the flow's {parameter} "
                                     "parameter")
        return settings.runs_dir()
    path = Path(given).expanduser()
    if must_exist and not path.is_dir():
        raise ConfigurationError(f"{what} {path} is not a folder (parameter {parameter} or {env}): "
                                 "point it at an existing folder")
    if not must_exist:
        parent = next((p for p in (path, *path.parents) if p.exists()), None)
        if parent is None or not parent.is_dir() or not os.access(parent, os.W_OK):
            raise ConfigurationError(f"{what} {path} cannot be written (parameter {parameter} or {env}): "
                                     "point it at a folder this worker may write to")
    return path


def database(secret_block: str | None = None) -> Database:
    """The flow's database: the Secret block named, else $ALMACLEAN_DB_URL, else the worker's
    data folder's almaclean.db. The URL is checked to be one; the database is not opened."""
    secret_block = _given(secret_block, "db_secret_block")
    if secret_block:
        from prefect.blocks.system import Secret

        try:
            url = str(Secret.load(secret_block).get())
        except (ValueError, KeyError) as exc:
            raise ConfigurationError(f"no Prefect Secret block named {secret_block!r} ({exc}): create one holding "
                                     "the database URL (Prefect UI, Blocks, Secret) or leave db_secret_block empty "
                                     f"to use {settings.DB_URL_ENV}") from exc
        source = f"Prefect Secret block {secret_block!r}"
    elif os.environ.get(settings.DB_URL_ENV):
        url, source = os.environ[settings.DB_URL_ENV], f"${settings.DB_URL_ENV} of the worker"
    else:
        url, source = settings.database_url(None), "the default almaclean.db in the worker's data folder"
    try:
        make_url(url)
    except Exception as exc:  # ArgumentError and friends: not a URL at all
        raise ConfigurationError(f"{source} is not a database URL: set it to one such as "
                                 "postgresql+psycopg://user@host/almaclean or sqlite:////path/almaclean.db") from exc
    return Database(url, source)


@lru_cache(maxsize=8)
def engine_for(url: str) -> Engine:
    """One engine per database per process (the flow and its tasks, a Dask worker's tasks)."""
    from almaclean.store.db import open_database

    return open_database(url)


def open_checked(db: Database) -> Engine:
    """The database opened, its schema ready, or a one-line ConfigurationError saying why not."""
    from almaclean.store.schema import UpgradeNeeded

    try:
        return engine_for(db.url)
    except UpgradeNeeded as exc:
        raise ConfigurationError(str(exc)) from exc
    except AlmacleanError as exc:
        raise ConfigurationError(f"{one_line(exc)} (database from {db.source})") from exc


def one_line(exc: BaseException) -> str:
    """An error's text in one line: a driver's multi-line message joined, SQLAlchemy's
    "Background on this error" link left out."""
    text = re.sub(r"\(Background on this error at: [^)]*\)", "", str(exc))
    return "; ".join(part.strip() for part in text.splitlines() if part.strip())
