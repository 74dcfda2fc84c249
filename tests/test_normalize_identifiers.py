"""ISSN/ISBN splitting and classification, checked on every identifier of the four real KBART
lists (the table bundled with the package: tests/data/kbart/README.md)."""
from __future__ import annotations

import logging
import re

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum import ean as stdnum_ean
from stdnum import isbn as stdnum_isbn
from stdnum import issn as stdnum_issn

from almaclean.normalize.identifiers import classify, identifier_table, split_values
from conftest import KBART_FILES as FILES
from conftest import all_titles


def kbart(source: str) -> pl.DataFrame:
    """Every row of one real list, numbered as its lines (line 1 is the header)."""
    return all_titles(source).with_row_index("line", offset=2)


def kbart_identifiers(source: str) -> pl.DataFrame:
    table = identifier_table(kbart(source), "line", ["print_identifier", "online_identifier"])
    return table.with_columns(
        pl.col("raw").str.replace_all("-", "").str.len_chars().alias("digits")
    )


# --- split_values -------------------------------------------------------------------

@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("0898-5510; 2374-8753", ["0898-5510", "2374-8753"]),
        ("9782406044376 | 2406044378", ["9782406044376", "2406044378"]),
        ("0935-9915,1861-9908", ["0935-9915", "1861-9908"]),
        ("0898-5510/2374-8753", ["0898-5510", "2374-8753"]),
        ("9780306406157 (pbk.) / 9780306406164 (ebook)", ["9780306406157 (pbk.)", "9780306406164 (ebook)"]),
        ("(0898-5510/2374-8753)", ["0898-5510", "2374-8753"]),
        ("n/a", ["n/a"]),
        ("N/A; 0898-5510", ["N/A", "0898-5510"]),
        ("0898-5510 2374-8753", ["0898-5510", "2374-8753"]),
        ("0898-5510 (Online)", ["0898-5510 (Online)"]),
        ("0898-5510 (Print) 2374-8753 (Online)", ["0898-5510 (Print)", "2374-8753 (Online)"]),
        ("9780801883620 (pbk., alk. paper); 0801883628", ["9780801883620 (pbk., alk. paper)", "0801883628"]),
        ("ISSN 0898-5510", ["ISSN 0898-5510"]),
        ("978 2 406 04437 6", ["978 2 406 04437 6"]),  # an ISBN written with spaces is one value
        ("2269-479x 0264-360x", ["2269-479x", "0264-360x"]),  # a lower-case X check digit still looks like one
        ("0898-5510   (Online)", ["0898-5510   (Online)"]),  # one value is kept as written
        ("  1538-4594 ;; ", ["1538-4594"]),
        (" ; | ", []),
        ("", []),
        (None, []),
    ],
)
def test_split_values(cell, expected):
    assert split_values(cell) == expected


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("(0898-5510 2374-8753)", ["0898-5510", "2374-8753"]),
        ("(0898-5510) (2374-8753)", ["0898-5510", "2374-8753"]),
        ("0898-5510 (2374-8753)", ["0898-5510", "2374-8753"]),
        ("(0898-5510; 2374-8753)", ["0898-5510", "2374-8753"]),
        ("[0898-5510 2374-8753]", ["0898-5510", "2374-8753"]),
        ("[0968-8005]", ["0968-8005"]),
        ("(978 2 406 04437 6)", ["978 2 406 04437 6"]),
        # a qualifier stays with its value, digits or not
        ("9780306406157 (v. 1)", ["9780306406157 (v. 1)"]),
        ("9780306406157 (2nd ed.)", ["9780306406157 (2nd ed.)"]),
        ("0306406152 (pbk., alk. paper)", ["0306406152 (pbk., alk. paper)"]),
        ("0898-5510 (Print) (2374-8753)", ["0898-5510 (Print)", "2374-8753"]),
        ("(0898-5510 (2374-8753))", ["0898-5510", "2374-8753"]),
        # a word of letters labels the value after it when it ends with ":" or starts the cell,
        # else the value before it
        ("Print: 0898-5510 Online: 2374-8753", ["Print: 0898-5510", "Online: 2374-8753"]),
        ("ISSN 0898-5510 2374-8753", ["ISSN 0898-5510", "2374-8753"]),
        ("9780306406157 eISBN 0306406152 pISBN", ["9780306406157 eISBN", "0306406152 pISBN"]),
        ("e-ISSN 2374-8753 p-ISSN 0898-5510", ["e-ISSN 2374-8753 p-ISSN", "0898-5510"]),
        ("Print ISSN: 0898-5510", ["Print ISSN: 0898-5510"]),
        ("0898-5510 Online:", ["0898-5510 Online:"]),
        ("0898-5510 2374-8753 Online:", ["0898-5510", "2374-8753 Online:"]),
    ],
)
def test_parentheses_or_brackets_around_identifiers_only_are_read_as_if_absent(cell, expected):
    assert split_values(cell) == expected


