"""Properties of the P2E decisions over generated pairs: no deletion across material types or on a
series ISSN; local data on the P2E never reaches a set; dropping an optional column never lowers
recall on the pairs it cannot affect."""
from __future__ import annotations

from dataclasses import dataclass

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from almaclean.model.portfolio import LOCAL_DATA, is_set
from almaclean.p2e.analyse import analyse_p2e
from almaclean.p2e.classify import P2E_COLUMNS, PO_LINE_COLUMNS, PORTFOLIO_COLUMNS
from almaclean.outputs.p2e_report import write_report
from test_p2e_properties import isbn, issn

PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                           HealthCheck.function_scoped_fixture])
ALL = {"portfolios": frozenset(PORTFOLIO_COLUMNS), "p2e": frozenset(P2E_COLUMNS), "po-lines": frozenset(PO_LINE_COLUMNS)}
BOOK, SERIAL = "book", "serial"


@dataclass(frozen=True)
class Pair:
    p2e_kind: str
    keeper_kind: str
    shared: str            # "isbn" | "issn": the type of the one value both records carry
    p2e_typed: bool        # the material type is in the export for the P2E record
    keeper_typed: bool
    p2e_extra_isbn: bool   # the P2E book also carries an ISBN the keeper lacks (its print ISBN, say)
    years_apart: bool
    local: tuple[tuple[str, str], ...]   # local data on the P2E portfolio (column, value)
    additional_po: bool


def _record_ids(kind: str, shared: str, n: int, side: int, extra_isbn: bool) -> dict[str, str]:
    """A book carries its ISBN (and its series' ISSN when the shared value is an ISSN); a serial its
    ISSN (and, atypically, an ISBN when the shared value is one)."""
    shared_isbn, shared_issn = isbn(10 * n), issn(10 * n)
    if kind == BOOK:
        isbns = [shared_isbn if shared == "isbn" else isbn(10 * n + side)]
        if extra_isbn:
            isbns.append(isbn(10 * n + 5))
        ids = {"isbn": "; ".join(isbns)}
        if shared == "issn":
            ids["issn"] = shared_issn  # the series ISSN
        return ids
    ids = {"issn": shared_issn if shared == "issn" else issn(10 * n + side)}
    if shared == "isbn":
        ids["isbn"] = shared_isbn
    return ids


def institution(pairs: list[Pair]):
    portfolios, lines = [], []
    for n, pair in enumerate(pairs, start=1):
        title = f"Generated work {n:03d}"
        keeper_ids = _record_ids(pair.keeper_kind, pair.shared, n, 1, False)
        p2e_ids = _record_ids(pair.p2e_kind, pair.shared, n, 2, pair.p2e_extra_isbn and pair.p2e_kind == BOOK)
        # a serial carrying an ISBN is told by its material type only: the export must have it then
        keeper_typed = pair.keeper_typed or (pair.keeper_kind == SERIAL and "isbn" in keeper_ids)
        p2e_typed = pair.p2e_typed or (pair.p2e_kind == SERIAL and "isbn" in p2e_ids)
        portfolios.append({
            "portfolio_id": f"531{n:012d}3681", "mms_id": f"991{n:012d}3681", "title": title, **keeper_ids,
            "collection_id": f"61{n:013d}", "collection_name": f"Collection {n}", "portfolio_linked_to_cz": "Y",
            "availability": "Available", "publication_date": "2015", "is_standalone": "No",
            "material_type": ("Book" if pair.keeper_kind == BOOK else "Journal") if keeper_typed else None,
        })
        portfolios.append({
            "portfolio_id": f"532{n:012d}3681", "mms_id": f"992{n:012d}3681", "title": title, **p2e_ids,
            "network_number": f"(EDU01)000{n:06d}", "portfolio_linked_to_cz": "N", "availability": "Available",
            "publication_date": "2011" if pair.years_apart else "2015", "is_standalone": "Yes",
            "material_type": ("Book" if pair.p2e_kind == BOOK else "Journal") if p2e_typed else None,
            "additional_po_lines": f"POL-{n}" if pair.additional_po else None, **dict(pair.local),
        })
        lines.append({"legacy_id": f"EDU01000{n:06d}", "p2e_type": "portfolio"})

    def frame(rows, columns):
        return pl.DataFrame([{c: r.get(c) for c in columns} for r in rows], schema={c: pl.String for c in columns})

    return frame(portfolios, PORTFOLIO_COLUMNS), frame(lines, P2E_COLUMNS), frame([], PO_LINE_COLUMNS)


