"""Options are input too: each is checked before any work, and a bad one is exit 2."""
from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from pathlib import Path

from almaclean.errors import InputError
from almaclean.read.detect import check_regular_file
from almaclean.write.csvfile import check_set_header

_INSTITUTION = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def institution_code(code: str) -> str:
    """An Alma institution code (e.g. 01CARLI_UIU): letters, digits, '_', '.', '-'; 1-64 long."""
    if not isinstance(code, str) or not _INSTITUTION.fullmatch(code):
        raise InputError(f"--institution {code!r} is not an institution code: use letters, digits, "
                         "'_', '.' or '-' (at most 64), like 01CARLI_UIU")
    return code


# Earlier almaclean versions stored re-sync exports given without --institution under this
# placeholder. It is no institution: never chosen for the user, never given to new files.
PLACEHOLDER = "default"


@dataclass(frozen=True)
class InstitutionChoice:
    """The institution a command works for, and how it was chosen (said in its closing lines)."""

    code: str
    how: str        # "named" | "the only institution in the database"
    note: str = ""  # the old placeholder left aside, when the database holds it


def choose_institution(given: str | None, stored: list[str], *, storing: bool) -> InstitutionChoice:
    """The one rule every command follows: the institution named with --institution, else the only
    one the database holds (files stored under the old placeholder 'default' aside); otherwise the
    user must name it (InputError). `storing`: the command stores files (the placeholder is refused)."""
    real = [code for code in stored if code != PLACEHOLDER]
    note = (f"the files stored under {PLACEHOLDER!r}, the placeholder earlier almaclean versions used for "
            f"re-sync runs without --institution, stay readable with --institution {PLACEHOLDER}"
            if PLACEHOLDER in stored else "")
    legacy = f" ({note})" if note else ""
    if given is not None:
        institution_code(given)
        if storing and given == PLACEHOLDER:
            raise InputError(f"--institution {PLACEHOLDER!r} is the placeholder earlier almaclean versions used, not "
                             "an institution: name the institution these files belong to (its Alma code, like "
                             "01CARLI_UIU)")
        return InstitutionChoice(given, "named")
    if len(real) == 1:
        return InstitutionChoice(real[0], "the only institution in the database", note)
    if not real:
        raise InputError("no institution named, and none is stored yet: name the institution "
                         + ("these files belong to" if storing else "to look at") + " with --institution CODE "
                         "(its Alma code, like 01CARLI_UIU)" + legacy)
    raise InputError(f"the database holds several institutions ({', '.join(real)}): choose one with "
                     "--institution CODE" + legacy)


def set_header(header: str) -> str:
    """The header Alma reads first in an itemized set file (write.csvfile.check_set_header)."""
    try:
        return check_set_header(header)
    except InputError as exc:
        raise InputError(f"--set-header {header!r}: {exc.message}") from None


def positive(name: str, value: int) -> int:
    if value < 1:
        raise InputError(f"{name} must be at least 1 (got {value})")
    return value


def whole_number(name: str, value: int, low: int, high: int) -> int:
    """An integer option between low and high, or InputError saying the range."""
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise InputError(f"{name} must be a whole number from {low:,} to {high:,} (got {value!r})")
    return value


def number(name: str, value: float, low: float, high: float) -> float:
    """A finite number option between low and high (never nan or inf), or InputError."""
    if not isinstance(value, (int, float)) or not math.isfinite(value) or not low <= value <= high:
        raise InputError(f"{name} must be a number from {low:g} to {high:g} (got {value!r})")
    return float(value)


def output_folder(path: Path | str, option: str = "--out") -> Path:
    """A folder to write into: one that exists, or one that can be made (its nearest existing
    ancestor is a folder you may write in). Never a file, a link to nothing, a device, or a
    path through a file (/dev/null/x). InputError naming it otherwise."""
    path = Path(path)
    if os.path.lexists(path) and not path.exists():
        raise InputError(f"{option}: a symbolic link that leads nowhere (or loops): give a folder", file=path)
    if path.exists():
        if not path.is_dir():
            raise InputError(f"{option}: this is a file, not a folder: give a folder for the outputs (it is made "
                             "when it does not exist)", file=path)
        nearest = path
    else:
        nearest = next((parent for parent in path.parents if os.path.lexists(parent)), Path("."))
        if not nearest.is_dir():
            raise InputError(f"{option}: {nearest} is not a folder, so nothing can be made under it", file=path)
    if not os.access(nearest, os.W_OK | os.X_OK):
        raise InputError(f"{option}: you may not write in {nearest}: give a folder you can write to", file=path)
    return path


def input_file(path: Path | str) -> Path:
    """A regular file that exists (read.detect.check_regular_file: never a folder, a device, a
    FIFO or a dangling or looping link), for inputs opened before any reader sees them."""
    check_regular_file(path)
    return Path(path)
