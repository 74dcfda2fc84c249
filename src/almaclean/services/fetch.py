"""Fetch Alma Analytics reports and store them exactly as `ingest KIND` stores a file.

The report is read page by page (analytics.client) into its canonical CSV in the data folder
(analytics.canonical), and that file is then ingested like any other (store.ingest), from the
rows as written rather than read back (the same table, the same sha256): the same
kind checks, column aliases and mapping, the same refusal of bad IDs, the same sha256
"unchanged" detection and the same history. The fetch is recorded (store.fetches) so that every
bundle analysing the stored file keeps that CSV, and verify re-runs it offline.

fetch_sources does it for a nightly institution whose folder has a sources.toml.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import Engine

from almaclean.analytics.canonical import CsvSink, canonical_csv, new_csv_path
from almaclean.analytics.client import FetchStats, ReportReader, RetryPolicy
from almaclean.analytics.credentials import api_base, api_key
from almaclean.analytics.sources import check_fetchable, read_sources, sources_file
from almaclean.errors import InputError
from almaclean.invocation import command_line
from almaclean.kinds import load_mapping
from almaclean.progress import Progress
from almaclean.services import options
from almaclean.store.db import describe
from almaclean.store.fetches import FetchRecord, latest_fetches, record_fetch
from almaclean.store.ingest import IngestResult, ingest_table

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FetchRequest:
    kind: str
    institution: str
    report: str                        # the report's path in the Analytics catalogue
    api_base: str | None = None        # a gateway URL or region; None: $ALMA_API_BASE, else North America
    api_key_env: str | None = None     # None: $ALMA_API_KEY
    api_key_block: str | None = None   # a Prefect Secret block holding the key instead


@dataclass(frozen=True)
class FetchResult:
    request: FetchRequest
    api_base: str
    stored: IngestResult
    csv_file: Path
    stats: FetchStats
    database: str
    next_command: str | None = None    # the P2E run to make next, as the CLI writes it (every option)

    @property
    def where(self) -> str:
        return f"Analytics report {self.request.report}"

    def file_entry(self) -> dict:
        """The nightly run's record of this fetch (InstitutionRun.files)."""
        return {"file": self.csv_file.name, "kind": self.request.kind, "status": self.stored.status,
                "rows": self.stored.rows, "report": self.request.report}

    def lines(self) -> list[str]:
        s, r = self.stats, self.stored
        lines = [f"{r.status:9} {self.where}: {r.rows:,} rows in {s.pages:,} page(s) from {self.api_base} "
                 f"({r.kind}, institution {self.request.institution}, scope {r.scope!r}, file #{r.source_file_id})"]
        if r.status != "stored":
            lines.append(f"          the same rows as the stored file #{r.source_file_id}: nothing new stored")
        lines.append(f"kept as   {self.csv_file}")
        waits = [f"{n} {what}" for n, what in ((s.throttled, "throttled request(s) asked again"),
                                               (s.empty_pages, "page(s) while Analytics was still computing"),
                                               (s.reconnects, "request(s) sent again for want of a connection"),
                                               (s.restarts, "time(s) read again from its start")) if n]
        if waits:
            lines.append("waited    " + ", ".join(waits))
        lines += [f"database: {self.database}",
                  f"next:     {self.next_command or command_line('p2e', '--institution', self.request.institution)}"]
        return lines

    def as_json(self) -> dict:
        r = self.stored
        return {"command": "fetch", "report": self.request.report, "api_base": self.api_base, "kind": r.kind,
                "institution": self.request.institution, "scope": r.scope, "status": r.status, "rows": r.rows,
                "source_file_id": r.source_file_id, "sha256": r.sha256, "file": str(self.csv_file),
                "database": self.database, **self.stats.as_json()}


@dataclass(frozen=True)
class ReaderOptions:
    """How reports are read: tests give a transport, no waiting, a small retry policy."""

    policy: RetryPolicy = field(default_factory=RetryPolicy)
    transport: object | None = None
    sleep: object | None = None


def check_report_path(report: str) -> str:
    text = (report or "").strip()
    if not text.startswith("/"):
        raise InputError(f"--report {report!r} is not a report path: give the report's path in the Analytics "
                         "catalogue, like \"/shared/<Institution>/Reports/almaclean/All portfolios\"")
    return text


