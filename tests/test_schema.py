"""The storage schema holds every canonical column each reader produces."""
from __future__ import annotations

from sqlalchemy import inspect

from almaclean.kinds import KINDS, canonical_columns
from almaclean.store.db import make_engine
from almaclean.store.ingest import TABLE_OF_KIND


def test_every_kind_has_a_table_with_its_canonical_columns(db_url):
    engine = make_engine(db_url)
    inspector = inspect(engine)
    for kind in KINDS:
        stored = {c["name"] for c in inspector.get_columns(TABLE_OF_KIND[kind])}
        assert set(canonical_columns(kind)) <= stored, kind


def test_schema_creation_is_idempotent(db_url):
    make_engine(db_url)
    make_engine(db_url)  # a second process starting on the same database changes nothing
