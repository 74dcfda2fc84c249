"""Legacy bib numbers (P2E file) against 035 / Network Number cells of migrated bibs."""
from __future__ import annotations

import polars as pl
import pytest

from almaclean.normalize.legacy import legacy_key_table, legacy_keys, legacy_keys_of_cell


@pytest.mark.parametrize(
    ("value", "keys"),
    [
        ("EDU01000123456", ["EDU01000123456"]),  # P2E line "EDU01000123456,portfolio"
        ("000123456", ["000123456"]),  # leading zeros are part of the number
        ("b1234567x", ["B1234567X"]),  # III/Sierra style
        (" edu01 000123456 ", ["EDU01000123456"]),
        ("(EDU01)000123456", ["EDU01000123456", "000123456"]),
        ("(edu01) 000123456", ["EDU01000123456", "000123456"]),
        ("(III)b1234567x", ["IIIB1234567X", "B1234567X"]),
        ("(OCoLC)12345", ["OCOLC12345"]),  # never the bare OCLC digits
        ("(OCLC)ocm12345", ["OCLCOCM12345"]),
        ("(EDU01)", ["EDU01"]),
        ("", []),
        ("   ", []),
        (None, []),
    ],
)
def test_legacy_keys(value, keys):
    assert legacy_keys(value) == keys


def test_p2e_number_written_either_way_meets_the_035_value():
    migrated = set(legacy_keys("(EDU01)000123456"))
    assert set(legacy_keys("EDU01000123456")) <= migrated
    assert set(legacy_keys("000123456")) <= migrated
    assert not set(legacy_keys("000123457")) & migrated


@pytest.mark.parametrize(
    ("cell", "keys"),
    [
        ("(OCoLC)12345; (EDU01)000123456", ["EDU01000123456", "000123456"]),
        ("(OCoLC)ocm00012345 (EDU01)000123456", ["EDU01000123456", "000123456"]),
        ("ocn123456789|(EDU01)000123456|on1234567890", ["EDU01000123456", "000123456"]),
        ("(EDU01)000123456; (EDU01)000123456", ["EDU01000123456", "000123456"]),
        ("(EDU01)000123456, (CKB)111000000001", ["EDU01000123456", "000123456", "CKB111000000001", "111000000001"]),
        ("(OCoLC)12345; (OCLC)678", []),
        ("12345", ["12345"]),  # a bare number without prefix is taken as a legacy number
        (None, []),
        (" ; ", []),
    ],
)
def test_legacy_keys_of_cell(cell, keys):
    assert legacy_keys_of_cell(cell) == keys


def test_an_oclc_number_never_matches_a_legacy_number_with_the_same_digits():
    p2e_keys = set(legacy_keys("12345"))
    assert not p2e_keys & set(legacy_keys_of_cell("(OCoLC)12345"))
    assert not p2e_keys & set(legacy_keys_of_cell("ocm12345"))
    assert p2e_keys & set(legacy_keys_of_cell("(OCoLC)999; (EDU01)12345"))


def test_legacy_key_table_joins_p2e_lines_to_portfolios():
    portfolios = pl.DataFrame(
        {
            "portfolio_id": ["53496697910003681", "53496697920003681", "53496697930003681"],
            "network_number": ["(OCoLC)000123456; (EDU01)000123456", None, "(EDU01)000999999"],
        }
    )
    p2e = pl.DataFrame({"legacy_id": ["EDU01000123456", "000999999", "000123456x"]})
    portfolio_keys = legacy_key_table(portfolios, "portfolio_id", "network_number")
    assert portfolio_keys.rows() == [
        ("53496697910003681", "EDU01000123456"),
        ("53496697910003681", "000123456"),
        ("53496697930003681", "EDU01000999999"),
        ("53496697930003681", "000999999"),
    ]
    p2e_keys = legacy_key_table(p2e, "legacy_id", "legacy_id")
    matched = p2e_keys.join(portfolio_keys, on="legacy_key").select("legacy_id", "portfolio_id").unique()
    assert sorted(matched.rows()) == [
        ("000999999", "53496697930003681"),
        ("EDU01000123456", "53496697910003681"),
    ]


# The rule as first written, value by value in plain Python: the vectorised key_rows is held to it.
def _reference_keys(cleaned: str, *, skip_oclc: bool) -> list[str]:
    import re

    if cleaned.startswith("(") and ")" in cleaned and "(" not in cleaned[1:cleaned.find(")")]:
        end = cleaned.find(")")
        prefix, rest = cleaned[1:end], cleaned[end + 1:]
        if prefix in ("OCOLC", "OCLC"):
            return [] if skip_oclc else [prefix + rest]
        keys = [prefix + rest] if prefix + rest else []
        return keys + ([rest] if rest and rest != keys[0] else [])
    if skip_oclc and re.fullmatch(r"(?:OCM|OCN|ON)\d+", cleaned):
        return []
    return [cleaned] if cleaned else []


def _reference_cell(cell: str | None) -> list[str]:
    import re

    if cell is None:
        return []
    keys = [k for value in re.split(r"[;|,]|\s+(?=\()", cell)
            for k in _reference_keys("".join(value.split()).upper(), skip_oclc=True)]
    return list(dict.fromkeys(keys))


def _reference_value(value: str | None) -> list[str]:
    return [] if value is None else _reference_keys("".join(value.split()).upper(), skip_oclc=False)


def test_vectorised_keys_follow_the_rule_on_messy_cells():
    import random

    from almaclean.normalize.legacy import key_rows

    rng = random.Random(4)
    pieces = ["(OCoLC)", "(OCLC)", "(EDU01)", "(edu01) ", "(CKB)", "(III)", "ocm", "ocn", "on", "b", "x",
              "000123456", "12345", "9", "(", ")", "((A)", ";", "|", ",", " ", "  ", "\t", "\u00a0", "\u3000",
              "\x1c", "\n", "ß", "é", "Ǆ", "-", "_"]
    cells = [None, "", " ", ";;", "(A)(B)1", "()", "()123", "(OCoLC)"] + [
        "".join(rng.choice(pieces) for _ in range(rng.randint(1, 9))) for _ in range(3000)]
    series = pl.Series(cells, dtype=pl.String)
    for cells_mode, reference in ((True, _reference_cell), (False, _reference_value)):
        rows = key_rows(series, cells=cells_mode)
        got = {i: [] for i in range(len(cells))}
        for index, key in rows.iter_rows():
            got[index].append(key)
        mismatches = [(c, got[i], reference(c)) for i, c in enumerate(cells) if got[i] != reference(c)]
        assert not mismatches, mismatches[:5]


def test_legacy_key_table_keeps_a_composite_key_of_several_columns():
    frame = pl.DataFrame({"file": ["a.csv", "a.csv"], "row": ["2", "3"],
                          "network_number": ["(OCoLC)12345; (EDU01)000123456", None]})
    table = legacy_key_table(frame, ["file", "row"], "network_number")
    assert table.columns == ["file", "row", "legacy_key"]
    assert table.rows() == [("a.csv", "2", "EDU01000123456"), ("a.csv", "2", "000123456")]
