"""Which file columns feed which canonical column: built-in aliases plus a user mapping file.

Mapping file (TOML), one table per kind, names compared folded like the built-ins:

    [portfolios]
    portfolio_id = ["My Portfolio PID"]
    url = "Link to resource"          # a single name is fine too

A user name wins: when it matches a header, the built-in names of that canonical column are
not used, and the columns it claims are not matched by any other built-in name.
"""
from __future__ import annotations

import logging
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path

from almaclean.errors import InputError
from almaclean.read.detect import check_regular_file
from almaclean.kinds.aliases import ALIASES, MULTI_VALUE, REQUIRED, check_kind, fold
from almaclean.kinds.registry import NAMES
from almaclean.read.table import excel_letter

log = logging.getLogger(__name__)

UserMapping = Mapping[str, Sequence[str] | str]


def load_mapping(path: str | Path) -> dict[str, dict[str, list[str]]]:
    """Read a mapping TOML: {kind: {canonical column: [header names]}}; InputError when invalid."""
    path = Path(path)
    check_regular_file(path)
    try:
        with path.open("rb") as handle:
            document = tomllib.load(handle)
    except OSError as exc:
        raise InputError(f"cannot read the mapping file: {exc.strerror or exc}", file=path) from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"not a valid TOML mapping file: {exc}", file=path) from None
    mapping: dict[str, dict[str, list[str]]] = {}
    for key, table in document.items():
        kind = key.replace("_", "-")
        if kind not in NAMES:
            raise InputError(f"unknown kind [{key}]: expected one of {', '.join(NAMES)}", file=path)
        if not isinstance(table, dict):
            raise InputError(f"[{key}] must be a table of column = [names]", file=path)
        mapping[kind] = _names_per_column(kind, table, path)
    log.info("mapping %s: %s", path.name,
             {kind: sorted(columns) for kind, columns in mapping.items()})
    return mapping


def _names_per_column(kind: str, table: UserMapping, source: Path | None) -> dict[str, list[str]]:
    result: dict[str, list[str]] = {}
    for column, names in table.items():
        if column not in ALIASES[kind]:
            raise InputError(f"[{kind}] has no column {column!r}; its columns are: "
                             f"{', '.join(ALIASES[kind])}", file=source)
        names = [names] if isinstance(names, str) else names
        if not isinstance(names, (list, tuple)) or not all(isinstance(n, str) for n in names):
            raise InputError(f"[{kind}] {column} must be a header name or a list of header names",
                             file=source)
        result[column] = list(names)
    return result


def resolve_columns(kind: str, header: Sequence[str], *, file: str | Path | None = None,
                    mapping: UserMapping | None = None) -> dict[str, list[int]]:
    """Canonical column -> positions of the header cells that feed it (only columns found).

    Two or more columns for one single-value canonical column is ambiguous: InputError naming
    them. Multi-value columns (ISSN, ISBN, 035) take every matching column.
    """
    check_kind(kind)
    folded = [fold(cell) for cell in header]
    user = _names_per_column(kind, mapping or {}, None)
    found: dict[str, list[int]] = {}
    claimed: set[int] = set()
    for names_of, source in ((user, "mapping"), (ALIASES[kind], "built-in")):
        for column, names in names_of.items():
            if column in found:
                continue
            wanted = {fold(name) for name in names} - {""}
            positions = [j for j, cell in enumerate(folded) if cell in wanted and j not in claimed]
            if positions:
                found[column] = positions
                claimed.update(positions)
    for column, positions in found.items():
        if len(positions) > 1 and column not in MULTI_VALUE:
            raise InputError(
                f"{_describe(header, positions)} all mean {column}: delete or rename all but one, "
                f"or name the one to use in a mapping file ([{kind}] {column} = [\"...\"])",
                file=file, column=header[positions[0]])
    return found


def require_columns(kind: str, found: Mapping[str, Sequence[int]], header: Sequence[str], *,
                    file: str | Path | None, mapping: UserMapping | None = None) -> None:
    """InputError naming the first required canonical column with no column in the file."""
    for column in REQUIRED[kind]:
        if column not in found:
            accepted = list((mapping or {}).get(column, ())) + list(ALIASES[kind][column])
            seen = ", ".join(repr(cell) for cell in header if cell.strip()) or "(none)"
            raise InputError(
                f"no {column} column for a {kind} file: expected a header such as "
                f"{', '.join(repr(a) for a in accepted)}; headers seen: {seen}. "
                "Rename the column or add it to a mapping file", file=file)


def _describe(header: Sequence[str], positions: Sequence[int]) -> str:
    return " and ".join(f"{header[j]!r} (column {excel_letter(j)})" for j in positions)
