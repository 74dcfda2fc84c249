"""Headers are recognised once normalised (kinds.headers): invisible characters, Unicode
compatibility forms and stray spaces never hide a column, every such header is reported, and
the header row itself is kept byte for byte (an Extended Export's goes to the loader as is)."""
from __future__ import annotations

import csv
import unicodedata
from pathlib import Path

import fastexcel
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from almaclean.kinds import ALIASES, read_kind, resolve_columns
from almaclean.kinds.aliases import REQUIRED
from almaclean.kinds.headers import header_changes, is_ignorable, normalise_header
from almaclean.resync.audit import audit_table
from test_p2e_rules import keeper, p2e_portfolio
from test_resync_rules import HEADER as EE_HEADER
from test_resync_rules import ROWS as EE_ROWS
from test_resync_rules import build_export

INVISIBLE = ["\ufeff", "\u200b", "\u200c", "\u200d", "\u2060", "\u00ad", "\u200e", "\u200f", "\u202a", "\ufe0f",
             "\u034f", "\u180e"]
SPACES = [" ", "\u00a0", "\u2007", "\u202f", "\u3000", "\t", "  "]
FULLWIDTH = {chr(c): chr(c + 0xFEE0) for c in range(0x21, 0x7F)}


@st.composite
def disguised(draw, name: str) -> str:
    """`name` as an export may carry it: invisible characters anywhere, other spaces, fullwidth letters."""
    chars = []
    for char in name:
        if char == " ":
            char = draw(st.sampled_from(SPACES))
        elif draw(st.booleans()) and char in FULLWIDTH:
            char = FULLWIDTH[char]
        chars.append(char)
        if draw(st.integers(0, 4)) == 0:
            chars.append(draw(st.sampled_from(INVISIBLE)))
    prefix = draw(st.sampled_from(["", "\ufeff", " ", "\u200b"]))
    return prefix + "".join(chars) + draw(st.sampled_from(["", " ", "\u00a0", "\u200b"]))


ALIAS_CASES = [(kind, column, name) for kind, columns in ALIASES.items() for column, names in columns.items()
               for name in names]


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(ALIAS_CASES), st.data())
def test_every_alias_is_recognised_whatever_invisible_characters_or_forms_it_carries(case, data):
    kind, column, name = case
    cell = data.draw(disguised(name))
    header = [cell] + ["Something Else"]
    found = resolve_columns(kind, header)
    assert found.get(column) == [0], (cell, found)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=20))
def test_normalising_twice_changes_nothing_and_invisible_characters_never_count(text):
    once = normalise_header(text)
    assert normalise_header(once) == once
    assert not any(is_ignorable(c) for c in once)
    assert once == once.strip() and "  " not in once
    assert normalise_header("\ufeff" + text.replace(" ", "\u200b \u00a0")) == once


def test_a_header_that_changed_is_reported_and_spaces_at_its_ends_are_not():
    header = ["Portfolio Id", " MMS Id ", "PO Line\u200bReference", "\ufeffTitle", "ＩＳＳＮ", "Coverage  Statement"]
    changes = header_changes(header)
    assert [(c.position, c.normalised) for c in changes] == [
        (2, "PO LineReference"), (3, "Title"), (4, "ISSN"), (5, "Coverage Statement")]
    assert "U+200B" in changes[0].describe() and "U+FEFF" in changes[1].describe()
    assert "fullwidth" in changes[2].describe()


def _write_portfolios(path: Path, rows: list[dict], headers: dict[str, str]) -> Path:
    columns = list(headers)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([headers[c] for c in columns])
        writer.writerows([[row.get(c) or "" for c in columns] for row in rows])
    return path


