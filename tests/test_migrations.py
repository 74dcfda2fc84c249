"""The migration chain on SQLite and PostgreSQL: every migration goes up and comes back down (or
refuses with what to do), additive ones apply on open, ones that rewrite tables wait for
`almaclean db upgrade`, which backs up first and can be resumed."""
from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import create_engine, inspect, text

from almaclean.cli import main
from almaclean.store import schema
from almaclean.store.db import open_database
from conftest import upgraded_to


def revision_of(engine) -> str | None:
    with engine.connect() as conn:
        return schema.current_revision(conn)


def layout(engine) -> dict:
    """Tables with their columns (name, nullable), indexes and views: what a migration changes."""
    inspector = inspect(engine)
    tables = {t: ([(c["name"], c["nullable"]) for c in inspector.get_columns(t)],
                  sorted((i["name"], tuple(i["column_names"])) for i in inspector.get_indexes(t)))
              for t in inspector.get_table_names() if t != "alembic_version"}
    return {"tables": tables, "views": sorted(inspector.get_view_names())}


def emptied(url: str):
    """The database at url with nothing in it (a new file, or a new schema on PostgreSQL)."""
    engine = create_engine(url)
    if engine.dialect.name == "sqlite":
        engine.dispose()
        path = engine.url.database
        for suffix in ("", "-wal", "-shm"):
            __import__("pathlib").Path(path + suffix).unlink(missing_ok=True)
        return create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    return engine


def test_the_migrations_are_one_chain_ending_at_head():
    steps = schema.all_steps()
    assert [s.revision for s in steps] == [f"{n:04d}" for n in range(1, len(steps) + 1)]
    assert steps[-1].revision == schema.HEAD
    for step in steps:
        assert callable(step.module.upgrade) and callable(step.module.downgrade), step.revision
        if step.rewrites:
            assert callable(step.module.rows_to_rewrite) and step.module.ROWS_PER_SECOND > 0, step.revision
    # the migrations that rebuild tables or rewrite every row say so; the others only add
    assert [s.revision for s in steps if s.rewrites] == ["0007", "0008", "0011", "0012"]


def test_every_migration_comes_back_down_or_refuses_saying_what_to_do(db_url):
    steps = [s.revision for s in schema.all_steps()]
    layouts = {}
    engine = emptied(db_url)
    for revision in steps:
        engine = upgraded_to(db_url, revision)
        layouts[revision] = layout(engine)
        engine.dispose()
    layouts["base"] = {"tables": {}, "views": []}
    for index, revision in enumerate(steps):
        emptied(db_url).dispose()
        engine = upgraded_to(db_url, revision)
        below = steps[index - 1] if index else "base"
        try:
            undone = schema.downgrade(engine, below)
        except schema.MigrationRefused as refused:
            assert "backup" in str(refused) or "remove the database" in str(refused), revision
            assert revision_of(engine) == revision and layout(engine) == layouts[revision]
            engine.dispose()
            continue
        assert undone == [revision]
        assert layout(engine) == layouts[below], revision
        engine.dispose()
        engine = upgraded_to(db_url, revision)  # and up again
        assert layout(engine) == layouts[revision], revision
        engine.dispose()
    refusing = {"0001", "0007", "0008", "0012"}
    assert refusing == {r for r in steps if _refuses(r)}


def _refuses(revision: str) -> bool:
    step = next(s for s in schema.all_steps() if s.revision == revision)
    try:
        step.module.downgrade()
    except schema.MigrationRefused:
        return True
    except Exception:  # no migration context outside alembic: it would have run
        return False
    return False


def _with_a_stored_file(url: str, tmp_path, revision: str):
    """A database at `revision` (0008 or later: the content layout) holding one stored export."""
    from almaclean.store.ingest import ingest_file

    engine = upgraded_to(url, revision)
    path = tmp_path / "portfolios.csv"
    path.write_text("Portfolio Id,MMS Id,Title\n531000000000000001,991000000000000001,Revue d'études\n"
                    "531000000000000002,991000000000000002,\n", encoding="utf-8")
    ingest_file(engine, "portfolios", path, "UNI")
    return engine, path


def test_an_empty_database_takes_every_migration_on_open(db_url):
    engine = upgraded_to(db_url, "0006")
    engine.dispose()
    assert revision_of(open_database(db_url)) == schema.HEAD


def test_a_rewriting_migration_waits_for_db_upgrade_and_other_commands_exit_2(db_url, tmp_path, capsys):
    engine, path = _with_a_stored_file(db_url, tmp_path, "0008")
    before = layout(engine)
    with pytest.raises(schema.UpgradeNeeded, match=r"needs `almaclean db upgrade`.*0011 and 0012 rewrite"):
        open_database(db_url)
    assert main(["ingest", "portfolios", str(path), "--institution", "UNI", "--db", db_url]) == 2
    assert "almaclean db upgrade" in capsys.readouterr().err
    assert revision_of(engine) == "0008" and layout(engine) == before


