"""The storage schema holds every canonical column each reader produces."""
from __future__ import annotations

import pytest
from sqlalchemy import inspect

from almaclean.errors import AlmacleanError

from almaclean.kinds import KIND_NAMES, canonical_columns
from almaclean.store.db import open_database
from almaclean.store.ingest import TABLE_OF_KIND


def test_every_kind_has_a_table_with_its_key_and_its_other_canonical_columns_packed(db_url):
    from almaclean.kinds.registry import BY_NAME
    from almaclean.store.fields import FIELDS

    engine = open_database(db_url)
    inspector = inspect(engine)
    for kind in KIND_NAMES:
        table, key = TABLE_OF_KIND[kind], BY_NAME[kind].key
        stored = [c["name"] for c in inspector.get_columns(table)]
        assert stored == ["row_id", "hash_a", "hash_b", key, "fields", "raw_cells"], kind
        # a canonical column added to a reader must be added (at the end) to what is stored
        assert sorted(FIELDS[table]) == sorted(set(canonical_columns(kind)) - {key}), kind


def test_the_packed_layout_only_grows_at_its_end():
    """Rows converted by migration 0008 (and stored since) read through fields.FIELDS: each
    table's layout there must start with the layout 0008 wrote."""
    import importlib.util

    from almaclean.store import schema
    from almaclean.store.fields import FIELDS

    path = schema.MIGRATIONS / "versions" / "0008_packed_fields.py"
    spec = importlib.util.spec_from_file_location("packed_fields_migration", path)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    for table, layout in migration.LAYOUT.items():
        assert FIELDS[table][:len(layout)] == layout, table


def test_schema_creation_is_idempotent(db_url):
    """A second process opening a database already made changes nothing: same schema version,
    same tables and columns, what was stored still there."""
    from sqlalchemy import text

    from almaclean.store.db import open_database, write_transaction

    def layout(engine):
        inspector = inspect(engine)
        with engine.connect() as conn:
            version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
            institutions = conn.execute(text("SELECT code FROM institutions")).scalars().all()
        tables = {t: [c["name"] for c in inspector.get_columns(t)] for t in inspector.get_table_names()}
        return version, tables, institutions

    first = open_database(db_url)
    with write_transaction(first) as conn:
        conn.execute(text("INSERT INTO institutions (code, created_at) VALUES ('EDU01', 'now')"))
    before = layout(first)
    first.dispose()
    second = open_database(db_url)
    try:
        assert layout(second) == before
        assert before[2] == ["EDU01"] and "alembic_version" in before[1]
    finally:
        second.dispose()


