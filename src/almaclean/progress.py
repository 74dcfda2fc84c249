"""Progress for long work: a rich progress bar on a terminal, a few log lines otherwise."""
from __future__ import annotations

import logging
import sys
import time

from almaclean import interrupts

_visible = True


def set_visible(visible: bool) -> None:
    """--quiet: no progress bar."""
    global _visible
    _visible = visible


class Progress:
    """Counts work done out of `total` and reports it without flooding logs. total None: work
    whose size is not known beforehand (a report fetched page by page): the count so far is
    shown, and logged every LOG_SECONDS."""

    LOG_SECONDS = 10.0

    def __init__(self, label: str, total: int | None, *, logger: logging.Logger, unit: str = "rows") -> None:
        self.label, self.total, self.unit, self.log = label, None if total is None else max(total, 0), unit, logger
        self.done = 0
        self._started = time.monotonic()
        self._next_log = 0.25 if total is not None else self._started + self.LOG_SECONDS
        self._bar = None
        if _visible and sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress as Bar, TextColumn, TimeRemainingColumn

            self._bar = Bar(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                            TextColumn(unit), TimeRemainingColumn(), console=Console(stderr=True), transient=True)
            self._bar.start()
            self._task = self._bar.add_task(label, total=self.total)

    def advance(self, n: int) -> None:
        interrupts.check()  # long work stops here on Ctrl-C, in whichever thread it runs
        self.done += n
        if self._bar is not None:
            self._bar.update(self._task, completed=self.done)
            return
        if self.total is None:
            now = time.monotonic()
            if now >= self._next_log:
                self.log.info("%s: %s %s so far", self.label, f"{self.done:,}", self.unit)
                self._next_log = now + self.LOG_SECONDS
            return
        fraction = self.done / self.total if self.total else 1.0
        if fraction >= self._next_log and fraction < 1.0:
            self.log.info("%s: %d%% (%s/%s %s)", self.label, int(fraction * 100), f"{self.done:,}",
                          f"{self.total:,}", self.unit)
            while self._next_log <= fraction:
                self._next_log += 0.25

    def finish(self) -> None:
        if self._bar is not None:
            self._bar.stop()
        self.log.info("%s: %s %s in %.1f s", self.label, f"{self.done:,}", self.unit,
                      time.monotonic() - self._started)


class Waiting:
    """Says, while something silent goes on (Prefect's temporary server starting), that it does
    and for how long so far: a line updated every second on a terminal, a line every 15 s
    otherwise; `done()` ends it with how long it took."""

    def __init__(self, label: str, *, stream=None, every: float | None = None) -> None:
        import threading

        self.label, self.stream = label, stream if stream is not None else sys.stderr
        self.tty = self.stream.isatty()
        self.every = every if every is not None else (1.0 if self.tty else 15.0)
        self._started = time.monotonic()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = None
        if _visible:
            self._say(f"{label}...")
            self._thread = threading.Thread(target=self._tick, name="almaclean-waiting", daemon=True)
            self._thread.start()

    def _say(self, text: str, *, final: bool = False) -> None:
        with self._lock:
            if self.tty:
                self.stream.write(f"\r\033[K{text}" + ("\n" if final else ""))
            else:
                self.stream.write(text + "\n")
            self.stream.flush()

    def _tick(self) -> None:
        while not self._stop.wait(self.every):
            self._say(f"{self.label}... {time.monotonic() - self._started:.0f} s")

    def done(self, text: str | None = None) -> None:
        """Stop; say `text` ({seconds} is filled in) when given. Only the first call counts."""
        if self._stop.is_set():
            return
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            seconds = time.monotonic() - self._started
            if text:
                self._say(text.format(seconds=seconds), final=True)
            elif self.tty:
                self._say("", final=False)
