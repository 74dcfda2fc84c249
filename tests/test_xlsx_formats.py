"""Number cells read as Excel shows them through their number format, or refused: the rule of
read.xlsx_formats across values and formats (hypothesis), and through read_table."""
from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from almaclean.errors import InputError
from almaclean.kinds import read_kind
from almaclean.read.table import read_table
from almaclean.read.xlsx_formats import DATE, IDENTITY, RENDER, Refused, is_date_format, kind_of, shown
from faults.xlsx_parts import Book, SheetXml, write_book

INTEGERS = st.integers(min_value=0, max_value=10**14)


@settings(max_examples=300, deadline=None)
@given(INTEGERS, st.integers(1, 15))
def test_zero_padding_shows_the_digits_padded_to_the_format(value, width):
    assert shown("0" * width, str(value)) == str(value).zfill(width)


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0, max_value=10**8 - 1))
def test_a_hyphen_pattern_shows_an_issn_like_number_with_its_zeros(value):
    digits = f"{value:08d}"
    assert shown("0000-0000", str(value)) == f"{digits[:4]}-{digits[4:]}"
    assert shown("0000\\-0000", str(value)) == f"{digits[:4]}-{digits[4:]}"


@settings(max_examples=300, deadline=None)
@given(INTEGERS, st.text(alphabet="ABCXYZ(", min_size=1, max_size=4), st.integers(1, 9))
def test_literal_text_around_the_digits_is_shown_as_written(value, prefix, width):
    assert shown(f'"{prefix}"{"0" * width}"-X"', str(value)) == f"{prefix}{str(value).zfill(width)}-X"


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=-10**14, max_value=10**14))
def test_thousands_separators_group_the_same_digits(value):
    text = shown("#,##0", str(value))
    assert text == f"{value:,}"


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=-10**12, max_value=10**12), st.integers(0, 4), st.integers(0, 4))
def test_fixed_decimals_show_the_value_exactly_or_refuse_to_round(cents, scale, places):
    value = Decimal(cents).scaleb(-scale)
    text = shown("0." + "0" * places if places else "0", str(value))
    decimals = max(0, -value.normalize().as_tuple().exponent)
    if decimals > places:
        assert isinstance(text, Refused) and "rounds" in text.reason
    else:
        assert Decimal(text) == value
        assert len(text.partition(".")[2]) == places


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=10**6), st.integers(0, 3))
def test_percent_shows_a_hundred_times_the_value(hundredths, places):
    value = Decimal(hundredths).scaleb(-4)
    text = shown("0" + ("." + "0" * places if places else "") + "%", str(value))
    if max(0, -(value * 100).normalize().as_tuple().exponent) > places:
        assert isinstance(text, Refused)
    else:
        assert text.endswith("%") and Decimal(text[:-1]) == value * 100


@pytest.mark.parametrize("code", ["0.00E+00", "##0.0E+0", "# ?/?", "[>100]0", "0,", "0.0,,"])
def test_formats_that_hide_or_change_digits_are_refused(code):
    assert isinstance(shown(code, "123456"), Refused)


@pytest.mark.parametrize("code", ["yyyy-mm-dd", "d/m/yy", "[h]:mm:ss", "mmm d, yyyy", "hh:mm AM/PM", "[$-409]d-mmm"])
def test_dates_and_times_are_told_apart_from_numbers(code):
    assert is_date_format(code)


@pytest.mark.parametrize("code", ["0.00", '"d"0', "#,##0", "0\\m", "[Red]0"])
def test_numbers_with_date_letters_quoted_or_escaped_are_not_dates(code):
    assert not is_date_format(code)


def test_each_style_kind():
    assert kind_of(0, {}) == IDENTITY and kind_of(49, {}) == IDENTITY and kind_of(164, {164: "@"}) == IDENTITY
    assert kind_of(14, {}) == DATE and kind_of(164, {164: "yyyy-mm-dd"}) == DATE
    assert kind_of(1, {}) == RENDER and kind_of(164, {164: "000000"}) == RENDER and kind_of(7, {}) == RENDER


def _p2e_report(path, legacy_cells: list[str], code: str):
    rows = "".join(f'<row r="{n + 2}"><c r="A{n + 2}" s="1"><v>{value}</v></c><c r="B{n + 2}" t="inlineStr"><is><t>'
                   f"portfolio</t></is></c></row>" for n, value in enumerate(legacy_cells))
    body = ('<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>Legacy ID</t></is></c><c r="B1" t="inlineStr"><is>'
            f"<t>Type</t></is></c></row>{rows}</sheetData>")
    return write_book(path, Book([SheetXml("P2E", body)], styles=({164: code}, [0, 164])))


def test_zero_padded_legacy_numbers_are_read_with_their_zeros(tmp_path):
    """A P2E report whose legacy numbers are numbers shown as 000123456: read as shown, so they
    match the 035 "(EDU01)000123456" of the migrated bib."""
    path = _p2e_report(tmp_path / "p2e.xlsx", ["123456", "7", "123456789"], "000000000")
    read = read_kind("p2e", path)
    assert read.canonical["legacy_id"].to_list() == ["000123456", "000000007", "123456789"]


def test_a_number_format_that_rounds_is_refused_naming_cell_and_fix(tmp_path):
    path = _p2e_report(tmp_path / "p2e.xlsx", ["123456", "1234.5"], "0")
    with pytest.raises(InputError) as caught:
        read_table(path)
    assert (caught.value.row, caught.value.column) == (3, "Legacy ID")
    assert "rounds it" in caught.value.message and "format the column as Text" in caught.value.message