def _sqlite_contents(path) -> tuple[list, dict]:
    """Every schema object as SQLite keeps its SQL, and every table's rows."""
    import sqlite3

    with sqlite3.connect(path) as conn:
        objects = sorted(conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master").fetchall(), key=str)
        rows = {name: sorted(conn.execute(f'SELECT * FROM "{name}"').fetchall(), key=str)
                for kind, name, _, _ in objects if kind == "table"}
    return objects, rows


def test_an_empty_sqlite_database_made_from_the_dump_is_the_one_the_migrations_make(tmp_path, monkeypatch, caplog):
    """After a process's first empty SQLite database, the next ones are made from a dump of the
    migrations' result: the same tables, indexes, views and rows, at the same version; and a
    database that is not empty is never made from it."""
    from almaclean.store import schema

    monkeypatch.setattr(schema, "_migrated_an_empty_sqlite", False)
    by_migrations = tmp_path / "migrations.db"
    open_database(f"sqlite:///{by_migrations}").dispose()
    assert schema._migrated_an_empty_sqlite  # the next empty one comes from the dump
    from_dump = tmp_path / "dump.db"
    with caplog.at_level("INFO", logger="almaclean.store.schema"):
        engine = open_database(f"sqlite:///{from_dump}")
    assert f"made at schema {schema.HEAD}" in caplog.text and "upgraded" not in caplog.text
    assert schema.is_current(engine)
    engine.dispose()
    objects, rows = _sqlite_contents(by_migrations)
    assert _sqlite_contents(from_dump) == (objects, rows)
    assert {kind for kind, *_ in objects} == {"table", "index", "view"} and rows["alembic_version"] == [(schema.HEAD,)]

    import sqlite3

    with sqlite3.connect(tmp_path / "not-empty.db") as conn:
        conn.execute("CREATE TABLE someone_elses (x)")
    assert not schema._made_from_head_dump(open_database(f"sqlite:///{tmp_path / 'not-empty.db'}", migrate=False))


def test_a_database_made_before_schema_versions_is_upgraded_and_keeps_its_files(tmp_path):
    """The first almaclean versions created the tables with no alembic_version: such a database
    holding data waits for `almaclean db upgrade` (its migrations rewrite tables), which backs it
    up and brings it to the newest schema; what it held reads as before."""
    import sqlite3
    from pathlib import Path

    from almaclean.store import schema
    from almaclean.store.ingest import ingest_file
    from almaclean.store.load import current_frame
    from almaclean.store.sqlfiles import schema_statements

    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:
        for statement in schema_statements("sqlite"):
            conn.execute(statement)
        conn.execute("INSERT INTO institutions VALUES ('OLD', '2025-01-01')")
        conn.execute("INSERT INTO source_files (institution_code, kind, scope, file_name, file_size, sha256, "
                     "row_count, format, encoding, header_json, column_count, first_row, ingested_at, tool_version) "
                     "VALUES ('OLD', 'portfolios', 'all', 'p.csv', 1, 'abc', 1, 'csv', 'utf-8', "
                     "'[\"Portfolio Id\", \"MMS Id\"]', 2, 2, '2025-01-01', '0.1.0')")
        conn.execute("INSERT INTO portfolios (source_file_id, row_number, portfolio_id, mms_id) "
                     "VALUES (1, 2, '531000000000000001', '991000000000000001')")
    url = f"sqlite:///{path}"
    with pytest.raises(schema.UpgradeNeeded, match="needs `almaclean db upgrade`.*nothing was changed") as refused:
        open_database(url)
    assert refused.value.exit_code == 2
    from almaclean.services.db import upgrade_database

    run = upgrade_database(open_database(url, migrate=False))
    assert run.backup is not None and run.backup.parent == tmp_path and run.backup.stat().st_size > 0
    engine = open_database(url)
    with engine.connect() as conn:
        assert schema.current_revision(conn) == schema.HEAD
    assert "columns_json" in {c["name"] for c in inspect(engine).get_columns("source_files")}
    assert current_frame(engine, "OLD", "portfolios")["portfolio_id"].to_list() == ["531000000000000001"]
    csv = tmp_path / "new.csv"
    csv.write_text("Portfolio Id,MMS Id\n531000000000000002,991000000000000002\n", encoding="utf-8")
    assert ingest_file(engine, "portfolios", Path(csv), "OLD").status == "stored"


def test_head_is_the_newest_migration():
    from almaclean.store import schema

    names = sorted(p.name for p in (schema.MIGRATIONS / "versions").glob("[0-9]*.py"))
    assert names[-1].startswith(schema.HEAD + "_")


@pytest.mark.alone
def test_readers_need_no_write_access_and_wait_for_no_writer(tmp_path):
    """status opens a read-only database file, and answers at once while another process holds
    a write transaction."""
    import subprocess
    import sys
    import time

    from almaclean.store.db import open_database
    from almaclean.store.load import stored_status

    url = f"sqlite:///{tmp_path / 'a.db'}"
    open_database(url).dispose()
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sqlite3, sys, time; c = sqlite3.connect(sys.argv[1], isolation_level=None); "
         "c.execute('BEGIN IMMEDIATE'); c.execute(\"INSERT INTO institutions VALUES ('X', 'now')\"); "
         "print('locked', flush=True); time.sleep(30)", str(tmp_path / "a.db")],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        started = time.monotonic()
        assert stored_status(open_database(url, read_only=True)).is_empty()
        assert time.monotonic() - started < 5
    finally:
        holder.kill()
        holder.wait()
    # A read-only open never writes: the database file keeps its bytes (as root, file modes
    # cannot show this, so the bytes are compared).
    open_database(url).dispose()
    before = (tmp_path / "a.db").read_bytes()
    engine = open_database(url, read_only=True)
    assert stored_status(engine).is_empty()
    engine.dispose()
    assert (tmp_path / "a.db").read_bytes() == before
    with pytest.raises(AlmacleanError, match="nothing stored yet"):
        open_database(f"sqlite:///{tmp_path / 'none.db'}", read_only=True)
    assert not (tmp_path / "none.db").exists()
