"""Shared test set-up: no test touches the user's data folder or database."""
from __future__ import annotations

import csv
import os
import uuid
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
from hypothesis import settings

# Mutation testing (pyproject [tool.mutmut]) runs each property on fewer examples.
settings.register_profile("mutmut", max_examples=12)

UNDER_XDIST = "PYTEST_XDIST_WORKER" in os.environ


def _polars_on_one_thread_in_this_worker() -> None:
    """Each pytest-xdist worker runs polars on one thread: the workers already fill the cores, and
    a pool per worker spent a third more processor time on the tests' small frames. The commands the
    tests start keep polars' own pool (the variable is gone once this process's pool is made)."""
    if not UNDER_XDIST or "POLARS_MAX_THREADS" in os.environ:
        return
    os.environ["POLARS_MAX_THREADS"] = "1"
    import polars

    polars.thread_pool_size()  # the pool is made on first use, with the variable read then
    del os.environ["POLARS_MAX_THREADS"]


_polars_on_one_thread_in_this_worker()

REPO = Path(__file__).resolve().parents[1]
# Excerpts of the four real KBART lists, byte for byte (tests/data/kbart/README.md: source, CC0)
KBART_DIR = REPO / "tests" / "data" / "kbart"
JSTOR = "JSTOR_COUPERIN_ALLJOURNALS_2026-03-24.txt"
MUSE = "PROJECTMUSE_GLOBAL_ALLJOURNALS_2026-03-24.txt"
GARNIER = "CLASSIQUESGARNIER_GLOBAL_ALLTITLES_2024-08-28.txt"
ERUDIT = "ERUDIT_GLOBAL_ALLTITLES_2025-04-01.txt"
KBART_FILES = {"JSTOR": JSTOR, "MUSE": MUSE, "GARNIER": GARNIER, "ERUDIT": ERUDIT}


# The Prefect test server, open from the first flow test to the last one of its group (below).
_PREFECT_SERVER = ExitStack()
_PREFECT_SERVER_STOPPED = False


@pytest.fixture(scope="session")
def prefect_server(request):
    """One temporary Prefect API for every flow test of the session (starting one costs 10-20 s)."""
    from prefect.testing.utilities import prefect_test_harness

    _started_on_one_worker_only("the Prefect test server", request.config)
    # The commands allow a temporary server 180 s to start (orchestration); a slow or busy CI
    # machine needs more than the harness's default 30 s too.
    _PREFECT_SERVER.enter_context(prefect_test_harness(server_startup_timeout=180))
    yield
    _PREFECT_SERVER.close()


def _on_the_prefect_server_worker(item) -> bool:
    mark = item.get_closest_marker("xdist_group") if item is not None else None
    return mark is not None and mark.args[0] == ON_THE_PREFECT_SERVER_WORKER.args[0]


def pytest_runtest_setup(item):
    if _PREFECT_SERVER_STOPPED and (_on_the_prefect_server_worker(item) or "prefect_server" in item.fixturenames):
        pytest.fail("the Prefect test server stopped after the last test of its xdist_group, and this test comes "
                    "later: a test that asks for it must be in the group (ON_THE_PREFECT_SERVER_WORKER)")


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item, nextitem):
    """The Prefect test server stops after the last test of its group, not at the end of the session:
    its events client keeps a websocket open whose keepalive pings draw from the global `random`
    at any moment, which hypothesis, drawing in a later test of the same worker, takes for a
    strategy using `random` (HypothesisDeprecationWarning)."""
    global _PREFECT_SERVER_STOPPED
    if _on_the_prefect_server_worker(item) and not _on_the_prefect_server_worker(nextitem):
        _PREFECT_SERVER.close()
        _PREFECT_SERVER_STOPPED = True


def _started_on_one_worker_only(what: str, config) -> None:
    """Under pytest-xdist, a second worker starting `what` means the xdist_group marks that keep its
    tests together were not honoured (as with pytest 9 and pytest-xdist 3.8): said, not paid for."""
    if not UNDER_XDIST:
        return
    worker = os.environ["PYTEST_XDIST_WORKER"]
    claim = _run_folder(config) / f"{what.replace(' ', '-')}.worker"
    try:
        with open(claim, "x", encoding="utf-8") as file:
            file.write(worker)
    except FileExistsError:
        other = claim.read_text(encoding="utf-8")
        if other != worker:
            pytest.fail(f"{what} was started on {other} already, now on {worker}: pytest-xdist did not keep the "
                        f"tests of one xdist_group on one worker (see the pytest pin in pyproject.toml)")


# The suite runs on several workers (pytest-xdist, --dist loadgroup): every test of the Prefect test
# server goes to one of them, so the server starts once per run, not once per worker. A test that
# asks for the server with request.getfixturevalue carries this mark itself. The other tests go
# to a worker module by module, so a module's fixtures (a generated sample, a reference run) are
# made once, not once on each worker.
ON_THE_PREFECT_SERVER_WORKER = pytest.mark.xdist_group("prefect-server")


