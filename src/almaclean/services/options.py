"""Options are input too: each is checked before any work, and a bad one is exit 2."""
from __future__ import annotations

import os
import re
import stat
from pathlib import Path

from almaclean.errors import InputError

_INSTITUTION = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def institution_code(code: str) -> str:
    """An Alma institution code (e.g. 01CARLI_UIU): letters, digits, '_', '.', '-'; 1-64 long."""
    if not isinstance(code, str) or not _INSTITUTION.fullmatch(code):
        raise InputError(f"--institution {code!r} is not an institution code: use letters, digits, "
                         "'_', '.' or '-' (at most 64), like 01CARLI_UIU")
    return code


def set_header(header: str) -> str:
    """One line of printable text: the header Alma reads first in an itemized set file."""
    if not header or not header.strip() or not header.isprintable() or header != header.strip():
        raise InputError(f"--set-header {header!r} must be one line of printable text, like 'Portfolio Id'")
    return header


def positive(name: str, value: int) -> int:
    if value < 1:
        raise InputError(f"{name} must be at least 1 (got {value})")
    return value


def input_file(path: Path | str, *, what: str = "file") -> Path:
    """A regular file that exists (links followed): never a folder, a device, a FIFO or a
    dangling or looping link, which would hang or fail half-way through a read."""
    path = Path(path)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        reason = "is a link to nothing (dangling link)" if path.is_symlink() else "does not exist"
        raise InputError(f"this {what} {reason}", file=path) from None
    except OSError as exc:  # a looping link, a permission problem
        raise InputError(f"cannot open this {what}: {exc.strerror or exc}", file=path) from None
    if stat.S_ISDIR(mode):
        raise InputError(f"this is a folder; give a {what}", file=path)
    if not stat.S_ISREG(mode):
        raise InputError(f"this is not a regular {what} (a device, a pipe or a socket)", file=path)
    if not os.access(path, os.R_OK):
        raise InputError(f"this {what} cannot be read (permission denied)", file=path)
    return path
