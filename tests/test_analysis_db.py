"""The P2E analysis gives the same answer from the database (SQLite or PostgreSQL) as from the
files themselves: storage loses nothing the analysis reads."""
from __future__ import annotations

import pytest

from almaclean.kinds import read_kind
from almaclean.p2e.analyse import analyse_p2e
from almaclean.sample.generator import generate
from almaclean.store.db import open_database
from almaclean.store.ingest import ingest_file
from almaclean.store.load import current_frame

FILES = {"portfolios": "portfolios.csv", "p2e": "p2e.txt", "po-lines": "po_lines.csv"}


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sample")
    generate(folder, seed=5, scale=0.3)
    return folder


def test_p2e_analysis_from_the_database_equals_analysis_from_the_files(sample, db_url):
    engine = open_database(db_url)
    from_files = {}
    for kind, name in FILES.items():
        ingest_file(engine, kind, sample / name, "EDU01")
        from_files[kind] = read_kind(kind, sample / name).canonical
    from_db = {kind: current_frame(engine, "EDU01", kind) for kind in FILES}

    direct = analyse_p2e(from_files["portfolios"], from_files["p2e"], from_files["po-lines"])
    stored = analyse_p2e(from_db["portfolios"], from_db["p2e"], from_db["po-lines"])
    assert direct.counts == stored.counts
    assert direct.counts["deletion_candidates"] > 0 and direct.counts["pol_relinks"] > 0
    for name in ("deletion_candidates", "pol_relinks", "review", "groups"):
        assert getattr(stored, name).equals(getattr(direct, name)), name
