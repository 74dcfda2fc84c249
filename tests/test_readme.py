"""README.md held to the code: every command and option it names exists (in --help), every
option in --help is in it, and every file name it mentions is one a run on the sample writes
(or a file of the repository)."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from almaclean.cli import build_parser
from conftest import KBART_DIR, MUSE, REPO

README = (REPO / "README.md").read_text(encoding="utf-8")
PARSER = build_parser()
FENCED = re.compile(r"^```[^\n]*\n(.*?)^```", re.DOTALL | re.MULTILINE)
INLINE = re.compile(r"`([^`\n]+)`")
FLAG = re.compile(r"(?<![\w-])(--?[A-Za-z][\w-]*)")
# Options of other programs the README shows (uv's, pytest's): not almaclean's.
OTHER_PROGRAMS_OPTIONS = {"--extra", "--compile-bytecode", "-n", "--pdb"}


def _help_flags(parser) -> set[str]:
    """The options a parser's --help shows."""
    return set(FLAG.findall(parser.format_help().split("\n", 1)[1])) - {"-h", "--help", "-vv"}


GLOBAL = _help_flags(PARSER) - {"--version"}
COMMANDS = {name: parser for name, parser in PARSER.commands.items() if name != "db"}
COMMANDS |= {f"db {name}": parser for name, parser in PARSER.commands["db"].commands.items()}


def _own_flags(parser) -> set[str]:
    return _help_flags(parser) - GLOBAL


def code_texts() -> list[str]:
    """Every code block line (continuations joined) and every inline code span."""
    blocks = FENCED.findall(README)
    lines = [line for block in blocks for line in block.replace("\\\n", " ").splitlines()]
    prose = FENCED.sub("", README)
    return lines + INLINE.findall(prose)


def command_uses() -> list[tuple[str, list[str], str]]:
    """(command, options, text) for each `almaclean COMMAND ...` the README shows."""
    uses = []
    for text in code_texts():
        for match in re.finditer(r"(?:^|\s)almaclean\s+(.*)", text):
            words = [w.strip("[](),.;") for w in match.group(1).split()]
            command, options, value_next = None, [], False
            for word in words:
                if command is None and value_next:
                    value_next = False
                elif command is None and word.startswith("-"):
                    if word not in GLOBAL | {"--version", "-vv"}:
                        break   # `almaclean` is not the program here (a pool named almaclean, say)
                    options.append(word)
                    value_next = word == "--db"
                elif command is None:
                    command = word
                elif command == "db" and not options and word in PARSER.commands["db"].commands:
                    command = f"db {word}"
                elif FLAG.fullmatch(word):
                    options.append(word)
            if command and not command.isupper():   # not a placeholder (COMMAND)
                uses.append((command, options, text))
    return uses


def test_every_command_the_readme_shows_exists_with_the_options_it_shows():
    uses = command_uses()
    assert len(uses) > 30
    for command, options, text in uses:
        assert command in COMMANDS, f"README: unknown command {command!r} in {text!r}"
        allowed = _help_flags(COMMANDS[command]) | GLOBAL | {"--version"}
        unknown = [o for o in options if o not in allowed and o != "-vv"]
        assert not unknown, f"README: {text!r}: {command} has no {unknown}"


def _table_rows(first_cell: str) -> list[tuple[str, str]]:
    """(first cell, rest) of README table rows whose first cell starts with `first_cell`."""
    return [(m.group(1), m.group(2)) for m in re.finditer(r"^\| (`" + re.escape(first_cell) + r"[^|]*) \|(.*)$",
                                                          README, re.MULTILINE)]


def test_the_command_table_lists_every_command_with_every_option_of_its_help():
    rows = {}
    for cell, _ in _table_rows("almaclean "):
        (synopsis,) = INLINE.findall(cell)
        command, options, _ = next(use for use in command_uses() if use[2] == synopsis)
        rows[command] = set(options)
    assert set(rows) == set(COMMANDS), "README's command table and the commands differ"
    for command, parser in COMMANDS.items():
        assert rows[command] == _own_flags(parser), f"README's row of {command} and its --help differ"


def test_the_global_options_table_is_every_option_the_commands_share():
    documented = set()
    for cell, _ in _table_rows("-"):
        documented |= {FLAG.match(span).group(1) for span in INLINE.findall(cell)}
    documented.discard("-vv")   # -v twice
    assert documented == GLOBAL | {"--version"}
    for parser in COMMANDS.values():   # before or after the command's name
        assert GLOBAL <= _help_flags(parser)


def test_every_option_named_in_the_text_exists():
    every = GLOBAL | {"--version", "-h", "--help"} | {f for p in COMMANDS.values() for f in _help_flags(p)}
    named = {FLAG.match(span).group(1) for span in INLINE.findall(FENCED.sub("", README))
             if FLAG.match(span) and FLAG.match(span).group(1) == span.split()[0]}
    assert named - every - {"-vv"} <= OTHER_PROGRAMS_OPTIONS
    assert {"-h", "--help"} <= {s for s in INLINE.findall(README)}


# --- file names -------------------------------------------------------------------------

FILE_NAME = re.compile(r"^[\w.+<>/-]+\.(csv|xlsx|json|txt|md|toml|db|sql|yaml|lock|gz|py|tsv)$|^[\w.-]+(/[\w.-]+)*/$")


def _mentioned_files() -> set[str]:
    return {span for span in INLINE.findall(FENCED.sub("", README)) if FILE_NAME.match(span)}


