"""The schema as SQLAlchemy Core tables: what the migrations build, in one place.

Every table the migrations create is defined here, as they left it on SQLite and on PostgreSQL
(`Id`: INTEGER on SQLite, whose rowid it is, BIGINT elsewhere). tests/test_schema_tables.py runs
`alembic check` against a database brought to the newest version: a migration and this module
that disagree fail it. Queries build on these objects; the migrations stay the record of how
each database got here.
"""
from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Integer, MetaData, Table, Text, UniqueConstraint

from almaclean.kinds.registry import KINDS

metadata = MetaData()

# A row id: SQLite's INTEGER PRIMARY KEY is its rowid; PostgreSQL's is 64-bit.
Id = BigInteger().with_variant(Integer(), "sqlite")

institutions = Table(
    "institutions", metadata,
    Column("code", Text, primary_key=True),
    Column("created_at", Text, nullable=False),
)

# One row per stored file: what it was, where it came from, and where its rows are.
source_files = Table(
    "source_files", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("institution_code", Text, ForeignKey("institutions.code"), nullable=False),
    Column("kind", Text, nullable=False),
    Column("scope", Text, nullable=False),
    Column("file_name", Text, nullable=False),
    Column("file_size", BigInteger, nullable=False),
    Column("sha256", Text, nullable=False),
    Column("row_count", Integer, nullable=False),
    Column("format", Text, nullable=False),
    Column("encoding", Text),
    Column("header_json", Text, nullable=False),
    Column("column_count", Integer, nullable=False),
    Column("first_row", Integer, nullable=False),
    Column("ingested_at", Text, nullable=False),
    Column("tool_version", Text, nullable=False),
    Column("columns_json", Text),
    Column("current_order", BigInteger),
    Column("content_rows", BigInteger),
    UniqueConstraint("institution_code", "kind", "sha256"),
    Index("source_files_scope", "institution_code", "kind", "scope"),
)

raw_columns = Table(
    "raw_columns", metadata,
    Column("source_file_id", BigInteger, ForeignKey("source_files.id"), primary_key=True),
    Column("column_position", Integer, primary_key=True),
    Column("canonical_column", Text, nullable=False),
)

file_ingests = Table(
    "file_ingests", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("source_file_id", BigInteger, ForeignKey("source_files.id"), nullable=False),
    Column("ingested_at", Text, nullable=False),
    Column("status", Text, nullable=False),
)

file_spans = Table(
    "file_spans", metadata,
    Column("source_file_id", BigInteger, ForeignKey("source_files.id"), primary_key=True),
    Column("first_row", Integer, primary_key=True),
    Column("first_id", BigInteger, nullable=False),
    Column("row_count", Integer, nullable=False),
)


def _content_table(name: str, key: str) -> Table:
    """A kind's stored rows: content hash, key column, the other canonical columns packed
    (store.content), the raw cells as read."""
    return Table(
        name, metadata,
        Column("row_id", Id, primary_key=True),
        Column("hash_a", BigInteger),
        Column("hash_b", BigInteger),
        Column(key, Text, nullable=False),
        Column("fields", Text, nullable=False),
        Column("raw_cells", Text),
    )


CONTENT: dict[str, Table] = {kind.name: _content_table(kind.table, kind.key) for kind in KINDS}
CONTENT_TABLES: dict[str, Table] = {table.name: table for table in CONTENT.values()}   # by table name

# The codec version of each content table's `fields` (store/fields.py), checked before rows are
# read or written.
content_codecs = Table(
    "content_codecs", metadata,
    Column("content_table", Text, primary_key=True),
    Column("version", Integer, nullable=False),
)

fetched_reports = Table(
    "fetched_reports", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("institution_code", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("report", Text, nullable=False),
    Column("api_base", Text, nullable=False),
    Column("started_at", Text, nullable=False),
    Column("fetched_at", Text, nullable=False),
    Column("row_count", BigInteger, nullable=False),
    Column("pages", Integer, nullable=False),
    Column("source_file_id", BigInteger, ForeignKey("source_files.id"), nullable=False),
    Column("status", Text, nullable=False),
    Column("csv_file", Text, nullable=False),
    Index("fetched_reports_source", "source_file_id"),
)

run_ledger = Table(
    "run_ledger", metadata,
    Column("run_uuid", Text, primary_key=True),
    Column("workflow", Text, nullable=False),
    Column("folder_name", Text, nullable=False),
    Column("bundle_sha256", Text, nullable=False),
    Column("recorded_at", Text, nullable=False),
    Column("tool_version", Text, nullable=False),
    Column("source_file_ids", Text),
)

run_leases = Table(
    "run_leases", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("label", Text, nullable=False),
    Column("host", Text, nullable=False),
    Column("pid", Integer, nullable=False),
    Column("started_at", Text, nullable=False),
    Column("source_file_ids", Text, nullable=False),
)

nightly_runs = Table(
    "nightly_runs", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("institution_code", Text, nullable=False),
    Column("started_at", Text, nullable=False),
    Column("finished_at", Text),
    Column("tool_version", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("error", Text),
    Column("sources_json", Text),
    Column("findings", Integer),
    Index("nightly_runs_institution", "institution_code", "status"),
)

# Nightly findings, one row per version of a finding (docs/nightly.md): a P2E portfolio's outcome,
# keeper and evidence as from the succeeded run first_run_id of its institution until the run
# that ended it (until_run_id, exclusive; NULL while it is open), which ended it as 'changed'
# (a new version follows), 'resolved' or 'no longer a duplicate'. The findings of a run are the
# versions open at it; "still open" is never stored.
nightly_finding_versions = Table(
    "nightly_finding_versions", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("institution_code", Text, nullable=False),
    Column("portfolio_id", Text, nullable=False),
    Column("mms_id", Text),
    Column("outcome", Text, nullable=False),
    Column("keeper_portfolio_id", Text),
    Column("keeper_mms_id", Text),
    Column("evidence", Text),
    Column("evidence_sha256", Text, nullable=False),
    Column("first_run_id", BigInteger, ForeignKey("nightly_runs.id"), nullable=False),
    Column("until_run_id", BigInteger, ForeignKey("nightly_runs.id")),
    Column("ended_as", Text),
    Index("nightly_finding_versions_open", "institution_code", "until_run_id"),
)
