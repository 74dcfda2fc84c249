"""A portfolio export, P2E file or PO line export with no rows (a header only, or only blank
lines) is never made current: it is refused naming the file, and the real one stays current.
An Extended Export of no rows is news (an empty collection: nothing to load) and is stored."""
from __future__ import annotations

from pathlib import Path

import pytest

from almaclean.errors import InputError
from almaclean.store.db import open_database
from almaclean.store.ingest import ingest_file
from almaclean.store.load import current_sources
from faults.xlsx_parts import simple_book
from test_resync_rules import HEADER as EE_HEADER
from test_resync_rules import build_export

GOOD = {
    "portfolios": "Portfolio Id,MMS Id,Title\n53496697910003681,9977047322103681,Revue\n",
    "p2e": "Legacy ID,Type\nEDU01000123456,portfolio\n",
    "po-lines": "PO Line Reference,Status\nPOL-1,ACTIVE\n",
}
EMPTY_SHAPES = {
    "header only": lambda header: header + "\n",
    "header without line end": lambda header: header,
    "header and blank lines": lambda header: header + "\r\n" * 50,
    "header and separator-only rows": lambda header: header + "\n" + ("," * header.count(",") + "\n") * 3,
}


@pytest.mark.parametrize("kind", sorted(GOOD))
@pytest.mark.parametrize("shape", sorted(EMPTY_SHAPES))
def test_an_export_of_no_rows_is_refused_and_the_real_one_stays_current(kind, shape, tmp_path):
    engine = open_database(f"sqlite:///{tmp_path / 'a.db'}")
    good = tmp_path / "good.csv"
    good.write_text(GOOD[kind], encoding="utf-8")
    stored = ingest_file(engine, kind, good, "EDU01")
    empty = tmp_path / "empty.csv"
    empty.write_text(EMPTY_SHAPES[shape](GOOD[kind].splitlines()[0]), encoding="utf-8")
    with pytest.raises(InputError, match="no rows") as caught:
        ingest_file(engine, kind, empty, "EDU01")
    assert caught.value.file == str(empty)
    assert current_sources(engine, "EDU01", kind)["id"].to_list() == [stored.source_file_id]


def test_a_header_only_xlsx_portfolio_export_is_refused_too(tmp_path):
    engine = open_database(f"sqlite:///{tmp_path / 'a.db'}")
    path = simple_book(tmp_path / "portfolios.xlsx", [["Portfolio Id", "MMS Id", "Title"]])
    with pytest.raises(InputError, match="portfolio export has no rows"):
        ingest_file(engine, "portfolios", path, "EDU01")


def test_an_empty_extended_export_is_stored_as_the_collections_news(tmp_path):
    engine = open_database(f"sqlite:///{tmp_path / 'a.db'}")
    export = build_export(tmp_path / "Empty+Collection_portfolios.xlsx", EE_HEADER, [])
    assert ingest_file(engine, "extended-export", export, "EDU01").status == "stored"


def test_p2e_given_a_header_only_portfolio_export_exits_2_naming_it_and_publishes_nothing(tmp_path):
    from almaclean.cli import main

    db = f"sqlite:///{tmp_path / 'a.db'}"
    good, empty, p2e = tmp_path / "portfolios.csv", tmp_path / "header.csv", tmp_path / "p2e.txt"
    good.write_text(GOOD["portfolios"], encoding="utf-8")
    empty.write_text(GOOD["portfolios"].splitlines()[0] + "\n", encoding="utf-8")
    p2e.write_text("EDU01000123456,portfolio\n", encoding="utf-8")
    assert main(["--db", db, "ingest", "portfolios", str(good), "--institution", "EDU01"]) == 0
    out = tmp_path / "out"
    assert main(["--db", db, "p2e", "--institution", "EDU01", "--portfolios", str(empty), "--p2e", str(p2e),
                 "--out", str(out)]) == 2
    assert not out.exists() or not [p for p in out.iterdir() if not p.name.startswith(".")]
    engine = open_database(db)
    assert len(current_sources(engine, "EDU01", "portfolios")) == 1
    assert current_sources(engine, "EDU01", "portfolios")["file_name"].to_list() == [Path(good).name]