# The groups that take longest (together a third of the run's test time: the Prefect server's
# 150 s, the stop tests' 120 s, then 25-50 s each) go to the workers first, and the many short
# modules fill in behind them: otherwise the run ends with one worker alone on a long group.
LONGEST_GROUPS_FIRST = ("prefect-server", "tests/test_interrupts.py", "tests/test_fetch.py",
                        "tests/test_store_content.py", "tests/test_p2e_meaning_properties.py")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    for item in items:
        if "prefect_server" in item.fixturenames:
            item.add_marker(ON_THE_PREFECT_SERVER_WORKER)
        elif item.get_closest_marker("xdist_group") is None:
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::", 1)[0]))
    rank = {group: place for place, group in enumerate(LONGEST_GROUPS_FIRST)}
    items.sort(key=lambda item: rank.get(item.get_closest_marker("xdist_group").args[0], len(rank)))


def pytest_xdist_auto_num_workers(config):
    """-n auto: one worker more than the cores this process may use, since many tests wait on a
    command they started."""
    return len(os.sched_getaffinity(0)) + 1 if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1) + 1


def pytest_configure(config):
    config.addinivalue_line("markers", "alone: the test times how fast something answers; under pytest-xdist the "
                                       "run's other tests are paused while it runs")


def _run_folder(config) -> Path:
    """The folder of this run that its workers share: pytest-xdist gives each worker a --basetemp
    inside it."""
    return Path(config.getoption("basetemp")).parent


@contextmanager
def _machine_to_itself(config):
    if not UNDER_XDIST:
        yield
        return
    from others_paused import others_paused

    with others_paused(_run_folder(config)):
        yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    if item.get_closest_marker("alone") is None:
        yield
        return
    with _machine_to_itself(item.config):
        yield


@pytest.fixture
def timed_alone(request):
    """`with timed_alone(): ...` runs the timed part of a test with the machine to itself: on two
    cores, a test beside it would measure the machine, not the code."""
    return lambda: _machine_to_itself(request.config)


@pytest.fixture(autouse=True)
def _logging_as_found():
    """The CLI (main) sets up almaclean's and Prefect's loggers for a process; tests calling it
    in-process get them back as they were, so later tests' caplog still sees the records."""
    import logging

    names = ("almaclean", "prefect", "prefect.flow_runs", "prefect.task_runs")
    saved = {n: (logging.getLogger(n).level, logging.getLogger(n).propagate, list(logging.getLogger(n).handlers))
             for n in names}
    yield
    for name, (level, propagate, handlers) in saved.items():
        logger = logging.getLogger(name)
        logger.setLevel(level)
        logger.propagate = propagate
        logger.handlers[:] = handlers


@pytest.fixture(autouse=True)
def _isolated_data(tmp_path, monkeypatch):
    monkeypatch.setenv("ALMACLEAN_DATA", str(tmp_path / "data"))
    monkeypatch.delenv("ALMACLEAN_DB_URL", raising=False)


