"""A local server that speaks the Alma Analytics reports API, serving a CSV as a report.

Used by the fetch tests (an in-process thread) and bench/fetch.py (its own process: `python
tests/analytics_server.py CSV` prints the port). Pages are rendered once, up front, so the
server answers at once. Each quirk of the real API can be switched on (Quirks): zero-row
unfinished pages, a first answer without the schema, HTTP 429, a PER_SECOND_THRESHOLD error
body, cells left out (never <ColumnN/>), an answer cut off mid-body (the cursor has moved on,
as Analytics' does), an error body for chosen requests, an empty finished report.
"""
from __future__ import annotations

import argparse
import sys
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import quoteattr

import polars as pl

KEY = "l7xx-test-analytics-key-0123456789abcdef"
ROWSET = "urn:schemas-microsoft-com:xml-analysis:rowset"


def _escape_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")


def error_body(code: str, message: str) -> bytes:
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<web_service_result xmlns="http://com/exlibris/urm/general/xmlbeans"><errorsExist>true</errorsExist>'
            f"<errorList><error><errorCode>{code}</errorCode><errorMessage>{_escape_text(message)}</errorMessage>"
            "<trackingId>E01-0612102030-ABCDE-AWAE1234567890</trackingId></error></errorList>"
            "</web_service_result>").encode()


PER_SECOND = error_body("PER_SECOND_THRESHOLD", "HTTP requests are more than allowed per second")


@dataclass
class Quirks:
    empty_before: set[int] = field(default_factory=set)     # page numbers (1-based) preceded by a zero-row page
    no_schema_first: bool = False                           # first answer: token only, nothing in ResultXml
    http_429: set[int] = field(default_factory=set)         # request numbers (1-based) answered 429, no body
    per_second: set[int] = field(default_factory=set)       # request numbers answered with PER_SECOND_THRESHOLD
    per_second_status: int = 429
    drop: set[int] = field(default_factory=set)             # request numbers cut off mid-body (page consumed)
    errors: dict[int, tuple[int, bytes]] = field(default_factory=dict)   # request number -> (status, body)
    always: tuple[int, bytes] | None = None                 # every request answered so
    empty_cells_as_elements: bool = False                   # <ColumnN/> instead of leaving the cell out
    empty_reports: int = 0                                  # the first N readings are empty and finished
    pretty: bool = False                                    # blanks and newlines between elements


class Report:
    """A CSV rendered as Analytics pages of `limit` rows."""

    def __init__(self, frame: pl.DataFrame, *, limit: int = 1000, quirks: Quirks | None = None) -> None:
        self.headings = list(frame.columns)
        self.quirks = quirks or Quirks()
        self.limit = limit
        rows = _row_xml(frame, self.quirks)
        self.pages = [b"".join(rows[i:i + limit]) for i in range(0, len(rows), limit)] or [b""]
        self.schema = _schema(self.headings).encode()
        self.cursors: dict[str, int] = {}
        self.requests: list[dict] = []
        self.readings = 0
        self.lock = threading.Lock()

    def answer(self, query: dict[str, list[str]], authorization: str | None) -> tuple[int, bytes, bool]:
        """(status, body, cut off) for one request."""
        with self.lock:
            self.requests.append({k: v[0] for k, v in query.items()})
            n = len(self.requests)
            q = self.quirks
            if q.always is not None:
                return (*q.always, False)
            if n in q.errors:
                return (*q.errors[n], False)
            if authorization != f"apikey {KEY}":
                return 400, error_body("UNAUTHORIZED", "API-key not defined or not configured to allow this API."), False
            if n in q.http_429:
                return 429, b"", False
            if n in q.per_second:
                return q.per_second_status, PER_SECOND, False
            if "path" in query:
                token = uuid.uuid4().hex.upper() * 2
                self.readings += 1
                self.cursors[token] = 0
                if q.no_schema_first:
                    self.cursors[token] = -1
                    return 200, _page(token, False, b"", b""), n in q.drop
                return self._next(token, first=True, cut=n in q.drop)
            token = query.get("token", [""])[0]
            if token not in self.cursors:
                return 400, error_body("INVALID_TOKEN", "The resumption token is not valid"), False
            return self._next(token, first=False, cut=n in q.drop)

    def _sequence(self) -> list[int | None]:
        """What a reading answers, in order: a page index, or None for a zero-row unfinished page."""
        steps: list[int | None] = []
        for index in range(len(self.pages)):
            if index + 1 in self.quirks.empty_before:
                steps.append(None)
            steps.append(index)
        return steps

    def _next(self, token: str, *, first: bool, cut: bool) -> tuple[int, bytes, bool]:
        cursor = self.cursors[token]
        self.cursors[token] = cursor + 1
        if cursor < 0:   # after a first answer without the schema, the schema comes now
            cursor = self.cursors[token] = 0
            self.cursors[token] = 1
        schema = self.schema if cursor == 0 else b""
        shown_token = token if first else None
        if self.readings <= self.quirks.empty_reports:
            return 200, _page(shown_token, True, schema, b""), cut
        steps = self._sequence()
        if cursor >= len(steps):
            return 400, error_body("INVALID_TOKEN", "The report has no more rows for this token"), False
        step = steps[cursor]
        if step is None:
            return 200, _page(shown_token, False, schema, b""), cut
        return 200, _page(shown_token, cursor == len(steps) - 1, schema, self.pages[step]), cut


