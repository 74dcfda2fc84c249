"""Start-up cost: the fixed cost of a small command (a 1,000-row export) as a user runs it.

Measures `almaclean ingest` of a 1,000-portfolio CSV as a subprocess:
  1. cold: a new, empty PREFECT_HOME (first run on a machine),
  2. warm: the same PREFECT_HOME again (Prefect's temporary server, database already migrated),
  3. server: with a running `prefect server start` on 127.0.0.1 and PREFECT_API_URL set,
and beside them the floor: the same ingest in a fresh Python process without Prefect.

    python3 -m uv run --frozen python bench/startup.py
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

RUNS = 3


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def timed(cmd: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise SystemExit(f"failed: {' '.join(cmd)}")
    return elapsed


def main() -> None:
    from almaclean.sample.generator import generate

    work = Path(tempfile.mkdtemp(prefix="almaclean-startup-"))
    generate(work / "sample", seed=5, scale=0.2)  # about 1,000 portfolios
    export = work / "sample" / "portfolios.csv"
    rows = sum(1 for _ in open(export, encoding="utf-8")) - 1
    base_env = {**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_LOGGING_LEVEL": "WARNING"}
    base_env.pop("PREFECT_API_URL", None)

    def ingest(n: int, env: dict[str, str]) -> float:
        db = work / f"db-{n}-{time.monotonic_ns()}.db"
        return timed([sys.executable, "-m", "almaclean.cli", "ingest", "portfolios", str(export),
                      "--institution", "BENCH", "--db", f"sqlite:///{db}"], env)

    floor_code = ("import sys; from pathlib import Path; from almaclean.store.db import make_engine; "
                  "from almaclean.store.ingest import ingest_file; "
                  "ingest_file(make_engine(sys.argv[1]), 'portfolios', Path(sys.argv[2]), 'BENCH')")
    floor = [timed([sys.executable, "-c", floor_code, f"sqlite:///{work / f'floor-{i}.db'}", str(export)],
                   base_env) for i in range(RUNS)]

    home = work / "prefect-home"
    env = {**base_env, "PREFECT_HOME": str(home)}
    cold = ingest(0, env)
    warm = [ingest(i, env) for i in range(RUNS)]

    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1",
                               "--port", str(port)], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        api = f"http://127.0.0.1:{port}/api"
        for _ in range(600):
            try:
                urllib.request.urlopen(f"{api}/health", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        served = [ingest(10 + i, {**env, "PREFECT_API_URL": api}) for i in range(RUNS)]
    finally:
        server.terminate()
        server.wait(timeout=30)

    best = min
    print(f"small command: `almaclean ingest portfolios` of {rows:,} rows (best of {RUNS})")
    print(f"  floor, no Prefect (fresh process):        {best(floor):6.2f} s")
    print(f"  cold: new PREFECT_HOME, temporary server: {cold:6.2f} s")
    print(f"  warm: kept PREFECT_HOME, temporary server:{best(warm):6.2f} s")
    print(f"  running server at PREFECT_API_URL:        {best(served):6.2f} s")
    print(f"  fixed cost of Prefect: {best(warm) - best(floor):.2f} s with a temporary server, "
          f"{best(served) - best(floor):.2f} s with a running one")


if __name__ == "__main__":
    main()