# --- classify --------------------------------------------------------------------------

def test_valid_hyphenated_issns_from_jstor_are_kept_in_normal_form():
    frame = kbart("JSTOR")
    first = frame.row(0, named=True)  # Journal Of Forensic Economics
    assert classify(first["print_identifier"]) == ("issn", "0898-5510")
    assert classify(first["online_identifier"]) == ("issn", "2374-8753")


@pytest.mark.parametrize("token", ["1552-8339", "0742-4617", "1935-8562"])
def test_muse_issns_with_wrong_check_digit_are_flagged_not_fixed(token):
    assert classify(token) == ("issn", None)


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        ("0898-5510 (Online)", ("issn", "0898-5510")),
        ("eISSN: 2374-8753", ("issn", "2374-8753")),
        ("ISSN 1538-4594 (Print)", ("issn", "1538-4594")),
        ("[0968-8005]", ("issn", "0968-8005")),
        ("0968.8005", ("issn", "0968-8005")),
        ("ISBN 978-2-406-04437-6 (ebook)", ("isbn", "9782406044376")),
        ("ISBN-13: 9782406044376", ("isbn", "9782406044376")),
        ("2406044378 (pbk.)", ("isbn", "9782406044376")),
        ("978 2 406 04437 6", ("isbn", "9782406044376")),
    ],
)
def test_qualifiers_prefixes_and_fillers_are_ignored(token, expected):
    assert classify(token) == expected


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        ("１４９２－８６４７", ("issn", "1492-8647")),               # full-width digits and hyphen
        ("1492-8647\u200b", ("issn", "1492-8647")),                # a zero-width space after it
        ("\ufeff1492-8647", ("issn", "1492-8647")),                # a byte order mark before it
        ("1492-86\u00ad47", ("issn", "1492-8647")),                # a soft hyphen inside it
        ("978-0-306-40615-7 :", ("isbn", "9780306406157")),         # ISBD: $a before $c
        ("0306406152 (pbk.) :", ("isbn", "9780306406157")),
        ("ISBN 0-306-40615-2 /", ("isbn", "9780306406157")),
        ("2434-561X =", ("issn", "2434-561X")),
        # MARC 020 $q qualifiers with digits, and $c terms of availability after " : "
        ("9780306406157 (v. 1)", ("isbn", "9780306406157")),
        ("978-0-306-40615-7 (v. 2, pt. 1 : alk. paper)", ("isbn", "9780306406157")),
        ("0306406152 (2nd ed.)", ("isbn", "9780306406157")),
        ("0306406152 (pbk.) : $10.00", ("isbn", "9780306406157")),
        ("ISBN 9780306406157 (hbk. : v. 1) : £25.00", ("isbn", "9780306406157")),
        # what follows " : " is kept when it is an identifier: two values are no one value
        ("0898-5510 : 2374-8753", ("unknown", None)),
        # words before or after it, letters only
        ("Print ISBN: 9780306406157", ("isbn", "9780306406157")),
        ("Online ISSN: 2374-8753", ("issn", "2374-8753")),
        ("Print ISBN: [0306406152]", ("isbn", "9780306406157")),
        ("9780306406157 ebk", ("isbn", "9780306406157")),
        ("0264-360 X", ("issn", "0264-360X")),        # a check digit written apart is no word
        ("ISBN-13: 978-0-306-40615-7", ("isbn", "9780306406157")),
        ("Order 0306406152 no. 7", ("unknown", None)),   # a digit among the words: not a label
        ("(Online) 0898-5510", ("issn", "0898-5510")),     # a qualifier before it, apart
    ],
)
def test_a_value_written_with_compatibility_forms_invisible_characters_or_isbd_punctuation_is_that_value(
        token, expected):
    assert classify(token) == expected


