"""Nightly history stored as versions of findings: the findings and changes of every run read
back as each run computed them (what the per-run tables held before), and storage grows with
what changed, not with the number of findings."""
from __future__ import annotations

import random

import polars as pl
from hypothesis import given, settings, strategies as st
from sqlalchemy import text

from almaclean.store import nightly_history as history
from conftest import STORED_CHANGE_COLUMNS, stored_run_changes
from almaclean.nightly.changes import FINDING_COLUMNS, compare, evidence_digest
from almaclean.store.db import open_database

PORTFOLIOS = [f"5320000000000{n:04d}" for n in range(12)]
OUTCOMES = ["delete", "pol_relink", "review"]
KEEPERS = [None, "53100000000000001", "53100000000000002"]
EVIDENCE = ["shared: ISSN 0742-4671", "shared: ISBN 9782812406188", "coverage stated on one side only", None]


def findings_frame(rows: dict[str, tuple]) -> pl.DataFrame:
    """portfolio_id -> (mms_id, outcome, keeper, keeper_mms_id, evidence) as a findings frame."""
    frame = pl.DataFrame([(pid, *values) for pid, values in sorted(rows.items())],
                         schema={c: pl.String for c in FINDING_COLUMNS[:-1]}, orient="row")
    return frame.with_columns(pl.col("evidence").map_elements(evidence_digest, return_dtype=pl.String,
                                                              skip_nulls=False).alias("evidence_sha256"))


FINDING = st.tuples(st.sampled_from(["99" + p[2:] for p in PORTFOLIOS[:2]] + [None]), st.sampled_from(OUTCOMES),
                    st.sampled_from(KEEPERS), st.sampled_from([None, "99100000000000001"]), st.sampled_from(EVIDENCE))
NIGHT = st.tuples(st.dictionaries(st.sampled_from(PORTFOLIOS), FINDING, max_size=8),
                  st.sets(st.sampled_from(PORTFOLIOS)),     # exported without a finding
                  st.sampled_from(["EDU01", "EDU01", "EDU02"]),
                  st.booleans())                            # the run fails


def run_nights(engine, nights) -> dict[int, tuple[pl.DataFrame, pl.DataFrame]]:
    """Each night as the nightly service runs it; returns what each succeeded run computed
    (its findings and changes: what the per-run tables used to hold)."""
    computed = {}
    for rows, exported, institution, fails in nights:
        run_id = history.start_run(engine, institution)
        if fails:
            history.record_failure(engine, run_id, "p2e.txt: row 2: bad")
            continue
        previous = history.previous_run(engine, institution, run_id)
        before = history.run_findings(engine, previous) if previous is not None else None
        now = findings_frame(rows)
        changes = compare(before, now, pl.Series(sorted(set(rows) | exported), dtype=pl.String))
        history.record_success(engine, run_id, now, changes, {"portfolios": [1]})
        computed[run_id] = (now, changes)
    return computed


def assert_history_reads_back(engine, computed) -> None:
    for run_id, (now, changes) in computed.items():
        assert history.run_findings(engine, run_id).equals(now), run_id
        expected = changes.select(STORED_CHANGE_COLUMNS).sort("portfolio_id")
        assert stored_run_changes(engine, run_id).equals(expected), run_id


@settings(max_examples=40, deadline=None)
@given(nights=st.lists(NIGHT, min_size=1, max_size=7))
def test_every_run_reads_back_the_findings_and_changes_it_computed(tmp_path_factory, nights):
    engine = open_database(f"sqlite:///{tmp_path_factory.mktemp('h') / 'h.db'}")
    computed = run_nights(engine, nights)
    assert_history_reads_back(engine, computed)
    # one stored version per finding that appeared or changed, never one per night
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT COUNT(*) FROM nightly_finding_versions")).scalar_one()
    appeared_or_changed = sum(
        now.join(before, on=list(FINDING_COLUMNS), how="anti", nulls_equal=True).height
        for before, now in _pairs_per_institution(nights, computed))
    assert stored == appeared_or_changed
    engine.dispose()


