"""Alembic environment: run by almaclean.store.schema (upgrade, downgrade) on a connection it
holds, one migration per transaction. `almaclean db upgrade` and `almaclean db downgrade` are
the commands; the plain `alembic` command has no database to work on here. tests/test_schema_tables.py
runs `alembic check` through it: a database the migrations built against store/tables.py."""
from alembic import context

connection = context.config.attributes.get("connection")
if connection is None:
    raise SystemExit("almaclean's migrations run through `almaclean db upgrade` and `almaclean db downgrade "
                     "REVISION` (they back the database up first and run one migration per transaction), "
                     "not through the alembic command")
from almaclean.store.tables import metadata  # noqa: E402


def _without_sqlite_key_nullability(context, revision, directives) -> None:
    """`alembic check` on SQLite: its reflection reports primary-key columns as nullable (an
    INTEGER PRIMARY KEY is the rowid and never NULL), which is no difference of schema."""
    if context.dialect.name != "sqlite" or not directives:
        return
    for upgrade_ops in directives[0].upgrade_ops_list:
        for table_ops in upgrade_ops.ops:
            table = metadata.tables.get(getattr(table_ops, "table_name", None))
            if table is None or not hasattr(table_ops, "ops"):
                continue
            table_ops.ops = [op for op in table_ops.ops
                             if not (op.__class__.__name__ == "AlterColumnOp" and op.modify_nullable is not None
                                     and op.column_name in table.primary_key.columns
                                     and op.modify_type is None and op.modify_server_default is False)]
        upgrade_ops.ops = [op for op in upgrade_ops.ops if not (hasattr(op, "ops") and not op.ops)]


context.configure(connection=connection, transactional_ddl=True, target_metadata=metadata,
                  include_name=lambda name, type_, parent: type_ != "table" or name != "alembic_version",
                  process_revision_directives=_without_sqlite_key_nullability)
with context.begin_transaction():
    context.run_migrations()