_FULL_WIDTH = str.maketrans("0123456789Xx-", "０１２３４５６７８９ＸＸ－")
_INVISIBLE = ["\u200b", "\u00ad", "\ufeff", "\u2060", "\u200c"]


@st.composite
def valid_identifiers(draw) -> str:
    """A valid ISSN, ISBN-10 or ISBN-13, hyphenated or not."""
    kind = draw(st.sampled_from(["issn", "isbn10", "isbn13"]))
    if kind == "issn":
        body = draw(st.text("0123456789", min_size=7, max_size=7))
        return f"{body[:4]}-{body[4:]}{stdnum_issn.calc_check_digit(body)}"
    prefix = "978" if kind == "isbn10" else draw(st.sampled_from(["978", "979"]))
    body = prefix + draw(st.text("0123456789", min_size=9, max_size=9))
    isbn13 = body + stdnum_ean.calc_check_digit(body)
    return stdnum_isbn.to_isbn10(isbn13) if kind == "isbn10" else isbn13


@given(valid_identifiers(), st.booleans(), st.lists(st.tuples(st.integers(0, 20), st.sampled_from(_INVISIBLE)),
                                                      max_size=3),
       st.sampled_from(["", " :", " /", " =", " +", " (pbk.) :", " (v. 1)", " (2nd ed.)", " (v. 2, pt. 1 : alk. paper)",
                        " (pbk.) : $10.00", " : £25.00", " (ebook) : 45 EUR", " (2019)", " (ISSN-L)", " ebk",
                        " eISBN", " online resource."]),
       st.sampled_from(["", "ISBN ", "ISSN: ", "e-ISSN ", "Print ISBN: ", "eBook ISBN ", "Online ISSN : ",
                        "ISSN électronique: "]))
def test_how_a_valid_identifier_is_written_never_changes_what_it_is(plain, full_width, invisible, after, before):
    written = plain.translate(_FULL_WIDTH) if full_width else plain
    for position, character in invisible:
        position = min(position, len(written))
        written = written[:position] + character + written[position:]
    assert classify(before + written + after) == classify(plain) != ("unknown", None)
    assert classify(plain)[1] is not None


@given(st.lists(st.tuples(valid_identifiers(), st.sampled_from(["{}", "({})", "[{}]", "{} (Online)", "{} (pbk.)",
                                                               "ISSN: {}", "Print ISBN: {}", "{} ebk", "{} e-ISSN"])),
                min_size=1, max_size=3),
       st.sampled_from([" ", "; ", ", ", " | ", ";", "/", " / "]), st.sampled_from(["({})", "[{}]"]), st.booleans())
def test_identifiers_bare_wrapped_or_qualified_and_joined_by_any_separator_are_read_alike(values, separator, around,
                                                                                         wrap_cell):
    """Each value bare, in parentheses or brackets, or with a qualifier or a label; the values
    joined by any separator; a cell of bare or wrapped values perhaps wrapped whole: the same
    identifiers."""
    cell = separator.join(form.format(value) for value, form in values)
    if wrap_cell and not any(" " in form for _, form in values):
        cell = around.format(cell)
    read = [classify(value) for value in split_values(cell)]
    assert read == [classify(value) for value, _ in values]
    assert all(value is not None for _, value in read)


@given(valid_identifiers(), st.sampled_from(["(OCoLC)", "(OCoLC) ", "(DLC)", "(CaOONL)", "ocm", "ocn", "on"]))
def test_a_system_control_number_is_never_an_issn_or_isbn_whatever_its_digits(identifier, prefix):
    """An OCLC or other 035 control number in an identifier column ("(OCoLC)12345678",
    "ocm12345678"): digits that happen to carry a valid check digit are still no ISSN or ISBN."""
    assert classify(prefix + identifier.replace("-", "")) == ("unknown", None)
    assert [classify(value) for value in split_values(prefix + identifier.replace("-", ""))] == [("unknown", None)]


