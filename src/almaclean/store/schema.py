"""Schema versions (Alembic): a user's database lives for years, so every change to the tables
is a migration in store/migrations/versions.

Two kinds of migration:
- additive ones (a new table, column, index or view) are applied when a command that writes
  opens the database;
- a migration that rewrites tables (its module sets REWRITES, saying what it rewrites) waits for
  `almaclean db upgrade` on a database that holds data: the other commands say so and stop
  (exit 2), changing nothing. `db upgrade` backs the database up first (services/db.py), says how
  long the rewrite will take (each such module's ROWS_PER_SECOND and rows_to_rewrite) and runs
  each migration in a transaction of its own, so an interrupted upgrade goes on from the last
  completed migration when run again.

Every migration has a downgrade(); one that cannot undo its change in place raises
MigrationRefused with what to do instead (restore the backup). Opening a database costs one
small read when it is already at the newest version: Alembic is imported only when a
migration has to run.
"""
from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from sqlalchemy import Connection, Engine, func, inspect, select, table, text
from sqlalchemy.exc import SQLAlchemyError

from almaclean.errors import AlmacleanError

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# The newest revision in migrations/versions; tests hold the two in step.
HEAD = "0013"
KNOWN = frozenset(path.name[:4] for path in (MIGRATIONS / "versions").glob("[0-9][0-9][0-9][0-9]_*.py"))


class NewerDatabase(AlmacleanError):
    """A database whose schema this almaclean does not know: made by a newer one."""


# Tables that hold a user's data: a database without rows in any of them is rewritten freely.
DATA_TABLES = ("source_files", "nightly_runs")
PG_MIGRATION_LOCK = 7316027


class UpgradeNeeded(AlmacleanError):
    """The database needs `almaclean db upgrade` before this almaclean can write to it."""

    exit_code = 2


class MigrationRefused(AlmacleanError):
    """A migration's downgrade cannot undo it in place: the message says what to do instead."""

    exit_code = 2


@dataclass(frozen=True)
class Step:
    """One migration: its revision, the first line of its text and, for one that rewrites
    tables, what it rewrites."""

    revision: str
    title: str
    rewrites: str | None
    module: object

    def rows(self, conn: Connection) -> int:
        """Rows the migration rewrites in this database (0 for an additive one)."""
        counter = getattr(self.module, "rows_to_rewrite", None)
        return int(counter(conn)) if self.rewrites and counter else 0

    def seconds(self, rows: int) -> float:
        """The expected time for `rows` rows, at the rate measured on a 2-core machine."""
        return rows / getattr(self.module, "ROWS_PER_SECOND", 50_000) if rows else 0.0


def rows_in(conn: Connection, tables) -> int:
    """Rows of these tables: what a rewriting migration's rows_to_rewrite counts."""
    return sum(conn.execute(select(func.count()).select_from(table(name))).scalar_one() for name in tables)


def refuse_downgrade(revision: str, title: str, what: str) -> MigrationRefused:
    """The refusal of a migration that cannot be undone in place: restore the backup instead."""
    return MigrationRefused(f"migration {revision} ({title}) cannot be undone in place: {what}. Restore the backup "
                            "`almaclean db upgrade` wrote before it")


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


@cache
def _script():
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(MIGRATIONS))


def _step(script) -> Step:
    first = ((script.module.__doc__ or "").strip().splitlines() or [script.revision])[0]
    title = re.split(r": |\. ", first, maxsplit=1)[0].rstrip(".:")
    return Step(script.revision, title, getattr(script.module, "REWRITES", None), script.module)


def all_steps() -> list[Step]:
    """Every migration, oldest first."""
    return [_step(s) for s in reversed(list(_script().walk_revisions("base", "heads")))]


def pending_steps(revision: str | None) -> list[Step]:
    """The migrations a database at `revision` still needs, oldest first."""
    steps = all_steps()
    if revision is None:
        return steps
    names = [s.revision for s in steps]
    if revision not in names:
        raise AlmacleanError(f"the database is at schema {revision}, which this almaclean does not know: it was "
                             "written by a newer almaclean; use that version (or restore a backup)")
    return steps[names.index(revision) + 1:]


