"""Properties over generated small institutions: whatever columns are dropped or renamed, no
CZ-linked portfolio (keeper), no portfolio with a PO line, no partial-coverage, other-edition
or title-only case ever reaches the deletion candidates (for PO lines: ever reaches a
deletion set). With every column given, every safe duplicate is a deletion candidate."""
from __future__ import annotations

from dataclasses import dataclass

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from almaclean.p2e.analyse import analyse_p2e
from almaclean.p2e.classify import P2E_COLUMNS, PO_LINE_COLUMNS, PORTFOLIO_COLUMNS
from almaclean.outputs.p2e_report import sets_withheld

COVERAGE = {  # relation -> (keeper statement, P2E statement)
    "contained": ("Available from 1990.", "Available from 2000 until 2010."),
    "neither": (None, None),
    "keeper starts later": ("Available from 2005.", "Available from 2000."),
    "keeper ends, P2E open": ("Available from 1888 until 2026.", "Available from 2001."),
    "one side only": (None, "Available from 2000."),
    "embargo hides": ("Available from 1990. Most recent 1 year(s) not available.", "Available from 2000."),
}
SAFE_COVERAGE = ("contained", "neither")
IDENTIFIERS = ("all shared", "one of several shared", "title only")
DROPPABLE = {
    "portfolios": ("coverage_statement", "availability", "collection_id", "collection_name", "interface_name",
                   "portfolio_linked_to_cz", "publication_date", "po_line", "is_standalone", "issn", "isbn"),
    "p2e": ("po_number", "issn", "isbn"),
}


def issn(n: int) -> str:
    digits = f"{n % 10_000_000:07d}"
    check = (11 - sum(int(d) * w for d, w in zip(digits, range(8, 1, -1))) % 11) % 11
    return f"{digits[:4]}-{digits[4:]}{'X' if check == 10 else check}"


def isbn(n: int) -> str:
    digits = f"978{n % 1_000_000_000:09d}"
    check = (10 - sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(digits)) % 10) % 10
    return f"{digits}{check}"


@dataclass(frozen=True)
class Case:
    book: bool
    keeper_available: bool
    keeper_in_collection: bool
    coverage: str
    identifiers: str
    po_line: bool
    po_in_p2e_file: bool
    years_apart: bool
    keeper_id_on_p2e_row: bool

    @property
    def safe_but_for_po_lines(self) -> bool:
        # An exact match is the same resource whatever the years; a book whose P2E carries an ISBN
        # the keeper lacks is another edition when the years are apart.
        other_edition = self.book and self.identifiers == "one of several shared" and self.years_apart
        return (self.keeper_available and self.keeper_in_collection and self.coverage in SAFE_COVERAGE
                and self.identifiers != "title only" and not other_edition and not self.keeper_id_on_p2e_row)

    @property
    def safe(self) -> bool:
        return self.safe_but_for_po_lines and not self.po_line


cases = st.builds(
    Case,
    book=st.booleans(),
    keeper_available=st.booleans() | st.just(True),
    keeper_in_collection=st.booleans() | st.just(True),
    coverage=st.sampled_from(list(COVERAGE)),
    identifiers=st.sampled_from(IDENTIFIERS),
    po_line=st.booleans(),
    po_in_p2e_file=st.booleans(),
    years_apart=st.booleans(),
    keeper_id_on_p2e_row=st.integers(0, 9).map(lambda n: n == 0),
)


