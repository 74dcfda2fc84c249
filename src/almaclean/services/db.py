"""Database upkeep: schema upgrade and retention."""
from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine

from almaclean.errors import AlmacleanError, InputError
from almaclean.services import options
from almaclean.store import schema
from almaclean.store.db import describe, sqlite_file
from almaclean.store.prune import Pruned, prune
from almaclean.store.schema import HEAD


@dataclass(frozen=True)
class PruneRun:
    database: str
    keep_days: int
    pruned: Pruned

    def lines(self) -> list[str]:
        p = self.pruned
        return [f"database: {self.database}",
                f"removed {p.files:,} stored file(s) ({p.rows:,} rows) ingested more than {self.keep_days} day(s) ago "
                "and superseded since",
                f"kept {p.kept_for_runs:,} such file(s) that recorded runs analysed (so those runs still verify); "
                "current files are always kept"]

    def as_json(self) -> dict:
        return {"command": "db prune", "database": self.database, "keep_days": self.keep_days,
                "files_removed": self.pruned.files, "rows_removed": self.pruned.rows,
                "kept_for_runs": self.pruned.kept_for_runs}


MAX_KEEP_DAYS = 36_500   # a hundred years


def prune_history(engine: Engine, keep_days: int) -> PruneRun:
    options.whole_number("--keep-days", keep_days, 0, MAX_KEEP_DAYS)
    return PruneRun(describe(engine), keep_days, prune(engine, keep_days))


Say = Callable[[str], None]


@dataclass(frozen=True)
class SchemaRun:
    """What `db upgrade` / `db downgrade` did: the schema before and after, the backup written,
    each migration with its time."""

    command: str
    database: str
    before: str | None
    after: str | None
    backup: Path | None
    steps: list[tuple[str, float]]
    plan_lines: list[str]
    seconds: float

    def lines(self) -> list[str]:
        out = [f"database: {self.database}"]
        if not self.steps:
            out.append(f"schema {self.before}: nothing to do" + (" (the newest)" if self.after == HEAD else ""))
            return out
        if self.backup is not None:
            out.append(f"backup: {self.backup} ({self.backup.stat().st_size / 1e6:,.1f} MB, schema {self.before}); "
                       f"to go back to it, stop every almaclean job and copy it over the database file")
        done = ", ".join(f"{revision} in {seconds:.1f} s" for revision, seconds in self.steps)
        verb = "upgraded" if self.command == "db upgrade" else "downgraded"
        out.append(f"{verb} from schema {self.before or '(none)'} to {self.after} in {self.seconds:.1f} s: {done}")
        return out

    def as_json(self) -> dict:
        return {"command": self.command, "database": self.database, "schema_before": self.before,
                "schema_after": self.after, "backup": str(self.backup) if self.backup else None,
                "migrations": [{"revision": r, "seconds": s} for r, s in self.steps], "plan": self.plan_lines,
                "seconds": self.seconds}


def upgrade_database(engine: Engine, *, i_have_a_backup: bool = False, backup_dir: Path | None = None,
                     say: Say | None = None) -> SchemaRun:
    """`almaclean db upgrade`: every pending migration, one transaction each, after a backup when
    one of them rewrites tables (SQLite: VACUUM INTO a new file; other databases: refused unless
    the user says a backup exists). Run again after an interruption, it goes on from the last
    completed migration."""
    say = say or (lambda _text: None)
    started = time.monotonic()
    current = schema.plan(engine)
    if not current.steps:
        return SchemaRun("db upgrade", describe(engine), current.revision, current.revision, None, [], [], 0.0)
    plan_lines = current.describe()
    say(f"{describe(engine)}: schema {current.revision or '(none)'} -> {HEAD}, {len(current.steps)} migration(s)"
        + (f", about {schema.duration(current.seconds)}" if current.rewriting else ""))
    for line in plan_lines:
        say(f"  {line}")
    backup = _backup_first(engine, current.revision, i_have_a_backup, backup_dir, say) if current.rewriting else None
    steps: list[tuple[str, float]] = []

    def done(step: schema.Step, seconds: float) -> None:
        steps.append((step.revision, seconds))
        say(f"  {step.revision} done in {seconds:.1f} s")

    try:
        schema.upgrade(engine, allow_rewrites=True, on_step=done)
    except AlmacleanError as exc:
        reached = steps[-1][0] if steps else current.revision
        raise AlmacleanError(f"{exc} (the database is at schema {reached or '(none)'}: every migration before the "
                             "failing one is complete; run `almaclean db upgrade` again to go on)") from exc
    return SchemaRun("db upgrade", describe(engine), current.revision, HEAD, backup, steps, plan_lines,
                     time.monotonic() - started)


