"""Tables defined with SQLAlchemy Core (the rest of the schema is still sql/schema.sql plus the
migrations). Each definition here is what the migration that created it wrote."""
from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Integer, MetaData, Table, Text

metadata = MetaData()

# Nightly findings, one row per version of a finding (docs/nightly.md): a P2E portfolio's outcome,
# keeper and evidence as from the succeeded run first_run_id of its institution until the run
# that ended it (until_run_id, exclusive; NULL while it is open), which ended it as 'changed'
# (a new version follows), 'resolved' or 'no longer a duplicate'. The findings of a run are the
# versions open at it; "still open" is never stored.
nightly_finding_versions = Table(
    "nightly_finding_versions", metadata,
    Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True),
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
