"""The command line: exit codes, messages, and ingest of every kind on the sample."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from almaclean.cli import build_parser, main
from almaclean.sample.generator import generate
from almaclean.store.db import open_database
from almaclean.store.load import stored_status
from conftest import sqlite_url

COMMANDS = ["ingest", "status", "sample", "demo", "resync", "p2e", "nightly", "batch", "verify"]


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("sample")
    generate(folder, seed=3, scale=0.2)
    return folder


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as done:
        build_parser().parse_args([command, "--help"])
    assert done.value.code == 0
    assert "--db" in capsys.readouterr().out


def test_ingest_every_kind_of_the_sample_then_status(sample, tmp_path, capsys):
    url = sqlite_url(tmp_path)
    exports = sorted(str(p) for p in sample.glob("*_portfolios.xlsx"))
    for kind, files in (("portfolios", [str(sample / "portfolios.csv")]), ("p2e", [str(sample / "p2e.txt")]),
                        ("p2e", [str(sample / "p2e_report.xlsx")]), ("po-lines", [str(sample / "po_lines.csv")]),
                        ("extended-export", exports)):
        assert main(["ingest", kind, *files, "--institution", "UNI", "--db", url]) == 0
    out = capsys.readouterr().out
    assert out.count("stored") == 4 + len(exports)
    status = stored_status(open_database(url))
    assert sorted(status["kind"].to_list()) == ["extended-export", "p2e", "po-lines", "portfolios"]
    # The report variant of the P2E file supersedes the text one (same kind and scope).
    p2e = status.filter(kind="p2e").row(0, named=True)
    assert (p2e["files"], p2e["current_files"]) == (2, 1)

    assert main(["ingest", "portfolios", str(sample / "portfolios.csv"), "--institution", "UNI", "--db", url]) == 0
    assert "unchanged" in capsys.readouterr().out


def test_bad_input_exits_2_naming_file_row_and_column(tmp_path, capsys):
    bad = tmp_path / "export.csv"
    bad.write_text("Portfolio Id,MMS Id,Title\n5312345678903681,9912345678903681,Fine\n"
                   "5312345678903682,9.97704E+15,Corrupted by Excel\n", encoding="utf-8")
    url = sqlite_url(tmp_path)
    code = main(["ingest", "portfolios", str(bad), "--institution", "UNI", "--db", url])
    err = capsys.readouterr().err
    assert code == 2
    assert "export.csv" in err and "row 3" in err and "MMS Id" in err
    assert stored_status(open_database(url)).is_empty()


def test_installed_command_runs(tmp_path):
    """The console script itself (as a user runs it): status on an empty database."""
    done = subprocess.run([sys.executable, "-m", "almaclean.cli", "status", "--db", sqlite_url(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "nothing stored yet" in done.stdout


def test_resync_then_verify_exit_codes(sample, tmp_path, capsys):
    export = sorted(sample.glob("*_portfolios.xlsx"))[0]
    url = sqlite_url(tmp_path)
    assert main(["resync", str(export), "--institution", "EDU01", "--out", str(tmp_path / "out"), "--db", url]) == 0
    run = next((tmp_path / "out").iterdir())
    assert main(["verify", str(run)]) == 0
    assert "verified" in capsys.readouterr().out

    changes = next(run.glob("*/changes.csv"))
    changes.write_bytes(changes.read_bytes() + b"\n")
    assert main(["verify", str(run)]) == 1
    assert "changes.csv" in capsys.readouterr().out

    assert main(["verify", str(tmp_path)]) == 2
    assert "not an audit bundle" in capsys.readouterr().err


def test_resync_with_one_corrupt_export_writes_nothing(sample, tmp_path, capsys):
    good = sorted(sample.glob("*_portfolios.xlsx"))[0]
    corrupt = tmp_path / "Broken+Collection_portfolios.xlsx"
    corrupt.write_bytes(good.read_bytes()[:4000])  # a download cut short
    out = tmp_path / "out"
    url = sqlite_url(tmp_path)
    assert main(["resync", str(good), str(corrupt), "--institution", "EDU01", "--out", str(out), "--db", url]) == 2
    assert "Broken+Collection_portfolios.xlsx" in capsys.readouterr().err
    assert not out.exists() or not any(out.iterdir())
    assert stored_status(open_database(url)).is_empty()


def test_a_relative_data_folder_is_refused_so_every_folder_finds_the_same_history(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ALMACLEAN_DATA", "almaclean-data")
    assert main(["status"]) == 2
    error = capsys.readouterr().err
    assert "$ALMACLEAN_DATA is 'almaclean-data', a relative path" in error
    assert f"export ALMACLEAN_DATA={tmp_path / 'almaclean-data'}" in error
    assert not (tmp_path / "almaclean-data").exists()
    monkeypatch.setenv("ALMACLEAN_DATA", str(tmp_path / "data"))
    assert main(["status"]) == 0
