"""The Extended Export model: every confirmed column has a role and a source; the guide's columns
are local; each local coverage and embargo column has a global twin; header cells are compared
after Unicode normalisation; a cell of only spaces and invisible format characters is blank."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from almaclean.model import GLOBAL, LOCAL, SYSTEM, header_key
from almaclean.model import extended_export as model

# Names seen in real Extended Exports or named by the re-sync guide (the project's format notes).
CONFIRMED = (
    "LOCALIZED", "ISSN", "ISBN", "OTHER_SYSTEM_NUMBER", "PORTFOLIO_PID", "MMS", "TITLE", "FROM_YEAR", "TO_YEAR",
    "FROM_MONTH", "TO_MONTH", "FROM_DAY", "TO_DAY", "FROM_VOLUME", "TO_VOLUME", "FROM_ISSUE", "TO_ISSUE", "WARNINGS",
    "PUBLICATION_DATE_OPERATOR", "PUBLICATION_DATE_YEAR", "PUBLICATION_DATE_MONTH", "AVAILABILITY", "PUBLISHER",
    "PLACE_OF_PUBLICATION", "DATE_OF_PUBLICATION", "URL", "PARSER_PARAMETERS", "PROXY_ENABLE", "PROXY_SELECTED",
    "PROXY_LEVEL", "AUTHOR", "ELECTRONIC_MATERIAL_TYPE", "OWNERSHIP", "GROUP_NAME", "AUTHENTICATION_NOTES",
    "PUBLIC_NOTES", "INTERNAL_DESCRIPTION", "COVERAGE_STATEMENT", "ACTIVATION_DATE", "EXPECTED_ACTIVATION_DATE",
    "LICENSE", "LICENSE_NAME", "COLLECTION_LICENSE", "PDA", "PO_LINE", "NOTES", "ACCESS_TYPE",
    "COLLECTION_LICENSE_NAME", "EBA",
)
GUIDE = ("LOCALIZED", "FROM_YEAR", "TO_YEAR", "FROM_MONTH", "TO_MONTH", "FROM_DAY", "TO_DAY", "FROM_VOLUME",
         "TO_VOLUME", "FROM_ISSUE", "TO_ISSUE", "EXPECTED_ACTIVATION_DATE", "COVERAGE_STATEMENT", "AVAILABILITY",
         "AUTHENTICATION_NOTES", "PUBLIC_NOTES", "INTERNAL_DESCRIPTION", "NOTES", "LICENSE", "LICENSE_NAME",
         "COLLECTION_LICENSE", "COLLECTION_LICENSE_NAME", "PDA", "EBA", "PO_LINE", "URL")


def test_every_confirmed_column_has_a_role_and_a_known_source():
    for name in CONFIRMED:
        column = model.BY_NAME[name]
        assert column.role in (GLOBAL, LOCAL, SYSTEM) and column.source in model.SOURCES, name
        assert column.confirmed, name
    for column in model.COLUMNS:
        assert column.source in model.SOURCES, column.name


def test_the_guide_columns_are_local_and_required():
    assert model.GUIDE == frozenset(GUIDE)
    for name in GUIDE:
        assert model.role(name) == LOCAL and model.BY_NAME[name].required, name


@pytest.mark.parametrize("name, role", [
    ("PORTFOLIO_PID", SYSTEM), ("MMS", SYSTEM), ("ACTIVATION_DATE", SYSTEM), ("ELECTRONIC_COLLECTION_ID", SYSTEM),
    ("ISSN", GLOBAL), ("TITLE", GLOBAL), ("GLOBAL_FROM_YEAR", GLOBAL), ("PARSER_PARAMETERS", GLOBAL),
    ("PROXY_ENABLE", LOCAL), ("PROXY_SELECTED", LOCAL), ("GROUP_NAME", LOCAL), ("ACCESS_TYPE", LOCAL),
    ("CONCURRENT_USERS", LOCAL), ("LIBRARY", LOCAL), ("ADDITIONAL_PO_LINES", LOCAL),
    ("PUBLICATION_DATE_OPERATOR", LOCAL), ("SOMETHING_NEW", None),
])
def test_roles(name, role):
    assert model.role(name) == role


def test_each_local_coverage_and_embargo_column_has_its_global_twin():
    twinned = [c for c in model.COLUMNS if c.twin]
    assert {c.name for c in twinned} == {"FROM_YEAR", "TO_YEAR", "FROM_MONTH", "TO_MONTH", "FROM_DAY", "TO_DAY",
                                         "FROM_VOLUME", "TO_VOLUME", "FROM_ISSUE", "TO_ISSUE", "WARNINGS",
                                         "PUBLICATION_DATE_OPERATOR", "PUBLICATION_DATE_YEAR", "PUBLICATION_DATE_MONTH"}
    for column in twinned:
        assert column.role == LOCAL and column.twin == f"GLOBAL_{column.name}"
        assert model.role(column.twin) == GLOBAL


def test_only_state_columns_have_neutral_values():
    assert {c.name: c.neutral for c in model.COLUMNS if c.neutral} == {
        "LOCALIZED": ("Y",), "AVAILABILITY": ("ACTIVE",), "PROXY_ENABLE": ("false", "no", "n", "0")}


@pytest.mark.parametrize("cell, key", [
    ("PO_LINE", "PO_LINE"), (" PO_LINE ", "PO_LINE"), ("\ufeffPO_LINE", "PO_LINE"), ("PO\u200b_LINE", "PO_LINE"),
    ("\uff30\uff2f_LINE", "PO_LINE"), ("PO_LINE\u00a0", "PO_LINE"), ("Po_Line", "Po_Line"), ("", ""), (None, ""),
])
def test_header_key_normalises_unicode_but_keeps_spelling(cell, key):
    assert header_key(cell) == key


def test_required_columns_per_topic():
    assert model.required_columns("acquisitions") == (
        "LICENSE", "LICENSE_NAME", "COLLECTION_LICENSE", "COLLECTION_LICENSE_NAME", "PDA", "EBA", "PO_LINE")
    assert model.required_columns("access") == ("PROXY_ENABLE", "PROXY_SELECTED", "PROXY_LEVEL", "GROUP_NAME",
                                                "OWNERSHIP", "ACCESS_TYPE")
    assert "ADDITIONAL_PO_LINES" not in model.required_columns("acquisitions")


_NOTHING_CHARACTERS = [" ", "\t", "\n", "\r", "\u00a0", "\u2007", "\u202f", "\u3000", "\u200b", "\u200c", "\u200d",
                       "\u2060", "\ufeff", "\u00ad", "\u200e", "\u202a"]


@given(st.text(st.sampled_from(_NOTHING_CHARACTERS), max_size=8),
       st.text(st.characters(blacklist_categories=("Cf", "Zs", "Zl", "Zp", "Cc", "Cs")), min_size=1, max_size=3),
       st.text(st.sampled_from(_NOTHING_CHARACTERS), max_size=8))
def test_a_cell_is_blank_when_it_holds_only_spaces_and_invisible_format_characters(before, text, after):
    import polars as pl

    from almaclean.model.columns import blank

    cells = pl.DataFrame({"cell": [None, before + after, before + text + after]}, schema={"cell": pl.String})
    assert cells.select(blank(pl.col("cell"))).to_series().to_list() == [True, True, False]
