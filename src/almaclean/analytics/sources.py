"""A nightly institution's sources.toml: which Analytics report stands for which kind of export.

    # INBOX/EDU01/sources.toml
    api_base = "eu"                      # optional: a region (na, eu, ap, ca, cn) or the gateway URL
    api_key_env = "ALMA_API_KEY_EDU01"   # optional: the variable holding this institution's key
    # api_key_block = "alma-edu01"       # or a Prefect Secret block holding it (not both)

    [reports]
    portfolios = "/shared/Example University/Reports/almaclean/All portfolios"
    po-lines = "/shared/Example University/Reports/almaclean/PO lines"

Only portfolios and PO lines come from Analytics; the P2E file and Extended Exports stay files.
The key itself never goes in this file (the inbox is a shared folder).
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from almaclean.errors import InputError
from almaclean.kinds.registry import BY_NAME

SOURCES_FILE = "sources.toml"
FETCHED_KINDS = ("portfolios", "po-lines")
_SETTINGS = ("api_base", "api_key_env", "api_key_block")
_SECRET_LIKE = re.compile(r"(api_?key|apikey|secret|password|token)$", re.IGNORECASE)


@dataclass(frozen=True)
class Sources:
    path: Path
    reports: dict[str, str] = field(default_factory=dict)    # kind -> Analytics report path
    api_base: str | None = None
    api_key_env: str | None = None
    api_key_block: str | None = None


def sources_file(folder: Path) -> Path | None:
    path = Path(folder) / SOURCES_FILE
    return path if path.is_file() else None


def check_fetchable(kind: str, where: str | Path | None = None) -> str:
    """The kinds a report can stand for; InputError (in words) for the others."""
    if kind in FETCHED_KINDS:
        return kind
    if kind in BY_NAME:
        raise InputError(f"a {BY_NAME[kind].what} does not come from an Analytics report: store it with "
                         f"`almaclean ingest {kind} FILE`; only {' and '.join(FETCHED_KINDS)} are fetched", file=where)
    raise InputError(f"unknown kind {kind!r}: reports can be fetched for {', '.join(FETCHED_KINDS)}", file=where)


def read_sources(path: Path) -> Sources:
    """sources.toml read and checked; InputError naming the file and the setting otherwise."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the file: {exc}", file=path) from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"not valid TOML: {exc}", file=path) from None
    for key in data:
        if key != "reports" and key not in _SETTINGS:
            if _SECRET_LIKE.search(key) and key not in _SETTINGS:
                raise InputError(f"{key!r}: never put the API key in this file (the inbox is shared); set it in "
                                 "an environment variable named by api_key_env, or in a Prefect Secret block "
                                 "named by api_key_block", file=path)
            raise InputError(f"unknown setting {key!r}: use {', '.join(_SETTINGS)} and a [reports] table",
                             file=path)
    settings = {}
    for key in _SETTINGS:
        value = data.get(key)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise InputError(f"{key} must be a non-empty text", file=path)
        settings[key] = value.strip() if value else None
    if settings["api_key_env"] and settings["api_key_block"]:
        raise InputError("give api_key_env or api_key_block, not both", file=path)
    reports = data.get("reports")
    if not isinstance(reports, dict) or not reports:
        raise InputError("no [reports] table: name the Analytics report of each kind, e.g. "
                         'portfolios = "/shared/<Institution>/Reports/almaclean/All portfolios"', file=path)
    checked = {}
    for kind, report in reports.items():
        check_fetchable(kind, path)
        if not isinstance(report, str) or not report.strip().startswith("/"):
            raise InputError(f"reports.{kind} must be the report's path in the Analytics catalogue, starting with "
                             f"/shared/ (got {report!r})", file=path)
        checked[kind] = report.strip()
    return Sources(path, checked, **settings)