def downgrade_database(engine: Engine, target: str, *, i_have_a_backup: bool = False,
                       backup_dir: Path | None = None, say: Say | None = None) -> SchemaRun:
    """`almaclean db downgrade REVISION`: undo the migrations after REVISION, newest first, after
    a backup as for an upgrade. A migration that cannot be undone in place stops it with what
    to do instead (schema.MigrationRefused, exit 2)."""
    say = say or (lambda _text: None)
    started = time.monotonic()
    with engine.connect() as conn:
        before = schema.current_revision(conn)
    names = [s.revision for s in schema.all_steps()]
    if target != "base" and target not in names:
        raise InputError(f"no schema revision {target!r}: the revisions are {', '.join(names)}")
    if before is None or (target != "base" and names.index(target) >= names.index(before)):
        return SchemaRun("db downgrade", describe(engine), before, before, None, [], [], 0.0)
    backup = _backup_first(engine, before, i_have_a_backup, backup_dir, say)
    steps: list[tuple[str, float]] = []

    def done(step: schema.Step, seconds: float) -> None:
        steps.append((step.revision, seconds))
        say(f"  {step.revision} undone in {seconds:.1f} s")

    schema.downgrade(engine, target, on_step=done)
    return SchemaRun("db downgrade", describe(engine), before, None if target == "base" else target, backup, steps,
                     [], time.monotonic() - started)


def _backup_first(engine: Engine, revision: str | None, i_have_a_backup: bool, backup_dir: Path | None,
                  say: Say) -> Path | None:
    """SQLite: a copy of the database (VACUUM INTO) beside it or in backup_dir; other databases:
    InputError unless the user has made a backup (almaclean cannot make one there)."""
    path = sqlite_file(engine.url)
    if engine.dialect.name != "sqlite":
        if i_have_a_backup:
            return None
        url = engine.url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
        raise InputError(
            f"this changes tables of {describe(engine)}, and almaclean does not back up a {engine.dialect.name} "
            f"database itself: back it up first, e.g. `pg_dump --format=custom --file=almaclean-schema-"
            f"{revision or 'none'}.dump '{url}'`, then run the command again with --i-have-a-backup")
    if path is None:  # an in-memory database: nothing outlives the process anyway
        return None
    folder = Path(backup_dir) if backup_dir is not None else path.parent
    if not folder.is_dir():
        raise InputError(f"{folder}: no such folder for the backup")
    size = path.stat().st_size + sum(p.stat().st_size for p in (Path(f"{path}-wal"),) if p.exists())
    free = shutil.disk_usage(folder).free
    if free < size * 1.1:
        raise AlmacleanError(f"not enough free space in {folder} for a backup of {path} ({size / 1e6:,.0f} MB "
                             f"needed, {free / 1e6:,.0f} MB free): free some, or give --backup-dir")
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    target = folder / f"{path.name}.backup-{revision or 'none'}-{stamp}"
    partial = target.with_name(f".{target.name}.partial")
    say(f"backing the database up to {target} ({size / 1e6:,.0f} MB)...")
    started = time.monotonic()
    raw = engine.raw_connection()
    try:
        partial.unlink(missing_ok=True)
        raw.driver_connection.execute("VACUUM INTO ?", (str(partial),))
    finally:
        raw.close()
    partial.rename(target)
    say(f"backup written in {time.monotonic() - started:.1f} s")
    return target
