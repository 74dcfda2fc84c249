"""How a command almaclean prints for the user to run next is written.

Every next-step command in a run's words goes through ``command_line``, so the way the program
is invoked (and quoted) is decided in one place, and the command works from any folder:

- ``almaclean`` when the ``almaclean`` on the PATH is this installation (``uv tool install``,
  pipx, an activated virtual environment);
- ``python3 -m uv run --frozen --project /abs/clone almaclean`` when this run was started with
  ``uv run`` inside a clone (that PATH entry exists only inside ``uv run``), with the same
  interpreter or uv the run was started with;
- ``/abs/python -m almaclean`` otherwise (a virtual environment's python, not on the PATH).

File arguments are written as absolute paths, so that the command does not depend on the folder
it is typed in. Files a run writes (workbooks, summaries) name the program ``almaclean`` alone
(``WRITTEN``): `almaclean verify` re-makes them byte for byte, on any machine and installation.
"""
from __future__ import annotations

import os
import re
import shlex
import shutil
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

PROGRAM = "almaclean"
UV_RUN_ENV = "UV_RUN_RECURSION_DEPTH"       # set by `uv run` for the command it runs
UV_PARENT_ENV = "UV_INTERNAL__PARENT_INTERPRETER"   # the python of `python3 -m uv`
UV_BINARY_ENV = "UV"                         # the uv binary of `uv run`
WRITTEN = (PROGRAM,)   # the program in files a run writes (see the module's notes)


def command_line(*args: str | Path, program: Sequence[str] | None = None) -> str:
    """The command to run ``almaclean`` with ``args``, quoted for a POSIX shell; Path arguments
    are made absolute."""
    words = [*(program if program is not None else program_words()), *map(_argument, args)]
    return " ".join(shlex.quote(word) for word in words)


def tool_line(tool: str, *args: str) -> str:
    """A command of another program installed with almaclean (``prefect``), run the way this
    almaclean runs, from any folder."""
    project = _uv_project()
    if project is not None:
        return " ".join(shlex.quote(w) for w in [*_uv_run(project), tool, *args])
    return " ".join(shlex.quote(w) for w in [sys.executable, "-m", tool, *args])


def program_words() -> list[str]:
    """``almaclean`` as it can be run from any folder (see the module's notes)."""
    if _on_path_is_this_installation():
        return [PROGRAM]
    project = _uv_project()
    if project is not None:
        return [*_uv_run(project), PROGRAM]
    return [sys.executable, "-m", PROGRAM]


def _argument(arg: str | Path) -> str:
    return os.path.abspath(arg) if isinstance(arg, Path) else str(arg)


def _bin_folder() -> Path:
    return Path(sys.executable).parent


def _path_outside_uv_run() -> str:
    """$PATH as the user's shell has it: without the folder `uv run` put in front."""
    entries = os.environ.get("PATH", "").split(os.pathsep)
    if os.environ.get(UV_RUN_ENV):
        venv = os.environ.get("VIRTUAL_ENV")
        added = {str(Path(venv) / "bin"), str(Path(venv) / "Scripts")} if venv else set()
        entries = [e for e in entries if e.rstrip("/\\") not in added]
    return os.pathsep.join(entries)


def _on_path_is_this_installation() -> bool:
    found = shutil.which(PROGRAM, path=_path_outside_uv_run())
    if found is None:
        return False
    return Path(found).resolve().parent == _bin_folder().resolve()


def _uv_project() -> Path | None:
    """The clone this run's `uv run` works in: the project of its virtual environment."""
    if not os.environ.get(UV_RUN_ENV):
        return None
    venv = os.environ.get("VIRTUAL_ENV")
    if not venv:
        return None
    root = Path(venv).resolve().parent
    return root if (root / "pyproject.toml").is_file() and (root / "uv.lock").is_file() else None


def _uv_run(project: Path) -> list[str]:
    extras = [word for extra in installed_extras() for word in ("--extra", extra)]
    return [*_uv_words(), "run", "--frozen", *extras, "--project", str(project)]


def installed_extras() -> list[str]:
    """almaclean's optional extras whose packages are all installed here: `uv run` must be told
    them again, or it would remove them (it makes the environment exactly what it is told)."""
    from importlib.metadata import PackageNotFoundError, distribution
    from importlib.metadata import version as installed

    try:
        meta = distribution(PROGRAM)
    except PackageNotFoundError:
        return []
    needs: dict[str, list[str]] = {}
    for requirement in meta.requires or []:
        if "extra ==" in requirement:
            name = re.split(r"[\s;<>=!~\[]", requirement, maxsplit=1)[0]
            extra = requirement.rsplit("extra ==", 1)[1].strip().strip("'\"")
            needs.setdefault(extra, []).append(name)
    found = []
    for extra, names in sorted(needs.items()):
        try:
            for name in names:
                installed(name)
        except PackageNotFoundError:
            continue
        found.append(extra)
    return found


def _uv_words() -> list[str]:
    """uv as this run was started: `python3 -m uv` (the same interpreter) or the uv binary."""
    parent = os.environ.get(UV_PARENT_ENV)
    if parent:
        return [_short(parent), "-m", "uv"]
    return [_short(os.environ.get(UV_BINARY_ENV) or "uv")]


def _short(executable: str) -> str:
    """The program's bare name when the PATH finds this very program by it, else its path."""
    name = Path(executable).name
    found = shutil.which(name, path=_path_outside_uv_run())
    if found is not None and Path(found).resolve() == Path(executable).resolve():
        return name
    return executable


def options(pairs: Iterable[tuple[str, object]]) -> list[str | Path]:
    """Command-line words of the options a run was given: (flag, value) with value True for a
    switch, a list for a repeated or many-valued option, None or False for one not given."""
    words: list[str | Path] = []
    for flag, value in pairs:
        if value is None or value is False or value == [] or value == ():
            continue
        if value is True:
            words.append(flag)
        elif isinstance(value, (list, tuple)):
            words += [flag, *value]
        else:
            words += [flag, value if isinstance(value, Path) else str(value)]
    return words