def test_lower_case_x_check_digit_is_accepted_and_upper_cased():
    # 2269-479X: online ISSN of Garnier's "Revue d'Histoire et de Philosophie religieuses"
    assert classify("2269-479x") == ("issn", "2269-479X")
    assert classify("2269479x") == ("issn", "2269-479X")
    assert classify("ISSN 2269-479x") == ("issn", "2269-479X")      # with a prefix: the slow path
    assert classify("2269-479x online") == ("issn", "2269-479X")    # a qualifier word after it
    # 0-8044-2957-X: a valid ISBN-10 whose check digit is X
    assert classify("0-8044-2957-x") == ("isbn", "9780804429573")
    assert classify("0-8044-2957-X") == ("isbn", "9780804429573")


def test_isbn10_converts_to_the_same_isbn13():
    # Erudit lists print ISBN-10s unhyphenated; Garnier hyphenates ISBN-10s and ISBN-13s
    isbn13 = classify("978-2-406-04437-6")
    assert isbn13 == ("isbn", "9782406044376")
    assert classify("2-406-04437-8") == isbn13
    assert classify("2406044378") == isbn13
    # its ISBN-13's check digit 0: the EAN weighted sum is a multiple of 10 (checked with python-stdnum)
    assert classify("1-985344-02-5") == ("isbn", "9781985344020") == ("isbn", stdnum_isbn.to_isbn13("1985344025"))


def test_bad_isbns_from_garnier_and_erudit_are_flagged():
    assert classify("2-86503-237-2") == ("isbn", None)  # Garnier, "Les Visionnaires - Comédie"
    assert classify("2763772945") == ("isbn", None)  # Erudit, "Les Métaphores De La Culture"
    # Erudit's print/online pair: the print one is wrong (check digit should be 4) and so,
    # although SOURCES.md only names the print one, is the online one (should be 1).
    assert classify("9782980846430") == ("isbn", None)
    assert classify("9782980846434") == ("isbn", "9782980846434")
    assert classify("9782980846449") == ("isbn", None)
    assert classify("9782980846441") == ("isbn", "9782980846441")


@pytest.mark.parametrize("token", ["", "n/a", "12345", "0898-551", "9771234567003", "X898-5510", "EDU01000123456"])
def test_anything_else_is_unknown(token):
    assert classify(token) == ("unknown", None)


# --- identifier_table --------------------------------------------------------------

def test_identifier_table_keeps_every_token_in_order_with_its_source():
    frame = pl.DataFrame(
        {
            "portfolio_id": ["53496697910003681", "53496697920003681", "53496697930003681"],
            "issn": ["0898-5510; 2374-8753", None, "1552-8339"],
            "isbn": ["2-86503-237-2", "978-2-406-04437-6 (ebook)", "n/a"],
        }
    )
    table = identifier_table(frame, "portfolio_id", ["issn", "isbn"])
    assert table.columns == ["portfolio_id", "source_column", "raw", "id_type", "value", "valid"]
    assert table.rows() == [
        ("53496697910003681", "issn", "0898-5510", "issn", "0898-5510", True),
        ("53496697910003681", "issn", "2374-8753", "issn", "2374-8753", True),
        ("53496697910003681", "isbn", "2-86503-237-2", "isbn", None, False),
        ("53496697920003681", "isbn", "978-2-406-04437-6 (ebook)", "isbn", "9782406044376", True),
        ("53496697930003681", "issn", "1552-8339", "issn", None, False),
        ("53496697930003681", "isbn", "n/a", "unknown", None, False),
    ]


def test_identifier_table_valid_only_is_the_valid_rows_across_chunks(monkeypatch, caplog):
    from almaclean.normalize import identifiers

    monkeypatch.setattr(identifiers, "CHUNK_ROWS", 2)  # five chunks for nine rows
    caplog.set_level(logging.INFO, logger="almaclean.normalize.identifiers")
    frame = pl.DataFrame({
        "portfolio_id": [f"5349669791{i:07d}" for i in range(9)],
        "issn": ["0898-5510; 2374-8753", None, "1552-8339", "", "0264-360x", "bad", None, "1522-8339", "x"],
        "isbn": ["2-86503-237-2", "978-2-406-04437-6 (ebook)", None, "n/a", None, None, "9782812412349", "", None],
    })
    full = identifier_table(frame, "portfolio_id", ["issn", "isbn"])
    valid = identifier_table(frame, "portfolio_id", ["issn", "isbn"], valid_only=True)
    assert valid.columns == ["portfolio_id", "id_type", "value"]
    assert valid.rows() == full.filter(pl.col("valid")).select("portfolio_id", "id_type", "value").rows()
    assert valid.height == 6 and full.height == 11
    # what -v says of each reading counts every chunk once
    said = [r.getMessage() for r in caplog.records if r.getMessage().startswith("identifiers:")]
    assert said == ["identifiers: 11 tokens from 9 rows x 2 columns, 6 valid, 5 invalid or unknown"] * 2


