"""The packed `fields` codec (store/fields.py) on 200,000 rows of the portfolio table's columns:
packing (what ingest does to every new row) and unpacking (what every load does), each the
median of RUNS, beside its floor: the same columns joined and split with no escaping at all.
A few values hold a backslash and a third of one column is null, as in real exports.

    python3 -m uv run --frozen python bench/fields.py [--rows N]
"""
from __future__ import annotations

import argparse
import statistics
import time

import polars as pl

from almaclean.store.fields import FIELDS, SEPARATOR, packed_fields, unpacked

RUNS = 5
TABLE = "portfolios"


def timed(work) -> tuple[float, object]:
    times, result = [], None
    for _ in range(RUNS):
        started = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    rows = parser.parse_args().rows
    columns = FIELDS[TABLE]
    number = pl.int_range(0, rows, eager=True)
    frame = pl.DataFrame({c: f"{c} " + number.cast(pl.String) for c in columns}).with_columns(
        pl.when(number % 3 == 0).then(None).otherwise(pl.col(columns[2])).alias(columns[2]),
        pl.when(number % 1000 == 0).then(pl.lit("C:\\x")).otherwise(pl.col(columns[5])).alias(columns[5]))

    pack, packed = timed(lambda: frame.select(packed_fields(frame, TABLE)))
    unpack, back = timed(lambda: unpacked(packed, TABLE))
    assert back.select(columns).equals(frame), "the rows did not come back"
    joined = pl.concat_str([pl.col(c).fill_null("") for c in columns], separator=SEPARATOR).alias("fields")
    pack_floor, plain = timed(lambda: frame.select(joined))
    unpack_floor, _ = timed(lambda: plain.with_columns(
        pl.col("fields").str.split_exact(SEPARATOR, len(columns) - 1)).unnest("fields"))
    print(f"{rows:,} rows x {len(columns)} columns, median of {RUNS}:")
    print(f"  pack   {pack:.3f} s (floor {pack_floor:.3f} s: {pack / pack_floor:.2f}x)")
    print(f"  unpack {unpack:.3f} s (floor {unpack_floor:.3f} s: {unpack / unpack_floor:.2f}x)")


if __name__ == "__main__":
    main()
