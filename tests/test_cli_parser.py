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
GLOBAL = {("--db",), ("-v", "--verbose"), ("-q", "--quiet"), ("--json",), ("--prefect",)}
ONE_OFF = ("ingest", "status", "sample", "demo", "resync", "p2e", "verify")


def test_every_command_is_documented_and_takes_the_global_options():
    assert set(PARSER.commands) == {"ingest", "status", "sample", "demo", "resync", "p2e", "nightly", "batch",
                                    "verify"}
    for name, command in PARSER.commands.items():
        assert command.description or PARSER.format_help().count(name), name
        assert GLOBAL <= set(command.flags), name


@pytest.mark.parametrize("command,flags", [(c, f) for c, p in PARSER.commands.items() for f in p.flags
                                           if f not in GLOBAL and f != ("-h", "--help")])
def test_every_option_has_help_text(command, flags, capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args([command, "--help"])
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
    (["p2e", "--institution", "UNI", "--set-size", "-5"], "--set-size must be at least 1"),
    (["p2e", "--institution", "UNI", "--set-header", "Portfolio Id\n123"], "--set-header"),
    (["p2e", "--institution", "UNI", "--portfolios", "{tmp}/fifo.csv"], "not a regular file"),
    (["resync", "{tmp}/missing_portfolios.xlsx"], "no such file or folder"),
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
    """status, ingest, p2e, resync, verify and demo run without Prefect (no temporary server)."""
    script = ("import sys; from almaclean.cli import main; code = main(sys.argv[1:]); "
              "sys.exit(code if code else (3 if 'prefect' in sys.modules else 0))")
    env = {"PATH": "/usr/bin:/bin", "ALMACLEAN_DATA": str(tmp_path / "data"), "HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", script, "demo", "-q"], capture_output=True, text=True,
                          timeout=300, env=env)
    assert done.returncode == 0, done.stderr
    (demo,) = (tmp_path / "data" / "runs").glob("demo-*")
    (p2e,) = demo.glob("p2e-*")
    for argv in (["status", "--db", f"sqlite:///{demo / 'almaclean.db'}"], ["verify", str(p2e)]):
        done = subprocess.run([sys.executable, "-c", script, *argv], capture_output=True, text=True, timeout=300,
                              env=env)
        assert done.returncode == 0, (argv, done.stderr)
    assert not list((tmp_path / "data" / "runs").glob(".*partial"))
    assert stored_status(open_database(f"sqlite:///{demo / 'almaclean.db'}", read_only=True)).height == 4
