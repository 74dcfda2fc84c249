"""SQL is built by SQLAlchemy Core on store/tables.py's tables, or is a fixed text with bound
parameters (sql/*.sql): no statement of the package is an f-string with names or values pasted
in. Migrations are the record of how old databases were changed and keep their own SQL."""
from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "almaclean"
SQL = re.compile(r"\b(SELECT|INSERT INTO|UPDATE|DELETE FROM|CREATE|DROP|ALTER TABLE|COPY|WHERE|IN \(|IS (NOT )?NULL)")
# Statements SQLAlchemy has no construct for, with every identifier quoted by the dialect.
DDL = {("store/fields.py", "view_statements"), ("store/ingest.py", "_copy_statement")}


def sql_f_strings() -> list[str]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        if relative.startswith("store/migrations/"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for function in [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]:
            for node in ast.walk(function):
                if not isinstance(node, ast.JoinedStr) or (relative, function.name) in DDL:
                    continue
                literal = "".join(v.value for v in node.values if isinstance(v, ast.Constant))
                if SQL.search(literal) and any(isinstance(v, ast.FormattedValue) for v in node.values):
                    found.append(f"{relative}:{node.lineno} ({function.name}): {literal[:60]!r}")
    return found


def test_no_statement_is_an_f_string():
    assert sql_f_strings() == []


def test_the_check_finds_an_f_string_statement(tmp_path, monkeypatch):
    (tmp_path / "store").mkdir()
    (tmp_path / "store" / "bad.py").write_text(
        'def rows(conn, table):\n    return conn.execute(text(f"SELECT COUNT(*) FROM {table}"))\n', encoding="utf-8")
    monkeypatch.setitem(globals(), "PACKAGE", tmp_path)
    assert sql_f_strings() == ["store/bad.py:2 (rows): 'SELECT COUNT(*) FROM '"]
