"""Paging through one Alma Analytics report over HTTP, as the API really behaves.

- The first request names the report (path, limit, col_names=true); the answer carries the
  resumption token and the schema. Every later request sends that same token until IsFinished
  is true: the token is a cursor on Ex Libris's side that moves on with each request it gets.
- A page with no row and IsFinished false means Analytics is still computing: ask again, a
  little later (bounded: RetryPolicy.empty_pages).
- HTTP 429, or an error body with PER_SECOND_THRESHOLD (the per-second API threshold), means
  wait and ask again, with exponential backoff (and Retry-After when given); the request never
  reached Analytics, so the same token is sent. The daily threshold is not retried.
- An answer lost after the request was sent (connection dropped, a truncated or unreadable
  body, a server fault) cannot be asked for again: Analytics has moved its cursor on, and the
  same token would return the next page, silently skipping one. The report is read again from
  its start (bounded: RetryPolicy.restarts); what was read of it is forgotten, never stored.
  A request that could not be sent (no connection) is sent again with the same token.
- An error body's errorMessage is said in plain words: a wrong path or a refused key is the
  user's to fix (InputError, exit 2); anything else is a server fault (AlmacleanError, exit 1).
- A report that ends with no row at all is read once more (Analytics is known to answer an
  empty, finished result for a report with rows, while loading), then refused: an empty
  portfolio export would make every finding look deleted in Alma.
"""
from __future__ import annotations

import logging
import random
import re
import ssl
import time
import xml.etree.ElementTree as ET
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Protocol

import httpx
import polars as pl

from almaclean.analytics.credentials import ApiKey
from almaclean.analytics.fastpage import CheckedPage, checked_page
from almaclean.analytics.protocol import ApiError, Column, Page, ProtocolError, parse_error, parse_page, parse_xml
from almaclean.errors import AlmacleanError, InputError

log = logging.getLogger(__name__)

REPORTS_PATH = "/almaws/v1/analytics/reports"
PAGE_ROWS = 1000          # the API's largest page (25 to 1000, in steps of 25)
THROTTLE_CODES = ("PER_SECOND_THRESHOLD",)
_KEY_TEXT = re.compile(r"api[\s_-]?key|apikey|unauthori[sz]ed|not authori[sz]ed|forbidden", re.IGNORECASE)
_PATH_TEXT = re.compile(r"path not found|no such path|report not found|analysis .*not found|invalid path",
                        re.IGNORECASE)
_DAILY_TEXT = re.compile(r"daily", re.IGNORECASE)
# The retry jitter's own generator: the global one belongs to the program that uses almaclean.
_JITTER = random.Random()


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 8             # per request, while throttled or without a connection
    first_delay: float = 1.0      # seconds; doubled at each attempt
    max_delay: float = 60.0
    restarts: int = 3             # the report read again from its start after a lost answer
    empty_pages: int = 150        # zero-row unfinished pages in a row before giving up...
    empty_wait: float = 900.0     # ... or seconds waited for them in a row
    empty_delay: float = 2.0      # seconds between them (Analytics is computing), growing to 30
    empty_reports: int = 1        # a finished report without rows read again this many times
    timeout: float = 300.0        # seconds to wait for one answer (a big report's first page is slow)


@dataclass
class FetchStats:
    pages: int = 0
    rows: int = 0
    requests: int = 0
    throttled: int = 0
    empty_pages: int = 0
    restarts: int = 0
    reconnects: int = 0
    columns: tuple[Column, ...] = field(default=(), repr=False)

    def as_json(self) -> dict:
        return {"pages": self.pages, "rows": self.rows, "requests": self.requests, "throttled": self.throttled,
                "empty_pages": self.empty_pages, "restarts": self.restarts, "reconnects": self.reconnects}


class Sink(Protocol):
    def start(self, headings: list[str]) -> None: ...
    def add(self, rows: pl.DataFrame) -> None: ...   # a String column per heading, null: no text
    def reset(self) -> None: ...


class _Lost(Exception):
    """The answer to a request that reached the server is lost: read the report again."""


