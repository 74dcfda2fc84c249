"""The layers of docs/architecture.md, read from the source: which folder may import which, no
import cycle, and rules that open, write or query nothing.

Imports are read from every module's syntax tree, those inside functions included (a
function-level import hides a dependency from the import system, not from this test).
"""
from __future__ import annotations

import ast
import sys
from functools import cache
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[1] / "src" / "almaclean"

# Rules: pure functions over frames, returning frames and sheet or set plans.
DOMAIN = ("p2e", "resync", "nightly", "normalize", "model")
# Adapters and everything above them, which rules never import.
IO_LAYERS = ("store", "write", "bundle", "services", "orchestration", "analytics", "outputs", "cli", "sample")
FORBIDDEN = {
    **{package: IO_LAYERS for package in DOMAIN},
    "kinds": IO_LAYERS + ("p2e", "resync", "nightly"),
    "normalize": IO_LAYERS + ("p2e", "resync", "nightly", "model", "kinds", "read"),
    "read": IO_LAYERS + DOMAIN + ("kinds",),
    "excel": IO_LAYERS + DOMAIN + ("kinds", "read"),
    "write": ("store", "bundle", "services", "orchestration", "outputs", "cli", "read", *DOMAIN),
    "store": ("write", "bundle", "services", "orchestration", "outputs", "cli"),
    "outputs": ("store", "services", "orchestration", "cli"),
    "bundle": ("services", "orchestration", "cli", *DOMAIN),
    "batch": ("services", "orchestration", "cli"),
    "services": ("orchestration", "cli"),
}
# Libraries that do I/O: a rule module imports none of them.
IO_LIBRARIES = {"sqlalchemy", "sqlite3", "psycopg", "xlsxwriter", "fastexcel", "httpx", "shutil", "tempfile",
                "prefect", "zipfile", "subprocess", "socket", "urllib.request"}
# Calls that open, write, list or query: a rule module makes none of them.
IO_CALLS = {"open", "write_text", "write_bytes", "read_text", "read_bytes", "mkdir", "unlink", "rmdir", "touch",
            "iterdir", "glob", "rglob", "execute", "connect", "write_csv", "write_excel",
            "write_parquet", "write_json", "write_ipc", "sink_csv", "sink_parquet", "read_csv", "read_excel",
            "read_parquet", "read_database", "scan_csv", "scan_parquet", "write_database"}
# Prefect is started only by the commands that need it.
PREFECT_USERS = ("orchestration", "analytics")


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py")) if "migrations" not in p.parts}


@cache
def _tree(name: str) -> ast.Module:
    return ast.parse(_modules()[name].read_text(encoding="utf-8"))


def _imported(name: str) -> set[str]:
    """Every module `name` imports: almaclean modules by their own name, others by their top name."""
    modules = _modules()
    package = name if _modules()[name].name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(_tree(name)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            for alias in node.names:
                full = f"{source}.{alias.name}"
                found.add(full if full in modules else source)
    return {n for n in found if n != name}


def _layer(name: str) -> str:
    """The folder (or top-level module) of an almaclean module: 'p2e', 'cli', 'excel', ..."""
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def _internal_graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: {n for n in _imported(name) if n in modules} for name in modules}


def _layer_violations() -> list[str]:
    found = []
    for name, imports in sorted(_internal_graph().items()):
        forbidden = FORBIDDEN.get(_layer(name), ())
        found += [f"{name} imports {other}" for other in sorted(imports) if _layer(other) in forbidden]
    return found


def test_each_folder_imports_only_what_docs_architecture_allows():
    assert _layer_violations() == []


def test_the_rules_open_write_and_query_nothing():
    found = []
    for name in _modules():
        if _layer(name) not in DOMAIN + ("kinds",):
            continue
        libraries = {n for n in _imported(name) if not n.startswith("almaclean")}
        found += [f"{name} imports {lib}" for lib in sorted(libraries)
                  if any(lib == io or lib.startswith(io + ".") for io in IO_LIBRARIES)]
        if _layer(name) == "kinds":
            continue  # kinds reads a file through read/ and its mapping file: it is checked for imports only
        for node in ast.walk(_tree(name)):
            if isinstance(node, ast.Call):
                called = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
                if called in IO_CALLS:
                    found.append(f"{name}:{node.lineno} calls {called}()")
    assert found == []


def test_prefect_is_imported_only_where_a_flow_or_a_secret_needs_it():
    users = {name for name in _modules() if any(n == "prefect" or n.startswith("prefect.") for n in _imported(name))}
    assert {_layer(name) for name in users} <= set(PREFECT_USERS), sorted(users)


def test_no_import_cycle():
    graph = _internal_graph()
    cycles, index, low, stack, on_stack = [], {}, {}, [], set()

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in graph[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    assert cycles == []


@pytest.mark.parametrize("source,expected", [
    ("from almaclean.store.db import open_database\n", "almaclean.p2e.fake imports almaclean.store.db"),
    ("def f():\n    from almaclean.write import xlsx\n", "almaclean.p2e.fake imports almaclean.write.xlsx"),
    ("from ..services import p2e\n", "almaclean.p2e.fake imports almaclean.services.p2e"),
])
def test_the_layer_check_sees_every_form_of_import(source, expected, monkeypatch):
    """A module-level, a function-level and a relative import are all seen."""
    fake = PACKAGE / "p2e" / "fake.py"
    modules, real_tree = {**_modules(), "almaclean.p2e.fake": fake}, _tree
    here = sys.modules[__name__]
    monkeypatch.setattr(here, "_modules", lambda: modules)
    monkeypatch.setattr(here, "_tree", lambda name: ast.parse(source) if name == "almaclean.p2e.fake" else real_tree(name))
    assert expected in _layer_violations()