def test_additive_migrations_apply_on_open(db_url, tmp_path, monkeypatch):
    """With data stored, the migrations that only add are applied by any writing command."""
    engine, _ = _with_a_stored_file(db_url, tmp_path, "0008")
    engine.dispose()
    for step in schema.all_steps():
        if step.revision in ("0011", "0012"):
            monkeypatch.setattr(step.module, "REWRITES", None)
    engine = open_database(db_url)
    assert revision_of(engine) == schema.HEAD
    assert {"fetched_reports", "run_leases", "content_codecs"} <= set(inspect(engine).get_table_names())  # 0009-13
    assert {"portfolios_unpacked", "current_files"} <= set(inspect(engine).get_view_names())  # 0013, 0006


def test_db_upgrade_backs_sqlite_up_first_and_goes_on_after_an_interruption(tmp_path, monkeypatch, capsys):
    from almaclean.store.load import raw_table
    from almaclean.read.table import read_table

    url = f"sqlite:///{tmp_path / 'almaclean.db'}"
    engine, path = _with_a_stored_file(url, tmp_path, "0008")
    engine.dispose()
    step = next(s for s in schema.all_steps() if s.revision == "0012")

    def interrupted():
        raise RuntimeError("the machine went down")

    monkeypatch.setattr(step.module, "upgrade", interrupted)
    assert main(["db", "upgrade", "--db", url]) == 1
    err = capsys.readouterr().err
    assert "0011 Stable content hashes" in err and "rewrites the content hash of every stored row (2 rows, about" in err
    assert "backing the database up to" in err
    assert "at schema 0011" in err and "run `almaclean db upgrade` again to go on" in err
    (first_backup,) = tmp_path.glob("almaclean.db.backup-0008-*")
    with sqlite3.connect(first_backup) as backup:
        assert backup.execute("SELECT version_num FROM alembic_version").fetchone() == ("0008",)
        assert backup.execute("SELECT COUNT(*) FROM portfolios").fetchone() == (2,)
    engine = create_engine(url)
    assert revision_of(engine) == "0011"
    engine.dispose()

    monkeypatch.undo()
    assert main(["--json", "db", "upgrade", "--db", url]) == 0
    out = capsys.readouterr().out
    assert '"schema_before": "0011"' in out and f'"schema_after": "{schema.HEAD}"' in out
    assert len(list(tmp_path.glob("almaclean.db.backup-0011-*"))) == 1
    engine = open_database(url)
    assert revision_of(engine) == schema.HEAD
    assert raw_table(engine, 1).frame.equals(read_table(path).frame)
    assert main(["db", "upgrade", "--db", url]) == 0
    assert "nothing to do (the newest)" in capsys.readouterr().out


def test_db_upgrade_on_postgresql_asks_for_a_backup_first(db_url, tmp_path, capsys):
    if not db_url.startswith("postgresql"):
        pytest.skip("the PostgreSQL refusal")
    engine, _ = _with_a_stored_file(db_url, tmp_path, "0008")
    assert main(["db", "upgrade", "--db", db_url]) == 2
    err = capsys.readouterr().err
    assert "pg_dump --format=custom" in err and "--i-have-a-backup" in err and "postgresql://" in err
    assert revision_of(engine) == "0008"
    assert main(["db", "upgrade", "--db", db_url, "--i-have-a-backup"]) == 0
    assert revision_of(engine) == schema.HEAD
    engine.dispose()


def test_db_downgrade_undoes_additive_migrations_and_refuses_the_others(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'almaclean.db'}"
    engine, _ = _with_a_stored_file(url, tmp_path, "0011")
    assert main(["db", "downgrade", "0009", "--db", url]) == 0   # the content hashes, then the run leases
    assert "downgraded from schema 0011 to 0009 in" in capsys.readouterr().out
    assert revision_of(engine) == "0009"
    assert not inspect(engine).has_table("run_leases")
    assert main(["db", "downgrade", "0006", "--db", url]) == 2
    assert "cannot be undone in place" in capsys.readouterr().err
    assert revision_of(engine) == "0008"
    assert len(list(tmp_path.glob("almaclean.db.backup-*"))) == 2
    engine.dispose()


def test_the_plain_alembic_command_says_what_to_run_instead(tmp_path):
    import subprocess
    import sys

    from almaclean.store.schema import MIGRATIONS

    ini = tmp_path / "alembic.ini"
    ini.write_text(f"[alembic]\nscript_location = {MIGRATIONS}\n", encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "alembic", "-c", str(ini), "downgrade", "-1"],
                          capture_output=True, text=True)
    assert done.returncode != 0
    assert "almaclean db downgrade" in done.stderr and "Traceback" not in done.stderr