class _Empty(Exception):
    """The report finished without a row."""


@dataclass
class ReportReader:
    base: str
    key: ApiKey
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    transport: httpx.BaseTransport | None = None     # tests: httpx.MockTransport
    sleep: Callable[[float], None] = time.sleep
    limit: int = PAGE_ROWS

    def read(self, report: str, sink: Sink, *, on_page: Callable[[FetchStats], None] | None = None) -> FetchStats:
        """Every row of the report into `sink`; the statistics of the reading."""
        stats = FetchStats()
        with httpx.Client(base_url=self.base, transport=self.transport, timeout=self._timeout(), verify=self._tls(),
                          headers={"Authorization": f"apikey {self.key.value}", "Accept": "application/xml"},
                          follow_redirects=False) as client:
            empty_reports = 0
            while True:
                try:
                    self._read_once(client, report, sink, stats, on_page)
                    return stats
                except _Lost as lost:
                    reason = str(lost)
                    if stats.restarts >= self.policy.restarts:
                        raise AlmacleanError(f"{self._where(report)}: {reason}; read again from its start "
                                             f"{stats.restarts} time(s), the answer was lost each time: try again "
                                             "later") from None
                except _Empty:
                    if empty_reports >= self.policy.empty_reports:
                        raise AlmacleanError(
                            f"{self._where(report)}: the report has no rows (asked {empty_reports + 1} times). "
                            "Analytics sometimes answers an empty result while a report is loading: run again "
                            "later. If the report really is empty, check its filters in Analytics; almaclean "
                            "never stores an empty export, which would make every portfolio look deleted") from None
                    empty_reports += 1
                    reason = "the report came back without any row"
                stats.restarts += 1
                sink.reset()
                stats.pages = stats.rows = 0
                log.warning("%s: %s; reading it again from its start", self._where(report), reason)
                self.sleep(self._backoff(stats.restarts - 1))

    def _tls(self) -> ssl.SSLContext | bool:
        """httpx's checks of the gateway's certificate (its trust store, loaded in ~0.1 s) for an
        https gateway. Plain http (a test server on this machine) uses no TLS: a context without
        any trusted certificate, which would refuse any server, stands in for it."""
        if self.base.lower().startswith("https:"):
            return True
        return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)

    def _timeout(self) -> httpx.Timeout:
        return httpx.Timeout(self.policy.timeout, connect=min(30.0, self.policy.timeout))

    def _where(self, report: str) -> str:
        return f"Analytics report {report}"

    def _read_once(self, client: httpx.Client, report: str, sink: Sink, stats: FetchStats,
                   on_page: Callable[[FetchStats], None] | None) -> None:
        """One reading from the start; the rows written by a _PageWriter, all of them when this
        returns, none after it raised."""
        writer = _PageWriter(sink)
        try:
            self._read_pages(client, report, sink, writer, stats, on_page)
            writer.finish()
        finally:
            writer.close()

    def _read_pages(self, client: httpx.Client, report: str, sink: Sink, writer: _PageWriter, stats: FetchStats,
                    on_page: Callable[[FetchStats], None] | None) -> None:
        params: dict[str, str | int] = {"path": report, "limit": self.limit, "col_names": "true"}
        columns: tuple[Column, ...] | None = None
        token: str | None = None
        empty_in_a_row, waited = 0, 0.0
        while True:
            page = self._page(client, report, params, columns, stats)
            if page.columns is not None and columns is None:
                columns = page.columns
                stats.columns = columns
                sink.start([column.heading for column in columns])
            token = token or page.token
            height = _height(page)
            if height:
                writer.add(page)
                stats.pages += 1
                stats.rows += height
                empty_in_a_row, waited = 0, 0.0
                if on_page is not None:
                    on_page(stats)
            if page.finished:
                if columns is None or not stats.rows:
                    raise _Empty
                return
            if not height:
                stats.empty_pages += 1
                empty_in_a_row += 1
                if empty_in_a_row > self.policy.empty_pages or waited > self.policy.empty_wait:
                    raise AlmacleanError(f"{self._where(report)}: Analytics answered {empty_in_a_row} pages "
                                         f"without rows in a row, over {waited:.0f} s (still computing?): try again "
                                         "later")
                delay = self.policy.empty_delay / 4 if empty_in_a_row == 1 else \
                    min(self.policy.empty_delay * empty_in_a_row, 30.0)
                waited += delay
                self.sleep(delay)
            if token is None:
                raise _Lost("an unfinished page came without a resumption token")
            params = {"token": token, "limit": self.limit}

    def _page(self, client: httpx.Client, report: str, params: dict, columns: tuple[Column, ...] | None,
              stats: FetchStats) -> Page | _Answer:
        """One page: throttling and failed connections waited out with the same request."""
        for attempt in range(self.policy.attempts):
            stats.requests += 1
            try:
                response = client.get(REPORTS_PATH, params=params)
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                stats.reconnects += 1
                problem = f"cannot connect to {self.base} ({type(exc).__name__})"
                delay = self._backoff(attempt)
            except (httpx.TransportError, httpx.DecodingError) as exc:
                raise _Lost(f"the connection dropped during an answer ({type(exc).__name__})") from None
            else:
                answer = self._answer(response, report, columns, mid_report="token" in params)
                if not isinstance(answer, _Wait):
                    return answer
                stats.throttled += 1
                problem = "Analytics asks to slow down (too many requests per second)"
                delay = max(answer.seconds, self._backoff(attempt))
            delay = min(delay, self.policy.max_delay)
            log.info("%s: %s; asking again in %.1f s", self._where(report), problem, delay)
            self.sleep(delay)
        hint = f" (check the gateway, --api-base or $ALMA_API_BASE: {self.base})" if "connect" in problem else ""
        raise AlmacleanError(f"{self._where(report)}: {problem}, {self.policy.attempts} times in a row: try again "
                             f"later{hint}")

    def _backoff(self, attempt: int) -> float:
        delay = min(self.policy.first_delay * 2 ** attempt, self.policy.max_delay)
        return delay * (1 + _JITTER.random() / 4)

    def _answer(self, response: httpx.Response, report: str, columns: tuple[Column, ...] | None, *,
                mid_report: bool) -> Page | _Answer | _Wait:
        """The page, or how long to wait before asking again (throttled). A page in the shape
        Analytics writes is read without an element tree (fastpage), any other the slow way."""
        try:
            body = response.content
        except httpx.HTTPError as exc:
            raise _Lost(f"the answer could not be read ({type(exc).__name__})") from None
        if response.status_code == 200:
            page = checked_page(body, columns)
            if page is not None:
                return _Answer(page, body, columns)
        root = None
        try:
            root = parse_xml(body) if body.strip() else None
        except ProtocolError as exc:
            if response.status_code == 200:
                raise _Lost(f"an unreadable answer ({exc})") from None
        errors = parse_error(root) if root is not None else None
        if response.status_code == 200 and errors is None and root is not None:
            return _slow_page(root, columns)
        return self._failure(response, errors, report, mid_report=mid_report)

    def _failure(self, response: httpx.Response, errors: list[ApiError] | None, report: str, *,
                 mid_report: bool) -> _Wait:
        status = response.status_code
        where = self._where(report)
        said = "; ".join(self.key.redact(e.text()) for e in errors) if errors else self._plain(response)
        codes = {e.code or "" for e in errors or ()}
        if codes & set(THROTTLE_CODES) or (status == 429 and not _DAILY_TEXT.search(said)):
            return _Wait(_retry_after(response))
        if status == 429 or (_DAILY_TEXT.search(said) and "THRESHOLD" in said.upper()):
            raise AlmacleanError(f"{where}: the institution's daily API request threshold is reached ({said}): "
                                 "no more API calls today; run again tomorrow")
        if _PATH_TEXT.search(said):
            raise InputError(f"the report was not found ({said}): copy its path from Analytics (open the report, "
                             "the path= part of its address, or its Properties), starting with /shared/", file=where)
        if status in (401, 403) or _KEY_TEXT.search(said):
            raise InputError(f"the API key was refused ({said or f'HTTP {status}'}): check that {self.key} is this "
                             f"institution's, made for this region's gateway ({self.base}), with the permission "
                             "Analytics, Production, Read-only", file=where)
        if status == 404:
            raise InputError(f"no Analytics API at {self.base} (HTTP 404{': ' + said if said else ''}): check "
                             "--api-base / $ALMA_API_BASE", file=where)
        if 400 <= status < 500 and mid_report:   # the token refused (expired?): the report again
            raise _Lost(f"Analytics refused the resumption token (HTTP {status}{': ' + said if said else ''})")
        if 400 <= status < 500:
            raise InputError(f"Analytics refused the request (HTTP {status}{': ' + said if said else ''})", file=where)
        raise _Lost(f"a server fault (HTTP {status}{': ' + said if said else ''})")

    def _plain(self, response: httpx.Response) -> str:
        """A non-XML answer's text, short and without the key (a proxy's or gateway's page)."""
        text = response.text if response.content else ""
        if "<html" in text[:500].lower():
            return "an HTML page, not an API answer (a proxy or a login page in between?)"
        return self.key.redact(" ".join(text.split())[:300])



