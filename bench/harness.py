"""Runs a piece of work in a fresh Python process and reports its wall time and peak RSS.

Each measurement is its own process so that peak RSS is that work's alone, never inflated by
an earlier step. Import time of the libraries is excluded from wall time (the `setup` code),
so figures compare the work itself with its floor.
"""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from dataclasses import dataclass

CHILD = """
import json, time
{setup}
_t0, _c0 = time.perf_counter(), time.process_time()
{work}
_wall, _cpu = time.perf_counter() - _t0, time.process_time() - _c0
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent across fork and exec.
_hwm = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:"))
print("__MEASURE__" + json.dumps({{"wall": _wall, "rss_mb": _hwm / 1024, "cpu": _cpu}}))
"""


@dataclass(frozen=True)
class Measurement:
    label: str
    wall: float
    rss_mb: float
    # Processor time of all the process's threads (user + system): unlike wall time, barely
    # moved by another process using the same cores, so runs on a shared machine compare.
    cpu: float = 0.0

    def line(self, floor: "Measurement | None" = None) -> str:
        ratio = f"  ({self.wall / floor.wall:.2f}x the floor's time)" if floor and floor.wall else ""
        return f"{self.label:<48} {self.wall:8.2f} s  {self.rss_mb:8.0f} MB peak RSS  {self.cpu:7.2f} s CPU{ratio}"


def measure(label: str, work: str, setup: str = "") -> Measurement:
    code = CHILD.format(setup=textwrap.dedent(setup), work=textwrap.dedent(work))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise SystemExit(f"benchmark step failed: {label}")
    line = next(l for l in done.stdout.splitlines() if l.startswith("__MEASURE__"))
    figures = json.loads(line.removeprefix("__MEASURE__"))
    return Measurement(label, figures["wall"], figures["rss_mb"], figures.get("cpu", 0.0))