# Files the README tells the user to write, that almaclean reads (not outputs).
WRITTEN_BY_THE_USER = {"sources.toml"}


def test_the_files_the_user_writes_are_read_by_the_code():
    source = "".join(p.read_text(encoding="utf-8") for p in (REPO / "src").rglob("*.py"))
    assert all(name in source for name in WRITTEN_BY_THE_USER)


def _in_repository(name: str) -> bool:
    tracked = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True).stdout.splitlines()
    if not tracked:   # not a git checkout: the files themselves
        tracked = [str(p.relative_to(REPO)) for p in REPO.rglob("*") if ".venv" not in p.parts]
    return any(path == name.rstrip("/") or path.endswith("/" + name.rstrip("/"))
               or path.startswith(name) for path in tracked)


def _pattern(name: str) -> re.Pattern:
    """A README name with placeholders (<export>, Name+Of+Collection) as a pattern."""
    parts = re.split(r"<[^>]*>|Name\+Of\+Collection", name)
    return re.compile("^" + ".+".join(map(re.escape, parts)) + "$")


@pytest.fixture(scope="module")
def written(tmp_path_factory, prefect_server) -> set[str]:
    """Every file and folder name (and path within its run folder) a run on the sample writes:
    the demo, a P2E clean-up with a CZ title list and one with --deactivate into the data folder, a
    re-sync applying the demo's review workbook, and a nightly run on the sample's files."""
    import os
    import shutil

    from prefect.settings import PREFECT_API_URL

    base = tmp_path_factory.mktemp("readme-run")
    data = base / "data"
    env = {**os.environ, "ALMACLEAN_DATA": str(data), "PREFECT_API_URL": PREFECT_API_URL.value()}

    def almaclean(*args: str, prefect: bool = False) -> str:
        done = subprocess.run([sys.executable, "-m", "almaclean.cli", *args], cwd=base, capture_output=True,
                              text=True, env=env if prefect else {k: v for k, v in env.items() if k != "PREFECT_API_URL"},
                              timeout=900)
        assert done.returncode == 0, done.stderr
        return done.stdout

    almaclean("demo", "--out", str(base / "demo"))
    (demo,) = (base / "demo").iterdir()
    db = ["--db", f"sqlite:///{demo / 'almaclean.db'}"]
    almaclean("p2e", "--institution", "DEMO", "--cz-titles", str(KBART_DIR / MUSE), *db)
    almaclean("p2e", "--institution", "DEMO", "--deactivate", *db)
    (resync,) = demo.glob("resync-*")
    review = next(resync.glob("*/*_loader_DRAFT.xlsx")).with_name("review.xlsx")   # a manual load
    export = next(p for p in review.parent.iterdir() if p.name.endswith("_portfolios.xlsx"))
    almaclean("resync", str(export), "--decisions", str(_decided(review, base / "decided.xlsx")),
              "--institution", "DEMO", "--out", str(base / "decided"), *db)
    inbox = base / "inbox" / "DEMO"
    inbox.mkdir(parents=True)
    for name in ("portfolios.csv", "p2e.txt", "po_lines.csv"):
        shutil.copyfile(demo / "sample" / name, inbox / name)
    almaclean("nightly", str(base / "inbox"), "--out", str(base / "nightly"), prefect=True)
    names = set()
    for root in (base / "demo", base / "decided", base / "nightly", data):
        for path in root.rglob("*"):
            relative = path.relative_to(root)
            suffix = "/" if path.is_dir() else ""
            names.add(path.name + suffix)
            names.update("/".join(relative.parts[i:]) + suffix for i in range(len(relative.parts)))
    return names


def _decided(review: Path, target: Path) -> Path:
    """A copy of review.xlsx with a decision in every blank 'decision' cell ("drop row", which
    every sheet offers), as a reviewer hands it back: a blank cell is no decision."""
    import polars as pl

    from almaclean.resync.decisions import DROP
    from almaclean.services.resync_inputs import read_review_workbook
    from almaclean.write.xlsx import Sheet, write_workbook

    sheets = []
    for name, table in read_review_workbook(review).items():
        frame = table.frame
        if "decision" in table.header:
            c = frame.columns[table.header.index("decision")]
            frame = frame.with_columns(pl.when(pl.col(c).is_null() | (pl.col(c) == "")).then(pl.lit(DROP))
                                       .otherwise(pl.col(c)).alias(c))
        sheets.append(Sheet(name, table.header, frame))
    write_workbook(target, sheets)
    return target


def test_every_file_name_the_readme_mentions_is_written_by_a_run_or_is_in_the_repository(written):
    mentioned = _mentioned_files()
    assert {"deletion_candidates.csv", "review.xlsx", "bundle.json", "deletion-sets/"} <= mentioned
    missing = sorted(name for name in mentioned - WRITTEN_BY_THE_USER
                     if not any(_pattern(name).match(w) for w in written) and not _in_repository(name))
    assert missing == [], f"README names files no run writes and the repository does not hold: {missing}"


def test_the_readme_starts_with_the_two_commands_ci_runs():
    first_block = FENCED.search(README)
    assert README.startswith("# almaclean\n\n```sh\n")
    lines = first_block.group(1).splitlines()
    assert len(lines) == 2 and lines[1].endswith("pytest") and lines[0].endswith("almaclean demo")
    assert Path(REPO / ".ci" / "run").read_text(encoding="utf-8").count("sed -n 2p") == 1
