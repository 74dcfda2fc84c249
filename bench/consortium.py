"""Consortium scale: N institutions through `almaclean nightly` on PostgreSQL (or SQLite), night after night.

Each institution is a sample made by the generator (50,000 to 200,000 portfolios, spread evenly
over the institutions, with its P2E file and PO line export). Night 1 stores everything and
detects; night 2 is every institution's portfolio export with 1% of its rows changed, removed
or added (sample.changes); night 3 is night 2's files again (nothing new). Each night is the
whole `almaclean nightly` command in a process of its own, with a thread pool (--workers N) or
on a Dask cluster (a distributed.LocalCluster of N worker processes made here, or --dask-address
for an existing cluster), and prints: time, the command's peak memory, each Dask worker's peak
memory, the database's size after the night and its growth, as a share of night 1's.
Targets: night 2 adds under 5% of night 1's size and an unchanged night under 1%; night 2's
time is printed as a share of night 1's (the issue's target: at most 15%).

    python3 -m uv run --frozen --extra dask --extra postgres python bench/consortium.py \\
        --pg postgresql+psycopg://user@host/db [--institutions 10] [--runner threads dask]
        [--workers 2] [--min-portfolios 50000] [--max-portfolios 200000] [--distinct 10]
        [--workdir DIR] [--dask-address tcp://host:8786]

--baseline SRC also runs the nights with another checkout's code (its src folder, e.g. a
checkout of main without this work), one institution after another as its nightly does, into a
database of its own: the "before" figures, measured beside the others.

--pg names a server where a database <name>_bench_consortium_<runner> is made for each runner
(dropped first, kept after for inspection); without it each runner gets a SQLite file in the work
folder. --distinct K generates K different institutions, their sizes spread over the range, and
gives the others copies of them in turn under their own codes (generating 40 institutions of up
to 200,000 portfolios takes a while); --workdir keeps the generated samples for the next run.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
GROWTH_TARGET, UNCHANGED_TARGET, TIME_TARGET = 0.05, 0.01, 0.15


def sizes(institutions: int, smallest: int, largest: int) -> list[int]:
    if institutions == 1:
        return [smallest]
    step = (largest - smallest) / (institutions - 1)
    return [int(round(smallest + i * step, -3)) for i in range(institutions)]


def assigned_sizes(portfolios: list[int], distinct: int) -> list[int]:
    """Each institution's size: `distinct` sizes spread over the whole range (smallest to largest),
    the i-th institution taking the (i mod distinct)-th of them."""
    count = max(1, min(distinct, len(portfolios)))
    picks = [portfolios[round(i * (len(portfolios) - 1) / max(count - 1, 1))] for i in range(count)]
    return [picks[i % count] for i in range(len(portfolios))]


def prepare_samples(work: Path, sizes_by_institution: list[int], distinct: int) -> list[Path]:
    """One sample folder per institution: the first `distinct` generated (assigned_sizes spreads
    their sizes over the range), the i-th institution the copy of sample i mod distinct."""
    from almaclean.sample.changes import changed_export
    from almaclean.sample.generator import BASE_PORTFOLIOS, generate

    folders = []
    for index, size in enumerate(sizes_by_institution[:distinct]):
        folder = work / "samples" / f"{index:02d}-{size}"
        if not (folder / "truth.json").exists():
            started = time.perf_counter()
            generate(folder, seed=100 + index, scale=size / BASE_PORTFOLIOS)
            print(f"generated {size:,} portfolios in {time.perf_counter() - started:.0f} s: {folder}", flush=True)
        if not (folder / "portfolios-1pct.csv").exists():
            changed_export(folder / "portfolios.csv", folder / "portfolios-1pct.csv", seed=index)
        folders.append(folder)
    return [folders[i % len(folders)] for i in range(len(sizes_by_institution))]


def fill_inbox(inbox: Path, samples: list[Path], night: int) -> None:
    """Night 1: each institution's three files; night 2: its 1%-changed portfolio export as
    the newest; night 3: nothing new (the same files)."""
    for index, sample in enumerate(samples):
        folder = inbox / f"INST{index + 1:02d}"
        if night == 1:
            for kind, name in (("portfolios", "portfolios.csv"), ("p2e", "p2e.txt"), ("po-lines", "po_lines.csv")):
                (folder / kind).mkdir(parents=True, exist_ok=True)
                target = folder / kind / name
                shutil.copyfile(sample / name, target)
                os.utime(target, (1_700_000_000, 1_700_000_000))
        elif night == 2:
            target = folder / "portfolios" / "portfolios-night2.csv"
            shutil.copyfile(sample / "portfolios-1pct.csv", target)
            os.utime(target, (1_700_090_000, 1_700_090_000))


def database(server: str | None, name: str, work: Path) -> str:
    """A new, empty database: on the PostgreSQL server named, else a SQLite file in work."""
    if server is None:
        path = work / f"{name}.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{path}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(server).set(database=name).render_as_string(hide_password=False)


def database_bytes(url: str) -> int:
    """The database's size: PostgreSQL's pg_database_size, a SQLite file with its WAL checkpointed."""
    engine = create_engine(url)
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            path = Path(engine.url.database)
            size = sum(Path(f"{path}{s}").stat().st_size for s in ("", "-wal") if Path(f"{path}{s}").exists())
        else:
            size = conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one()
    engine.dispose()
    return int(size)


def worker_peaks(address: str) -> list[float]:
    """Each Dask worker's peak resident memory so far, in MB."""
    from distributed import Client

    def peak() -> float:
        with open("/proc/self/status", encoding="ascii") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024

    with Client(address, timeout=30) as client:
        return sorted(client.run(peak).values())


