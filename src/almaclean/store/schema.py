"""Schema versions (Alembic): a user's database lives for years, so every change to the tables
is a migration in store/migrations/versions, applied once, on the first write of a new version.

Opening a database costs one small read when it is already at the newest version: Alembic is
imported only when a migration has to run. Databases made before schema versions existed have
no alembic_version table; the baseline migration is idempotent, so they are simply upgraded.
"""
from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy import Connection, Engine, inspect, text
from sqlalchemy.exc import SQLAlchemyError

from almaclean.errors import AlmacleanError

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# The newest revision in migrations/versions; tests hold the two in step.
HEAD = "0010"
KNOWN = frozenset(path.name[:4] for path in (MIGRATIONS / "versions").glob("[0-9][0-9][0-9][0-9]_*.py"))


class NewerDatabase(AlmacleanError):
    """A database whose schema this almaclean does not know: made by a newer one."""


def current_revision(conn: Connection) -> str | None:
    """The revision a database is at; None for an empty or pre-versioning database."""
    if not inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def is_current(engine: Engine) -> bool:
    with engine.connect() as conn:
        return _known(engine, current_revision(conn)) == HEAD


def check_known(engine: Engine) -> None:
    """NewerDatabase when the database's schema is one this almaclean does not know."""
    with engine.connect() as conn:
        _known(engine, current_revision(conn))


def _known(engine: Engine, revision: str | None) -> str | None:
    if revision is not None and revision not in KNOWN:
        raise NewerDatabase(
            f"the database {engine.url.render_as_string(hide_password=True)} was made by a newer almaclean "
            f"(its schema is version {revision}; this almaclean knows versions up to {HEAD}): update almaclean "
            "(git pull, then the README's set-up command) and run again, or give another database")
    return revision


def upgrade(engine: Engine) -> None:
    """Bring the database to HEAD inside one write transaction (a concurrent process waits,
    then finds nothing left to do)."""
    from alembic import command
    from alembic.config import Config

    from almaclean.store.db import write_transaction

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    try:
        with write_transaction(engine) as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(7316027)"))
            before = _known(engine, current_revision(conn))
            if before == HEAD:
                return
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
            log.info("database %s upgraded from schema %s to %s",
                     engine.url.render_as_string(hide_password=True), before or "(none)", HEAD)
    except AlmacleanError:
        raise
    except (SQLAlchemyError, OSError) as exc:  # an unreachable server, a read-only or damaged file
        from almaclean.store.db import database_error

        raise database_error(exc, engine.url.render_as_string(hide_password=True)) from exc
    except Exception as exc:  # Alembic's own failures: say which database
        raise AlmacleanError(f"cannot prepare the database "
                             f"{engine.url.render_as_string(hide_password=True)}: {exc}") from exc