def holds_data(conn: Connection) -> bool:
    """Whether any table of a user's data has a row (a new or empty database does not)."""
    names = set(inspect(conn).get_table_names())
    return any(conn.execute(select(1).select_from(table(name)).limit(1)).first() is not None
               for name in DATA_TABLES if name in names)


@dataclass(frozen=True)
class Plan:
    """What `upgrade` would do to a database: its revision, the pending migrations, the rows the
    rewriting ones rewrite (revision -> rows) and whether the database holds data."""

    revision: str | None
    steps: list[Step]
    rows: dict[str, int]
    has_data: bool

    @property
    def rewriting(self) -> list[Step]:
        return [s for s in self.steps if s.rewrites] if self.has_data else []

    @property
    def seconds(self) -> float:
        return sum(s.seconds(self.rows.get(s.revision, 0)) for s in self.rewriting)

    def describe(self) -> list[str]:
        """Each pending migration in a line: what it does and, when it rewrites, how much."""
        lines = []
        for s in self.steps:
            rows = self.rows.get(s.revision, 0)
            cost = (f": rewrites {s.rewrites} ({rows:,} rows, about {duration(s.seconds(rows))})"
                    if s in self.rewriting else "")
            lines.append(f"{s.revision} {s.title}{cost}")
        return lines


def plan(engine: Engine) -> Plan:
    with engine.connect() as conn:
        revision = _known(engine, current_revision(conn))
        if revision == HEAD:
            return Plan(revision, [], {}, holds_data(conn))
        steps = pending_steps(revision)
        has_data = holds_data(conn)
        rows = {s.revision: s.rows(conn) for s in steps if s.rewrites and has_data}
    return Plan(revision, steps, rows, has_data)


def duration(seconds: float) -> str:
    if seconds < 60:
        return f"{max(seconds, 1):.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


StepHook = Callable[[Step, float], None]


def upgrade(engine: Engine, *, allow_rewrites: bool = False, on_step: StepHook | None = None) -> list[str]:
    """Bring the database to HEAD, one migration per write transaction (an interrupted upgrade
    keeps every completed migration; a concurrent process waits, then finds nothing left to do).

    Without allow_rewrites, a database holding data that needs a migration which rewrites
    tables is left as it is: UpgradeNeeded says to run `almaclean db upgrade`. Returns the
    revisions applied; on_step(step, seconds) is told of each as it completes. An empty SQLite
    database after the process's first is made in one transaction from _sqlite_head_dump()."""
    global _migrated_an_empty_sqlite
    try:
        current = plan(engine)
        if current.rewriting and not allow_rewrites:
            raise UpgradeNeeded(needs_upgrade_message(engine, current))
        empty_sqlite = (on_step is None and current.revision is None and not current.has_data
                        and engine.dialect.name == "sqlite")
        if empty_sqlite and _migrated_an_empty_sqlite and _made_from_head_dump(engine):
            log.info("database %s made at schema %s", _name(engine), HEAD)
            return [step.revision for step in current.steps]
        applied = []
        for step in current.steps:
            started = time.monotonic()
            if _apply(engine, step, "upgrade"):
                applied.append(step.revision)
                seconds = time.monotonic() - started
                log.info("database %s: migration %s applied in %.1f s", _name(engine), step.revision, seconds)
                if on_step is not None:
                    on_step(step, seconds)
        if applied:
            log.info("database %s upgraded from schema %s to %s", _name(engine), current.revision or "(none)", HEAD)
        if empty_sqlite and applied:
            _migrated_an_empty_sqlite = True
        return applied
    except AlmacleanError:
        raise
    except (SQLAlchemyError, OSError) as exc:  # an unreachable server, a read-only or damaged file
        from almaclean.store.connection import database_error

        raise database_error(exc, _name(engine)) from exc
    except Exception as exc:  # Alembic's own failures: say which database
        raise AlmacleanError(f"cannot prepare the database {_name(engine)}: {exc}") from exc


# Whether this process has brought an empty SQLite database to HEAD through the migrations. From
# the second one on, an empty SQLite database is made from _sqlite_head_dump() in one transaction:
# a test run makes hundreds, and the migrations cost about 60 ms each time, the dump 8 ms.
_migrated_an_empty_sqlite = False


