"""Local data in stored files: a portfolio export stored before almaclean knew a column (its
cells kept as unrecognised cells) is read again through today's aliases when the P2E analysis
runs on stored data (nightly, or `almaclean p2e` with no files): never "empty, nothing to lose"."""
from __future__ import annotations

import csv

import polars as pl

from almaclean.kinds import aliases
from almaclean.services.nightly import analyse, load_current
from almaclean.store.db import open_database
from almaclean.store.ingest import ingest_file
from almaclean.store.load import columns_every_file_had, sources_by_id, unmapped_cells, unmapped_headers
from conftest import p2e_run

HEADER = ["Portfolio Id", "MMS Id", "Title", "ISSN", "Network Number", "Electronic Collection Public Name",
          "Portfolio Linked To CZ", "Availability", "PO Line Reference", "Coverage Statement", "Is Standalone",
          "Portfolio Public Note", "Portfolio Additional PO Lines", "Local Restriction Note", "Subjects"]
ROWS = [
    ["53100000000000001", "99100000000000001", "Mens", "1492-8647", "", "Erudit Revues", "Y", "Available", "", "",
     "No", "", "", "", ""],
    # a duplicate with a public note of its own
    ["53200000000000001", "99200000000000001", "Mens", "1492-8647", "(EDU01)000000001", "", "N", "Available", "", "",
     "Yes", "Law School users only, 3 simultaneous users", "", "", "History"],
    # a duplicate linked to a PO line only through the additional PO lines
    ["53200000000000002", "99200000000000002", "Mens", "1492-8647", "(EDU01)000000002", "", "N", "Available", "", "",
     "Yes", "", "POL-77", "", ""],
    # a duplicate with a value in a column no alias knows, whose name says local data
    ["53200000000000003", "99200000000000003", "Mens", "1492-8647", "(EDU01)000000003", "", "N", "Available", "", "",
     "Yes", "", "", "Law only", ""],
    # a plain duplicate
    ["53200000000000004", "99200000000000004", "Mens", "1492-8647", "(EDU01)000000004", "", "N", "Available", "", "",
     "Yes", "", "", "", "History"],
]
LOCAL_COLUMNS = ("public_note", "additional_po_lines")


