"""resync/audit.py rule by rule: what counts as data in each category, which header is a
look-alike of which guide column, and what the fix says (the cases mutation testing found
unpinned)."""
from __future__ import annotations

import polars as pl
import pytest

from almaclean.kinds.aliases import EXTENDED_EXPORT_KNOWN_COLUMNS
from almaclean.resync.audit import (
    CATEGORIES, GUIDE_COLUMNS, UNKNOWN, Unrecognised, _one_edit_apart, audit_table, unrecognised_headers,
)

PID = ["53496697910003681", "53496697920003681", "53496697930003681"]


def audit_of(header: list[str], rows: list[list[str | None]]):
    frame = pl.DataFrame(rows, schema=[f"c{i}" for i in range(len(header))], orient="row")
    return audit_table(header, frame)


def test_empty_localized_and_availability_cells_are_not_n_or_inactive():
    audit = audit_of(["PORTFOLIO_PID", "LOCALIZED", "AVAILABILITY"],
                     [[PID[0], None, None], [PID[1], " n ", "inactive"], [PID[2], "Y", "ACTIVE"]])
    assert audit.flags["localized_n"].to_list() == [False, True, False]
    assert audit.flags["inactive"].to_list() == [False, True, False]


def test_a_local_coverage_statement_alone_is_local_coverage():
    audit = audit_of(["PORTFOLIO_PID", "COVERAGE_STATEMENT"],
                     [[PID[0], "Only local"], [PID[1], "Global"], [PID[2], None]])
    assert audit.flags["local_coverage"].to_list() == [True, False, False]
    assert audit.not_checked["local_coverage"][0] == "FROM_YEAR"


def test_an_export_with_no_guide_column_has_every_category_not_checked():
    audit = audit_of(["PORTFOLIO_PID", "MMS"], [[PID[0], "9977047322103681"]])
    assert audit.counts == {c: None for c in CATEGORIES if c != UNKNOWN} | {UNKNOWN: 0}
    assert list(audit.not_checked) == [c for c in CATEGORIES if c != UNKNOWN]
    assert not any(audit.flags.row(0)) and audit.decision == "manual_load"


@pytest.mark.parametrize("a, b, apart", [
    ("poline", "polines", True), ("polines", "poline", True),
    ("bcdef", "abcdef", True),            # the longer one sorts first alphabetically
    ("abcdef", "abcxef", True), ("abcdef", "abxyef", False),
    ("abcdef", "abcd", False), ("abcdef", "abdcfe", False), ("abcdef", "abcdef", True),
])
def test_one_edit_apart(a, b, apart):
    assert _one_edit_apart(a, b) is apart


def test_a_five_letter_guide_name_is_matched_one_letter_off():
    [odd] = unrecognised_headers(["Note"])
    assert (odd.looks_like, odd.category) == ("NOTES", "notes")


def test_every_look_alike_header_is_reported_not_only_the_first():
    found = unrecognised_headers(["PO LINE", "PORTFOLIO_PID", "Public Note", "Order Ref"])
    assert [(u.position, u.header, u.looks_like) for u in found] == [
        (0, "PO LINE", "PO_LINE"), (2, "Public Note", "PUBLIC_NOTES"), (3, "Order Ref", None)]


def test_words_of_two_categories_take_the_first_in_guide_order():
    [odd] = unrecognised_headers(["PO Note"])
    assert (odd.looks_like, odd.category) == (None, "notes")


def test_the_fix_names_the_guide_column_or_the_category_columns():
    assert Unrecognised(3, "PO LINE", "acquisitions", "PO_LINE").fix() == (
        "if this column is the guide's PO_LINE, rename its header cell to exactly that name in the export "
        "(the Portfolio Loader reads columns by their exact names) and run almaclean again; if it is not, "
        "check its cells by hand before deciding")
    assert Unrecognised(3, "Order Ref", "acquisitions", None).fix().startswith(
        "if this column is the guide's one of LICENSE, LICENSE_NAME, COLLECTION_LICENSE, COLLECTION_LICENSE_NAME, "
        "PDA, EBA, PO_LINE, rename its header cell")
    assert Unrecognised(3, "Link override", "override_url", None).fix().startswith(
        "if this column is the guide's URL, rename")
    assert Unrecognised(3, "Local", "localized_n", None).place() == "'Local' (column D)"


def test_every_guide_column_is_a_known_extended_export_column():
    assert set(GUIDE_COLUMNS) <= EXTENDED_EXPORT_KNOWN_COLUMNS
    assert unrecognised_headers(["", "  ", *GUIDE_COLUMNS]) == []


def test_portfolio_rows_counts_rows_with_a_cell():
    from almaclean.resync.audit import portfolio_rows

    assert portfolio_rows(pl.DataFrame()) == 0
    assert portfolio_rows(pl.DataFrame({"c0": [None, "x", None], "c1": [None, None, " "]})) == 2
