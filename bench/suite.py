"""Test-suite benchmark: this checkout's suite beside a baseline revision's, on the same machine.

Each tree runs its own test command, README.md's second command, as CI runs it (.ci/run): the
baseline in a git worktree of its own beside this checkout (its own .venv and lock file; beside,
so that an old suite reading files from `../shared` finds them where this checkout would), this
checkout as it stands. Runs alternate (baseline, this checkout, baseline, ...), so a machine
whose speed drifts slows both alike; each pair gives a ratio, target at most 0.80 (the suite 20%
faster). A first, untimed `--collect-only` of each tree does the set-up (uv's install).

Beside wall time it prints the processor time of everything the suite started (user + system of
the waited-for processes) and the machine's speed during the run: a fixed pure-Python loop timed
on a thread of this process every few seconds (thread time, so the suite's load on the cores
does not count, only how fast a core is). On a shared machine that speed moves by 20-40% from
one quarter of an hour to the next; a pair whose two runs saw different speeds is not a
comparison of the code.

    python3 -m uv run --frozen python bench/suite.py [--baseline f739ffd] [--pairs 2]

$ALMACLEAN_TEST_PG_URL is passed on as is (without it the PostgreSQL tests skip in both trees).
"""
from __future__ import annotations

import argparse
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = 0.80
PROBE_EVERY = 5.0
_COMMAND = re.compile(r"^(python3|uv|\./|make|pip)")
_SUMMARY = re.compile(r"(\d+) passed")


def test_command(tree: Path) -> str:
    """README.md's second command (as .ci/run finds it)."""
    commands = [line for line in (tree / "README.md").read_text(encoding="utf-8").splitlines()
                if _COMMAND.match(line)]
    if len(commands) < 2:
        raise SystemExit(f"{tree / 'README.md'} does not open with the two commands")
    return commands[1]


class SpeedProbe:
    """Thread time of a fixed loop, sampled while the suite runs (lower is faster)."""

    def __init__(self) -> None:
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.thread_time()
            sum(range(2_000_000))
            self.samples.append(time.thread_time() - started)
            self._stop.wait(PROBE_EVERY)

    def __enter__(self) -> "SpeedProbe":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def seconds(self) -> float:
        return statistics.median(self.samples) if self.samples else float("nan")


@dataclass(frozen=True)
class Run:
    label: str
    wall: float
    cpu: float
    passed: int
    probe: float
    ok: bool

    def line(self, reference_probe: float) -> str:
        speed = reference_probe / self.probe   # nan when the suite ended before a sample
        status = "" if self.ok else "  FAILED"
        return (f"{self.label:<28} {self.wall:7.1f} s wall  {self.cpu:7.1f} s CPU  {self.passed:5d} passed  "
                f"machine speed {speed:.2f}{status}")


def run_suite(label: str, tree: Path, command: str) -> Run:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    with SpeedProbe() as probe:
        done = subprocess.run(["bash", "-c", command], cwd=tree, capture_output=True, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    last = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
    passed = _SUMMARY.search(last)
    if done.returncode != 0:
        sys.stderr.write(done.stdout[-3000:] + done.stderr[-3000:])
    return Run(label, wall, cpu, int(passed.group(1)) if passed else 0, probe.seconds, done.returncode == 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default="f739ffd", help="the revision to compare with (default %(default)s)")
    parser.add_argument("--pairs", type=int, default=2, help="pairs of runs (baseline, this checkout)")
    args = parser.parse_args()
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                          check=True).stdout.strip()
    baseline = Path(tempfile.mkdtemp(prefix=f"almaclean-bench-suite-{args.baseline}-", dir=ROOT.parent))
    subprocess.run(["git", "worktree", "add", "--detach", "--quiet", "-f", str(baseline), args.baseline], cwd=ROOT,
                   check=True)
    try:
        compare({f"baseline {args.baseline}": baseline, f"this checkout ({head})": ROOT}, args.pairs)
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(baseline)], cwd=ROOT, check=False)


def compare(trees: dict[str, Path], pairs: int) -> None:
    commands = {label: test_command(tree) for label, tree in trees.items()}
    for label, tree in trees.items():
        print(f"{label}: {commands[label]}  (set-up, not timed)", flush=True)
        subprocess.run(["bash", "-c", commands[label] + " --collect-only -q"], cwd=tree, check=True,
                       capture_output=True)
    runs: list[Run] = []
    ratios: list[float] = []
    for pair in range(1, pairs + 1):
        for label, tree in trees.items():
            runs.append(run_suite(label, tree, commands[label]))
            print(runs[-1].line(runs[0].probe), flush=True)
        base, this = runs[-2], runs[-1]
        ratios.append(this.wall / base.wall)
        print(f"pair {pair}: {ratios[-1]:.2f}x the baseline's time, "
              f"{this.cpu / base.cpu:.2f}x its processor time (target at most {TARGET:.2f}x)", flush=True)
    median = statistics.median(ratios)
    print(f"ratios: {', '.join(f'{r:.2f}x' for r in ratios)}; median {median:.2f}x "
          f"(target at most {TARGET:.2f}x: {'met' if median <= TARGET else 'NOT met'})")


if __name__ == "__main__":
    main()
