"""How much of the database each institution takes: each table's size on disk (SQLite's
dbstat, PostgreSQL's pg_total_relation_size) shared out by the institution's rows in it.
An estimate: indexes and free pages are shared the same way, and a content row is counted for
the file that stored it (source_files.content_rows), even when that file was pruned since."""
from __future__ import annotations

from sqlalchemy import Engine, text

from almaclean.kinds.registry import TABLES
from almaclean.store.sqlfiles import query

PER_FILE_TABLES = (*TABLES.values(), "file_spans")


def table_bytes(engine: Engine) -> dict[str, int] | None:
    """Bytes per table, None when the database cannot say (a SQLite built without dbstat)."""
    with engine.connect() as conn:
        try:
            if engine.dialect.name == "sqlite":
                rows = conn.execute(text("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name")).all()
            else:
                rows = [(t, conn.execute(text("SELECT pg_total_relation_size(:t)"), {"t": t}).scalar())
                        for t in PER_FILE_TABLES]
        except Exception:  # no dbstat: sizes unknown, said so by the caller
            return None
    return {name: int(size or 0) for name, size in rows}


def institution_bytes(engine: Engine) -> dict[str, int] | None:
    sizes = table_bytes(engine)
    if sizes is None:
        return None
    share: dict[str, float] = {}
    with engine.connect() as conn:
        rows_in = {table: (query("content_rows_per_institution"), {"kind": kind}) for kind, table in TABLES.items()}
        rows_in["file_spans"] = (query("spans_per_institution"), {})
        for table in PER_FILE_TABLES:
            sql, params = rows_in[table]
            counts = [(code, int(n or 0)) for code, n in conn.execute(text(sql), params).all()]
            total = sum(n for _, n in counts)
            for code, n in counts:
                if not total:
                    continue
                share[code] = share.get(code, 0) + sizes.get(table, 0) * n / total
    return {code: int(size) for code, size in share.items()}