@dataclass(frozen=True)
class _Wait:
    seconds: float


def _slow_page(root: ET.Element, columns: tuple[Column, ...] | None) -> Page:
    try:
        return parse_page(root, columns)
    except ProtocolError as exc:
        raise _Lost(f"an unexpected answer: {exc}") from None


@dataclass(frozen=True)
class _Answer:
    """A page in the shape Analytics writes (fastpage): its envelope read, its rows checked and
    counted; frame() reads them, or reads the whole page with ElementTree when their text is
    not in that shape (it then gives the same envelope: the rows stand where ElementTree finds
    them)."""

    checked: CheckedPage
    body: bytes
    known: tuple[Column, ...] | None

    @property
    def finished(self) -> bool:
        return self.checked.finished

    @property
    def token(self) -> str | None:
        return self.checked.token

    @property
    def columns(self) -> tuple[Column, ...] | None:
        return self.checked.columns

    @property
    def height(self) -> int:
        return self.checked.rows.height

    def frame(self) -> pl.DataFrame:
        rows = self.checked.rows.frame()
        if rows is not None:
            return rows
        try:
            root = parse_xml(self.body)
        except ProtocolError as exc:
            raise _Lost(f"an unreadable answer ({exc})") from None
        page = _slow_page(root, self.known)
        if (page.finished, page.token, page.columns) != (self.finished, self.token, self.columns):
            raise _Lost("an unexpected answer: its rows are not where its envelope says")
        return page.rows


