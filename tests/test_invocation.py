"""Next-step commands work from any folder: the program as this almaclean can be run there,
every option of the run repeated, files as absolute paths."""
from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from almaclean import invocation
from almaclean.invocation import command_line, program_words
from conftest import REPO

UV_VARIABLES = (invocation.UV_RUN_ENV, invocation.UV_PARENT_ENV, invocation.UV_BINARY_ENV, "VIRTUAL_ENV")


@pytest.fixture
def plain_shell(monkeypatch):
    """No `uv run` around this process."""
    for name in UV_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def _installation(root: Path) -> Path:
    """A virtual environment's bin folder with a python and an `almaclean` script."""
    bin_folder = root / "bin"
    bin_folder.mkdir(parents=True)
    (bin_folder / "python").symlink_to(sys.executable)
    script = bin_folder / "almaclean"
    script.write_text("#!/bin/sh\n", encoding="utf-8")
    script.chmod(0o755)
    return bin_folder


def test_an_installed_tool_on_the_path_is_plain_almaclean(tmp_path, plain_shell):
    tool = _installation(tmp_path / "uv" / "tools" / "almaclean")
    on_path = tmp_path / "local-bin"
    on_path.mkdir()
    (on_path / "almaclean").symlink_to(tool / "almaclean")   # what `uv tool install` / pipx link
    plain_shell.setattr(sys, "executable", str(tool / "python"))
    plain_shell.setenv("PATH", f"{on_path}{os.pathsep}/usr/bin")
    assert program_words() == ["almaclean"]
    assert command_line("status") == "almaclean status"


def test_another_installations_almaclean_on_the_path_is_not_used(tmp_path, plain_shell):
    other = _installation(tmp_path / "other")
    mine = _installation(tmp_path / "mine")
    plain_shell.setattr(sys, "executable", str(mine / "python"))
    plain_shell.setenv("PATH", f"{other}{os.pathsep}/usr/bin")
    assert program_words() == [str(mine / "python"), "-m", "almaclean"]


def test_a_run_started_by_uv_run_in_a_clone_gives_the_uv_run_command_with_its_project(tmp_path, monkeypatch):
    clone = tmp_path / "my clone"
    venv_bin = _installation(clone / ".venv")
    (clone / "pyproject.toml").write_text("[project]\nname = 'almaclean'\n", encoding="utf-8")
    (clone / "uv.lock").write_text("", encoding="utf-8")
    python_bin = tmp_path / "python-bin"
    python_bin.mkdir()
    (python_bin / "python3").symlink_to(sys.executable)
    monkeypatch.setattr(sys, "executable", str(venv_bin / "python"))
    # inside `uv run` the clone's .venv/bin is first on the PATH: the user's shell does not have it
    monkeypatch.setenv("PATH", os.pathsep.join([str(venv_bin), str(python_bin), "/usr/bin"]))
    monkeypatch.setenv(invocation.UV_RUN_ENV, "1")
    monkeypatch.setenv("VIRTUAL_ENV", str(clone / ".venv"))
    monkeypatch.setenv(invocation.UV_PARENT_ENV, str(python_bin / "python3"))
    monkeypatch.setattr(invocation, "installed_extras", lambda: ["postgres"])
    assert program_words() == ["python3", "-m", "uv", "run", "--frozen", "--extra", "postgres",
                               "--project", str(clone), "almaclean"]
    assert command_line("status").startswith(f"python3 -m uv run --frozen --extra postgres --project '{clone}' "
                                             "almaclean status")
    # a python3 the shell would not find by that name is written as its path
    monkeypatch.setenv("PATH", os.pathsep.join([str(venv_bin), "/usr/bin"]))
    assert program_words()[:3] == [str(python_bin / "python3"), "-m", "uv"]


