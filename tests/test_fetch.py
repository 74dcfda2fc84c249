"""almaclean fetch: Alma Analytics reports read through a local server that speaks the protocol
(tests/analytics_server.py), stored exactly as `ingest KIND` stores the same rows from a file."""
from __future__ import annotations

import json
import logging

import httpx
import polars as pl
import pytest

from almaclean.analytics.client import ReportReader, RetryPolicy
from almaclean.analytics.credentials import ApiKey
from almaclean.cli import main
from almaclean.errors import AlmacleanError, InputError
from almaclean.services.fetch import FetchRequest, ReaderOptions, fetch_report
from almaclean.store.db import open_database
from almaclean.store.ingest import ingest_files
from almaclean.store.load import fetch_frame, raw_table
from analytics_server import KEY, PER_SECOND, AnalyticsServer, Quirks, error_body
from conftest import sqlite_url

REPORT = "/shared/Example University/Reports/almaclean/All portfolios"
NO_WAIT = RetryPolicy(first_delay=0, max_delay=0, empty_delay=0, restarts=2, empty_pages=5)


@pytest.fixture(autouse=True)
def _key(monkeypatch):
    monkeypatch.setenv("ALMA_API_KEY", KEY)
    monkeypatch.delenv("ALMA_API_BASE", raising=False)


@pytest.fixture(scope="module")
def sample_csv(tmp_path_factory):
    from almaclean.sample.generator import generate

    folder = tmp_path_factory.mktemp("sample")
    generate(folder, seed=11, scale=0.5)
    return folder


def _frame(sample_csv, name="portfolios.csv", rows=None):
    frame = pl.read_csv(sample_csv / name, infer_schema=False)
    return frame.head(rows) if rows else frame


def _fetch(url, server, *, kind="portfolios", institution="EDU01", report=REPORT, policy=NO_WAIT, mapping=None):
    waits: list[float] = []
    result = fetch_report(open_database(url), FetchRequest(kind, institution, report, api_base=server.base),
                          mapping=mapping, reader=ReaderOptions(policy=policy, sleep=waits.append))
    return result, waits


def _same_as_ingest(tmp_path, url, frame, fetched_id):
    """raw_table of the fetched file == raw_table of the same rows ingested from a CSV file."""
    path = tmp_path / "same-rows.csv"
    frame.write_csv(path)
    other = open_database(sqlite_url(tmp_path, "file.db"))
    (stored,) = ingest_files(other, "portfolios", [path], "EDU01")
    fetched, ingested = raw_table(open_database(url), fetched_id), raw_table(other, stored.source_file_id)
    assert fetched.header == ingested.header
    assert fetched.frame.equals(ingested.frame)
    return fetched