class _PageWriter:
    """Pages' rows read (_Answer.frame: polars, which lets the other thread run) and given to
    the sink on a thread of their own, in order, while the next page is asked for. A failure
    there is raised here at the next page or at the end (finish); abandon waits for what is
    under way, so that nothing reaches the sink after it."""

    AHEAD = 8   # pages read but not written yet, at most (their bodies are held)

    def __init__(self, sink: Sink) -> None:
        self._sink = sink
        self._pending: deque[Future] = deque()
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="almaclean-pages")

    def add(self, page: Page | _Answer) -> None:
        while self._pending and (self._pending[0].done() or len(self._pending) >= self.AHEAD):
            self._pending.popleft().result()
        self._pending.append(self._executor.submit(self._write, page))

    def _write(self, page: Page | _Answer) -> None:
        self._sink.add(page.frame() if isinstance(page, _Answer) else page.rows)

    def finish(self) -> None:
        while self._pending:
            self._pending.popleft().result()

    def abandon(self) -> None:
        wait(self._pending)
        self._pending.clear()

    def close(self) -> None:
        self.abandon()
        self._executor.shutdown()


def _height(page: Page | _Answer) -> int:
    return page.height if isinstance(page, _Answer) else page.rows.height


def _retry_after(response: httpx.Response) -> float:
    try:
        return max(0.0, float(response.headers.get("Retry-After", "0")))
    except ValueError:
        return 0.0
