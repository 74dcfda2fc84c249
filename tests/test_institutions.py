"""One rule for every command: the institution named with --institution, else the only one the
database holds; never an invented one. Databases that hold the old placeholder 'default' (re-sync
runs of earlier versions) keep working."""
from __future__ import annotations

import json

import pytest

from almaclean.cli import main
from almaclean.errors import InputError
from almaclean.sample.generator import generate
from almaclean.services.options import PLACEHOLDER, choose_institution
from almaclean.store.db import open_database
from almaclean.store.load import stored_status
from conftest import resync_run, sqlite_url


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    return generate(tmp_path_factory.mktemp("sample"), seed=8, scale=0.05, ee_rows=30)


@pytest.mark.parametrize(("given", "stored", "storing", "expected"), [
    ("EDU02", ["EDU01"], True, ("EDU02", "named")),
    (None, ["EDU01"], True, ("EDU01", "the only institution in the database")),
    (None, ["EDU01", PLACEHOLDER], False, ("EDU01", "the only institution in the database")),
    (PLACEHOLDER, ["EDU01", PLACEHOLDER], False, (PLACEHOLDER, "named")),   # its files stay readable
])
def test_the_institution_is_the_one_named_or_the_only_one_stored(given, stored, storing, expected):
    choice = choose_institution(given, stored, storing=storing)
    assert (choice.code, choice.how) == expected
    assert bool(choice.note) == (PLACEHOLDER in stored and given is None)


@pytest.mark.parametrize(("given", "stored", "storing", "message"), [
    (None, [], True, "none is stored yet: name the institution these files belong to with --institution CODE"),
    (None, [PLACEHOLDER], False, "none is stored yet: name the institution to look at"),
    (None, ["EDU01", "EDU02", PLACEHOLDER], False, "several institutions (EDU01, EDU02)"),
    (PLACEHOLDER, [], True, "is the placeholder earlier almaclean versions used, not an institution"),
    ("no spaces allowed", [], True, "is not an institution code"),
])
def test_otherwise_the_user_names_it(given, stored, storing, message):
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        choose_institution(given, stored, storing=storing)


def test_resync_on_a_new_database_stores_nothing_under_a_made_up_institution(sample, tmp_path, capsys):
    export = sample.out_dir / sample.extended_exports[0]
    url = sqlite_url(tmp_path)
    out = tmp_path / "out"
    assert main(["resync", str(export), "--out", str(out), "--db", url]) == 2
    error = capsys.readouterr().err
    assert "name the institution these files belong to with --institution CODE" in error
    assert error.rstrip().endswith(f"resync --db {url} {export} --out {out} --institution CODE")
    assert not out.exists() and stored_status(open_database(url)).is_empty()

    assert main(["resync", str(export), "--out", str(out), "--db", url, "--institution", "EDU01"]) == 0
    capsys.readouterr()
    assert main(["ingest", "po-lines", str(sample.path("po_lines")), "--db", url]) == 0   # the only one: EDU01
    assert capsys.readouterr().out.startswith("institution EDU01: the only institution in the database")
    assert set(stored_status(open_database(url))["institution"]) == {"EDU01"}


def test_a_database_with_the_old_default_placeholder_keeps_working(sample, tmp_path, capsys):
    """Earlier versions stored re-sync exports without --institution under 'default': p2e and
    history without --institution then failed with "several institutions"."""
    url = sqlite_url(tmp_path)
    export = sample.out_dir / sample.extended_exports[0]
    resync_run([export], db_url=url, out=tmp_path / "old", institution=PLACEHOLDER)   # what they did
    for kind, role in (("portfolios", "portfolios"), ("p2e", "p2e"), ("po-lines", "po_lines")):
        assert main(["ingest", kind, str(sample.path(role)), "--institution", "EDU01", "--db", url, "-q"]) == 0

    assert main(["p2e", "--db", url, "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("institution EDU01: the only institution in the database (another: --institution CODE); "
                          "the files stored under 'default', the placeholder earlier almaclean versions used")
    assert "P2E clean-up of EDU01" in out

    portfolio = sample.path("portfolios").read_text(encoding="utf-8").splitlines()[1].split(",")[0]
    assert main(["--json", "history", portfolio, "--db", url]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["institution"] == "EDU01" and payload["institution_chosen"].startswith("the only institution")
    assert payload["history"][0]["status"] == "appeared"

    assert main(["status", "--db", url]) == 0
    assert "'default' is no institution: earlier almaclean versions stored re-sync exports" in capsys.readouterr().out
    assert main(["history", "x", "--kind", "extended-export", "--institution", PLACEHOLDER, "--db", url]) == 0
    assert main(["resync", str(export), "--institution", PLACEHOLDER, "--db", url, "--out", str(tmp_path / "x")]) == 2
    assert "placeholder" in capsys.readouterr().err
