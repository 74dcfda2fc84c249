"""The history of a row across the files of its scope: when a portfolio (or P2E line, PO line)
appeared, changed, stayed the same or went, file by file.

The timeline is file_ingests (each time a file became the current one of its scope). A row is
named by its kind's key column (kinds/registry.py): portfolio_id for portfolio exports and
Extended Exports, legacy_id for P2E files, po_line for PO line exports. Rows whose content
differs in any stored value, other cells included, are "changed", with the columns that differ.
"""
from __future__ import annotations

import polars as pl
from sqlalchemy import Engine, select

from almaclean.kinds import canonical_columns
from almaclean.kinds.registry import BY_NAME
from almaclean.store.fields import FIELDS, check_codec, unpacked
from almaclean.store.load import fetch_frame, fetch_query
from almaclean.store.tables import CONTENT

OTHER_CELLS = "other cells"
HISTORY_SCHEMA = {"ingested_at": pl.String, "file": pl.String, "source_file_id": pl.Int64, "scope": pl.String,
                  "status": pl.String, "rows": pl.String, "changed": pl.String}


def row_history(engine: Engine, institution: str, kind: str, key: str) -> pl.DataFrame:
    """One line per ingest where rows with this key were present before or after: ingested_at,
    file, source_file_id, scope, status (appeared / changed / unchanged / gone / current again),
    rows (their row numbers in that file) and changed (the columns that differ)."""
    table, key_column = BY_NAME[kind].table, BY_NAME[kind].key
    columns = canonical_columns(kind)
    stored = CONTENT[kind]
    with engine.connect() as conn:
        check_codec(conn, table)
        content = fetch_frame(conn, select(stored.c.row_id, stored.c[key_column], stored.c.fields, stored.c.raw_cells)
                              .where(stored.c[key_column] == key))
    content = unpacked(content, table).select("row_id", key_column, *FIELDS[table], "raw_cells")
    ids = content.get_column("row_id")
    spans = fetch_query(engine, "spans_within", {"institution": institution, "kind": kind,
                                                 "first": ids.min(), "last": ids.max()}
                        ) if not content.is_empty() else pl.DataFrame()
    present = _rows_by_file(spans, content)
    events = fetch_query(engine, "file_ingests", {"institution": institution, "kind": kind})
    before: dict[str, pl.DataFrame | None] = {}
    lines = []
    for event in events.iter_rows(named=True):
        now = present.get(event["source_file_id"])
        previous = before.get(event["scope"])
        before[event["scope"]] = now
        if now is None and previous is None:
            continue
        status, changed = _compare(previous, now, [*columns, "raw_cells"])
        if event["status"] == "current again" and now is not None:
            status = f"{status} (file #{event['source_file_id']} current again)"
        lines.append({"ingested_at": event["ingested_at"], "file": event["file_name"],
                      "source_file_id": event["source_file_id"], "scope": event["scope"], "status": status,
                      "rows": ", ".join(str(r) for r in now.get_column("row_number")) if now is not None else "",
                      "changed": changed})
    return pl.DataFrame(lines, schema=HISTORY_SCHEMA)


def _rows_by_file(spans: pl.DataFrame, content: pl.DataFrame) -> dict[int, pl.DataFrame]:
    """source_file_id -> its rows with the key: row_number and content, in row order."""
    if spans.is_empty():
        return {}
    inside = (pl.col("row_id") >= pl.col("first_id")) & (pl.col("row_id") < pl.col("first_id") + pl.col("row_count"))
    rows = (spans.join(content, how="cross")
            .filter(inside)
            .with_columns((pl.col("first_row") + pl.col("row_id") - pl.col("first_id")).alias("row_number"))
            .drop("first_row", "first_id", "row_count", "row_id")
            .sort("source_file_id", "row_number"))
    return {int(source[0]): group.drop("source_file_id") for source, group in rows.group_by("source_file_id")}


def _compare(previous: pl.DataFrame | None, now: pl.DataFrame | None, columns: list[str]) -> tuple[str, str]:
    if previous is None:
        return "appeared", ""
    if now is None:
        return "gone", ""
    if previous.height != now.height:
        return "changed", f"{previous.height} rows, now {now.height}"
    differing = [column for column in columns
                 if previous.get_column(column).to_list() != now.get_column(column).to_list()]
    return ("changed" if differing else "unchanged"), ", ".join(
        _what_changed(column, previous, now) for column in differing)


def _what_changed(column: str, previous: pl.DataFrame, now: pl.DataFrame) -> str:
    """title 'Old' -> 'New' for one row; the column name alone for several, or other cells."""
    if column == "raw_cells":
        return OTHER_CELLS
    if now.height != 1:
        return column
    return f"{column} {previous.item(0, column)!r} -> {now.item(0, column)!r}"