def test_identifier_table_with_composite_key_and_no_tokens():
    frame = pl.DataFrame({"file": ["a", "a"], "row": ["2", "3"], "issn": [None, " ; "]})
    table = identifier_table(frame, ["file", "row"], ["issn"])
    assert table.height == 0
    assert table.columns == ["file", "row", "source_column", "raw", "id_type", "value", "valid"]


def test_identifier_table_of_no_column_is_an_empty_table_of_the_same_columns():
    frame = pl.DataFrame({"portfolio_id": ["53496697930003681"], "issn": ["1492-8647"]})
    table = identifier_table(frame, "portfolio_id", [])
    assert table.height == 0
    assert table.schema == {"portfolio_id": pl.String, "source_column": pl.String, "raw": pl.String,
                            "id_type": pl.String, "value": pl.String, "valid": pl.Boolean}

def test_identifier_table_agrees_with_split_values_and_classify_on_mixed_cells():
    # the table splits plain cells with polars; the result must equal the per-cell functions
    cells = [
        "0898-5510; 2374-8753", "0898-5510 2374-8753", "0264-360x|1538-4594,", " 2-86503-237-2 ",
        "ISSN 0898-5510 (Online)", "978 2 406 04437 6", ";0968-8005;", "9782980846430 | 9782980846434",
        None, "-", "x",
    ]
    frame = pl.DataFrame({"k": [str(i) for i in range(len(cells))], "id": cells})
    table = identifier_table(frame, "k", ["id"])
    expected = [
        (str(i), token, *classify(token))
        for i, cell in enumerate(cells)
        for token in split_values(cell)
    ]
    assert table.select("k", "raw", "id_type", "value").rows() == expected


# --- all identifiers of each real file against what SOURCES.md states ----------------

# (source, column, id_type, digits of the raw value or None for any, valid, count stated in SOURCES.md)
STATED_COUNTS = [
    ("JSTOR", "print_identifier", "issn", None, True, 4559),
    ("JSTOR", "online_identifier", "issn", None, True, 3157),
    ("JSTOR", None, None, None, False, 0),  # "every ISSN ... has a valid check digit"
    ("MUSE", None, "issn", None, False, 3),
    ("MUSE", "print_identifier", None, None, None, 893 - 28),  # 28 rows have no print ISSN
    ("GARNIER", "print_identifier", "isbn", 10, None, 193),
    ("GARNIER", "print_identifier", "isbn", 10, False, 82),
    ("GARNIER", "print_identifier", "isbn", 13, True, 4098),
    ("GARNIER", "online_identifier", "isbn", 13, True, 14217),
    ("GARNIER", "online_identifier", "isbn", 10, False, 1),
    ("ERUDIT", "online_identifier", "issn", None, True, 351),
    ("ERUDIT", "print_identifier", "issn", None, True, 226),
    ("ERUDIT", "print_identifier", "isbn", 10, True, 37),
    ("ERUDIT", "print_identifier", "isbn", 13, True, 30),
    ("ERUDIT", "online_identifier", "isbn", 13, True, 96),
    ("ERUDIT", "online_identifier", "isbn", 10, True, 2),
]


@pytest.mark.parametrize(("source", "column", "id_type", "digits", "valid", "stated"), STATED_COUNTS)
def test_counts_in_real_files_match_sources_md(source, column, id_type, digits, valid, stated):
    table = kbart_identifiers(source)
    for name, wanted in [("source_column", column), ("id_type", id_type), ("digits", digits), ("valid", valid)]:
        if wanted is not None:
            table = table.filter(pl.col(name) == wanted)
    assert table.height == stated


def test_muse_invalid_issns_are_the_three_named_in_sources_md():
    invalid = kbart_identifiers("MUSE").filter(~pl.col("valid"))
    assert sorted(invalid.select("source_column", "raw").rows()) == [
        ("online_identifier", "1935-8562"),
        ("print_identifier", "0742-4617"),
        ("print_identifier", "1552-8339"),
    ]


