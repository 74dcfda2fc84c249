"""The command line as built from its parser: every command and every option, global options
on either side of the command name, output modes, and no Prefect on one-off commands."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from almaclean.cli import build_parser, main
from almaclean.sample.generator import generate
from almaclean.store.db import open_database
from almaclean.store.load import stored_status
from conftest import sqlite_url

PARSER = build_parser()


def _commands(parser, prefix=()):
    """Every command and sub-command (db prune) with the words that call it."""
    for name, command in parser.commands.items():
        yield (*prefix, name), command
        yield from _commands(command, (*prefix, name))

GLOBAL = {("--db",), ("-v", "--verbose"), ("-q", "--quiet"), ("--json",), ("--prefect",)}
ONE_OFF = ("ingest", "fetch", "status", "history", "sample", "demo", "resync", "p2e", "verify")


def test_every_command_is_documented_and_takes_the_global_options():
    assert set(PARSER.commands) == {*ONE_OFF, "nightly", "batch", "db"}
    assert set(PARSER.commands["db"].commands) == {"upgrade", "downgrade", "prune"}
    for words, command in _commands(PARSER):
        assert command.description or PARSER.format_help().count(words[0]), words
        assert GLOBAL <= set(command.flags), words


@pytest.mark.parametrize("command,flags", [(c, f) for c, p in _commands(PARSER) for f in p.flags
                                           if f not in GLOBAL and f != ("-h", "--help")])
def test_every_option_has_help_text(command, flags, capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args([*command, "--help"])
    text = capsys.readouterr().out
    for flag in flags:
        assert flag in text, (command, flag)
    help_line = text[text.index(flags[-1]):].split("\n  -")[0]
    assert len(help_line.split()) > 1, (command, flags)


@pytest.mark.parametrize("where", ["before", "after"])
def test_global_options_work_before_or_after_the_command(where, tmp_path, capsys):
    url = sqlite_url(tmp_path, "chosen.db")
    open_database(url).dispose()
    argv = ["--db", url, "status"] if where == "before" else ["status", "--db", url]
    assert main(argv) == 0
    assert str(tmp_path / "chosen.db") in capsys.readouterr().out


def test_json_and_quiet_output(tmp_path, capsys):
    url = sqlite_url(tmp_path)
    export = tmp_path / "portfolios.csv"
    export.write_text("Portfolio Id,MMS Id,Title\n531000000000000001,991000000000000001,A title\n", encoding="utf-8")
    assert main(["ingest", "portfolios", str(export), "--institution", "UNI", "--db", url, "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["files"][0]["status"] == "stored" and payload["files"][0]["rows"] == 1
    assert main(["-q", "ingest", "portfolios", str(export), "--institution", "UNI", "--db", url]) == 0
    assert capsys.readouterr().out == ""


def test_p2e_chooses_the_only_institution_and_refuses_to_guess_among_several(tmp_path, capsys):
    sample = tmp_path / "sample"
    generate(sample, seed=4, scale=0.05)
    url = sqlite_url(tmp_path)
    for code in ("EDU01",):
        for kind, name in (("portfolios", "portfolios.csv"), ("p2e", "p2e.txt")):
            assert main(["ingest", kind, str(sample / name), "--institution", code, "--db", url, "-q"]) == 0
    assert main(["p2e", "--db", url, "--out", str(tmp_path / "out")]) == 0
    assert "P2E clean-up of EDU01" in capsys.readouterr().out
    assert main(["ingest", "p2e", str(sample / "p2e.txt"), "--institution", "EDU02", "--db", url, "-q"]) == 0
    assert main(["p2e", "--db", url, "--out", str(tmp_path / "out")]) == 2
    assert "several institutions (EDU01, EDU02)" in capsys.readouterr().err


@pytest.mark.parametrize("argv,message", [
    (["ingest", "portfolios", "{tmp}/missing.csv", "--institution", "UNI"], "missing.csv: file not found"),
    (["ingest", "portfolios", "{tmp}", "--institution", "UNI"], "is a folder, not a file"),
    (["ingest", "portfolios", "{tmp}/dangling.csv", "--institution", "UNI"], "a symbolic link to a file that does not exist"),
    (["ingest", "portfolios", "{tmp}/loop.csv", "--institution", "UNI"], "loop.csv: a symbolic link that points back to itself"),
    (["ingest", "portfolios", "/dev/zero", "--institution", "UNI"], "not a regular file"),
    (["ingest", "portfolios", "{tmp}/ok.csv", "--institution", ""], "is not an institution code"),
    (["p2e", "--institution", "UNI", "--set-size", "-5"], "--set-size must be a whole number from 1"),
    (["p2e", "--institution", "UNI", "--set-header", "Portfolio Id\n123"], "--set-header"),
    (["p2e", "--institution", "UNI", "--portfolios", "{tmp}/fifo.csv"], "not a regular file"),
    (["resync", "{tmp}/missing_portfolios.xlsx", "--institution", "UNI"], "no such file or folder"),
])
def test_bad_paths_and_options_exit_2_naming_them(argv, message, tmp_path, capsys):
    (tmp_path / "dangling.csv").symlink_to(tmp_path / "gone.csv")
    (tmp_path / "loop.csv").symlink_to(tmp_path / "loop.csv")
    (tmp_path / "ok.csv").write_text("Portfolio Id,MMS Id\n", encoding="utf-8")
    import os

    os.mkfifo(tmp_path / "fifo.csv")
    url = sqlite_url(tmp_path)
    code = main([a.replace("{tmp}", str(tmp_path)) for a in argv] + ["--db", url, "--out", str(tmp_path / "out")]
                if argv[0] in ("p2e", "resync") else [a.replace("{tmp}", str(tmp_path)) for a in argv] + ["--db", url])
    err = capsys.readouterr().err
    assert code == 2, err
    assert message in err and "internal error" not in err
    assert not (tmp_path / "out").exists()


def test_one_off_commands_never_import_prefect(tmp_path):
    """status, history, ingest, p2e, resync, verify and demo run without Prefect (no temporary server)."""
    script = ("import sys; from almaclean.cli import main; code = main(sys.argv[1:]); "
              "sys.exit(code if code else (3 if 'prefect' in sys.modules else 0))")
    env = {"PATH": "/usr/bin:/bin", "ALMACLEAN_DATA": str(tmp_path / "data"), "HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", script, "demo", "-q"], capture_output=True, text=True,
                          timeout=300, env=env)
    assert done.returncode == 0, done.stderr
    (demo,) = (tmp_path / "data" / "runs").glob("demo-*")
    (p2e,) = demo.glob("p2e-*")
    database = f"sqlite:///{demo / 'almaclean.db'}"
    for argv in (["status", "--db", database], ["verify", str(p2e)],
                 ["history", "530000000000000000", "--institution", "DEMO", "--db", database]):
        done = subprocess.run([sys.executable, "-c", script, *argv], capture_output=True, text=True, timeout=300,
                              env=env)
        assert done.returncode == 0, (argv, done.stderr)
    assert not list((tmp_path / "data" / "runs").glob(".*partial"))
    assert stored_status(open_database(f"sqlite:///{demo / 'almaclean.db'}", read_only=True)).height == 4


def test_db_prune_keeps_current_files_and_what_recorded_runs_analysed(tmp_path, capsys):
    """Three nights of one portfolio scope and a P2E run on the second: prune --keep-days 0
    removes the first night only (superseded, no run names it); the run still verifies; the
    current file stays; status gives a size per institution."""
    from almaclean.services.verify import verify_run

    url = sqlite_url(tmp_path)
    nights = []
    for n in range(3):
        path = tmp_path / f"night{n}.csv"
        path.write_text("Portfolio Id,MMS Id,Title,Portfolio Linked To CZ,Coverage Statement,Availability\n"
                        f"53100000000000{n}001,99100000000000{n}001,T{n},N,,Available\n", encoding="utf-8")
        nights.append(path)
    p2e = tmp_path / "p2e.txt"
    p2e.write_text("EDU01000000001,portfolio\n", encoding="utf-8")
    assert main(["-q", "ingest", "portfolios", str(nights[0]), "--institution", "EDU01", "--db", url]) == 0
    assert main(["-q", "p2e", "--institution", "EDU01", "--portfolios", str(nights[1]), "--p2e", str(p2e),
                 "--db", url, "--out", str(tmp_path / "out")]) == 0
    assert main(["-q", "ingest", "portfolios", str(nights[2]), "--institution", "EDU01", "--db", url]) == 0
    assert main(["db", "prune", "--keep-days", "-1", "--db", url]) == 2
    assert main(["db", "prune", "--keep-days", "0", "--db", url, "--json"]) == 0
    capsys.readouterr()
    engine = open_database(url, read_only=True)
    from almaclean.store.load import current_frame, fetch_frame

    names = fetch_frame(engine, "SELECT file_name FROM source_files ORDER BY id")["file_name"].to_list()
    assert names == ["night1.csv", "p2e.txt", "night2.csv"]
    assert current_frame(engine, "EDU01", "portfolios")["title"].to_list() == ["T2"]
    (run,) = (tmp_path / "out").glob("p2e-*")
    assert verify_run(run, ledger=engine).ok
    assert main(["status", "--db", url]) == 0
    out = capsys.readouterr().out
    assert "size per institution" in out and "EDU01" in out


def test_history_says_file_by_file_what_happened_to_a_portfolio(tmp_path, capsys):
    url = sqlite_url(tmp_path)
    header = "Portfolio Id,MMS Id,Title\n"
    rows = {1: "531000000000001001,991000000000001001,{}\n", 2: "531000000000002001,991000000000002001,Kept\n"}
    for night, title in enumerate(("Old title", "New title")):
        path = tmp_path / f"night{night}.csv"
        path.write_text(header + rows[1].format(title) + (rows[2] if night == 0 else ""), encoding="utf-8")
        assert main(["-q", "ingest", "portfolios", str(path), "--institution", "EDU01", "--db", url]) == 0
    capsys.readouterr()
    assert main(["history", "531000000000001001", "--db", url]) == 0
    out = capsys.readouterr().out
    assert "night0.csv (file #1, scope 'all'): appeared, row 2" in out
    assert "night1.csv (file #2, scope 'all'): changed, row 2; changed: title 'Old title' -> 'New title'" in out
    assert main(["--json", "history", "531000000000002001", "--db", url]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert [line["status"] for line in payload["history"]] == ["appeared", "gone"]
    assert main(["history", "531000000000009999", "--db", url]) == 0
    assert "in no stored file" in capsys.readouterr().out
    (tmp_path / "other.csv").write_text(header + rows[2], encoding="utf-8")
    assert main(["-q", "ingest", "portfolios", str(tmp_path / "other.csv"), "--institution", "EDU02", "--db", url]) == 0
    assert main(["history", "531000000000002001", "--db", url]) == 2  # which institution?
    assert "several institutions" in capsys.readouterr().err
    assert main(["history", "531000000000002001", "--db", sqlite_url(tmp_path, "absent.db")]) == 2


def test_nightly_for_an_institution_without_an_inbox_folder_is_bad_input(tmp_path, capsys):
    (tmp_path / "inbox" / "EDU01").mkdir(parents=True)
    assert main(["nightly", str(tmp_path / "inbox"), "--institution", "EDU02", "--db", sqlite_url(tmp_path)]) == 2
    assert "--institution EDU02: the inbox has no folder EDU02/" in capsys.readouterr().err