@cache
def _sqlite_head_dump() -> tuple[str, ...]:
    """A private in-memory SQLite database brought to HEAD by the migrations, as the statements
    that make it again (sqlite3's iterdump: its tables and their rows, then indexes, triggers and
    views), without the dump's own transaction and pragmas."""
    from sqlalchemy import create_engine

    engine = create_engine("sqlite://")
    try:
        for step in all_steps():
            _apply(engine, step, "upgrade")
        raw = engine.raw_connection()
        try:
            return tuple(statement for statement in raw.driver_connection.iterdump()
                         if not statement.startswith(("BEGIN TRANSACTION", "COMMIT", "PRAGMA")))
        finally:
            raw.close()
    finally:
        engine.dispose()


def _made_from_head_dump(engine: Engine) -> bool:
    """An empty SQLite database made at HEAD from the dump; False when another process made its
    schema meanwhile (the migrations then find nothing, or what is left, to do)."""
    from almaclean.store.connection import write_transaction

    with write_transaction(engine) as conn:
        if conn.exec_driver_sql("SELECT count(*) FROM sqlite_master").scalar():
            return False
        for statement in _sqlite_head_dump():
            conn.exec_driver_sql(statement)
    return True


def _apply(engine: Engine, step: Step, direction: str, target: str | None = None) -> bool:
    """One migration in its own write transaction; False when another process did it meanwhile.
    The migration's own function runs with Alembic's operations on our connection, and the
    version is stamped in the same transaction."""
    from alembic.operations import Operations
    from alembic.runtime.migration import MigrationContext

    from almaclean.store.connection import write_transaction

    names = [s.revision for s in all_steps()]
    before = names[names.index(step.revision) - 1] if names.index(step.revision) else None
    with write_transaction(engine) as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(select(func.pg_advisory_xact_lock(PG_MIGRATION_LOCK)))
        revision = current_revision(conn)
        if revision != (before if direction == "upgrade" else step.revision):
            return False
        context = MigrationContext.configure(conn)
        with Operations.context(context):
            (step.module.upgrade if direction == "upgrade" else step.module.downgrade)()
        context.stamp(_script(), step.revision if direction == "upgrade" else (target or "base"))
    return True


def downgrade(engine: Engine, target: str, *, on_step: StepHook | None = None) -> list[str]:
    """Undo the migrations after `target` (a revision, or "base"), newest first, each in its own
    transaction. A migration that cannot be undone in place raises MigrationRefused, leaving the
    database at that migration."""
    steps = all_steps()
    names = [s.revision for s in steps]
    if target != "base" and target not in names:
        raise AlmacleanError(f"no schema revision {target!r}: the revisions are {', '.join(names)}")
    with engine.connect() as conn:
        revision = current_revision(conn)
    if revision is None:
        return []
    stop = names.index(target) if target != "base" else -1
    undone = []
    for index in range(names.index(revision), stop, -1):
        started = time.monotonic()
        previous = names[index - 1] if index else "base"
        try:
            _apply(engine, steps[index], "downgrade", previous)
        except MigrationRefused:
            raise
        except Exception as exc:
            refused = _refusal(exc)
            if refused is not None:
                raise refused from exc
            raise
        undone.append(steps[index].revision)
        if on_step is not None:
            on_step(steps[index], time.monotonic() - started)
    return undone


def _refusal(exc: BaseException) -> MigrationRefused | None:
    while exc is not None:
        if isinstance(exc, MigrationRefused):
            return exc
        exc = exc.__cause__ or exc.__context__
    return None


def needs_upgrade_message(engine: Engine, current: Plan) -> str:
    steps = current.rewriting
    names = ", ".join(s.revision for s in steps[:-1]) + (" and " if len(steps) > 1 else "") + steps[-1].revision
    what = "; ".join(s.rewrites for s in steps)
    return (f"the database {_name(engine)} (schema {current.revision or 'from before schema versions'}) needs "
            f"`almaclean db upgrade` before this almaclean (schema {HEAD}) can write to it: "
            f"{'migrations' if len(steps) > 1 else 'migration'} {names} rewrite{'' if len(steps) > 1 else 's'} "
            f"{what} (about {duration(current.seconds)}). `db upgrade` backs a SQLite database up first; "
            "nothing was changed")


def _name(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)