def fetch_report(engine: Engine, request: FetchRequest, *, mapping: dict | None = None,
                 reader: ReaderOptions | None = None) -> FetchResult:
    """Read the whole report, keep it as its canonical CSV, store it like a file of its kind.
    Nothing is stored and no CSV is kept unless every row was read and checked."""
    options.institution_code(request.institution)
    check_fetchable(request.kind)
    report = check_report_path(request.report)
    base = api_base(request.api_base)
    key = api_key(env=request.api_key_env, block=request.api_key_block)
    reader = reader or ReaderOptions()
    client = ReportReader(base, key, policy=reader.policy, transport=reader.transport,
                          **({"sleep": reader.sleep} if reader.sleep is not None else {}))
    started = _now()
    path = new_csv_path(request.institution, request.kind, report)
    progress = Progress(f"fetching {report}", None, logger=log, unit="rows")
    done = 0

    def on_page(stats: FetchStats) -> None:
        nonlocal done
        done = 0 if stats.rows < done else done   # the report read again from its start
        progress.advance(stats.rows - done)
        done = stats.rows

    log.info("fetching Analytics report %s from %s with %s", report, base, key)
    try:
        with canonical_csv(path) as sink:
            stats = client.read(report, sink, on_page=on_page)
    finally:
        progress.finish()
    stored = _store(engine, request, sink, path, mapping)
    kept = _kept_csv(engine, stored, path)
    record_fetch(engine, FetchRecord(request.institution, request.kind, report, base, started, _now(), stored.rows,
                                     stats.pages, stored.source_file_id, stored.status, kept))
    log.info("%s: %s rows, %s (file #%d), kept as %s", report, f"{stored.rows:,}", stored.status,
             stored.source_file_id, kept)
    return FetchResult(request, base, stored, kept, stats, describe(engine))


def _store(engine: Engine, request: FetchRequest, sink: CsvSink, path: Path, mapping: dict | None) -> IngestResult:
    """The canonical CSV ingested like a file, from the rows as written (not read back);
    refused, it goes, and the error names the report."""
    try:
        return ingest_table(engine, request.kind, sink.table(path), request.institution, digest=sink.digest,
                            mapping=mapping)
    except InputError as exc:
        path.unlink(missing_ok=True)
        raise InputError(exc.message, file=f"Analytics report {request.report} (fetched as {path.name})",
                         row=exc.row, column=exc.column) from None
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def _kept_csv(engine: Engine, stored: IngestResult, path: Path) -> Path:
    """The same bytes fetched before keep their first CSV (the one bundles already name): the
    new copy goes. Otherwise the new file is the one kept."""
    if stored.status == "stored":
        return path
    earlier = latest_fetches(engine, [stored.source_file_id]).get(stored.source_file_id)
    if earlier is not None and earlier.csv_file != path and earlier.csv_file.is_file():
        path.unlink(missing_ok=True)
        return earlier.csv_file
    return path


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass(frozen=True)
class FetchedSources:
    """What a nightly institution's sources.toml made almaclean fetch."""

    results: list[FetchResult] = field(default_factory=list)

    @property
    def kinds(self) -> frozenset[str]:
        return frozenset(result.request.kind for result in self.results)

    @property
    def files(self) -> list[dict]:
        return [result.file_entry() for result in self.results]


def fetch_sources(engine: Engine, folder: Path, institution: str, *,
                  reader: ReaderOptions | None = None) -> FetchedSources:
    """Fetch every report named in the institution folder's sources.toml (none: nothing to do),
    with the folder's mapping.toml. The first failure raises: the institution is reported."""
    from almaclean.inbox import mapping_file

    path = sources_file(folder)
    if path is None:
        return FetchedSources()
    sources = read_sources(path)
    mapping_path = mapping_file(folder)
    mapping = load_mapping(mapping_path) if mapping_path else {}
    results = []
    for kind, report in sources.reports.items():
        request = FetchRequest(kind, institution, report, api_base=sources.api_base, api_key_env=sources.api_key_env,
                               api_key_block=sources.api_key_block)
        results.append(fetch_report(engine, request, mapping=mapping.get(kind), reader=reader))
    return FetchedSources(results)