def test_a_hidden_character_in_the_po_line_header_never_puts_a_po_linked_portfolio_in_a_deletion_set(tmp_path):
    """The PO Line Reference header of the portfolio export holds a zero-width space (and the MMS
    Id header a byte-order mark): the column is read all the same, so the PO-linked P2E duplicate
    goes to the relink worksheet, not to a deletion set, and the run says what it normalised."""
    from almaclean.services.p2e import P2ERequest, run_p2e
    from almaclean.store.db import open_database

    k = keeper("Journal of Film and Video", issn="1934-6018", coverage_statement="Available from 1984.")
    linked = p2e_portfolio("Journal of film and video", "000000001", issn="1934-6018", po_line="POL-1001",
                           coverage_statement="Available from 1990 until 2000.")
    headers = {c: ALIASES["portfolios"][c][0] for c in ("portfolio_id", "mms_id", "title", "issn", "network_number",
                                                          "collection_id", "collection_name", "interface_name",
                                                          "portfolio_linked_to_cz", "collection_linked_to_cz",
                                                          "availability", "url", "po_line", "coverage_statement",
                                                          "is_standalone", "publication_date", "isbn")}
    headers["po_line"] = "PO Line\u200bReference"
    headers["mms_id"] = "\ufeffMMS Id"
    portfolios = _write_portfolios(tmp_path / "portfolios.csv", [k, linked], headers)
    p2e = tmp_path / "p2e.txt"
    p2e.write_text("000000001,portfolio\n", encoding="utf-8")
    po_lines = tmp_path / "po_lines.csv"
    po_lines.write_text("PO Line Reference,Status,PO Line Title\nPOL-1001,ACTIVE,Journal of film and video\n",
                        encoding="utf-8")
    run = run_p2e(open_database(f"sqlite:///{tmp_path / 'a.db'}"),
                  P2ERequest("EDU01", tmp_path / "out", portfolios=portfolios, p2e=p2e, po_lines=po_lines))
    candidates = (run.folder / "deletion_candidates.csv").read_text(encoding="utf-8-sig")
    assert linked["portfolio_id"] not in candidates
    assert linked["portfolio_id"] in (run.folder / "pol_relinks.csv").read_text(encoding="utf-8-sig")
    assert any(r"'PO Line\u200bReference'" in line and "U+200B" in line for line in run.lines())
    read = read_kind("portfolios", portfolios)
    assert read.table.header[list(headers).index("po_line")] == "PO Line\u200bReference"   # kept as written
    assert {"po_line", "mms_id"} <= read.present


def test_an_extended_export_header_is_recognised_once_normalised_and_kept_exact_for_the_loader(tmp_path):
    header = [("PO_LINE\u200b" if h == "PO_LINE" else "\ufeffLICENSE" if h == "LICENSE" else h) for h in EE_HEADER]
    export = build_export(tmp_path / "Hidden+Marks_portfolios.xlsx", header, EE_ROWS)
    read = read_kind("extended-export", export)
    assert read.table.header == tuple(header)
    audit = audit_table(read.table.header, read.table.frame)
    clean = audit_table(tuple(EE_HEADER), read.table.frame)
    assert (audit.counts, audit.not_checked, audit.decision) == (clean.counts, clean.not_checked, clean.decision)
    assert audit.counts["acquisitions"] == 2 and not audit.unrecognised
    assert [c.position for c in read.header_changes] == sorted([header.index("PO_LINE\u200b"), header.index("\ufeffLICENSE")])

    from conftest import resync_run

    run = resync_run([export], db_url=f"sqlite:///{tmp_path / 'a.db'}", out=tmp_path / "out")
    loader = next(run.rglob("*_loader*.xlsx"))
    first = fastexcel.read_excel(str(loader)).load_sheet(0, header_row=None, dtypes="string").to_polars().row(0)
    assert list(first) == header


@pytest.mark.parametrize("kind", sorted(REQUIRED))
def test_required_columns_found_through_a_bom_at_the_start_of_the_file_and_of_the_cell(kind, tmp_path):
    names = [ALIASES[kind][c][0] for c in REQUIRED[kind]]
    text = ",".join("\ufeff" + n if j else n for j, n in enumerate(names))
    assert all(resolve_columns(kind, text.split(",")).get(c) == [j] for j, c in enumerate(REQUIRED[kind]))
    assert unicodedata.normalize("NFKC", "ＭＭＳ") == "MMS"