def kbart_rows(name: str = JSTOR, limit: int | None = None) -> list[dict]:
    """Rows of the excerpt of a real KBART file (tests/data/kbart)."""
    with open(KBART_DIR / name, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    return rows[:limit] if limit else rows


def kbart_excerpt_lines(name: str) -> list[int]:
    """The raw file's data line numbers kept in the excerpt (1 = first after the header)."""
    import json

    return json.loads((KBART_DIR / "excerpts.json").read_text(encoding="utf-8"))[name]["kept"]


def all_titles(source: str | None = None):
    """Every row of the four real KBART lists (identifiers, dates, URL, title), from the table
    bundled with the package (src/almaclean/sample/data); source: JSTOR, MUSE, GARNIER or ERUDIT."""
    import polars as pl

    from almaclean.sample.realdata import BUNDLED_DIR, load_titles

    titles = load_titles(BUNDLED_DIR)
    return titles if source is None else titles.filter(pl.col("source") == source)


KBART_OF_TITLE = {"publication_title": "title", "print_identifier": "print_identifier",
                  "online_identifier": "online_identifier", "date_first_issue_online": "date_first",
                  "date_last_issue_online": "date_last", "embargo_info": "embargo", "title_url": "title_url",
                  "publisher_name": "publisher", "publication_type": "publication_type"}


def title_rows(source: str = "JSTOR", limit: int | None = None) -> list[dict]:
    """Rows of one real list as dicts with its KBART column names ('' for empty), from the bundled
    table: for tests that need more rows than an excerpt holds."""
    import polars as pl

    frame = all_titles(source).select([pl.col(v).fill_null("").alias(k) for k, v in KBART_OF_TITLE.items()])
    return frame.head(limit).to_dicts() if limit else frame.to_dicts()


def kbart_of_all_titles(path: Path, source: str) -> Path:
    """A KBART file (the columns a CZ title list is read by) of every row of one real list."""
    rows = title_rows(source)
    with open(path, "w", encoding="utf-8", newline="") as handle:
        handle.write("\r\n".join(["\t".join(KBART_OF_TITLE), *("\t".join(row.values()) for row in rows)]))
    return path


def sqlite_url(tmp_path: Path, name: str = "test.db") -> str:
    return f"sqlite:///{tmp_path / name}"


PG_ENV = "ALMACLEAN_TEST_PG_URL"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """A fresh, empty database: SQLite always; PostgreSQL when $ALMACLEAN_TEST_PG_URL names a
    server (.ci/run starts one), each test in a database of its own."""
    if request.param == "sqlite":
        yield sqlite_url(tmp_path)
        return
    admin_url = os.environ.get(PG_ENV)
    if not admin_url:
        pytest.skip(f"PostgreSQL tests need ${PG_ENV}")
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"almaclean_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def analysed_sample(folder: Path, seed: int, **analysis):
    """A generated sample institution (scale 0.4) and the P2E analysis of its files, as
    (truth.json's content, the analysis result); analysis: analyse_p2e's keyword options."""
    import json

    from almaclean.kinds import read_kind
    from almaclean.p2e.analyse import analyse_p2e
    from almaclean.sample.generator import generate

    manifest = generate(folder, seed=seed, scale=0.4)
    truth = json.loads(manifest.path("truth").read_text(encoding="utf-8"))
    result = analyse_p2e(*(read_kind(kind, manifest.path(role)).canonical for kind, role in
                           (("portfolios", "portfolios"), ("p2e", "p2e_report"), ("po-lines", "po_lines"))),
                         **analysis)
    return truth, result


def p2e_run(*, db_url: str, institution: str, out: Path, **kwargs) -> Path:
    """The run folder of one P2E clean-up through the service (portfolios=None: the stored export)."""
    from almaclean.services.p2e import P2ERequest, run_p2e
    from almaclean.store.db import open_database

    kwargs.pop("portfolios", None) if kwargs.get("portfolios") is None else None
    return run_p2e(open_database(db_url), P2ERequest(institution, Path(out), **kwargs)).folder


def resync_run(exports: list[Path], *, db_url: str, out: Path, institution: str = "default", **kwargs) -> Path:
    """The run folder of one re-sync through the service."""
    from almaclean.services.resync import ResyncRequest, run_resync
    from almaclean.store.db import open_database

    return run_resync(open_database(db_url), ResyncRequest(list(exports), Path(out), institution, **kwargs)).folder


def upgraded_to(url: str, revision: str):
    """An engine on the database at `url` with the schema brought to `revision` (not further),
    one migration per transaction as `almaclean db upgrade` runs them ("head": the newest)."""
    from sqlalchemy import create_engine

    from almaclean.store import schema

    engine = create_engine(url)
    for step in schema.pending_steps(schema_revision(engine)):
        schema._apply(engine, step, "upgrade")
        if step.revision == revision:
            break
    return engine


def schema_revision(engine):
    from almaclean.store.schema import current_revision

    with engine.connect() as conn:
        return current_revision(conn)


STORED_CHANGE_COLUMNS = ("portfolio_id", "mms_id", "change", "what_changed", "outcome", "previous_outcome", "keeper",
                         "previous_keeper")


def stored_run_changes(engine, run_id: int):
    """STORED_CHANGE_COLUMNS of a succeeded nightly run, by portfolio_id, read back from the
    stored finding versions alone: what the run reported against the run before it (open and
    changed findings, new ones, resolved and no longer ones). The tests' check that the history
    keeps every run's changes (docs/nightly.md)."""
    import polars as pl
    from sqlalchemy import select

    from almaclean.nightly.changes import NO_LONGER, compare
    from almaclean.store import nightly_history as history
    from almaclean.store.load import fetch_query
    from almaclean.store.tables import nightly_runs

    with engine.connect() as conn:
        institution = conn.execute(select(nightly_runs.c.institution_code)
                                   .where(nightly_runs.c.id == run_id)).scalar_one()
    previous = history.previous_run(engine, institution, run_id)
    before = history.run_findings(engine, previous) if previous is not None else None
    now = history.run_findings(engine, run_id)
    ended = fetch_query(engine, "nightly_findings_ended", {"run_id": run_id})
    # compare() tells resolved (gone from the export) from no longer a duplicate (still exported)
    # by the export: the export of then is what the ending version recorded.
    still_exported = pl.concat([now.get_column("portfolio_id"),
                                ended.filter(pl.col("ended_as") == NO_LONGER).get_column("portfolio_id")])
    return compare(before, now, still_exported).select(STORED_CHANGE_COLUMNS).sort("portfolio_id")
