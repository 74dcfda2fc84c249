"""Alembic environment: always run by almaclean.store.schema.upgrade on a connection it holds."""
from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection, transactional_ddl=True)
with context.begin_transaction():
    context.run_migrations()