def _pairs_per_institution(nights, computed):
    """(previous findings, findings) of each succeeded run, per institution in run order."""
    last: dict[str, pl.DataFrame] = {}
    succeeded = iter(sorted(computed))
    for rows, _, institution, fails in nights:
        if fails:
            continue
        now = computed[next(succeeded)][0]
        yield last.get(institution, findings_frame({})), now
        last[institution] = now


def test_an_unchanged_night_stores_no_finding_and_a_changed_one_only_what_changed(db_url):
    engine = open_database(db_url)
    base = {pid: ("99" + pid[2:], "delete", KEEPERS[1], None, f"shared: ISSN {n}") for n, pid in enumerate(PORTFOLIOS)}
    changed = dict(base, **{PORTFOLIOS[0]: base[PORTFOLIOS[0]][:4] + ("shared: ISSN changed",)})
    del changed[PORTFOLIOS[1]]
    nights = [(base, set(), "EDU01", False), (base, set(), "EDU01", False), (changed, set(), "EDU01", False)]
    counts = []
    for night in nights:
        run_nights(engine, [night])
        with engine.connect() as conn:
            counts.append(conn.execute(text("SELECT COUNT(*) FROM nightly_finding_versions")).scalar_one())
    assert counts == [12, 12, 13]  # night 2: nothing; night 3: the changed finding's new version
    with engine.connect() as conn:
        ended = dict(conn.execute(text("SELECT portfolio_id, ended_as FROM nightly_finding_versions "
                                       "WHERE ended_as IS NOT NULL")).all())
    assert ended == {PORTFOLIOS[0]: "changed", PORTFOLIOS[1]: "resolved"}


def _old_layout_record(engine, run_id: int, now: pl.DataFrame, changes: pl.DataFrame) -> None:
    """What record_success wrote before finding versions: every finding and every change row."""
    from almaclean.store.ingest import bulk_insert

    with engine.begin() as conn:
        bulk_insert(conn, "nightly_findings", now.with_columns(pl.lit(run_id, dtype=pl.Int64).alias("run_id")))
        bulk_insert(conn, "nightly_changes", changes.select(STORED_CHANGE_COLUMNS).with_columns(
            pl.lit(run_id, dtype=pl.Int64).alias("run_id")))
        conn.execute(text("UPDATE nightly_runs SET status = 'succeeded', findings = :n WHERE id = :r"),
                     {"n": now.height, "r": run_id})


def test_migration_0012_converts_the_per_run_tables_and_every_run_reads_back_the_same(db_url):
    """A database written by the per-run layout (several institutions, failed runs between):
    after the migration, every run's findings and changes read back as they were stored."""
    from conftest import upgraded_to

    engine = upgraded_to(db_url, "0011")
    draw = random.Random(22)
    stored = {}
    last: dict[str, pl.DataFrame] = {}
    for night in range(12):
        institution = draw.choice(["EDU01", "EDU02"])
        with engine.begin() as conn:
            run_id = conn.execute(text("INSERT INTO nightly_runs (institution_code, started_at, tool_version, status) "
                                       "VALUES (:i, 't', 'v', 'running') RETURNING id"), {"i": institution}).scalar_one()
        if draw.random() < 0.2:
            with engine.begin() as conn:
                conn.execute(text("UPDATE nightly_runs SET status = 'failed' WHERE id = :r"), {"r": run_id})
            continue
        rows = {pid: (draw.choice([None, "99" + pid[2:]]), draw.choice(OUTCOMES), draw.choice(KEEPERS), None,
                      draw.choice(EVIDENCE)) for pid in draw.sample(PORTFOLIOS, draw.randint(0, 8))}
        now = findings_frame(rows)
        exported = pl.Series(sorted(set(rows) | set(draw.sample(PORTFOLIOS, 4))), dtype=pl.String)
        changes = compare(last.get(institution), now, exported)
        _old_layout_record(engine, run_id, now, changes)
        stored[run_id], last[institution] = (now, changes), now
    engine.dispose()

    engine = upgraded_to(db_url, "0012")
    assert_history_reads_back(engine, stored)
    with engine.connect() as conn:
        tables = set(conn.dialect.get_table_names(conn))
    assert {"nightly_findings", "nightly_changes"}.isdisjoint(tables)
