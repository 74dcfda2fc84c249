"""The machine to one test for a moment: the run's other pytest-xdist workers, and every process
they started, are paused (SIGSTOP) and then resumed (SIGCONT).

A test that times how fast something answers measures the machine, not the code, while two other
tests share its two cores. Waiting for the other tests to finish would leave the cores idle for as
long as the longest of them runs; pausing them costs the moment the timing lasts. Only one test of
the run pauses the others at a time, and a watchdog process resumes them if this worker dies
while they are paused."""
from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

# Reads the paused processes' IDs until this worker closes the pipe (or dies), then resumes them.
_WATCHDOG = ("import os, signal, sys\n"
             "pids = [int(line) for line in sys.stdin]\n"
             "for pid in pids:\n"
             "    try:\n"
             "        os.kill(pid, signal.SIGCONT)\n"
             "    except OSError:\n"
             "        pass\n")


def parents() -> dict[int, int]:
    """Each running process's parent (Linux /proc)."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        found[int(stat.parent.name)] = int(fields[1])
    return found


def state(pid: int) -> str:
    """The process's state letter in /proc ("R", "S", "T" stopped, "Z" zombie...), "gone" if none."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return "gone"


def _others_and_theirs(parent_of: dict[int, int]) -> list[int]:
    """The other workers (the other children of the controller), then everything they started."""
    me, controller = os.getpid(), os.getppid()
    found = [pid for pid, parent in parent_of.items() if parent == controller and pid != me]
    children: dict[int, list[int]] = {}
    for pid, parent in parent_of.items():
        children.setdefault(parent, []).append(pid)
    for pid in found:  # grows while it is walked: breadth first
        found.extend(children.get(pid, ()))
    return found


@contextmanager
def others_paused(run_folder: Path):
    with open(run_folder / "pausing.lock", "a") as turn:
        fcntl.flock(turn, fcntl.LOCK_EX)  # one pausing test at a time: two would pause each other
        watchdog = subprocess.Popen([sys.executable, "-S", "-c", _WATCHDOG], stdin=subprocess.PIPE, text=True)
        paused: list[int] = []
        seen: set[int] = set()
        try:
            # A process not yet paused may start another: walk again until a walk finds none new.
            while new := [pid for pid in _others_and_theirs(parents()) if pid not in seen]:
                for pid in new:
                    seen.add(pid)
                    try:
                        os.kill(pid, signal.SIGSTOP)
                    except OSError:
                        continue
                    paused.append(pid)
                    watchdog.stdin.write(f"{pid}\n")
                watchdog.stdin.flush()
            deadline = time.monotonic() + 2
            while time.monotonic() < deadline and any(state(pid) not in ("T", "t", "Z", "X", "gone") for pid in paused):
                time.sleep(0.005)
            yield
        finally:
            for pid in paused:
                try:
                    os.kill(pid, signal.SIGCONT)
                except OSError:
                    pass
            watchdog.stdin.close()
            watchdog.wait()