def _files(tmp_path):
    portfolios = tmp_path / "portfolios.csv"
    with open(portfolios, "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([HEADER, *ROWS])
    p2e = tmp_path / "p2e.txt"
    p2e.write_text("".join(f"EDU01000000{n:03d},portfolio\n" for n in range(1, 5)), encoding="utf-8")
    return portfolios, p2e


def _store_as_before(monkeypatch, engine, portfolios, p2e):
    """Store the files the way an almaclean that did not know the local columns stored them: the
    columns unrecognised, their cells kept raw."""
    with monkeypatch.context() as patch:
        for column in LOCAL_COLUMNS:
            patch.setitem(aliases.ALIASES["portfolios"], column, ())
        ingest_file(engine, "portfolios", portfolios, "EDU01")
    ingest_file(engine, "p2e", p2e, "EDU01")


def _csv(path):
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def test_columns_stored_before_they_were_known_are_read_again_for_the_p2e_portfolios(tmp_path, db_url, monkeypatch):
    engine = open_database(db_url)
    portfolios, p2e = _files(tmp_path)
    _store_as_before(monkeypatch, engine, portfolios, p2e)
    source = sources_by_id(engine, [1])
    headers = unmapped_headers(engine, [1])
    assert headers == {1: {11: "Portfolio Public Note", 12: "Portfolio Additional PO Lines",
                           13: "Local Restriction Note", 14: "Subjects"}}
    # the stored file had these columns: present for the rules, read again from the raw cells
    frame = load_current(engine, "EDU01")["portfolios"]
    assert {"public_note", "additional_po_lines"} <= columns_every_file_had(source, frame, headers)
    assert frame["public_note"].null_count() == frame.height  # the packed fields never held them
    cells = unmapped_cells(engine, "portfolios", [1], pl.Series(["53200000000000001", "53200000000000002"]))
    assert sorted(cells.rows()) == [("53200000000000001", "Portfolio Public Note",
                                     "Law School users only, 3 simultaneous users"),
                                    ("53200000000000001", "Subjects", "History"),
                                    ("53200000000000002", "Portfolio Additional PO Lines", "POL-77")]

    # `almaclean p2e` with no files: from the stored data
    run = p2e_run(db_url=db_url, institution="EDU01", out=tmp_path / "out")
    assert [r["portfolio_id"] for r in _csv(run / "deletion_candidates.csv")] == ["53200000000000004"]
    copied = _csv(run / "copy_to_keeper.csv")
    assert [(r["portfolio_id"], r["what"], r["value"], r["keep_portfolio_id"]) for r in copied] == [
        ("53200000000000001", "public note", "Law School users only, 3 simultaneous users", "53100000000000001")]
    relinks = _csv(run / "pol_relinks.csv")
    assert [(r["portfolio_id"], r["po_line"]) for r in relinks] == [("53200000000000002", "POL-77")]
    review = {r["portfolio_id"]: r["reason"] for r in _csv(run / "review.csv")}
    assert review["53200000000000003"].startswith(
        "not checked (local data): column 'Local Restriction Note' holds 'Law only'")

    # nightly reads the same stored data the same way
    result = analyse(engine, load_current(engine, "EDU01"))
    assert set(result.deletion_candidates["portfolio_id"]) == {"53200000000000004"}
    assert set(result.copy_first["portfolio_id"]) == {"53200000000000001"}


def test_a_file_given_now_reads_its_local_columns_directly(tmp_path, db_url):
    portfolios, p2e = _files(tmp_path)
    run = p2e_run(db_url=db_url, institution="EDU01", out=tmp_path / "out", portfolios=portfolios, p2e=p2e)
    assert [r["portfolio_id"] for r in _csv(run / "deletion_candidates.csv")] == ["53200000000000004"]
    assert [r["portfolio_id"] for r in _csv(run / "copy_to_keeper.csv")] == ["53200000000000001"]
    assert [r["po_line"] for r in _csv(run / "pol_relinks.csv")] == ["POL-77"]
    # and stored from it, the next run from the store decides the same
    again = p2e_run(db_url=db_url, institution="EDU01", out=tmp_path / "again")
    for name in ("deletion_candidates.csv", "copy_to_keeper.csv", "pol_relinks.csv", "review.csv"):
        assert (again / name).read_bytes() == (run / name).read_bytes(), name


def test_an_export_without_unrecognised_columns_reads_no_raw_cells(tmp_path, db_url):
    portfolios = tmp_path / "clean.csv"
    with open(portfolios, "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([row[:11] for row in [HEADER, *ROWS]])
    engine = open_database(db_url)
    ingest_file(engine, "portfolios", portfolios, "EDU01")
    assert unmapped_headers(engine, [1]) == {1: {}}
    assert unmapped_cells(engine, "portfolios", [1], pl.Series(["53200000000000001"])).height == 0


def test_nightly_s_analysis_takes_the_stored_frames_and_keeps_no_hold_on_them(tmp_path, db_url):
    """Each nightly institution analyses its stored rows (1,000,000 portfolios at the benchmark's
    size): the frames are handed over, not kept, so the portfolio export's memory goes back while
    the decisions are built (bench/p2e.py's nightly peak RSS)."""
    import gc
    import weakref

    engine = open_database(db_url)
    portfolios, p2e = _files(tmp_path)
    ingest_file(engine, "portfolios", portfolios, "EDU01")
    ingest_file(engine, "p2e", p2e, "EDU01")
    frames = load_current(engine, "EDU01")
    export = weakref.ref(frames["portfolios"])
    result = analyse(engine, frames)
    gc.collect()
    assert frames == {} and export() is None
    assert set(result.deletion_candidates["portfolio_id"]) == {"53200000000000004"}
    engine.dispose()
