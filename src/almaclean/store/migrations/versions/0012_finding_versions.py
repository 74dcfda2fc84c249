"""Nightly findings stored when they change: nightly_finding_versions replaces nightly_findings
and nightly_changes.

Every succeeded run stored every finding with its evidence, and a change row for each, "still
open" included: a database grew with its size every night, not with what changed. A version of
a finding now holds its outcome, keeper and evidence from the run where it appeared or changed
(first_run_id) until the run that changed or ended it (until_run_id; NULL while open), with how
it ended (ended_as: 'changed', 'resolved', 'no longer a duplicate'). The findings of a run are
the versions open at it; its changes follow from them (almaclean.nightly.history).

The old tables are converted run by run, per institution, in run order: a finding identical in
every column to its open version continues it; a different one closes it ('changed') and opens
a new one; an open version with no finding in the run is closed as that run's nightly_changes
row says ('resolved' or 'no longer a duplicate').

Revision ID: 0012
"""
import polars as pl
import sqlalchemy as sa
from alembic import op

from almaclean.store.schema import refuse_downgrade, rows_in

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None
REWRITES = "the nightly findings history, as versions of each finding"
ROWS_PER_SECOND = 20_000  # measured on a busy 2-core machine (history of two runs)

COLUMNS = ("portfolio_id", "mms_id", "outcome", "keeper_portfolio_id", "keeper_mms_id", "evidence",
           "evidence_sha256")


def rows_to_rewrite(conn) -> int:
    return rows_in(conn, ["nightly_findings"])


def upgrade() -> None:
    op.create_table(
        "nightly_finding_versions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("institution_code", sa.Text(), nullable=False),
        sa.Column("portfolio_id", sa.Text(), nullable=False),
        sa.Column("mms_id", sa.Text()),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("keeper_portfolio_id", sa.Text()),
        sa.Column("keeper_mms_id", sa.Text()),
        sa.Column("evidence", sa.Text()),
        sa.Column("evidence_sha256", sa.Text(), nullable=False),
        sa.Column("first_run_id", sa.BigInteger(), sa.ForeignKey("nightly_runs.id"), nullable=False),
        sa.Column("until_run_id", sa.BigInteger(), sa.ForeignKey("nightly_runs.id")),
        sa.Column("ended_as", sa.Text()),
    )
    op.create_index("nightly_finding_versions_open", "nightly_finding_versions", ["institution_code", "until_run_id"])
    conn = op.get_bind()
    institutions = conn.execute(sa.text("SELECT DISTINCT institution_code FROM nightly_runs "
                                        "WHERE status = 'succeeded' ORDER BY institution_code")).scalars().all()
    for institution in institutions:
        _convert(conn, institution)
    op.drop_table("nightly_changes")
    op.drop_table("nightly_findings")


def _frame(conn, sql: str, params: dict, columns) -> pl.DataFrame:
    rows = conn.execute(sa.text(sql), params).all()
    return pl.DataFrame(rows, schema={c: pl.String for c in columns}, orient="row")


def _convert(conn, institution: str) -> None:
    runs = conn.execute(sa.text("SELECT id FROM nightly_runs WHERE institution_code = :i AND status = 'succeeded' "
                                "ORDER BY id"), {"i": institution}).scalars().all()
    versions = sa.table("nightly_finding_versions", *(sa.column(c) for c in (
        "institution_code", *COLUMNS, "first_run_id", "until_run_id", "ended_as")))
    open_ = pl.DataFrame(schema={**{c: pl.String for c in COLUMNS}, "first_run_id": pl.Int64})
    closed = []
    for run_id in runs:
        now = _frame(conn, f"SELECT {', '.join(COLUMNS)} FROM nightly_findings WHERE run_id = :r", {"r": run_id},
                     COLUMNS)
        ends = dict(conn.execute(sa.text("SELECT portfolio_id, change FROM nightly_changes WHERE run_id = :r "
                                         "AND change IN ('resolved', 'no longer a duplicate')"), {"r": run_id}).all())
        joined = open_.join(now.with_columns(pl.lit(True).alias("_now")), on=list(COLUMNS), how="left",
                            nulls_equal=True)
        kept = joined.filter(pl.col("_now").is_not_null()).drop("_now")
        ended = joined.filter(pl.col("_now").is_null()).drop("_now")
        still = set(now["portfolio_id"].to_list())
        for row in ended.iter_rows(named=True):
            how = "changed" if row["portfolio_id"] in still else ends.get(row["portfolio_id"], "no longer a duplicate")
            closed.append({**row, "until_run_id": run_id, "ended_as": how})
        started = now.join(kept.select(COLUMNS), on=list(COLUMNS), how="anti", nulls_equal=True).with_columns(
            pl.lit(run_id, dtype=pl.Int64).alias("first_run_id"))
        open_ = pl.concat([kept, started])
    rows = closed + [{**row, "until_run_id": None, "ended_as": None} for row in open_.iter_rows(named=True)]
    if rows:
        conn.execute(versions.insert(), [{**row, "institution_code": institution} for row in rows])


def downgrade() -> None:
    raise refuse_downgrade(revision, "nightly finding versions", "it replaced the per-run nightly_findings and "
                           "nightly_changes tables")
