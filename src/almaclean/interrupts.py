"""Stopping a run at once on Ctrl-C (SIGINT) or SIGTERM, leaving nothing half-done.

How a stop works:
- `install` (the command's first act) makes both signals set one process-wide flag and raise
  `Interrupted` in the main thread. polars, once imported, replaces SIGINT's action with its own,
  which asks the kernel to restart interrupted system calls: a main thread waiting for a worker
  thread (a lock, a join) then never saw Ctrl-C until the wait ended, and a run often finished
  and exited 0. `install` imports polars first, so its own handler is the one in place.
- Worker threads are never interrupted by a signal: they call `check` between pieces of work
  (each chunk stored, each chunk of sheet rows, each file read) and stop there; a database
  transaction they hold is rolled back as the exception leaves it.
- `Workers` runs background work on daemon threads and waits for it in short steps, so a wait
  notices a stop within POLL_SECONDS, and a thread busy in a library call that cannot be stopped
  (fastexcel parsing a workbook) is left behind: the process ends without it. `call` runs one
  such call the same way.
- Staging folders are removed and nothing is published once the flag is set
  (write.atomic.publish_run_folder checks it), even where a library swallowed the exception.
- A stop raised where Python cannot raise it (a finaliser, a native library's callback) is not
  printed as an "Exception ignored" traceback: the flag is set, the next check stops the run.
- `deferred` holds the exception back over a few steps that must not be cut in two (a folder made
  and recorded as this run's): a stop meanwhile is raised as the block ends.
"""
from __future__ import annotations

import queue
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from concurrent.futures import Future, TimeoutError as FutureTimeout
from typing import Any, TypeVar

T = TypeVar("T")

SIGNALS = (signal.SIGINT, signal.SIGTERM)
POLL_SECONDS = 0.05

_stop = threading.Event()
_signum: int | None = None
_left_behind = False
_deferring = 0   # depth of the main thread's deferred blocks


class Interrupted(KeyboardInterrupt):
    """The run was stopped by a signal; exit code 128 + the signal's number (130, 143)."""

    def __init__(self, signum: int = signal.SIGINT) -> None:
        self.signum = int(signum)
        super().__init__(signal.Signals(self.signum).name)

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


def install() -> None:
    """SIGINT and SIGTERM stop the run (main thread only; a no-op elsewhere)."""
    import polars  # noqa: F401  (its import installs its own SIGINT action: ours must come after)

    if threading.current_thread() is not threading.main_thread():
        return
    for signum in SIGNALS:
        signal.signal(signum, _handler)
    if not isinstance(sys.unraisablehook, _QuietStops):
        sys.unraisablehook = _QuietStops(sys.unraisablehook)


class _QuietStops:
    """The unraisable hook, quiet about a stop: the handler can run inside a call that cannot
    raise (a finaliser, a native library calling back into Python), where Python prints the
    exception as "Exception ignored" with a traceback. The stop is already recorded there; the
    run stops at its next check."""

    def __init__(self, previous: Callable[[Any], object]) -> None:
        self.previous = previous

    def __call__(self, unraisable) -> None:
        if isinstance(unraisable.exc_value, Interrupted) and stopped():
            return
        self.previous(unraisable)


def _handler(signum: int, _frame) -> None:
    global _signum
    _signum = signum
    _stop.set()
    if not _deferring:
        raise Interrupted(signum)


@contextmanager
def deferred() -> Iterator[None]:
    """A stop signalled inside the block is raised as it ends (in the main thread; worker threads
    are never interrupted anyway). For a few short steps only: the stop still shows at once to
    every `check`."""
    global _deferring
    in_main = threading.current_thread() is threading.main_thread()
    if in_main:
        _deferring += 1
    try:
        yield
    finally:
        if in_main:
            _deferring -= 1
    if in_main and not _deferring:
        check()


def stopped() -> bool:
    return _stop.is_set()


def stop_signal() -> int:
    return _signum or signal.SIGINT


def check() -> None:
    """Raise Interrupted when a stop signal came (in any thread)."""
    if _stop.is_set():
        raise Interrupted(stop_signal())


def exit_code(exc: KeyboardInterrupt) -> int:
    return exc.exit_code if isinstance(exc, Interrupted) else 128 + signal.SIGINT


def leave_threads_behind() -> None:
    """Threads that must not be waited for at exit are still running (a stopped Prefect flow
    run, reporting to its API): the command ends with os._exit once it has cleaned up."""
    global _left_behind
    _left_behind = True


def threads_left_behind() -> bool:
    return _left_behind


def reset() -> None:
    """Forget a stop (tests run several commands in one process)."""
    global _signum, _left_behind
    _signum, _left_behind = None, False
    _stop.clear()


def result(future: Future[T]) -> T:
    """The future's result, waiting in steps so that a stop is noticed at once."""
    while True:
        check()
        try:
            return future.result(timeout=POLL_SECONDS)
        except FutureTimeout:
            continue


def call(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """function(*args, **kwargs) on a daemon thread, for a long library call that cannot stop
    half-way: a stop is noticed while it runs, and the call is left to end with the process."""
    with Workers(1, f"almaclean-{getattr(function, '__name__', 'call')}") as workers:
        return result(workers.submit(function, *args, **kwargs))


class Workers:
    """A small pool of daemon threads (concurrent.futures' threads are joined when the process
    exits, so a stopped run would wait for them).

    Leaving the block waits for every task (their failures are for the caller to collect, as
    with concurrent.futures), unless the block is left by a stop: then queued tasks are cancelled
    and running ones end at their next check()."""

    def __init__(self, max_workers: int, name: str) -> None:
        self._max, self._name = max(1, max_workers), name
        self._tasks: queue.SimpleQueue = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._futures: list[Future] = []

    def submit(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> Future[T]:
        future: Future[T] = Future()
        self._futures.append(future)
        self._tasks.put((future, function, args, kwargs))
        if len(self._threads) < min(self._max, len(self._futures)):
            thread = threading.Thread(target=self._work, name=f"{self._name}-{len(self._threads)}", daemon=True)
            self._threads.append(thread)
            thread.start()
        return future

    def _work(self) -> None:
        while (task := self._tasks.get()) is not None:
            future, function, args, kwargs = task
            if not future.set_running_or_notify_cancel():
                continue
            try:
                value = function(*args, **kwargs)
            except BaseException as exc:  # handed to the waiting thread, KeyboardInterrupt included
                future.set_exception(exc)
            else:
                future.set_result(value)

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        for _ in self._threads:
            self._tasks.put(None)
        if (exc_type is not None and issubclass(exc_type, KeyboardInterrupt)) or stopped():
            for future in self._futures:
                future.cancel()
            return
        for future in self._futures:
            try:
                result(future)
            except Exception:  # noqa: S112  (the caller asks each future for its result)
                continue