def test_files_are_written_absolute_and_quoted(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    line = command_line("p2e", "--portfolios", Path("my exports/all portfolios.csv"), program=["almaclean"])
    assert shlex.split(line) == ["almaclean", "p2e", "--portfolios", str(tmp_path / "my exports/all portfolios.csv")]


def _users_shell() -> dict[str, str]:
    """The environment of the user's terminal: without what `uv run` adds for this test run."""
    env = {k: v for k, v in os.environ.items() if k not in UV_VARIABLES}
    env["PATH"] = invocation._path_outside_uv_run()
    return env


def _uv() -> list[str]:
    if os.environ.get(invocation.UV_PARENT_ENV):
        return [os.environ[invocation.UV_PARENT_ENV], "-m", "uv"]
    if os.environ.get(invocation.UV_BINARY_ENV):
        return [os.environ[invocation.UV_BINARY_ENV]]
    if shutil.which("uv"):
        return ["uv"]
    return [shutil.which("python3") or sys.executable, "-m", "uv"]


def test_the_command_printed_inside_uv_run_works_from_another_folder(tmp_path):
    """Outside the clone, `python3 -m uv run --frozen almaclean` fails ("Failed to spawn"): the
    command printed names the clone, and runs from anywhere."""
    extras = [word for extra in invocation.installed_extras() for word in ("--extra", extra)]
    printed = subprocess.run(
        [*_uv(), "run", "--frozen", *extras, "--project", str(REPO), "python", "-c",
         "from almaclean.invocation import command_line; print(command_line('--version'))"],
        cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert printed.returncode == 0, printed.stderr
    line = printed.stdout.strip()
    assert f"--project {REPO}" in line or f"--project '{REPO}'" in line
    elsewhere = tmp_path / "somewhere else"
    elsewhere.mkdir()
    done = subprocess.run(line, shell=True, cwd=elsewhere, env=_users_shell(), capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, f"{line}\n{done.stderr}"
    assert done.stdout.startswith("almaclean ")


def test_p2e_prints_the_run_again_with_every_option_and_it_works_from_another_folder(tmp_path):
    from almaclean.sample.generator import generate

    sample = generate(tmp_path / "sample", seed=2, scale=0.1)
    # a portfolio export without its PO line columns: no PO-line evidence, so no deletion sets
    pl.read_csv(sample.path("portfolios"), infer_schema=False).drop(
        "PO Line Reference", "Portfolio Additional PO Lines").write_csv(
        tmp_path / "sample" / "no-po.csv")
    here = tmp_path / "here"
    here.mkdir()
    env = {**_users_shell(), "ALMACLEAN_DATA": str(tmp_path / "data")}
    first = subprocess.run(
        [sys.executable, "-m", "almaclean.cli", "p2e", "--institution", "EDU01", "--portfolios", "../sample/no-po.csv",
         "--p2e", "../sample/p2e.txt", "--set-size", "25", "--out", "runs", "--db", "sqlite:///here.db"],
        cwd=here, env=env, capture_output=True, text=True, timeout=600)
    assert first.returncode == 0, first.stderr
    (line,) = [text.split(": ", 1)[1] for text in first.stdout.splitlines()
               if text.startswith("  next, to write the deletion sets without PO-line evidence:")]
    words = shlex.split(line)
    for option, value in [("--institution", "EDU01"), ("--portfolios", str(tmp_path / "sample/no-po.csv")),
                          ("--p2e", str(tmp_path / "sample/p2e.txt")), ("--set-size", "25"),
                          ("--out", str(here / "runs")), ("--db", f"sqlite:///{here / 'here.db'}")]:
        assert words[words.index(option) + 1] == value, line
    assert words[-1] == "--without-po-lines"

    again = subprocess.run(line, shell=True, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr
    runs = sorted((here / "runs").glob("p2e-*"))
    assert len(runs) == 2 and not (runs[0] / "deletion-sets").exists() and (runs[1] / "deletion-sets").is_dir()


def test_status_on_an_empty_database_says_how_to_store_with_the_same_database(tmp_path):
    done = subprocess.run([sys.executable, "-m", "almaclean.cli", "status", "--db", "sqlite:///new.db"],
                          cwd=tmp_path, env=_users_shell(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    (hint,) = [line for line in done.stdout.splitlines() if line.startswith("nothing stored yet")]
    assert hint.endswith(f"ingest KIND FILE --institution CODE --db sqlite:///{tmp_path / 'new.db'}")


def test_the_demos_follow_up_commands_find_its_history_from_any_folder(tmp_path):
    """The demo keeps its own database in its folder: the commands it prints name it."""
    env = {**_users_shell(), "ALMACLEAN_DATA": str(tmp_path / "data")}
    demo = subprocess.run([sys.executable, "-m", "almaclean.cli", "demo", "--out", "demo-out"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=900)
    assert demo.returncode == 0, demo.stderr
    commands = dict(line.removeprefix("next, ").split(": ", 1) for line in demo.stdout.splitlines()
                    if line.startswith("next, "))
    assert set(commands) == {"what the demo stored", "when a portfolio appeared, changed or went",
                             "check that the P2E run can be re-made byte for byte"}
    database = next(line for line in demo.stdout.splitlines() if line.strip().startswith("database:")).split(":", 1)[1]
    resyncs = [shlex.split(line) for line in demo.stdout.splitlines() if "--decisions" in line and " resync " in line]
    assert resyncs and all(words[words.index("--db") + 1] == database.strip() for words in resyncs)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    results = {what: subprocess.run(line, shell=True, cwd=elsewhere, env=env, capture_output=True, text=True,
                                    timeout=900) for what, line in commands.items()}
    assert all(done.returncode == 0 for done in results.values()), {w: d.stderr for w, d in results.items()}
    assert any(line.startswith("DEMO ") for line in results["what the demo stored"].stdout.splitlines())
    assert "appeared" in results["when a portfolio appeared, changed or went"].stdout
    assert "verified, every output is byte-identical" in results["check that the P2E run can be re-made byte for byte"].stdout
