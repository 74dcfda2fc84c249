"""Run folders and atomic file writes: almaclean never overwrites a user's file."""
from __future__ import annotations

import contextlib
import errno
import logging
import os
import re
import shutil
import time
import unicodedata
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

from almaclean import interrupts
from almaclean.errors import AlmacleanError, InputError

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
    folder = _claim_folder(out_root, lambda n: f"{_stamped(label, now)}{'' if n == 1 else f'-{n}'}")
    log.info("run folder %s", folder)
    return folder


def _stamped(label: str, now: datetime | None) -> str:
    return f"{safe_label(label)}-{(now or datetime.now()).strftime('%Y%m%d-%H%M%S')}"


def _claim_folder(out_root: Path, name: Callable[[int], str]) -> Path:
    """Create out_root/name(1), else name(2), ...: a folder no one else has."""
    out_root = Path(out_root)
    out_root.mkdir(parents=True, exist_ok=True)
    for n in range(1, 10_000):
        folder = out_root / name(n)
        try:
            folder.mkdir()
        except FileExistsError:
            continue
        return folder
    raise AlmacleanError(f"cannot create a new folder {name(1)!r} under {out_root}")


STAGING_SUFFIX = ".partial"


def make_folder(path: Path) -> None:
    """`mkdir -p` that never makes a staging folder again: a stopped run removes its staging
    folder while its worker threads may still be writing, and a thread's next folder must fail
    (FileNotFoundError) rather than leave a new, empty staging folder behind."""
    path = Path(path)
    missing = []
    while not path.is_dir():
        if path.name.endswith(STAGING_SUFFIX):
            raise FileNotFoundError(errno.ENOENT, "the run's staging folder was removed (the run was stopped)",
                                    str(path))
        missing.append(path)
        if path.parent == path:
            break
        path = path.parent
    for folder in reversed(missing):
        folder.mkdir(exist_ok=True)


def new_staging_folder(out_root: Path, label: str, *, now: datetime | None = None) -> Path:
    """A hidden folder to write a run's outputs into before they are final:
    out_root/.<label>-<YYYYmmdd-HHMMSS>[-N].partial. publish_run_folder gives it its final
    name; discard_staging_folder removes it when the run fails."""
    folder = _claim_folder(out_root, lambda n: f".{_stamped(label, now)}{'' if n == 1 else f'-{n}'}{STAGING_SUFFIX}")
    log.info("writing the run's outputs in %s", folder)
    return folder


def publish_run_folder(staging: Path) -> Path:
    """Rename a staging folder to its run folder name (never onto an existing folder); a
    stopped run publishes nothing."""
    interrupts.check()
    staging = Path(staging)
    base = staging.name.removeprefix(".").removesuffix(STAGING_SUFFIX)
    for n in range(1, 10_000):
        final = staging.with_name(base if n == 1 else f"{base}-{n}")
        if final.exists():
            continue
        try:
            os.rename(staging, final)
        except OSError:  # the name was taken meanwhile (a folder with files is never replaced)
            if final.exists():
                continue
            raise
        log.info("run folder %s", final)
        return final
    raise AlmacleanError(f"cannot publish {staging}: no free run folder name")


def discard_staging_folder(staging: Path) -> None:
    """Remove a staging folder of a failed run (only ever one new_staging_folder made).

    A stopped run's worker threads may still be writing into it: the folder is first renamed
    (their next file under the old name fails), then removed, again while files still appear."""
    staging = Path(staging)
    if not (staging.name.startswith(".") and staging.name.endswith(STAGING_SUFFIX) and staging.is_dir()):
        return
    # still a hidden *.partial name: a kill right now leaves a folder the next run sweeps
    doomed = staging.with_name(f"{staging.name.removesuffix(STAGING_SUFFIX)}.discarded-{uuid.uuid4().hex[:8]}"
                               f"{STAGING_SUFFIX}")
    try:
        os.rename(staging, doomed)
    except OSError:
        doomed = staging
    for _ in range(DISCARD_ATTEMPTS):
        shutil.rmtree(doomed, ignore_errors=True)
        if not doomed.exists():
            break
        time.sleep(0.02)
    else:
        shutil.rmtree(doomed)  # what stands in the way, said
    log.info("removed the unfinished outputs in %s", staging)


DISCARD_ATTEMPTS = 50


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
    try:
        make_folder(final.parent)
        temp = _new_temp(final)
    except OSError as exc:
        raise _explained(exc, final) from exc
    try:
        yield temp
        _flush_to_disk(temp)
        _publish(temp, final)
    except OSError as exc:
        if exc.errno in _NO_SPACE:
            raise _explained(exc, final) from exc
        raise
    finally:
        if temp.exists():
            temp.unlink()


_NO_SPACE = (errno.ENOSPC, errno.EDQUOT)
_NOT_WRITABLE = (errno.EACCES, errno.EPERM, errno.EROFS)


def _explained(exc: OSError, final: Path) -> Exception:
    """A write failure in words: nothing was written, and what to do."""
    if exc.errno in _NO_SPACE:
        return AlmacleanError(f"{final}: no space left on the disk (or quota reached); nothing was written. "
                              "Free some space and run again")
    if exc.errno in _NOT_WRITABLE:
        return InputError("cannot write in this folder (read-only or no permission): choose another "
                          "output folder", file=final.parent)
    return AlmacleanError(f"{final}: cannot write the file: {exc.strerror or exc}; nothing was written")


def _flush_to_disk(temp: Path) -> None:
    """The file's bytes on disk before its final name appears: a power cut never leaves an
    empty or partial file under a final name."""
    descriptor = os.open(temp, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
