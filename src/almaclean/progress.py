"""Progress for long work: a live line on a terminal, a few log lines otherwise."""
from __future__ import annotations

import logging
import sys
import time

_visible = True


def set_visible(visible: bool) -> None:
    """--quiet: no live progress line."""
    global _visible
    _visible = visible


class Progress:
    """Counts work done out of `total` and reports it without flooding logs."""

    def __init__(self, label: str, total: int, *, logger: logging.Logger, unit: str = "rows") -> None:
        self.label, self.total, self.unit, self.log = label, max(total, 0), unit, logger
        self.done = 0
        self._started = time.monotonic()
        self._next_log = 0.25
        self._live = _visible and sys.stderr.isatty()

    def advance(self, n: int) -> None:
        self.done += n
        fraction = self.done / self.total if self.total else 1.0
        if self._live:
            sys.stderr.write(f"\r{self.label}: {fraction:4.0%} ({self.done:,}/{self.total:,} {self.unit})")
            sys.stderr.flush()
        elif fraction >= self._next_log and fraction < 1.0:
            self.log.info("%s: %d%% (%s/%s %s)", self.label, int(fraction * 100), f"{self.done:,}",
                          f"{self.total:,}", self.unit)
            while self._next_log <= fraction:
                self._next_log += 0.25

    def finish(self) -> None:
        if self._live:
            sys.stderr.write("\n")
        self.log.info("%s: %s %s in %.1f s", self.label, f"{self.done:,}", self.unit,
                      time.monotonic() - self._started)
