"""Options are input too: each is checked before any work, and a bad one is exit 2."""
from __future__ import annotations

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


def input_file(path: Path | str) -> Path:
    """A regular file that exists (read.detect.check_regular_file: never a folder, a device, a
    FIFO or a dangling or looping link), for inputs opened before any reader sees them."""
    check_regular_file(path)
    return Path(path)
