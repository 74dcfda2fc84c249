"""Options are input too: each is checked before any work, and a bad one is exit 2."""
from __future__ import annotations

import math
import os
import re
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