def night(inbox: Path, out: Path, url: str, runner: str, workers: int, address: str | None,
          baseline: Path | None = None) -> tuple[float, float]:
    """The whole `almaclean nightly` command (baseline: another checkout's, as it runs); returns
    (seconds, its peak RSS in MB)."""
    command = [sys.executable, "-c", (
        "import sys\nfrom almaclean.cli import main\ncode = main(sys.argv[1:])\n"
        # VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent across fork and exec
        "print('__PEAK__', next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM:')) / 1024)\n"
        "sys.exit(code)"),
        "-q", "nightly", str(inbox), "--out", str(out)]
    if runner != "baseline":
        command += ["--workers", str(workers)]
    if runner == "dask":
        command += ["--dask", address]
    env = {**os.environ, "ALMACLEAN_DB_URL": url, "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    if baseline is not None:
        env["PYTHONPATH"] = str(baseline)
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(f"nightly failed ({runner})")
    peak = next(float(line.split()[1]) for line in done.stdout.splitlines() if line.startswith("__PEAK__"))
    return seconds, peak


def run(runner: str, args, samples: list[Path], work: Path) -> list[dict]:
    prefix = make_url(args.pg).database if args.pg else "almaclean"
    url = database(args.pg, f"{prefix}_bench_consortium_{runner}", work)
    inbox, out = work / f"inbox-{runner}", work / f"out-{runner}"
    shutil.rmtree(inbox, ignore_errors=True)
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    cluster = None
    address = args.dask_address
    if runner == "dask" and address is None:
        from distributed import LocalCluster

        cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=None,
                               env={"ALMACLEAN_DB_URL": url, "PREFECT_API_URL": os.environ["PREFECT_API_URL"],
                                    "PREFECT_LOGGING_LEVEL": "WARNING"})
        address = cluster.scheduler_address
    figures = []
    try:
        before = database_bytes(url)
        for number, label in ((1, "night 1: every file new"), (2, "night 2: portfolio exports 1% changed"),
                              (3, "night 3: nothing new")):
            fill_inbox(inbox, samples, number)
            seconds, peak = night(inbox, out, url, runner, args.workers, address,
                                  args.baseline if runner == "baseline" else None)
            size = database_bytes(url)
            peaks = worker_peaks(address) if runner == "dask" else []
            figures.append({"night": label, "seconds": seconds, "peak_mb": peak, "worker_peaks_mb": peaks,
                            "database_mb": size / 1e6, "growth_mb": (size - before) / 1e6})
            before = size
            workers = f", workers' peaks {', '.join(f'{p:,.0f}' for p in peaks)} MB" if peaks else ""
            print(f"  {runner:7} {label:<40} {seconds:8.1f} s  peak {peak:7,.0f} MB{workers}  database "
                  f"{size / 1e6:9,.1f} MB (+{figures[-1]['growth_mb']:,.1f} MB)", flush=True)
    finally:
        if cluster is not None:
            cluster.close()
    first = figures[0]
    second, third = figures[1], figures[2]
    print(f"  {runner}: night 2 adds {second['growth_mb'] / first['growth_mb']:.2%} of night 1's size (target < "
          f"{GROWTH_TARGET:.0%}), night 3 {third['growth_mb'] / first['growth_mb']:.2%} (target < "
          f"{UNCHANGED_TARGET:.0%}); night 2 takes {second['seconds'] / first['seconds']:.0%} of night 1's time "
          f"(target {TIME_TARGET:.0%}), night 3 {third['seconds'] / first['seconds']:.0%}", flush=True)
    return figures