def test_every_real_token_is_classified_and_none_is_lost():
    for source in FILES:
        frame = kbart(source)
        table = kbart_identifiers(source)
        non_empty = sum(frame.get_column(c).is_not_null().sum() for c in ["print_identifier", "online_identifier"])
        assert table.height == non_empty  # one token per filled KBART cell
        assert table.filter(pl.col("id_type") == "unknown").height == 0
        assert table.filter(pl.col("valid")).get_column("value").is_not_null().all()


def test_jstor_and_muse_share_issns_once_normalised():
    jstor = set(kbart_identifiers("JSTOR").filter(pl.col("valid")).get_column("value"))
    muse = set(kbart_identifiers("MUSE").filter(pl.col("valid")).get_column("value"))
    assert len(jstor & muse) == 948  # SOURCES.md: JSTOR and MUSE share 948


# --- parity of the vectorised check digits with python-stdnum ---------------------------

def _stdnum_reference(token: str) -> tuple[str, str | None]:
    """classify() as python-stdnum computes it, on the token cleaned the same way."""
    from stdnum import isbn, issn

    from almaclean.normalize.identifiers import _compact

    compact = _compact(token)
    if re.fullmatch(r"[0-9]{7}[0-9X]", compact):
        return ("issn", issn.format(compact) if issn.is_valid(compact) else None)
    if re.fullmatch(r"[0-9]{9}[0-9X]", compact):
        return ("isbn", isbn.to_isbn13(compact) if isbn.is_valid(compact) else None)
    if re.fullmatch(r"97[89][0-9]{10}", compact):
        return ("isbn", compact if isbn.is_valid(compact) else None)
    return ("unknown", None)


def _messy_forms(token: str, *, qualified: bool) -> list[str]:
    """The token as exports mangle it: hyphens gone, lower-case x, a wrong last digit, an
    ISBN-13 written as its ISBN-10; with `qualified`, also qualifiers, prefixes and junk."""
    from stdnum import isbn

    bare = token.replace("-", "")
    forms = [token, bare.lower()]
    if bare[-1:].isdigit():
        forms.append(bare[:-1] + str((int(bare[-1]) + 1) % 10))
    if len(bare) == 13 and bare.startswith("978") and isbn.is_valid(bare):
        ten = isbn.to_isbn10(bare)
        forms += [isbn.format(ten).lower(), ten[:-1] + str((int(ten[-1]) + 1) % 10 if ten[-1].isdigit() else 0)]
    if qualified:
        forms += [f"{token} (Online)", f"ISSN {token}", f"ISBN-13: {token} (pbk.)", f"[{bare}]", f"e-{token}",
                  f"{token}x", bare[:-1], f"{token} junk", bare[:-1] + "X"]
    return forms


def test_vectorised_classification_matches_stdnum_on_every_realdata_identifier_and_messy_forms():
    tokens: set[str] = set()
    for source in FILES:
        frame = kbart(source)
        for column in ("print_identifier", "online_identifier"):
            for i, cell in enumerate(frame.get_column(column).drop_nulls().to_list()):
                for value in split_values(cell):
                    tokens.update(_messy_forms(value, qualified=i % 10 == 0))
    tokens.update(["", "n/a", "X898-5510", "0000-0000", "00000000", "0000000000", "9790000000001", "97800000000000"])
    ordered = sorted(tokens)
    assert len(ordered) > 60_000  # every real identifier, several times over
    frame = pl.DataFrame({"key": list(range(len(ordered))), "cell": ordered})
    # a cell is split first; feed one token per cell with a separator-free column
    table = identifier_table(frame.filter(~pl.col("cell").str.contains(r"[;,|]")), "key", ["cell"])
    got = {raw: (id_type, value) for raw, id_type, value in table.select("raw", "id_type", "value").iter_rows()}
    expected = {raw: _stdnum_reference(raw) for raw in got}
    assert {raw: got[raw] for raw in got if got[raw] != expected[raw]} == {}
    assert {t for t, _ in expected.values()} == {"issn", "isbn", "unknown"}
    assert sum(v is None for t, v in expected.values() if t != "unknown") > 1000  # invalid ones are covered
    for token in ordered[:: max(1, len(ordered) // 300)]:
        assert classify(token) == _stdnum_reference(token)
