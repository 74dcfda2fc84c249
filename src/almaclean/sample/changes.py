"""A later night's portfolio export: the same export with a share of its rows changed, removed
or added, as Alma's nightly exports differ from one night to the next (nightly storage
benchmarks and tests)."""
from __future__ import annotations

from pathlib import Path

import polars as pl


def changed_export(source: Path, target: Path, share: float = 0.01, seed: int = 5) -> Path:
    """source with `share` of its rows touched, a third each: title changed, row removed, row
    added (a copy with a new portfolio id, 9 for its first digit). Written as CSV."""
    frame = pl.read_csv(source, infer_schema=False).with_row_index("_i")
    n = max(1, int(frame.height * share / 3))
    touched = frame.sample(n=min(3 * n, frame.height), seed=seed, shuffle=True)
    changed, removed, copied = touched[:n]["_i"], touched[n:2 * n]["_i"], touched[2 * n:3 * n]
    frame = frame.with_columns(
        pl.when(pl.col("_i").is_in(changed.implode())).then(pl.col("Title") + " (changed)").otherwise(pl.col("Title"))
        .alias("Title")
    ).filter(~pl.col("_i").is_in(removed.implode()))
    added = copied.with_columns(("9" + pl.col("Portfolio Id").str.slice(1)).alias("Portfolio Id"))
    pl.concat([frame, added]).drop("_i").write_csv(target)
    return target