def p2e_id(n: int) -> str:
    return f"532{n:012d}3681"


local_values = st.sampled_from(["Law School users only", "LIC-7", "Yes", "No", "n", " ", "Campus"])
pairs = st.builds(
    Pair, p2e_kind=st.sampled_from([BOOK, SERIAL]), keeper_kind=st.sampled_from([BOOK, SERIAL]),
    shared=st.sampled_from(["isbn", "issn"]), p2e_typed=st.booleans(), keeper_typed=st.booleans(),
    p2e_extra_isbn=st.booleans(), years_apart=st.booleans(),
    local=st.lists(st.tuples(st.sampled_from(LOCAL_DATA), local_values), max_size=2, unique_by=lambda t: t[0])
    .map(tuple),
    additional_po=st.integers(0, 5).map(lambda n: n == 0),
)


def proves_one_resource(pair: Pair) -> bool:
    return pair.p2e_kind == pair.keeper_kind and pair.shared == ("isbn" if pair.p2e_kind == BOOK else "issn")


def has_local_data(pair: Pair) -> bool:
    return any(is_set(column, value) for column, value in pair.local)


def other_edition(pair: Pair) -> bool:
    return pair.p2e_kind == BOOK and pair.p2e_extra_isbn and pair.years_apart


@PROPERTY
@given(st.lists(pairs, min_size=1, max_size=8))
def test_deletions_only_between_records_of_one_kind_on_that_kind_s_own_identifier(generated):
    result = analyse_p2e(*institution(generated), present=ALL)
    deleted = set(result.deletion_candidates["portfolio_id"])
    for n, pair in enumerate(generated, start=1):
        if p2e_id(n) in deleted:
            assert proves_one_resource(pair), pair
        expected = proves_one_resource(pair) and not has_local_data(pair) and not other_edition(pair) \
            and not pair.additional_po
        assert (p2e_id(n) in deleted) == expected, pair


@PROPERTY
@given(st.lists(pairs, min_size=1, max_size=8))
def test_local_data_on_the_p2e_never_reaches_a_set(tmp_path_factory, generated):
    result = analyse_p2e(*institution(generated), present=ALL)
    folder = tmp_path_factory.mktemp("sets")
    write_report(result, folder)
    in_sets = {line for f in (folder / "deletion-sets").glob("*.csv") for line in f.read_text().split()}
    for n, pair in enumerate(generated, start=1):
        if has_local_data(pair):
            assert p2e_id(n) not in in_sets and p2e_id(n) not in set(result.deletion_candidates["portfolio_id"])
            if proves_one_resource(pair) and not other_edition(pair) and not pair.additional_po:
                assert p2e_id(n) in set(result.copy_first["portfolio_id"])


OPTIONAL = ("publication_date", "material_type", *LOCAL_DATA, "additional_po_lines")


def cannot_affect(column: str, pair: Pair) -> bool:
    """Whether a column's absence can change this pair's decision, by what the pair holds there."""
    if column == "publication_date":
        return not (pair.p2e_kind == BOOK and pair.p2e_extra_isbn)  # only an unshared ISBN asks for the year
    if column == "material_type":  # only a record its identifiers alone would misread needs it
        return not (pair.keeper_kind == SERIAL and pair.shared == "isbn") and not (
            pair.p2e_kind == SERIAL and pair.shared == "isbn")
    if column == "additional_po_lines":
        return not pair.additional_po
    return column not in dict(pair.local)


@PROPERTY
@given(st.lists(pairs, min_size=1, max_size=8), st.sampled_from(OPTIONAL))
def test_dropping_an_optional_column_never_lowers_recall_on_pairs_it_cannot_affect(generated, column):
    portfolios, lines, po_lines = institution(generated)
    full = set(analyse_p2e(portfolios, lines, po_lines, present=ALL).deletion_candidates["portfolio_id"])
    present = {**ALL, "portfolios": ALL["portfolios"] - {column}}
    dropped = analyse_p2e(portfolios.with_columns(pl.lit(None, dtype=pl.String).alias(column)), lines, po_lines,
                          present=present)
    after = set(dropped.deletion_candidates["portfolio_id"])
    for n, pair in enumerate(generated, start=1):
        if cannot_affect(column, pair) and p2e_id(n) in full:
            assert p2e_id(n) in after, (column, pair)
