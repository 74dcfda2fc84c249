"""verify's origin check binds a run folder's name, its run id and its bundle.json's sha256 in
the run ledger: a bundle re-made with a new run id, with none, or with the id of another folder
fails (exit 1) saying why, and a --db path holding '#' opens that database, not another file."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from almaclean.bundle.manifest import BUNDLE_FILE, read_bundle
from almaclean.cli import main
from almaclean.services.verify import verify_run
from almaclean.store.db import open_database
from conftest import resync_run


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    from almaclean.sample.generator import generate

    return generate(tmp_path_factory.mktemp("sample"), seed=11, scale=0.05)


@pytest.fixture(scope="module")
def genuine(sample, tmp_path_factory):
    """A run made with the user's database (its ledger), and a run of the same export made
    elsewhere (a forger's copy: consistent on its own); made once, read (or copied) by each test."""
    tmp_path = tmp_path_factory.mktemp("genuine")
    export = sample.out_dir / sample.extended_exports[0]
    folder = tmp_path / "db#1 x%y"
    folder.mkdir()
    url = f"sqlite:///{folder / 'user.db'}"
    run = resync_run([export], institution="EDU01", out=tmp_path / "out", db_url=url)
    elsewhere = resync_run([export], institution="EDU01", out=tmp_path / "elsewhere",
                           db_url=f"sqlite:///{tmp_path / 'other.db'}")
    return run, elsewhere, url


def _rebuild_under(run: Path, source: Path, tmp_path: Path, edit=None) -> Path:
    """`source`'s folder put in place of `run` (same folder name), its bundle.json edited."""
    target = tmp_path / "presented" / run.name
    shutil.copytree(source, target)
    if edit is not None:
        payload = json.loads((target / BUNDLE_FILE).read_text(encoding="utf-8"))
        edit(payload)
        (target / BUNDLE_FILE).write_text(json.dumps(payload, indent=2), encoding="utf-8")
    return target


def test_the_genuine_run_verifies_with_its_origin(genuine):
    run, _, url = genuine
    result = verify_run(run, ledger=open_database(url, read_only=True))
    assert result.ok and "folder name, run id and bundle.json sha256 all as recorded" in result.origin


@pytest.mark.parametrize("case,said", [
    ("new_run_id", "is not in the run ledger"),
    ("no_run_id", "bundle.json has no run id"),
    ("run_id_null", "bundle.json has no run id"),
])
def test_a_bundle_re_made_under_a_folder_name_the_ledger_knows_fails(case, said, genuine, tmp_path):
    run, elsewhere, url = genuine
    edits = {"new_run_id": None, "no_run_id": lambda p: p.pop("run_uuid"), "run_id_null": lambda p: p.update(run_uuid=None)}
    forged = _rebuild_under(run, elsewhere, tmp_path, edits[case])
    assert verify_run(forged).ok   # consistent on its own
    result = verify_run(forged, ledger=open_database(url, read_only=True))
    assert not result.ok and said in result.origin
    assert f"the ledger recorded the folder {run.name} as run {read_bundle(run)['run_uuid']}" in result.origin
    assert result.lines[0] == result.origin


def test_a_run_id_re_used_under_another_folder_name_fails(genuine, tmp_path):
    run, _, url = genuine
    copy = tmp_path / "copies" / "resync-20990101-000000"
    shutil.copytree(run, copy)
    result = verify_run(copy, ledger=open_database(url, read_only=True))
    assert not result.ok and f"for the folder {run.name}, not {copy.name}" in result.origin


def test_verify_exits_1_saying_why_and_reads_the_ledger_of_a_path_with_hash(genuine, tmp_path, capsys):
    run, elsewhere, url = genuine
    forged = _rebuild_under(run, elsewhere, tmp_path)
    home = Path(url.removeprefix("sqlite:///")).parent.parent   # holds the folder "db#1 x%y"
    before = sorted(p.name for p in home.iterdir())
    assert main(["verify", str(run), "--db", url]) == 0
    assert "origin: recorded in the run ledger" in capsys.readouterr().out
    assert main(["verify", str(forged), "--db", url]) == 1
    out = capsys.readouterr().out
    assert "is not in the run ledger" in out and "NOT verified" in out
    after = sorted(p.name for p in home.iterdir())
    assert set(after) <= set(before) and not (home / "db").exists()   # no new file beside the database's folder


def test_a_question_mark_in_a_sqlite_path_is_refused_not_read_as_another_file(tmp_path, capsys):
    folder = tmp_path / "a?b"
    folder.mkdir()
    assert main(["--db", f"sqlite:///{folder}/my.db", "status"]) == 2
    assert "a '?' in a SQLite path starts URL options" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a?b"]
