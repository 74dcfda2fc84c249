"""Bad paths, option values, bundles and databases, and faults of the machine: exit 2 for what
the user gave, 1 for the machine, in plain words, never "internal error", and nothing made for a
mistyped path."""
from __future__ import annotations

import errno
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest

from almaclean.cli import main
from almaclean.store.db import open_database
from conftest import sqlite_url

SMALL = "Portfolio Id,MMS Id,Title\n53496697910003681,9977047322103681,Revue\n"


def run_cli(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def small(tmp_path) -> Path:
    path = tmp_path / "portfolios.csv"
    path.write_text(SMALL, encoding="utf-8")
    return path


@pytest.mark.parametrize("argv,message", [
    (["--db", "/path/x.db", "status"], "is not a database URL"),
    (["--db", "relative.db", "ingest", "portfolios", "{small}", "--institution", "E"], "is not a database URL"),
    (["--db", "foo://bar", "status"], "'foo' is no kind of database"),
    (["--db", "postgresql://u@h/x", "status"], "the driver 'psycopg2' is not installed"),
    (["--db", "sqlite:///{tmp}/no/such/folder/x.db", "ingest", "portfolios", "{small}", "--institution", "E"],
     "does not exist (a typo?)"),
    (["db", "prune", "--keep-days", "99999999999"], "--keep-days must be a whole number from 0 to 36,500"),
    (["db", "prune", "--keep-days", "-1"], "--keep-days must be a whole number"),
    (["p2e", "--institution", "E", "--set-size", "100000000000000000000000"], "--set-size must be a whole number"),
    (["p2e", "--institution", "E", "--out", "{small}"], "this is a file, not a folder"),
    (["p2e", "--institution", "E", "--out", "/dev/null/x"], "/dev/null is not a folder"),
    (["p2e", "--institution", "E", "--out", "{small}/below"], "is not a folder, so nothing can be made under it"),
    (["p2e", "--institution", "E", "--out", "{tmp}/dangling"], "a symbolic link that leads nowhere"),
    (["resync", "{tmp}/x_portfolios.xlsx", "--out", "{small}"], "this is a file, not a folder"),
    (["sample", "--out", "{tmp}/s", "--scale", "nan"], "--scale must be a number"),
    (["sample", "--out", "{tmp}/s", "--scale", "inf"], "--scale must be a number"),
    (["sample", "--out", "{tmp}/s", "--scale", "-1"], "--scale must be a number"),
    (["sample", "--out", "{small}", "--scale", "0.01"], "this is a file, not a folder"),
    (["nightly", "{tmp}", "--institution", "ÉDU01"], "is not an institution code"),
    (["batch", "{tmp}", "--workers", "0"], "--workers must be a whole number"),
    (["demo", "--out", "/dev/null/x"], "/dev/null is not a folder"),
])
def test_a_bad_value_is_exit_2_in_words_and_makes_nothing(argv, message, tmp_path, small, capsys, monkeypatch):
    monkeypatch.setenv("ALMACLEAN_DATA", str(tmp_path / "data"))
    (tmp_path / "dangling").symlink_to(tmp_path / "gone")
    code, _, err = run_cli(capsys, *[a.replace("{tmp}", str(tmp_path)).replace("{small}", str(small)) for a in argv])
    assert code == 2, err
    assert message in err and "internal error" not in err and "Traceback" not in err
    assert not (tmp_path / "data").exists() and not (tmp_path / "no").exists()


@pytest.mark.parametrize("variant,message", [
    ("deep", "nested far deeper"), ("number", "holds int, not an object"), ("null", "holds null"),
    ("inputs_oops", "'inputs' is 'oops', not a list"), ("input_without_file", "names no file inside the run folder"),
    ("input_outside", "names no file inside the run folder"), ("output_without_sha", "has no sha256"),
    ("parameters_list", "'parameters' is [], not an object"), ("set_size_text", "'set_size' is 'x', not a whole number"),
])
def test_a_malformed_bundle_json_is_exit_2_naming_it(variant, message, tmp_path, capsys):
    from almaclean.services.demo import run_demo

    demo = run_demo(tmp_path / "out", sqlite_url(tmp_path))
    bundle = demo.p2e.folder / "bundle.json"
    payload = json.loads(bundle.read_text(encoding="utf-8"))
    edits = {
        "deep": lambda: "[" * 100_000 + "]" * 100_000, "number": lambda: "42", "null": lambda: "null",
        "inputs_oops": lambda: json.dumps(payload | {"inputs": "oops"}),
        "input_without_file": lambda: json.dumps(payload | {"inputs": [{k: v for k, v in payload["inputs"][0].items()
                                                                         if k != "file"}]}),
        "input_outside": lambda: json.dumps(payload | {"inputs": [payload["inputs"][0] | {"file": "../../etc/passwd"}]}),
        "output_without_sha": lambda: json.dumps(payload | {"outputs": [{"file": "summary.json"}]}),
        "parameters_list": lambda: json.dumps(payload | {"parameters": []}),
        "set_size_text": lambda: json.dumps(payload | {"parameters": payload["parameters"] | {"set_size": "x"}}),
    }
    bundle.write_text(edits[variant](), encoding="utf-8")
    code, _, err = run_cli(capsys, "verify", demo.p2e.folder, "--db", sqlite_url(tmp_path))
    assert code == 2, err
    assert message in err and "internal error" not in err


def _database_kinds(tmp_path: Path, small: Path) -> dict[str, Path]:
    good = tmp_path / "good.db"
    engine = open_database(sqlite_url(tmp_path, "good.db"))
    from almaclean.store.ingest import ingest_file

    ingest_file(engine, "portfolios", small, "E")
    engine.dispose()
    with closing(sqlite3.connect(good)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        # the page of the schema version, which every command reads when it opens the database
        page = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'alembic_version'").fetchone()[0]
        size = conn.execute("PRAGMA page_size").fetchone()[0]
    data = good.read_bytes()
    start = (page - 1) * size
    made = {"truncated": data[:5000], "corrupt": data[:start] + b"\xff" * size + data[start + size:],
            "not_a_database": SMALL.encode()}
    paths = {}
    for name, content in made.items():
        paths[name] = tmp_path / f"{name}.db"
        paths[name].write_bytes(content)
    paths["newer"] = tmp_path / "newer.db"
    shutil.copyfile(good, paths["newer"])
    with closing(sqlite3.connect(paths["newer"])) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0099'")
        conn.commit()
    return paths


@pytest.mark.parametrize("kind,code,message", [
    ("truncated", 1, "is damaged"), ("corrupt", 1, "is damaged"), ("not_a_database", 2, "is not a SQLite database"),
    ("newer", 1, "was made by a newer almaclean (its schema is version 0099"),
])
@pytest.mark.parametrize("command", [["status"], ["history", "53496697910003681", "--institution", "E"],
                                     ["ingest", "portfolios", "{small}", "--institution", "E"]])
def test_a_damaged_or_newer_database_is_said_in_words(kind, code, message, command, tmp_path, small, capsys):
    path = _database_kinds(tmp_path, small)[kind]
    before = path.read_bytes()
    got, _, err = run_cli(capsys, "--db", f"sqlite:///{path}", *[a.replace("{small}", str(small)) for a in command])
    assert got == code, err
    assert message in err and "internal error" not in err and "SELECT" not in err
    if command[0] != "ingest":
        assert path.read_bytes() == before   # read-only commands never write


def test_a_path_with_hash_question_mark_and_percent_opens_that_file_and_creates_no_other(tmp_path, small, capsys):
    folder = tmp_path / "a#b?c%d"
    folder.mkdir()
    url = f"sqlite:///{folder}/my.db"
    assert run_cli(capsys, "--db", f"sqlite:///{tmp_path}/x#y/my.db", "status")[0] == 0   # nothing there: said so
    assert not (tmp_path / "x").exists()
    os.environ["ALMACLEAN_DATA"] = str(folder)
    try:
        assert run_cli(capsys, "ingest", "portfolios", small, "--institution", "E")[0] == 0
        code, out, err = run_cli(capsys, "status")
        assert code == 0 and "portfolios" in out, err
    finally:
        del os.environ["ALMACLEAN_DATA"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a#b?c%d", "portfolios.csv"]
    assert url  # the folder name held '#', '?' and '%': the read-only URI escaped them


def test_an_unreachable_postgresql_server_is_exit_1_in_words(small, capsys):
    url = "postgresql+psycopg://nobody@127.0.0.1:9/none"
    for argv in (["status"], ["ingest", "portfolios", str(small), "--institution", "E"]):
        code, _, err = run_cli(capsys, "--db", url, *argv)
        assert code == 1, err
        assert "cannot reach the database server" in err and "internal error" not in err and "sqlalche.me" not in err


def test_json_goes_out_with_q_and_a_closed_pipe_ends_quietly(tmp_path, small, capsys):
    url = sqlite_url(tmp_path)
    assert run_cli(capsys, "--db", url, "ingest", "portfolios", small, "--institution", "E")[0] == 0
    code, out, err = run_cli(capsys, "-q", "--json", "--db", url, "status")
    assert code == 0 and json.loads(out)["stored"][0]["institution"] == "E" and err == ""
    command = f"{sys.executable} -m almaclean.cli --json --db {url} status | head -c 20"
    done = subprocess.run(["bash", "-o", "pipefail", "-c", command], capture_output=True, text=True, timeout=120)
    assert done.stdout == '{\n  "command": "stat'
    assert done.stderr == "" and done.returncode == 0


def test_a_full_disk_is_said_in_words_exit_1(tmp_path, small, capsys, monkeypatch):
    import almaclean.store.ingest as ingest

    def full(*_args, **_kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "almaclean.db-wal"))

    monkeypatch.setattr(ingest, "_store_rows", full)
    code, _, err = run_cli(capsys, "--db", sqlite_url(tmp_path), "ingest", "portfolios", small, "--institution", "E")
    assert code == 1
    assert "the disk is full" in err and "internal error" not in err


def test_sqlite_saying_the_disk_is_full_is_said_in_words(tmp_path, small, capsys, monkeypatch):
    from sqlalchemy.exc import OperationalError

    import almaclean.store.ingest as ingest

    def full(*_args, **_kwargs):
        raise OperationalError("INSERT INTO portfolios ...", {}, sqlite3.OperationalError("database or disk is full"))

    monkeypatch.setattr(ingest, "_store_rows", full)
    code, _, err = run_cli(capsys, "--db", sqlite_url(tmp_path), "ingest", "portfolios", small, "--institution", "E")
    assert code == 1
    assert "is full" in err and "INSERT" not in err and "internal error" not in err


def test_nightly_refuses_folder_names_that_are_no_institution_code_and_runs_the_others(tmp_path):
    from almaclean.sample.generator import generate
    from almaclean.services.nightly import run_nightly
    from almaclean.store.load import institutions

    sample = generate(tmp_path / "sample", seed=5, scale=0.05)
    inbox = tmp_path / "inbox"
    for code in ("EDU01", "ÉDU01", "EDU 02"):
        (inbox / code).mkdir(parents=True)
        for role in ("portfolios", "p2e"):
            shutil.copy(sample.path(role), inbox / code / sample.path(role).name)
    engine = open_database(sqlite_url(tmp_path))
    result = run_nightly(engine, inbox, out=tmp_path / "out")
    states = {run.institution: (run.status, run.error) for run in result.runs}
    assert states["EDU01"] == ("succeeded", None)
    for bad in ("ÉDU01", "EDU 02"):
        assert states[bad][0] == "failed" and "the folder name is not an institution code" in states[bad][1]
    assert institutions(engine) == ["EDU01"]
