"""Alembic environment: run by almaclean.store.schema (upgrade, downgrade) on a connection it
holds, one migration per transaction. `almaclean db upgrade` and `almaclean db downgrade` are
the commands; the plain `alembic` command has no database to work on here."""
from alembic import context

connection = context.config.attributes.get("connection")
if connection is None:
    raise SystemExit("almaclean's migrations run through `almaclean db upgrade` and `almaclean db downgrade "
                     "REVISION` (they back the database up first and run one migration per transaction), "
                     "not through the alembic command")
context.configure(connection=connection, transactional_ddl=True)
with context.begin_transaction():
    context.run_migrations()