def test_a_100000_row_report_in_pages_of_1000_stores_what_ingesting_the_csv_stores(tmp_path, sample_csv):
    """Done when: 100,000 rows, pages of 1,000, one 429 and one empty unfinished page on the way."""
    base = _frame(sample_csv)
    frame = pl.concat([base.with_columns(pl.col("Portfolio Id").str.slice(0, 12) + pl.lit(f"{n:05d}"))
                       for n in range(100_000 // base.height + 1)]).head(100_000)
    url = sqlite_url(tmp_path)
    with AnalyticsServer(frame, quirks=Quirks(http_429={7}, empty_before={40})) as server:
        result, waits = _fetch(url, server)
    assert (result.stored.status, result.stored.rows, result.stats.pages) == ("stored", 100_000, 100)
    assert (result.stats.throttled, result.stats.empty_pages, result.stats.restarts) == (1, 1, 0)
    assert len(waits) == 2
    _same_as_ingest(tmp_path, url, frame, result.stored.source_file_id)


QUIRKS = {
    "zero-row unfinished pages": (Quirks(empty_before={1, 3, 4}), "empty_pages", 3),
    "first answer without the schema": (Quirks(no_schema_first=True), "empty_pages", 1),
    "HTTP 429": (Quirks(http_429={1, 4, 5}), "throttled", 3),
    "PER_SECOND_THRESHOLD body, HTTP 429": (Quirks(per_second={2}), "throttled", 1),
    "PER_SECOND_THRESHOLD body, HTTP 200": (Quirks(per_second={3}, per_second_status=200), "throttled", 1),
    "dropped connection mid-report": (Quirks(drop={4}), "restarts", 1),
    "dropped connection on the first page": (Quirks(drop={1}), "restarts", 1),
    "server fault mid-report": (Quirks(errors={3: (500, error_body("INTERNAL_SERVER_ERROR", "boom"))}), "restarts", 1),
    "empty cells as <ColumnN/>": (Quirks(empty_cells_as_elements=True), "restarts", 0),
    "blanks between elements": (Quirks(pretty=True), "restarts", 0),
    "an empty finished answer first": (Quirks(empty_reports=1), "restarts", 1),
}


@pytest.mark.parametrize("name", QUIRKS)
def test_each_quirk_of_the_api_still_stores_every_row_once(name, tmp_path, sample_csv, db_url):
    quirks, counter, expected = QUIRKS[name]
    frame = _frame(sample_csv, rows=950)
    with AnalyticsServer(frame, limit=200, quirks=quirks) as server:
        result, _ = _fetch(db_url, server)
    assert result.stored.rows == 950 and getattr(result.stats, counter) == expected, result.stats
    _same_as_ingest(tmp_path, db_url, frame, result.stored.source_file_id)


def test_missing_column_elements_are_empty_cells_and_column0_is_not_data(tmp_path, sample_csv):
    frame = _frame(sample_csv, rows=300)
    assert frame["ISBN"].null_count() > 0 and frame["ISSN"].null_count() > 0
    url = sqlite_url(tmp_path)
    with AnalyticsServer(frame, limit=100) as server:
        result, _ = _fetch(url, server)
        assert b"<Column0>0</Column0>" in server.report.pages[0]
    stored = _same_as_ingest(tmp_path, url, frame, result.stored.source_file_id)
    assert "0" not in stored.header and stored.header[0] == "Portfolio Id"
    assert result.csv_file.read_text(encoding="utf-8").splitlines()[0].startswith('"Portfolio Id","MMS Id"')


def test_a_connection_that_keeps_dropping_stores_nothing_and_leaves_no_file(tmp_path, sample_csv):
    frame = _frame(sample_csv, rows=500)
    url = sqlite_url(tmp_path)
    with AnalyticsServer(frame, limit=100, quirks=Quirks(drop={3, 8, 13, 18})) as server:
        with pytest.raises(AlmacleanError) as caught:
            _fetch(url, server)
    assert not isinstance(caught.value, InputError)
    assert "the connection dropped during an answer" in str(caught.value)
    assert "read again from its start 2 time(s)" in str(caught.value)
    assert fetch_frame(open_database(url), "SELECT id FROM source_files").is_empty()
    assert not [p for p in (tmp_path / "data").rglob("*") if p.is_file() and p.suffix == ".csv"]


def test_the_same_report_again_is_unchanged_and_keeps_its_first_csv(tmp_path, sample_csv):
    frame = _frame(sample_csv, rows=400)
    url = sqlite_url(tmp_path)
    with AnalyticsServer(frame, limit=100) as server:
        first, _ = _fetch(url, server)
        second, _ = _fetch(url, server)
    assert (first.stored.status, second.stored.status) == ("stored", "unchanged")
    assert second.csv_file == first.csv_file and second.stored.source_file_id == first.stored.source_file_id
    assert [p.name for p in first.csv_file.parent.iterdir()] == [first.csv_file.name]
    fetches = fetch_frame(open_database(url), "SELECT status, source_file_id, row_count, report FROM fetched_reports",
                          integers=("source_file_id", "row_count"))
    assert fetches.rows() == [("stored", 1, 400, REPORT), ("unchanged", 1, 400, REPORT)]


def test_an_empty_report_is_never_stored(tmp_path, sample_csv):
    url = sqlite_url(tmp_path)
    with AnalyticsServer(_frame(sample_csv, rows=10), quirks=Quirks(empty_reports=5)) as server:
        with pytest.raises(AlmacleanError, match="the report has no rows .asked 2 times"):
            _fetch(url, server)
    assert fetch_frame(open_database(url), "SELECT id FROM source_files").is_empty()


def test_bad_ids_are_refused_naming_the_report_row_and_column(tmp_path, sample_csv):
    frame = _frame(sample_csv, rows=50).with_columns(
        pl.when(pl.int_range(pl.len()) == 30).then(pl.lit("9.97704E+15")).otherwise(pl.col("MMS Id")).alias("MMS Id"))
    url = sqlite_url(tmp_path)
    with AnalyticsServer(frame) as server:
        with pytest.raises(InputError) as caught:
            _fetch(url, server)
    message = str(caught.value)
    assert message.startswith(f"Analytics report {REPORT} (fetched as All-portfolios-")
    assert caught.value.row == 32 and caught.value.column == "MMS Id" and "converted to a number" in message
    assert not [p for p in (tmp_path / "data").rglob("*.csv")]


def test_a_report_of_another_kind_is_refused_like_a_file(tmp_path, sample_csv):
    url = sqlite_url(tmp_path)
    with AnalyticsServer(_frame(sample_csv, "po_lines.csv", rows=20)) as server:
        with pytest.raises(InputError, match="Portfolio Id|portfolio_id|PO line"):
            _fetch(url, server)
        result, _ = _fetch(url, server, kind="po-lines", report="/shared/Example University/Reports/PO lines")
    assert result.stored.kind == "po-lines" and result.stored.rows == 20


# Error bodies as Alma sends them (observed by public scripts; README "Fetching reports").
PATH_NOT_FOUND = error_body("INTERNAL_SERVER_ERROR", f"Path not found ({REPORT})")
NOT_ALLOWED = error_body("UNAUTHORIZED", "API-key not defined or not configured to allow this API.")
NO_KEY = error_body("GENERAL_ERROR", "A Gateway error has occurred - Make sure you add an appropriate apikey as a "
                                     "parameter or a header.")
DAILY = error_body("DAILY_THRESHOLD", "Daily API Request Threshold has been reached")
ERROR_SHAPES = {
    "wrong path (HTTP 500)": ((500, PATH_NOT_FOUND), 2, "the report was not found (INTERNAL_SERVER_ERROR: Path not found"),
    "key not allowed (HTTP 400)": ((400, NOT_ALLOWED), 2, "the API key was refused (UNAUTHORIZED: API-key not defined"),
    "no key (gateway)": ((400, NO_KEY), 2, "the API key was refused (GENERAL_ERROR: A Gateway error"),
    "invalid key, plain text (HTTP 400)": ((400, b"Invalid API Key"), 2, "the API key was refused (Invalid API Key)"),
    "forbidden, no body": ((403, b""), 2, "the API key was refused (HTTP 403)"),
    "errorsExist with HTTP 200": ((200, PATH_NOT_FOUND), 2, "the report was not found"),
    "daily threshold (HTTP 429)": ((429, DAILY), 1, "daily API request threshold is reached"),
    "per-second threshold that never ends": ((429, PER_SECOND), 1, "asks to slow down (too many requests per "
                                                                  "second), 8 times in a row"),
    "server fault that never ends": ((503, error_body("INTERNAL_SERVER_ERROR", "Service unavailable")), 1,
                                     "a server fault (HTTP 503: INTERNAL_SERVER_ERROR: Service unavailable)"),
    "an HTML page in between": ((200, b"<html><body>Secure Delivery login</body></html>"), 1, "is a <html>, not a report page"),
    "a DTD": ((200, b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa">]><report>&a;</report>'), 1, "declares a DTD"),
    "a bad request (HTTP 400)": ((400, error_body("INVALID_PARAMETER", "limit must be 25 to 1000")), 2,
                                 "Analytics refused the request (HTTP 400: INVALID_PARAMETER"),
}


@pytest.mark.parametrize("name", ERROR_SHAPES)
def test_each_error_shape_is_said_in_plain_words_with_its_exit_code(name, tmp_path, sample_csv, capsys, monkeypatch):
    import almaclean.services.fetch as fetch_service

    answer, code, words = ERROR_SHAPES[name]
    url = sqlite_url(tmp_path)
    quick = fetch_service.ReaderOptions(policy=RetryPolicy(first_delay=0, max_delay=0, restarts=1), sleep=lambda s: None)
    monkeypatch.setattr(fetch_service, "ReaderOptions", lambda: quick)
    with AnalyticsServer(_frame(sample_csv, rows=10), quirks=Quirks(always=answer)) as server:
        assert main(["fetch", "portfolios", "--institution", "EDU01", "--report", REPORT, "--api-base", server.base,
                     "--db", url]) == code
    err = capsys.readouterr().err
    assert words in err and "internal error" not in err and KEY not in err
    assert fetch_frame(open_database(url), "SELECT id FROM source_files").is_empty()


def test_a_connection_that_cannot_be_made_is_tried_again_with_the_same_token():
    """No connection: the request never reached Analytics, so the same token is sent again (a
    lost answer, by contrast, reads the report again from its start)."""
    sent = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(dict(request.url.params))
        assert request.headers["Authorization"] == f"apikey {KEY}"
        if len(sent) == 2:
            raise httpx.ConnectError("no route to host")
        return httpx.Response(200, content=_page_xml("TOKEN1", False, 2) if len(sent) == 1 else _page_xml(None, True, 1))

    sink = _ListSink()
    reader = ReportReader("https://api-eu.hosted.exlibrisgroup.com", ApiKey(KEY, "test"), policy=NO_WAIT,
                          transport=httpx.MockTransport(handler), sleep=lambda s: None)
    stats = reader.read(REPORT, sink)
    assert [s.get("token") for s in sent] == [None, "TOKEN1", "TOKEN1"]
    assert sent[0] == {"path": REPORT, "limit": "1000", "col_names": "true"}
    assert (stats.reconnects, stats.restarts, stats.rows) == (1, 0, 3)
    assert sink.rows == [("a0", None), ("a1", None), ("a0", None)]


class _ListSink:
    def __init__(self):
        self.headings, self.rows = None, []

    def start(self, headings):
        self.headings = headings

    def add(self, rows):
        self.rows += rows.rows()

    def reset(self):
        self.headings, self.rows = None, []


def _page_xml(token, finished, rows):
    schema = ('<xsd:schema xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:saw-sql="urn:saw-sql">'
              '<xsd:element name="Column0" saw-sql:columnHeading="0"/>'
              '<xsd:element name="Column1" saw-sql:columnHeading="Portfolio Id"/>'
              '<xsd:element name="Column2" saw-sql:columnHeading="MMS Id"/></xsd:schema>') if token else ""
    body = "".join(f"<Row><Column0>0</Column0><Column1>a{i}</Column1></Row>" for i in range(rows))
    return (f"<report><QueryResult>{f'<ResumptionToken>{token}</ResumptionToken>' if token else ''}"
            f"<IsFinished>{str(finished).lower()}</IsFinished><ResultXml>"
            f'<rowset xmlns="urn:schemas-microsoft-com:xml-analysis:rowset">{schema}{body}</rowset>'
            "</ResultXml></QueryResult></report>").encode()


def test_an_unreadable_page_found_while_later_pages_are_asked_for_reads_the_report_again():
    """Rows are read and written on a thread of their own while the next page is asked for. A
    page whose text XML forbids (a reference to a control character: only ElementTree is left to
    read it, and it refuses) is a lost answer, found a page later: the report is read again from
    its start, and the rows of the first reading are forgotten, never written twice."""
    readings: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if "path" in request.url.params:
            readings.append(0)
        readings[-1] += 1
        if readings[-1] == 1:
            return httpx.Response(200, content=_page_xml("TOKEN1", False, 2))
        if readings[-1] == 2:
            cell = "b&#1;" if len(readings) == 1 else "b&#x42;"
            return httpx.Response(200, content=_page_xml(None, False, 1).replace(b">a0<", f">{cell}<".encode()))
        return httpx.Response(200, content=_page_xml(None, True, 1))

    sink = _ListSink()
    reader = ReportReader("https://api-eu.hosted.exlibrisgroup.com", ApiKey(KEY, "test"), policy=NO_WAIT,
                          transport=httpx.MockTransport(handler), sleep=lambda s: None)
    stats = reader.read(REPORT, sink)
    assert len(readings) == 2 and readings[1] == 3 and (stats.restarts, stats.pages, stats.rows) == (1, 3, 4)
    assert sink.rows == [("a0", None), ("a1", None), ("bB", None), ("a0", None)]


def test_the_api_key_is_never_in_logs_outputs_files_or_the_database(tmp_path, sample_csv, capsys, caplog):
    """Key from $ALMA_API_KEY, sent in the Authorization header only; not in -vv logs, --json,
    the canonical CSV, the database, a P2E bundle, nor an error that echoes it back."""
    url = sqlite_url(tmp_path)
    caplog.set_level(logging.DEBUG)
    p2e = tmp_path / "p2e.txt"
    p2e.write_text("EDU01000000001,portfolio\n", encoding="utf-8")
    with AnalyticsServer(_frame(sample_csv, rows=300), limit=100, quirks=Quirks(http_429={2})) as server:
        assert main(["-vv", "--json", "fetch", "portfolios", "--institution", "EDU01", "--report", REPORT,
                     "--api-base", server.base, "--db", url]) == 0
        assert all(r.get("path") or r.get("token") for r in server.report.requests)
        assert not any(KEY in json.dumps(r) for r in server.report.requests)   # never in the URL
    out = capsys.readouterr()
    payload = json.loads(out.out)
    assert payload["rows"] == 300 and payload["status"] == "stored" and payload["throttled"] == 1
    assert main(["-q", "p2e", "--institution", "EDU01", "--p2e", str(p2e), "--db", url,
                 "--out", str(tmp_path / "out")]) == 0
    texts = [out.out, out.err, caplog.text, *(p.read_bytes().decode("utf-8", "replace")
                                                for p in tmp_path.rglob("*") if p.is_file())]
    assert not [t[:80] for t in texts if KEY in t]
    echoed = error_body("UNAUTHORIZED", f"Invalid API key {KEY}")
    with AnalyticsServer(_frame(sample_csv, rows=3), quirks=Quirks(always=(400, echoed))) as server:
        assert main(["fetch", "portfolios", "--institution", "EDU01", "--report", REPORT, "--api-base", server.base,
                     "--db", url]) == 2
    err = capsys.readouterr().err
    assert "Invalid API key [API key]" in err and KEY not in err


def test_the_key_is_never_a_command_line_argument(capsys):
    with pytest.raises(SystemExit) as caught:
        main(["fetch", "portfolios", "--institution", "EDU01", "--report", REPORT, "--api-key", KEY])
    assert caught.value.code == 2


def test_missing_key_wrong_kind_and_bad_options_exit_2_before_any_request(monkeypatch, tmp_path, capsys):
    monkeypatch.delenv("ALMA_API_KEY")
    url = sqlite_url(tmp_path)
    base = ["--institution", "EDU01", "--db", url]
    for argv, words in (
        (["fetch", "portfolios", "--report", REPORT, *base], "no Alma API key: set $ALMA_API_KEY"),
        (["fetch", "p2e", "--report", REPORT, *base], "does not come from an Analytics report: store it with "
                                                       "`almaclean ingest p2e FILE`"),
        (["fetch", "portfolios", "--report", "All portfolios", *base], "is not a report path"),
        (["fetch", "portfolios", "--report", REPORT, "--api-base", "http://alma.example.edu", *base],
         "the API key would travel unencrypted"),
        (["fetch", "portfolios", "--report", REPORT, "--api-base", "api-eu", *base], "is not an API gateway URL"),
    ):
        assert main(argv) == 2, argv
        assert words in capsys.readouterr().err


@pytest.mark.parametrize("given,base", [
    ("eu", "https://api-eu.hosted.exlibrisgroup.com"),
    ("CN", "https://api-cn.hosted.exlibrisgroup.com.cn"),
    ("https://api-ca.hosted.exlibrisgroup.com/", "https://api-ca.hosted.exlibrisgroup.com"),
    ("https://api-ap.hosted.exlibrisgroup.com/almaws/v1", "https://api-ap.hosted.exlibrisgroup.com"),
    ("https://api-na.hosted.exlibrisgroup.com/almaws/v1/analytics/reports", "https://api-na.hosted.exlibrisgroup.com"),
    ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
    (None, "https://api-na.hosted.exlibrisgroup.com"),
])
def test_the_gateway_is_a_region_or_its_address(given, base):
    from almaclean.analytics.credentials import api_base

    assert api_base(given) == base


def test_a_prefect_secret_block_holds_the_key(tmp_path, sample_csv, prefect_server, monkeypatch):
    from prefect.blocks.system import Secret

    monkeypatch.delenv("ALMA_API_KEY")
    Secret(value=KEY).save("alma-edu01-analytics", overwrite=True)
    url = sqlite_url(tmp_path)
    with AnalyticsServer(_frame(sample_csv, rows=20)) as server:
        result = fetch_report(open_database(url), FetchRequest("portfolios", "EDU01", REPORT, api_base=server.base,
                                                               api_key_block="alma-edu01-analytics"))
        with pytest.raises(InputError, match="no Prefect Secret block named 'absent'"):
            fetch_report(open_database(url), FetchRequest("portfolios", "EDU01", REPORT, api_base=server.base,
                                                          api_key_block="absent"))
    assert result.stored.rows == 20


def test_a_p2e_run_on_fetched_portfolios_writes_the_same_run_folder_as_on_the_csv(tmp_path, sample_csv):
    """Done when: the same rows fetched or ingested from a CSV give the same P2E outputs."""
    from almaclean.bundle.manifest import output_records
    from almaclean.services.p2e import P2ERequest, run_p2e

    frame = _frame(sample_csv)
    csv_path = tmp_path / "portfolios.csv"
    frame.write_csv(csv_path)
    folders = []
    for name in ("fetched", "file"):
        url = sqlite_url(tmp_path, f"{name}.db")
        engine = open_database(url)
        if name == "fetched":
            with AnalyticsServer(frame, quirks=Quirks(http_429={2}, empty_before={2})) as server:
                _fetch(url, server)
        else:
            ingest_files(engine, "portfolios", [csv_path], "EDU01")
        for kind, file in (("p2e", "p2e.txt"), ("po-lines", "po_lines.csv")):
            ingest_files(engine, kind, [sample_csv / file], "EDU01")
        folders.append(run_p2e(engine, P2ERequest("EDU01", tmp_path / f"out-{name}")).folder)
    fetched, from_file = ({r["file"]: r["sha256"] for r in output_records(folder)} for folder in folders)
    assert fetched == from_file and len(fetched) > 5
    bundle = json.loads((folders[0] / "bundle.json").read_text(encoding="utf-8"))
    (portfolios,) = [r for r in bundle["inputs"] if r["role"] == "portfolios"]
    assert portfolios["fetched"]["report"] == REPORT and portfolios["original_path"].endswith(".csv")
    assert "/fetched/EDU01/portfolios/All-portfolios-" in portfolios["original_path"]
    assert "written_back" not in portfolios
    from almaclean.services.verify import verify_run

    assert verify_run(folders[0]).ok


def _sources(folder, base, **settings):
    lines = [f'api_base = "{base}"', *(f'{k} = "{v}"' for k, v in settings.items()), "", "[reports]",
             f'portfolios = "{REPORT}"']
    (folder / "sources.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_nightly_fetches_before_it_detects_and_a_failed_fetch_fails_only_its_institution(tmp_path, sample_csv,
                                                                                          monkeypatch):
    """EDU01 fetches its portfolio report (an old portfolio export left in its inbox is skipped,
    with the reason); EDU02's key is refused: EDU02 is reported failed, EDU01 succeeds, the run
    folder verifies offline from its bundle, which keeps the fetched CSV and names the report."""
    import shutil

    from almaclean.services.nightly import run_nightly
    from almaclean.services.verify import verify_run

    inbox = tmp_path / "inbox"
    monkeypatch.setenv("ALMA_API_KEY_EDU02", "not-the-key")
    with AnalyticsServer(_frame(sample_csv)) as server:
        for code in ("EDU01", "EDU02"):
            (inbox / code / "p2e").mkdir(parents=True)
            shutil.copy(sample_csv / "p2e.txt", inbox / code / "p2e" / "p2e.txt")
            shutil.copy(sample_csv / "portfolios.csv", inbox / code / "old portfolios.csv")
        _sources(inbox / "EDU01", server.base)
        _sources(inbox / "EDU02", server.base, api_key_env="ALMA_API_KEY_EDU02")
        engine = open_database(sqlite_url(tmp_path))
        run = run_nightly(engine, inbox, out=tmp_path / "out")
    by_code = {r.institution: r for r in run.runs}
    assert by_code["EDU02"].status == "failed"
    assert "the API key was refused (UNAUTHORIZED" in by_code["EDU02"].error
    edu01 = by_code["EDU01"]
    assert edu01.status == "succeeded", edu01.error
    (fetched,) = [f for f in edu01.files if f.get("report")]
    assert (fetched["kind"], fetched["status"], fetched["report"]) == ("portfolios", "stored", REPORT)
    (old,) = [f for f in edu01.files if f["file"] == "old portfolios.csv"]
    assert old["status"] == "skipped" and "come from the Analytics report named in sources.toml" in old["reason"]
    report = (run.folder / "EDU01" / "report.md").read_text(encoding="utf-8")
    assert "## Alma Analytics reports fetched" in report and REPORT in report
    assert "the API key was refused" in (run.folder / "EDU02" / "report.md").read_text(encoding="utf-8")
    bundle = json.loads((run.folder / "bundle.json").read_text(encoding="utf-8"))
    (kept,) = [r for r in bundle["inputs"] if r["role"] == "portfolios"]
    assert kept["fetched"]["report"] == REPORT and kept["file"].startswith("inputs/EDU01/portfolios/All-portfolios-")
    result = verify_run(run.folder, ledger=engine)
    assert result.ok, result.lines


SOURCES_ERRORS = {
    'api_key = "l7xx123"\n[reports]\nportfolios = "/shared/x"': "never put the API key in this file",
    '[reports]\np2e = "/shared/x"': "a P2E file does not come from an Analytics report",
    '[reports]\nportfolios = "All portfolios"': "must be the report's path in the Analytics catalogue",
    'api_key_env = "A"\napi_key_block = "b"\n[reports]\nportfolios = "/shared/x"': "not both",
    'region = "eu"\n[reports]\nportfolios = "/shared/x"': "unknown setting 'region'",
    'api_base = "eu"': "no [reports] table",
    '[reports\nportfolios = "/shared/x"': "not valid TOML",
}


@pytest.mark.parametrize("text", SOURCES_ERRORS)
def test_a_bad_sources_toml_is_refused_naming_the_file(text, tmp_path):
    from almaclean.analytics.sources import read_sources

    path = tmp_path / "sources.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read_sources(path)
    assert SOURCES_ERRORS[text] in str(caught.value) and str(path) in str(caught.value)
    assert "l7xx123" not in str(caught.value)


def test_sources_toml_names_a_report_per_kind_and_where_the_key_is(tmp_path):
    from almaclean.analytics.sources import read_sources

    path = tmp_path / "sources.toml"
    path.write_text('api_base = "eu"\napi_key_env = "ALMA_API_KEY_EDU01"\n[reports]\nportfolios = " /shared/a "\n'
                    '"po-lines" = "/shared/b"\n', encoding="utf-8")
    sources = read_sources(path)
    assert sources.reports == {"portfolios": "/shared/a", "po-lines": "/shared/b"}
    assert (sources.api_base, sources.api_key_env, sources.api_key_block) == ("eu", "ALMA_API_KEY_EDU01", None)


from hypothesis import given, settings, strategies as st  # noqa: E402

# Text XML 1.0 can carry: no control characters but tab, LF, CR; no surrogates.
CELL = st.one_of(st.none(), st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\ufffe\uffff",
                                                  min_codepoint=9).filter(lambda c: c >= " " or c in "\t\n\r"),
                                    max_size=12),
                 st.sampled_from(["\r", "a\rb", "  padded ", "a,b", 'say "hi"', "x\r\ny", "&amp;", "<Row>", "]]>", "=1+2"]))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(CELL, CELL), min_size=1, max_size=6), st.booleans())
def test_every_cell_comes_back_as_it_was_sent(rows, as_elements):
    """A cell sent by Analytics (escaped in XML; left out or <ColumnN/> when empty) is, in the
    canonical CSV read back as ingest reads it, the same text; empty text is an empty cell."""
    import tempfile
    from pathlib import Path

    from almaclean.analytics.canonical import canonical_csv
    from almaclean.analytics.protocol import parse_page, parse_xml
    from almaclean.read.table import read_table
    from analytics_server import Report, _page

    frame = pl.DataFrame(rows, schema={"Title, sub": pl.String, "Note; x": pl.String}, orient="row")
    report = Report(frame, quirks=Quirks(empty_cells_as_elements=as_elements))
    page = parse_page(parse_xml(_page("T", True, report.schema, report.pages[0])))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "report.csv"
        with canonical_csv(path) as sink:
            sink.start([c.heading for c in page.columns])
            sink.add(page.rows)
        table = read_table(path)
    assert table.header == ("Title, sub", "Note; x")
    expected = [[None if not cell else cell for cell in row] for row in rows]
    assert [list(r) for r in table.frame.rows()] == expected


def _parsed(rows_xml: str, schema: str = '<xsd:element name="Column0" saw-sql:columnHeading="0"/>'
                                        '<xsd:element name="Column1" saw-sql:columnHeading="Title"/>'):
    from almaclean.analytics.protocol import parse_page, parse_xml

    body = ('<report><QueryResult><IsFinished>true</IsFinished><ResultXml>'
            '<rowset xmlns="urn:schemas-microsoft-com:xml-analysis:rowset">'
            f'<xsd:schema xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:saw-sql="urn:saw-sql">{schema}</xsd:schema>'
            f"{rows_xml}</rowset></ResultXml></QueryResult></report>")
    return parse_page(parse_xml(body.encode()))


def test_column0_is_dropped_only_as_the_constant_and_unknown_columns_are_refused():
    from almaclean.analytics.protocol import ProtocolError

    page = _parsed("<Row><Column0>0</Column0><Column1>A</Column1></Row><Row><Column0>0</Column0></Row>")
    assert [c.heading for c in page.columns] == ["Title"] and page.rows.rows() == [("A",), (None,)]
    real = _parsed("<Row><Column0>531</Column0><Column1>A</Column1></Row>",
                   '<xsd:element name="Column0" saw-sql:columnHeading="Portfolio Id"/>'
                   '<xsd:element name="Column1" saw-sql:columnHeading="Title"/>')
    assert [c.heading for c in real.columns] == ["Portfolio Id", "Title"] and real.rows.rows() == [("531", "A")]
    with pytest.raises(ProtocolError, match="a row holds Column7, which the report's schema does not name"):
        _parsed("<Row><Column1>A</Column1><Column7>x</Column7></Row>")


def test_prune_forgets_a_pruned_fetch_and_its_csv(tmp_path, sample_csv):
    from almaclean.store.prune import prune

    url = sqlite_url(tmp_path)
    frame = _frame(sample_csv, rows=30)
    with AnalyticsServer(frame) as first:
        old, _ = _fetch(url, first)
    with AnalyticsServer(frame.head(20)) as second:
        new, _ = _fetch(url, second)
    assert prune(open_database(url), 0).files == 1
    assert not old.csv_file.exists() and new.csv_file.exists()
    rows = fetch_frame(open_database(url), "SELECT source_file_id FROM fetched_reports",
                       integers=("source_file_id",))["source_file_id"].to_list()
    assert rows == [new.stored.source_file_id]


def test_fetch_is_a_one_off_command_without_prefect(tmp_path, sample_csv):
    """Like ingest: no Prefect imported (no temporary server) unless a Secret block is named."""
    import subprocess
    import sys

    script = ("import sys; from almaclean.cli import main; code = main(sys.argv[1:]); "
              "sys.exit(code if code else (3 if 'prefect' in sys.modules else 0))")
    env = {"PATH": "/usr/bin:/bin", "ALMACLEAN_DATA": str(tmp_path / "data"), "HOME": str(tmp_path),
           "ALMA_API_KEY": KEY}
    with AnalyticsServer(_frame(sample_csv, rows=50)) as server:
        done = subprocess.run([sys.executable, "-c", script, "fetch", "portfolios", "--institution", "EDU01",
                               "--report", REPORT, "--api-base", server.base], capture_output=True, text=True,
                              timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"stored    Analytics report {REPORT}: 50 rows in 1 page(s) from {server.base}")
    assert next(line for line in done.stdout.splitlines() if line.startswith("next:")).endswith(
        "almaclean p2e --institution EDU01")   # the program as it runs from any folder, then the command
