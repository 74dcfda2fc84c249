"""Run folders and atomic file writes: almaclean never overwrites a user's file."""
from __future__ import annotations

import contextlib
import logging
import os
import re
import unicodedata
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from almaclean.errors import AlmacleanError

log = logging.getLogger(__name__)

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_label(label: str) -> str:
    """A label usable in a file name on every OS: letters, digits, '.', '_', '-'."""
    folded = unicodedata.normalize("NFKD", label).encode("ascii", "ignore").decode("ascii")  # É -> E
    cleaned = _UNSAFE.sub("-", folded.strip()).strip(".-_")
    return cleaned[:80] or "run"


def unique_folder_names(labels: list[str]) -> list[str]:
    """One safe folder name per label, in order; a name already taken (case ignored, as on
    Windows and macOS) gets -2, -3, ..."""
    names: list[str] = []
    taken: set[str] = set()
    for label in labels:
        base = safe_label(label)
        name, n = base, 2
        while name.lower() in taken:
            name, n = f"{base}-{n}", n + 1
        names.append(name)
        taken.add(name.lower())
    return names


def new_run_folder(out_root: Path, label: str, *, now: datetime | None = None) -> Path:
    """Create and return out_root/<label>-<YYYYmmdd-HHMMSS>[-N]; never an existing folder."""
    out_root = Path(out_root)
    out_root.mkdir(parents=True, exist_ok=True)
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    base = f"{safe_label(label)}-{stamp}"
    for n in range(1, 10_000):
        folder = out_root / (base if n == 1 else f"{base}-{n}")
        try:
            folder.mkdir()
        except FileExistsError:
            continue
        log.info("run folder %s", folder)
        return folder
    raise AlmacleanError(f"cannot create a new run folder under {out_root} for {label!r}")


def _publish(temp: Path, final: Path) -> None:
    """Move temp to final unless final exists (a hard link fails atomically if it does)."""
    try:
        os.link(temp, final)
    except FileExistsError:
        raise AlmacleanError(f"{final} already exists; almaclean never overwrites a file") from None
    except OSError:
        # File systems without hard links: check, then rename (a tiny race window remains).
        if final.exists():
            raise AlmacleanError(f"{final} already exists; almaclean never overwrites a file") from None
        os.replace(temp, final)
        return
    temp.unlink()


def _new_temp(final: Path) -> Path:
    """An empty new file beside `final`, created with the usual permissions (umask applies)."""
    for _ in range(100):
        temp = final.with_name(f".{final.stem}.{uuid.uuid4().hex[:12]}.tmp{final.suffix}")
        try:
            os.close(os.open(temp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
        except FileExistsError:
            continue
        return temp
    raise AlmacleanError(f"cannot create a temporary file beside {final}")


@contextlib.contextmanager
def atomic_path(final: Path) -> Iterator[Path]:
    """Yield a temporary path beside `final`; on success it becomes `final`.

    Refuses (AlmacleanError) when `final` already exists, before and after the work.
    On any exception the temporary file is removed and `final` is left untouched.
    """
    final = Path(final)
    if final.exists():
        raise AlmacleanError(f"{final} already exists; almaclean never overwrites a file")
    final.parent.mkdir(parents=True, exist_ok=True)
    temp = _new_temp(final)
    try:
        yield temp
        _publish(temp, final)
    finally:
        if temp.exists():
            temp.unlink()