def institution(generated: list[Case]):
    """Portfolio, P2E and PO-line rows for the cases, and the P2E portfolio ids by case."""
    portfolios, lines, po_lines, p2e_ids = [], [], [], []
    for n, case in enumerate(generated, start=1):
        own = isbn(n * 2 + 1) if case.book else issn(n * 2 + 1)
        other = isbn(n * 2) if case.book else issn(n * 2)
        keeper_ids = f"{own}; {other}"
        p2e_ids_cell = {"all shared": keeper_ids, "one of several shared": f"{own}; {isbn(900_000 + n)}",
                        "title only": isbn(800_000 + n) if case.book else issn(800_000 + n)}[case.identifiers]
        id_column = "isbn" if case.book else "issn"
        keep_cov, p2e_cov = COVERAGE[case.coverage]
        keeper_pid, p2e_pid = f"531{n:012d}3681", f"532{n:012d}3681"
        title = f"Generated title {n:03d} {'book' if case.book else 'journal'}"
        portfolios.append({
            "portfolio_id": keeper_pid, "mms_id": f"991{n:012d}3681", "title": title, id_column: keeper_ids,
            "collection_id": f"61{n:013d}" if case.keeper_in_collection else None,
            "collection_name": f"Collection {n}" if case.keeper_in_collection else None,
            "interface_name": f"Interface {n}" if case.keeper_in_collection else None,
            "portfolio_linked_to_cz": "Y", "availability": "Available" if case.keeper_available else "Not Available",
            "coverage_statement": keep_cov, "publication_date": "2015", "is_standalone": "No",
        })
        pid = keeper_pid if case.keeper_id_on_p2e_row else p2e_pid
        portfolios.append({
            "portfolio_id": pid, "mms_id": f"992{n:012d}3681", "title": title, id_column: p2e_ids_cell,
            "network_number": f"(EDU01)000{n:06d}", "portfolio_linked_to_cz": "N", "availability": "Available",
            "coverage_statement": p2e_cov, "publication_date": "2011" if case.years_apart else "2015",
            "is_standalone": "Yes", "po_line": f"POL-{n}" if case.po_line else None,
        })
        lines.append({"legacy_id": f"EDU01000{n:06d}", "p2e_type": "portfolio",
                      "po_number": f"POL-{n}" if case.po_line and case.po_in_p2e_file else None})
        if case.po_line:
            po_lines.append({"po_line": f"POL-{n}", "status": "ACTIVE", "mms_id": f"992{n:012d}3681",
                             "portfolio_id": pid})
        p2e_ids.append(pid)

    def frame(rows, columns):
        return pl.DataFrame([{c: r.get(c) for c in columns} for r in rows], schema={c: pl.String for c in columns})

    return (frame(portfolios, PORTFOLIO_COLUMNS), frame(lines, P2E_COLUMNS), frame(po_lines, PO_LINE_COLUMNS),
            p2e_ids)


def perturb(frame: pl.DataFrame, dropped: set[str], renamed: set[str]) -> pl.DataFrame:
    """Dropped columns are gone; renamed ones carry their values under a header no rule reads."""
    frame = frame.with_columns(pl.col(c).alias(f"{c} (renamed)") for c in sorted(renamed))
    return frame.drop(sorted(dropped | renamed))


@st.composite
def damaged(draw):
    generated = draw(st.lists(cases, min_size=1, max_size=8))
    portfolios, lines, po_lines, p2e_ids = institution(generated)
    frames = {"portfolios": portfolios, "p2e": lines}
    present = {}
    for kind, columns in DROPPABLE.items():
        dropped = set(draw(st.sets(st.sampled_from(columns), max_size=4)))
        renamed = set(draw(st.sets(st.sampled_from(columns), max_size=2))) - dropped
        frames[kind] = perturb(frames[kind], dropped, renamed)
        present[kind] = frozenset(frames[kind].columns) - {f"{c} (renamed)" for c in renamed}
    give_po_lines = draw(st.booleans())
    frames["po-lines"] = po_lines if give_po_lines else None
    present["po-lines"] = frozenset(PO_LINE_COLUMNS) if give_po_lines else frozenset()
    explicit = draw(st.booleans())  # present as KindRead says it, or derived from the values
    return generated, frames, (present if explicit else None), p2e_ids


PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(damaged())
def test_nothing_unsafe_ever_reaches_deletion_whatever_columns_are_missing(sample):
    generated, frames, present, p2e_ids = sample
    result = analyse_p2e(frames["portfolios"], frames["p2e"], frames["po-lines"], present=present)
    candidates = set(result.deletion_candidates["portfolio_id"].to_list())
    keepers = {f"531{n:012d}3681" for n in range(1, len(generated) + 1)}
    assert not candidates & keepers
    unsafe = {pid for pid, case in zip(p2e_ids, generated) if not case.safe_but_for_po_lines}
    assert not candidates & unsafe
    with_po = {pid for pid, case in zip(p2e_ids, generated) if case.po_line}
    if result.po_lines_checked:
        assert not candidates & with_po
    else:  # listed, but no deletion set is written
        assert sets_withheld(result, without_po_lines=False)
    assert result.deletion_candidates["portfolio_id"].is_unique().all()


@PROPERTY
@given(st.lists(cases, min_size=1, max_size=8))
def test_with_every_column_every_safe_duplicate_is_a_candidate_and_nothing_else(generated):
    portfolios, lines, po_lines, p2e_ids = institution(generated)
    present = {"portfolios": frozenset(PORTFOLIO_COLUMNS), "p2e": frozenset(P2E_COLUMNS),
               "po-lines": frozenset(PO_LINE_COLUMNS)}
    result = analyse_p2e(portfolios, lines, po_lines, present=present)
    assert result.not_checked == {}
    expected = {pid for pid, case in zip(p2e_ids, generated) if case.safe}
    assert set(result.deletion_candidates["portfolio_id"].to_list()) == expected
