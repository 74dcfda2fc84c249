"""Start-up cost: the fixed cost of a small command (a 1,000-row export) as a user runs it.

In one run, each as a fresh subprocess, best of RUNS:
  1. the floor: `import polars, sqlalchemy, fastexcel, xlsxwriter` and nothing else;
  2. `almaclean ingest portfolios` of a 1,000-portfolio CSV with no Prefect API configured
     and a new, empty PREFECT_HOME (a first run on a fresh machine): it must not start Prefect;
  3. optionally (--prefect), the same command with --prefect against a running
     `prefect server start` on 127.0.0.1, for comparison.
Target: (2) within 3x of (1).

    python3 -m uv run --frozen python bench/startup.py [--prefect]
"""
from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

RUNS = 5
TARGET = 3.0


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
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prefect", action="store_true", help="also measure --prefect with a running server")
    args = parser.parse_args()
    from almaclean.sample.generator import generate

    work = Path(tempfile.mkdtemp(prefix="almaclean-startup-"))
    generate(work / "sample", seed=5, scale=0.2)  # about 1,000 portfolios
    export = work / "sample" / "portfolios.csv"
    rows = sum(1 for _ in open(export, encoding="utf-8")) - 1
    env = {**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "ALMACLEAN_DATA": str(work / "data")}
    env.pop("PREFECT_API_URL", None)

    def ingest(n: int, env: dict[str, str], *extra: str) -> float:
        home = work / f"prefect-home-{n}"  # new each time: nothing warmed up
        db = work / f"db-{n}-{time.monotonic_ns()}.db"
        return timed([sys.executable, "-m", "almaclean.cli", *extra, "-q", "ingest", "portfolios", str(export),
                      "--institution", "BENCH", "--db", f"sqlite:///{db}"], {**env, "PREFECT_HOME": str(home)})

    imports = [timed([sys.executable, "-c", "import polars, sqlalchemy, fastexcel, xlsxwriter"], env)
               for _ in range(RUNS)]
    command = [ingest(i, env) for i in range(RUNS)]
    best = min
    ratio = best(command) / best(imports)
    print(f"small command: `almaclean ingest portfolios` of {rows:,} rows (best of {RUNS})")
    print(f"  floor: import polars, sqlalchemy, fastexcel, xlsxwriter: {best(imports):6.2f} s")
    print(f"  almaclean ingest, new PREFECT_HOME, no API:            {best(command):6.2f} s  "
          f"({ratio:.2f}x the floor; target {TARGET:.0f}x: {'met' if ratio <= TARGET else 'MISSED'})")
    if args.prefect:
        port = free_port()
        server = subprocess.Popen([sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1",
                                   "--port", str(port)], env={**env, "PREFECT_HOME": str(work / "server-home")},
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            api = f"http://127.0.0.1:{port}/api"
            for _ in range(600):
                try:
                    urllib.request.urlopen(f"{api}/health", timeout=1)
                    break
                except OSError:
                    time.sleep(0.2)
            served = [ingest(10 + i, {**env, "PREFECT_API_URL": api}, "--prefect") for i in range(RUNS)]
        finally:
            server.terminate()
            server.wait(timeout=30)
        print(f"  almaclean --prefect ingest, running server:            {best(served):6.2f} s")


if __name__ == "__main__":
    main()