def _row_xml(frame: pl.DataFrame, quirks: Quirks) -> list[bytes]:
    if frame.is_empty():
        return []
    sep = "\n    " if quirks.pretty else ""
    cells = []
    for k, name in enumerate(frame.columns, start=1):
        text = pl.col(name)
        for old, new in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ("\r", "&#13;")):
            text = text.str.replace_all(old, new, literal=True)
        empty = f"{sep}<Column{k}/>" if quirks.empty_cells_as_elements else ""
        cells.append(pl.when(pl.col(name).is_null()).then(pl.lit(empty))
                     .otherwise(pl.lit(f"{sep}<Column{k}>") + text + pl.lit(f"</Column{k}>")))
    row = pl.concat_str([pl.lit(f"{sep}<Row>{sep}<Column0>0</Column0>"), *cells, pl.lit(f"{sep}</Row>")])
    return [value.encode() for value in frame.select(row.alias("x"))["x"].to_list()]


def _schema(headings: list[str]) -> str:
    elements = ['<xsd:element minOccurs="0" maxOccurs="1" name="Column0" type="xsd:string" saw-sql:type="integer" '
                'saw-sql:displayFormula="0" saw-sql:aggregationRule="none" saw-sql:aggregationType="nonAgg" '
                'saw-sql:tableHeading="" saw-sql:columnHeading="0" saw-sql:isDoubleColumn="false"/>']
    for k, heading in enumerate(headings, start=1):
        elements.append(f'<xsd:element minOccurs="0" maxOccurs="1" name="Column{k}" type="xsd:string" '
                        f'saw-sql:type="varchar" saw-sql:aggregationRule="none" saw-sql:aggregationType="nonAgg" '
                        f'saw-sql:tableHeading="Portfolio" saw-sql:columnHeading={quoteattr(heading)} '
                        f'saw-sql:isDoubleColumn="false" saw-sql:columnWidth="200"/>')
    return ('<xsd:schema xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:saw-sql="urn:saw-sql" '
            f'targetNamespace="{ROWSET}"><xsd:complexType name="Row"><xsd:sequence>' + "".join(elements)
            + "</xsd:sequence></xsd:complexType></xsd:schema>")


def _page(token: str | None, finished: bool, schema: bytes, rows: bytes) -> bytes:
    head = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<report>\n<QueryResult>\n'
            + (f"<ResumptionToken>\n   {token}\n   </ResumptionToken>\n" if token else "")
            + f"<IsFinished>{'true' if finished else 'false'}</IsFinished>\n<ResultXml>").encode()
    if not schema and not rows:
        return head + b"</ResultXml>\n</QueryResult>\n</report>\n"
    return (head + f'<rowset:rowset xmlns:rowset="{ROWSET}" xmlns="{ROWSET}">'.encode() + schema + rows
            + b"</rowset:rowset></ResultXml>\n</QueryResult>\n</report>\n")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    report: Report

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        url = urlsplit(self.path)
        if url.path != "/almaws/v1/analytics/reports":
            self._send(404, b"<html><body>Not found</body></html>", cut=False)
            return
        status, body, cut = self.report.answer(parse_qs(url.query), self.headers.get("Authorization"))
        self._send(status, body, cut=cut)

    def _send(self, status: int, body: bytes, *, cut: bool) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/xml;charset=UTF-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if cut:
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)

    def log_message(self, *args) -> None:  # quiet
        pass


class AnalyticsServer:
    """The server in a thread of this process: `with AnalyticsServer(frame) as server: server.base`."""

    def __init__(self, frame: pl.DataFrame, *, limit: int = 1000, quirks: Quirks | None = None) -> None:
        self.report = Report(frame, limit=limit, quirks=quirks)
        handler = type("Handler", (_Handler,), {"report": self.report})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        # shutdown() waits for the serving loop's next poll: a short one lets each test end at once
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    def __enter__(self) -> "AnalyticsServer":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def read_report_csv(path: Path) -> pl.DataFrame:
    return pl.read_csv(path, infer_schema=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv", type=Path)
    parser.add_argument("--limit", type=int, default=1000)
    args = parser.parse_args()
    server = AnalyticsServer(read_report_csv(args.csv), limit=args.limit)
    print(server.base, flush=True)
    with server:
        try:
            sys.stdin.read()   # until the parent closes our standard input
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
