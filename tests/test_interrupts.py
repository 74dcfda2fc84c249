"""Ctrl-C (SIGINT) and SIGTERM stop every command within 2 s, exit 130 / 143, leave no run
folder (published or staging) and a database the next run uses as if nothing happened.

Each command runs as a real process on a sample big enough to be mid-work, and is signalled
when its log (-v) says it reached a point: reading, storing, analysing, writing."""
from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from almaclean.sample.generator import generate
from others_paused import parents, state

STOP_WITHIN_SECONDS = 2.0
SAMPLE_SCALE = 4          # 20,000 portfolios, 6,700 P2E lines
EE_ROWS = 15_000


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    return generate(tmp_path_factory.mktemp("interrupt-sample"), seed=3, scale=SAMPLE_SCALE, ee_rows=EE_ROWS)


def _env(data: Path, *, prefect_api: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PREFECT_API_URL", "ALMACLEAN_DB_URL")}
    env["ALMACLEAN_DATA"] = str(data)
    if prefect_api:
        env["PREFECT_API_URL"] = prefect_api
    return env


def _command(*args: str) -> list[str]:
    return [sys.executable, "-m", "almaclean.cli", *args]


def _children(pid: int) -> list[int]:
    """The processes whose parent is `pid`."""
    return [child for child, parent in parents().items() if parent == pid]


def _alive(pid: int) -> bool:
    return state(pid) not in ("Z", "gone")


def _signalled(args: list[str], data: Path, marker: str, signum: int, *, alone, env: dict | None = None,
               cwd: Path | None = None, started_within: float = 240) -> tuple[int, float, str, list[int]]:
    """Run the command with -v, send `signum` as soon as a log line contains `marker`; returns
    (exit code, seconds from the signal to the exit, stderr, the processes it had started, which
    must be gone too).

    The command is frozen (SIGSTOP) the moment its marker is read, so the signal lands where the
    marker was logged; only then is the run's other work waited for (`alone`), and the signal and
    the stop are timed with the machine to themselves. The work before the marker runs beside the
    other tests."""
    process = subprocess.Popen(_command("-v", *args), env=env or _env(data), cwd=cwd or data,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: queue.Queue[str | None] = queue.Queue()
    seen: list[str] = []

    def pump() -> None:
        for line in process.stderr:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    deadline = time.monotonic() + started_within
    while True:
        try:
            line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
        except queue.Empty:
            process.kill()
            pytest.fail(f"{marker!r} never logged within {started_within} s:\n{''.join(seen)[-3000:]}")
        if line is None:
            process.wait()
            pytest.fail(f"the command ended (exit {process.returncode}) before {marker!r}:\n{''.join(seen)[-3000:]}")
        seen.append(line)
        if marker in line:
            process.send_signal(signal.SIGSTOP)
            break
    children = _children(process.pid)
    try:
        with alone():
            process.send_signal(signum)  # pending while frozen: delivered as the command goes on
            signalled_at = time.monotonic()
            process.send_signal(signal.SIGCONT)
            process.wait(timeout=60)
            took = time.monotonic() - signalled_at
    finally:
        process.kill()  # never left frozen
    time.sleep(0.2)
    assert not [pid for pid in children if _alive(pid)], "a process it started is still running"
    while (line := lines.get(timeout=5)) is not None:
        seen.append(line)
    process.stdout.close()
    return process.returncode, took, "".join(seen), children


def _no_run_folder(out: Path) -> None:
    """Nothing published, no staging folder left, no owner file of one."""
    left = sorted(p.name for p in out.iterdir()) if out.exists() else []
    assert left == [], f"left behind in {out}: {left}"


def _assert_stopped(code: int, took: float, stderr: str, signum: int) -> None:
    assert code == 128 + signum, stderr[-3000:]
    assert took < STOP_WITHIN_SECONDS, f"stopped {took:.2f} s after the signal"
    assert "almaclean: stopped" in stderr and "Traceback" not in stderr, stderr[-3000:]


def _run(args: list[str], data: Path, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(_command(*args), env=_env(data, **kwargs), cwd=data, capture_output=True, text=True,
                          timeout=600)


def _python(tmp_path: Path, name: str, source: str, **kwargs) -> subprocess.CompletedProcess:
    """A Python script of the test's own, run as its own process."""
    script = tmp_path / name
    script.write_text(source, encoding="utf-8")
    return subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60, **kwargs)


def _summary_counts(out: Path) -> dict:
    (folder,) = [p for p in out.iterdir() if p.is_dir()]
    return json.loads((folder / "summary.json").read_text(encoding="utf-8"))


def _p2e_args(sample, out: Path) -> list[str]:
    return ["p2e", "--institution", "EDU01", "--out", str(out), "--portfolios", str(sample.path("portfolios")),
            "--p2e", str(sample.path("p2e_report")), "--po-lines", str(sample.path("po_lines"))]


def _stored_rows(data: Path) -> dict[str, int]:
    """What `almaclean status` says is stored, per kind (read in this process: a command's start-up
    each time would cost more than the reading)."""
    from almaclean.store.db import open_database
    from almaclean.store.load import stored_status

    database = data / "almaclean.db"
    if not database.exists():
        return {}
    engine = open_database(f"sqlite:///{database}", read_only=True)
    try:
        return {row["kind"]: row["current_rows"] for row in stored_status(engine).iter_rows(named=True)}
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def p2e_reference(sample, tmp_path_factory):
    """An uninterrupted run on a fresh database: its summary (what every run after a stop must
    give) and the rows stored per kind."""
    data = tmp_path_factory.mktemp("reference")
    done = _run(_p2e_args(sample, data / "out"), data)
    assert done.returncode == 0, done.stderr
    return _summary_counts(data / "out"), _stored_rows(data)


# marker: a log line of the run (-v); each is followed by seconds of work on this sample
P2E_POINTS = [
    ("read portfolios.csv", signal.SIGINT),          # reading the P2E report and PO lines
    ("storing portfolios.csv", signal.SIGINT),       # storing while the analysis runs
    ("P2E decisions", signal.SIGTERM),               # analysing
    ("writing the run's outputs", signal.SIGINT),    # writing into the staging folder
    ("sheet 'Review'", signal.SIGTERM),              # the workbook half-written
]


@pytest.mark.parametrize(("marker", "signum"), P2E_POINTS, ids=[m for m, _ in P2E_POINTS])
def test_p2e_stops_at_once_and_the_next_run_gives_the_same_answers(sample, p2e_reference, tmp_path, marker, signum,
                                                                   timed_alone):
    out = tmp_path / "out"
    code, took, stderr, _ = _signalled(_p2e_args(sample, out), tmp_path, marker, signum, alone=timed_alone)
    _assert_stopped(code, took, stderr, signum)
    _no_run_folder(out)
    summary, rows = p2e_reference
    stored = _stored_rows(tmp_path)
    assert stored == {kind: rows[kind] for kind in stored}  # each file stored whole, or not at all

    again = _run(_p2e_args(sample, out), tmp_path)
    assert again.returncode == 0, again.stderr
    assert _summary_counts(out) == summary
    assert _stored_rows(tmp_path) == rows


@pytest.mark.parametrize(("marker", "signum"), [("storing portfolios.csv", signal.SIGINT),
                                                ("read portfolios.csv", signal.SIGTERM)])
def test_ingest_stops_at_once_and_stores_nothing_half(sample, tmp_path, marker, signum, timed_alone):
    args = ["ingest", "portfolios", str(sample.path("portfolios")), "--institution", "EDU01"]
    code, took, stderr, _ = _signalled(args, tmp_path, marker, signum, alone=timed_alone)
    _assert_stopped(code, took, stderr, signum)
    stored = _stored_rows(tmp_path)

    again = _run(args, tmp_path)
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith("unchanged " if stored else "stored "), again.stdout
    assert stored in ({}, _stored_rows(tmp_path))  # the file stored whole, or not at all


def _resync_args(sample, out: Path) -> list[str]:
    big = next(name for name in sample.extended_exports if "Garnier" in name)
    return ["resync", str(sample.out_dir / big), str(sample.out_dir / sample.extended_exports[0]),
            "--po-lines", str(sample.path("po_lines")), "--institution", "EDU01", "--out", str(out)]


@pytest.mark.parametrize(("marker", "signum"), [
    ("reading sheet", signal.SIGINT),                # fastexcel parsing the 15,000-row export
    ("stored Classiques", signal.SIGTERM),           # writing the loader workbook
    ("sheet 'localized_n'", signal.SIGINT),          # writing the review workbook
])
def test_resync_stops_at_once_and_runs_again(sample, tmp_path, marker, signum, timed_alone):
    out = tmp_path / "out"
    code, took, stderr, _ = _signalled(_resync_args(sample, out), tmp_path, marker, signum, alone=timed_alone)
    _assert_stopped(code, took, stderr, signum)
    _no_run_folder(out)
    again = _run(_resync_args(sample, out), tmp_path)
    assert again.returncode == 0, again.stderr
    assert len(_summary_counts(out)["collections"]) == 2


def test_batch_with_prefects_temporary_server_stops_at_once(sample, tmp_path, timed_alone):
    """No $PREFECT_API_URL: Prefect starts its temporary server, which the stop ends too."""
    tree = tmp_path / "tree" / "EDU01"
    tree.mkdir(parents=True)
    for name in ("portfolios", "p2e", "po_lines"):
        os.link(sample.path(name), tree / sample.path(name).name)
    big = next(name for name in sample.extended_exports if "Garnier" in name)
    os.link(sample.out_dir / big, tree / big)
    out = tmp_path / "out"
    args = ["batch", str(tmp_path / "tree"), "--out", str(out)]
    code, took, stderr, children = _signalled(args, tmp_path, "reading sheet", signal.SIGINT, alone=timed_alone)
    _assert_stopped(code, took, stderr, signal.SIGINT)
    assert children, "Prefect's temporary server was not running: the test did not test it"
    _no_run_folder(out)


@pytest.mark.alone
def test_a_main_thread_waiting_for_a_worker_is_stopped_by_ctrl_c(tmp_path):
    """The cause of the ignored Ctrl-C: polars' SIGINT action restarts interrupted system calls,
    so a join never returned until the worker was done. After interrupts.install it does."""
    done = _python(tmp_path, "wait.py",
        "import os, signal, sys, threading, time\n"
        "from almaclean import interrupts\n"
        "interrupts.install()\n"
        "worker = threading.Thread(target=time.sleep, args=(20,), daemon=True)\n"
        "worker.start()\n"
        "threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT)).start()\n"
        "started = time.monotonic()\n"
        "try:\n"
        "    worker.join()\n"
        "except KeyboardInterrupt:\n"
        "    print(f'{time.monotonic() - started:.2f}')\n")
    assert done.returncode == 0, done.stderr
    assert float(done.stdout) < 1.5


def _hold_write_lock(data: Path):
    """Another process's write transaction on the data folder's database (made by a first ingest)."""
    import sqlite3

    database = data / "almaclean.db"
    holder = sqlite3.connect(database, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    return holder


@pytest.mark.parametrize("command", ["ingest", "p2e"])
def test_a_run_waiting_for_another_runs_write_lock_stops_on_ctrl_c(sample, tmp_path, command, timed_alone):
    """SQLite's own wait for a lock (up to 10 minutes) cannot be interrupted, and p2e (which
    takes its run lease, then stores from a thread of its own) waits for it too: both used to
    ignore Ctrl-C until the lock was free."""
    first = _run(["ingest", "po-lines", str(sample.path("po_lines")), "--institution", "EDU01"], tmp_path)
    assert first.returncode == 0, first.stderr
    out = tmp_path / "out"
    args = (["ingest", "portfolios", str(sample.path("portfolios")), "--institution", "EDU01"] if command == "ingest"
            else _p2e_args(sample, out))
    marker = "waiting for another run to finish writing"
    holder = _hold_write_lock(tmp_path)
    try:
        code, took, stderr, _ = _signalled(args, tmp_path, marker, signal.SIGINT, alone=timed_alone)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    _assert_stopped(code, took, stderr, signal.SIGINT)
    _no_run_folder(out)
    assert set(_stored_rows(tmp_path)) == {"po-lines"}
    again = _run(args, tmp_path)
    assert again.returncode == 0, again.stderr


@pytest.mark.parametrize("slow_import", ["polars", "almaclean.kinds.registry"])
def test_ctrl_c_while_the_command_starts_ends_it_quietly(tmp_path, slow_import):
    """Importing polars and the kinds takes a moment when a command starts: a Ctrl-C then (here
    made certain by an import that waits) ends it with 130 and a line, not a traceback."""
    done = _python(tmp_path, "start.py",
        "import importlib.abc, os, signal, sys, threading, time\n"
        "class Slow(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path, target=None):\n"
        f"        if name == {slow_import!r}:\n"
        "            threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGINT)).start()\n"
        "            time.sleep(5)\n"
        "        return None\n"
        "sys.meta_path.insert(0, Slow())\n"
        "sys.argv = ['almaclean', 'status']\n"
        "from almaclean.cli import main\n"
        "sys.exit(main())\n", env=_env(tmp_path))
    assert done.returncode == 130, done.stderr
    assert done.stderr.startswith("almaclean: stopped") and "Traceback" not in done.stderr, done.stderr


@pytest.fixture
def stop_in_process():
    """A real SIGINT to this process, with almaclean's handler in place; forgotten afterwards."""
    from almaclean import interrupts

    previous = {s: signal.getsignal(s) for s in interrupts.SIGNALS}
    interrupts.install()
    yield lambda: os.kill(os.getpid(), signal.SIGINT)
    interrupts.reset()
    for s, handler in previous.items():
        signal.signal(s, handler)


@pytest.mark.alone
def test_workers_stop_at_their_next_check_and_are_not_waited_for(stop_in_process):
    from almaclean import interrupts

    checked = threading.Event()

    def long_work():
        while True:  # a worker stops only where it checks
            time.sleep(0.01)
            checked.set()
            interrupts.check()

    started = time.monotonic()
    with pytest.raises(interrupts.Interrupted) as caught:
        with interrupts.Workers(2, "test") as workers:
            running = workers.submit(long_work)
            queued = [workers.submit(time.sleep, 30) for _ in range(3)]
            threading.Timer(0.2, stop_in_process).start()
            interrupts.result(running)
    assert time.monotonic() - started < 1.5
    assert caught.value.exit_code == 130 and checked.is_set()
    assert queued[-1].cancelled()  # never started
    with pytest.raises(interrupts.Interrupted):
        running.result(timeout=2)  # the worker stopped too, with the same exception


def test_a_stopped_run_publishes_nothing_even_when_the_exception_was_swallowed(stop_in_process, tmp_path):
    from almaclean import interrupts
    from almaclean.write.atomic import publish_run_folder
    from almaclean.write.staging import staging_folder

    with pytest.raises(interrupts.Interrupted):
        with staging_folder(tmp_path, "p2e-X") as staging:
            (staging / "report.csv").write_text("x")
            try:
                stop_in_process()
                time.sleep(1)
            except KeyboardInterrupt:
                pass  # a library that swallows it
            publish_run_folder(staging)
    assert list(tmp_path.iterdir()) == []


def test_a_stop_raised_where_python_cannot_raise_it_prints_nothing_and_stops_at_the_next_check(tmp_path):
    """The handler can run inside a finaliser or a native library's call back into Python (seen:
    polars reading a list of strings); Python then printed "Exception ignored" and a traceback."""
    done = _python(tmp_path, "finaliser.py",
        "import os, signal, time\n"
        "from almaclean import interrupts\n"
        "interrupts.install()\n"
        "class Finaliser:\n"
        "    def __del__(self):\n"
        "        os.kill(os.getpid(), signal.SIGTERM)\n"
        "        time.sleep(0.01)  # the handler runs here, inside __del__\n"
        "Finaliser()\n"
        "print(interrupts.stopped())\n"
        "try:\n"
        "    interrupts.check()\n"
        "except interrupts.Interrupted as stop:\n"
        "    print(stop.exit_code)\n")
    assert done.returncode == 0 and done.stderr == "", done.stderr
    assert done.stdout.split() == ["True", "143"]


def test_a_stop_inside_a_deferred_block_is_raised_as_the_block_ends(stop_in_process):
    from almaclean import interrupts

    steps = []
    with pytest.raises(interrupts.Interrupted):
        with interrupts.deferred():
            stop_in_process()
            for step in range(3):   # bytecodes on which an undeferred stop would have been raised
                time.sleep(0.01)
                steps.append(step)
            assert interrupts.stopped()  # workers see the stop at once all the same
    assert steps == [0, 1, 2]


@pytest.mark.parametrize("moment", ["the folder is made", "its owner file is written"])
def test_a_stop_while_a_staging_folder_is_made_leaves_nothing(stop_in_process, tmp_path, monkeypatch, moment):
    """The stop lands between the folder's creation and the moment the run holds it (where
    "writing the run's outputs" is logged): nothing may be left for the next hour's sweep."""
    from almaclean import interrupts
    from almaclean.write import staging as staging_module

    made = staging_module.new_staging_folder
    if moment == "the folder is made":
        def new_staging_folder(*args, **kwargs):
            folder = made(*args, **kwargs)
            stop_in_process()
            return folder
        monkeypatch.setattr(staging_module, "new_staging_folder", new_staging_folder)
    else:
        host = staging_module.process.host
        monkeypatch.setattr(staging_module.process, "host", lambda: (stop_in_process(), host())[1])
    with pytest.raises(interrupts.Interrupted):
        with staging_module.staging_folder(tmp_path, "p2e-EDU01"):
            pytest.fail("the block ran after the stop")
    assert list(tmp_path.iterdir()) == []


def test_a_staging_folder_is_removed_while_a_thread_still_writes_into_it(tmp_path):
    from almaclean.write.staging import discard_unfinished, staging_folder

    writing = threading.Event()
    failures: list[Exception] = []

    with staging_folder(tmp_path, "resync") as staging:
        def write_files():
            try:
                for n in range(100_000):
                    (staging / "collection").mkdir(exist_ok=True)
                    (staging / "collection" / f"{n}.csv").write_text("x" * 1000)
                    writing.set()
            except OSError as exc:  # the folder went away under it
                failures.append(exc)

        writer = threading.Thread(target=write_files)
        writer.start()
        writing.wait(5)
        assert discard_unfinished() == [staging]
        writer.join(10)
    assert failures and list(tmp_path.iterdir()) == []
