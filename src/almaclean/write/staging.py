"""A run's staging folder, owned by the process writing it, and the leftovers of runs that were
killed (kill -9, a power cut): found and removed by the next run in the same output folder.

Each staging folder (write.atomic.new_staging_folder) has a hidden owner file beside it,
`.<name>.partial.owner`, naming the host and process. A staging folder whose owner process is
gone (same host), or that has no owner file and was last touched over an hour ago, can never be
finished: it is removed, and said so. Folders owned by a live process or another host are left.
"""
from __future__ import annotations

import logging
import os
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from almaclean import interrupts, process
from almaclean.write.atomic import STAGING_SUFFIX, discard_staging_folder, new_staging_folder

log = logging.getLogger(__name__)

OWNER_SUFFIX = ".owner"
ORPHAN_AGE_SECONDS = 3600

_held: set[Path] = set()   # this process's staging folders not yet published or removed
_held_lock = threading.Lock()


def owner_file(staging: Path) -> Path:
    return staging.with_name(staging.name + OWNER_SUFFIX)


def _owner_being_written(staging: Path) -> Path:
    return staging.with_name(staging.name + OWNER_SUFFIX + ".tmp")


def _abandoned(staging: Path) -> bool:
    owner = owner_file(staging)
    try:
        host, pid = owner.read_text(encoding="utf-8").split()
        pid = int(pid)
    except (FileNotFoundError, ValueError):
        # no owner file, or one not written yet (a run starting this very moment): only an old
        # folder is a leftover
        try:
            return time.time() - staging.stat().st_mtime > ORPHAN_AGE_SECONDS
        except FileNotFoundError:  # published or discarded meanwhile
            return False
    return host == process.host() and not process.alive(pid)


def sweep_leftovers(out_root: Path) -> list[Path]:
    """Remove the staging folders of interrupted runs in out_root; returns what was removed."""
    out_root = Path(out_root)
    if not out_root.is_dir():
        return []
    removed = []
    for staging in sorted(out_root.glob(f".*{STAGING_SUFFIX}")):
        if staging.is_dir() and _abandoned(staging):
            shutil.rmtree(staging, ignore_errors=True)
            owner_file(staging).unlink(missing_ok=True)
            _owner_being_written(staging).unlink(missing_ok=True)
            log.warning("removed %s: the unfinished outputs of a run that was interrupted (its results were "
                        "never published)", staging)
            removed.append(staging)
    return removed


@contextmanager
def staging_folder(out_root: Path, label: str) -> Iterator[Path]:
    """A new staging folder for this process, to publish inside the block; whatever is left of
    it when the block ends (a failure, no publish) is removed."""
    sweep_leftovers(out_root)
    staging: Path | None = None
    try:
        # a stop while the folder is made and owned is raised once it is held, so it is removed
        with interrupts.deferred():
            staging = new_staging_folder(Path(out_root), label)
            written = _owner_being_written(staging)
            written.write_text(f"{process.host()} {os.getpid()}\n", encoding="utf-8")
            os.replace(written, owner_file(staging))  # never seen half-written by another run's sweep
            with _held_lock:
                _held.add(staging)
        yield staging
    finally:
        if staging is not None:
            _release(staging)


def _release(staging: Path) -> None:
    with _held_lock:
        _held.discard(staging)
    discard_staging_folder(staging)  # nothing to do once published (renamed)
    owner_file(staging).unlink(missing_ok=True)
    _owner_being_written(staging).unlink(missing_ok=True)


def discard_unfinished() -> list[Path]:
    """Remove every staging folder this process still holds (a stopped run whose threads are
    left behind: they publish nothing once stopped, and their writes into it fail)."""
    with _held_lock:
        held = sorted(_held)
    for staging in held:
        _release(staging)
    return held