@contextmanager
def prefect_server(work: Path, port: int = 4291):
    """A Prefect server for the nights (the command and the Dask workers report to it), unless
    $PREFECT_API_URL names one already: no night pays for a temporary server's start."""
    if os.environ.get("PREFECT_API_URL"):
        yield
        return
    env = {**os.environ, "PREFECT_HOME": str(work / "prefect-home"), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    server = subprocess.Popen([sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port",
                               str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/api"
    try:
        deadline = time.monotonic() + 300
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=5):
                    break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("the Prefect server for the benchmark did not start")
                time.sleep(2)
        os.environ.update(PREFECT_API_URL=url, PREFECT_HOME=env["PREFECT_HOME"])
        yield
    finally:
        server.terminate()
        server.wait(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", metavar="URL",
                        help="a PostgreSQL server URL (a bench database is made there; default: a SQLite file)")
    parser.add_argument("--institutions", type=int, default=10)
    parser.add_argument("--min-portfolios", type=int, default=50_000)
    parser.add_argument("--max-portfolios", type=int, default=200_000)
    parser.add_argument("--distinct", type=int, default=10, help="institutions generated; the others are copies")
    parser.add_argument("--runner", nargs="+", choices=("threads", "dask"), default=["threads", "dask"])
    parser.add_argument("--workers", type=int, default=2, help="threads, or Dask worker processes")
    parser.add_argument("--dask-address", help="an existing Dask scheduler instead of a local cluster")
    parser.add_argument("--baseline", type=Path, metavar="SRC",
                        help="also run the nights with this checkout's src folder (the figures before this code)")
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="almaclean-consortium-"))
    portfolios = assigned_sizes(sizes(args.institutions, args.min_portfolios, args.max_portfolios), args.distinct)
    print(f"{args.institutions} institutions, {sum(portfolios):,} portfolios in all "
          f"({min(portfolios):,} to {max(portfolios):,} each, {len(set(portfolios))} different samples), "
          f"{args.workers} workers; work folder {work}", flush=True)
    samples = prepare_samples(work, portfolios, args.distinct)
    with prefect_server(work):
        runners = (["baseline"] if args.baseline else []) + args.runner
        results = {runner: run(runner, args, samples, work) for runner in runners}
    (work / "consortium.json").write_text(json.dumps({"institutions": args.institutions, "portfolios": portfolios,
                                                      "workers": args.workers, "results": results}, indent=2))


if __name__ == "__main__":
    main()
