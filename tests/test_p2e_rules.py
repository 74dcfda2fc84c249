"""Each rule of the P2E clean-up on small hand-built canonical frames."""
from __future__ import annotations

import itertools

import polars as pl
import pytest

from almaclean.p2e.analyse import DATABASE_REASON, analyse_p2e
from almaclean.p2e.classify import PORTFOLIO_COLUMNS, P2E_COLUMNS, PO_LINE_COLUMNS
from almaclean.p2e.match import DIFFERENT_TITLE, DISAGREE, INVALID, JUNK, NEITHER_STATED, NOT_AVAILABLE, PARTIAL, TITLE_ONLY
from almaclean.p2e.relink import CANCELLED, SEVERAL_KEEPERS

_ids = itertools.count(1)


def new_id(prefix: str = "53") -> str:
    """A 17-digit Alma-like id."""
    return f"{prefix}{next(_ids):012d}3681"


def frame(rows: list[dict], columns: tuple[str, ...]) -> pl.DataFrame:
    return pl.DataFrame([{c: row.get(c) for c in columns} for row in rows], schema={c: pl.String for c in columns})


def keeper(title: str, *, collection: str = "JSTOR Arts & Sciences I", mms: str | None = None, **kw) -> dict:
    return {
        "portfolio_id": new_id(), "mms_id": mms or new_id("99"), "title": title,
        "collection_id": "61" + collection.encode().hex()[:14], "collection_name": collection,
        "interface_name": collection.split()[0], "portfolio_linked_to_cz": "Y", "collection_linked_to_cz": "Y",
        "availability": "Available", "url": "https://www.jstor.org/journal/x", **kw,
    }


def p2e_portfolio(title: str, legacy: str, **kw) -> dict:
    return {
        "portfolio_id": new_id(), "mms_id": new_id("99"), "title": title, "network_number": f"(OCoLC)12345; (EDU01){legacy}",
        "portfolio_linked_to_cz": "N", "availability": "Available", "is_standalone": "Yes",
        "url": "https://ezproxy.example.edu/login?url=https://www.jstor.org/stable/x", **kw,
    }


# Every canonical column was in the files (some empty in every row): every rule is checked.
ALL_PRESENT = {"portfolios": frozenset(PORTFOLIO_COLUMNS), "p2e": frozenset(P2E_COLUMNS),
               "po-lines": frozenset(PO_LINE_COLUMNS)}


def run(portfolios: list[dict], lines: list[dict], po_lines: list[dict] | None = None, **kw):
    kw.setdefault("present", ALL_PRESENT)
    line_frame = frame(lines, P2E_COLUMNS)
    if any("row" in item for item in lines):  # the P2E file's row numbers, as a file read gives them
        line_frame = line_frame.with_columns(pl.Series("row", [item.get("row") for item in lines], dtype=pl.Int64))
    return analyse_p2e(
        frame(portfolios, PORTFOLIO_COLUMNS),
        line_frame,
        frame(po_lines or [], PO_LINE_COLUMNS),
        **kw,
    )


def line(legacy: str, **kw) -> dict:
    return {"legacy_id": legacy, "p2e_type": "portfolio", **kw}


def deleted(result) -> set[str]:
    return set(result.deletion_candidates["portfolio_id"].to_list())


def review_reason(result, portfolio_id: str) -> str:
    rows = result.review.filter(pl.col("portfolio_id") == portfolio_id)
    assert rows.height == 1, result.review
    return rows["reason"][0]


# Rule 1: which portfolios are P2E ------------------------------------------------------------

def test_p2e_is_local_standalone_with_legacy_number_with_or_without_prefix():
    glued = p2e_portfolio("Mens", "000123456")
    bare = p2e_portfolio("Urban History Review", "000777777")
    not_in_file = p2e_portfolio("Local thing", "000999999")
    cz_with_number = keeper("Mens", network_number="(EDU01)000555555")
    result = run(
        [glued, bare, not_in_file, cz_with_number],
        [line("EDU01000123456"), line("000777777"), line("000555555"), line("EDU01000000404")],
    )
    assert result.counts["p2e_portfolios"] == 2
    assert result.not_in_p2e["portfolio_id"].to_list() == [not_in_file["portfolio_id"]]
    # The CZ-linked bib is not P2E even though it carries a legacy number; so is a line matching nothing.
    assert sorted(result.unmatched_lines["legacy_id"].to_list()) == ["000555555", "EDU01000000404"]


def test_oclc_number_never_ties_a_p2e_line():
    p = p2e_portfolio("Some journal", "000123456", network_number="(OCoLC)000123456")
    result = run([p], [line("000123456")])
    assert result.counts["p2e_portfolios"] == 0
    assert result.unmatched_lines.height == 1


# Rules 2 and 3: keepers and deletion candidates ------------------------------------------------

def test_shared_issn_with_available_keeper_is_a_deletion_candidate_with_evidence():
    k = keeper("Journal of Film and Video", issn="0742-4671; 1934-6018", coverage_statement="Available from 1984.")
    p = p2e_portfolio("Journal of film and video", "000000001", issn="1934-6018",
                      coverage_statement="Available from 1990 until 2000.")
    result = run([k, p], [line("000000001")])
    row = result.deletion_candidates.row(0, named=True)
    assert row["portfolio_id"] == p["portfolio_id"] and row["mms_id"] == p["mms_id"]
    assert row["keep_portfolio_id"] == k["portfolio_id"] and row["keep_mms_id"] == k["mms_id"]
    assert row["group"] == row["keep_collection"] == "JSTOR Arts & Sciences I"
    for text in ("ISSN 1934-6018", "Available from 1984.", "Available from 1990 until 2000.",
                 k["url"], p["url"]):
        assert text in row["evidence"]


@pytest.mark.parametrize(("collection", "expected"), [
    ({"collection_name": "JSTOR Arts & Sciences I", "interface_name": "JSTOR"}, "JSTOR Arts & Sciences I"),
    ({"collection_name": None, "interface_name": "JSTOR"}, "JSTOR"),
    ({"collection_name": None, "interface_name": None}, "61000000000000123"),
])
def test_the_keeper_s_collection_is_its_name_else_its_interface_else_its_id(collection, expected):
    k = keeper("Mens", issn="1492-8647", collection_id="61000000000000123", **collection)
    p = p2e_portfolio("Mens", "000000002", issn="1492-8647")
    result = run([k, p], [line("000000002")])
    assert result.deletion_candidates.select("portfolio_id", "keep_collection").rows() == [(p["portfolio_id"], expected)]


@pytest.mark.parametrize(
    ("keeper_value", "p2e_value"),
    [
        ("978-2-8124-1234-9", "2-8124-1234-8"),                 # ISBN-13 against hyphenated ISBN-10
        ("9782812412349", "2812412348 (pbk.)"),                  # a qualifier after the value
        ("9782812412349; 9780000000002", "2812412348 (pbk.); 9780000000002"),   # several per cell, all shared
        ("0000-006x", "0000006X"),                               # lower-case x, with and without hyphen
        ("1934-6018", "ISSN 1934 6018 (Online)"),
    ],
)
def test_messy_identifier_forms_match(keeper_value, p2e_value):
    column = "isbn" if len(keeper_value.replace("-", "")) > 9 else "issn"
    k = keeper("A title", **{column: keeper_value})
    p = p2e_portfolio("Another title", "000000002", **{column: p2e_value})
    assert deleted(run([k, p], [line("000000002")])) == {p["portfolio_id"]}


def test_identifier_from_the_p2e_file_line_counts_and_print_matches_electronic():
    k = keeper("Mens", issn="1492-8647")           # electronic ISSN only on the keeper
    p = p2e_portfolio("Mens", "000000003")          # bib without identifiers
    result = run([k, p], [line("000000003", issn="1492-8647")])
    assert deleted(result) == {p["portfolio_id"]}


def test_partial_or_disjoint_coverage_goes_to_review_never_to_deletion():
    k = keeper("Race/Ethnicity", issn="1935-8563", coverage_statement="Available from 2007 until 2012.")
    p = p2e_portfolio("Race/Ethnicity", "000000004", issn="1935-8563",
                      coverage_statement="Available from 2000 until 2010.")
    result = run([k, p], [line("000000004")])
    assert deleted(result) == set()
    assert review_reason(result, p["portfolio_id"]) == PARTIAL
    assert result.review["candidate_keepers"][0] == k["portfolio_id"]


def test_coverage_stated_on_one_side_only_is_review():
    k = keeper("Mens", issn="1492-8647")
    p = p2e_portfolio("Mens", "000000005", issn="1492-8647", coverage_statement="Available from 2000.")
    result = run([k, p], [line("000000005")])
    assert deleted(result) == set()
    assert result.review["portfolio_id"].to_list() == [p["portfolio_id"]]


def test_same_title_on_two_platforms_keeps_the_one_whose_coverage_contains():
    jstor = keeper("The Eugene O'neill Review", issn="1040-9483; 2161-4318",
                   coverage_statement="Available from 1989 until 2015.")
    muse = keeper("Eugene O'Neill Review", issn="2161-4318", collection="Project MUSE Premium",
                  coverage_statement="Available from 2010.")
    p = p2e_portfolio("Eugene O'Neill review", "000000006", issn="1040-9483; 2161-4318",
                      coverage_statement="Available from 2012 until 2014.")
    result = run([jstor, muse, p], [line("000000006")])
    row = result.deletion_candidates.row(0, named=True)
    # Both contain 2012-2014: ties are broken by the smaller portfolio id; the other one is listed.
    first, second = sorted([jstor["portfolio_id"], muse["portfolio_id"]])
    assert row["keep_portfolio_id"] == first
    assert row["other_keepers"] == second and f"other keepers: {second}" in row["evidence"]

    p2 = p2e_portfolio("Eugene O'Neill review", "000000007", issn="2161-4318",
                       coverage_statement="Available from 2016.")
    result = run([jstor, muse, p2], [line("000000007")])
    assert result.deletion_candidates["keep_portfolio_id"].to_list() == [muse["portfolio_id"]]


def test_keepers_on_unrelated_bibs_disagree():
    # The P2E journal carries the ISSNs of two unrelated journals, each on a bib of its own.
    native = keeper("Native Plants Journal", issn="1522-8339")
    mens = keeper("Native Plants Journal", issn="1492-8647", collection="Erudit")
    p = p2e_portfolio("Native plants journal", "000000008", issn="1522-8339; 1492-8647", material_type="Journal")
    result = run([native, mens, p], [line("000000008")])
    assert deleted(result) == set()
    assert review_reason(result, p["portfolio_id"]) == DISAGREE
    assert set(result.review["candidate_keepers"][0].split("; ")) == {native["portfolio_id"], mens["portfolio_id"]}


def test_keeper_bibs_sharing_only_a_junk_value_still_disagree():
    # Both unrelated bibs also carry a value that many unrelated titles carry (the P2E does not):
    # junk is no evidence, so it ties nothing.
    junk = "0000-0000"
    native = keeper("Native Plants Journal", issn=f"1522-8339; {junk}")
    mens = keeper("Native Plants Journal", issn=f"1492-8647; {junk}", collection="Erudit")
    crowd = [keeper(f"Unrelated title number {n}", issn=junk) for n in range(5)]
    p = p2e_portfolio("Native plants journal", "000000009", issn="1522-8339; 1492-8647", material_type="Journal")
    result = run([native, mens, *crowd, p], [line("000000009")], junk_threshold=5)
    assert deleted(result) == set()
    assert review_reason(result, p["portfolio_id"]) == DISAGREE
    # On fewer titles than the threshold the same value ties the two bibs: one title, deleted.
    assert deleted(run([native, mens, *crowd[:3], p], [line("000000009")], junk_threshold=5)) == {p["portfolio_id"]}


def test_a_shared_identifier_between_titles_with_nothing_in_common_is_review():
    # A journal's title with a book's ISBN (the record is a book: it has an ISBN and no material
    # type): the ISBN reaches the book, whose title has nothing in common with the P2E's.
    journal = keeper("Native Plants Journal", issn="1522-8339")
    book = keeper("Les Visionnaires - Comédie", isbn="9782812412349", collection="Classiques Garnier")
    p = p2e_portfolio("Native plants journal", "000000018", issn="1522-8339", isbn="9782812412349")
    result = run([journal, book, p], [line("000000018")])
    assert deleted(result) == set()
    assert review_reason(result, p["portfolio_id"]) == (
        f"{DIFFERENT_TITLE}: ISBN 9782812412349 shared; titles Native plants journal and Les Visionnaires - Comédie")


def test_keeper_bibs_tied_by_a_value_the_p2e_lacks_agree():
    # The P2E reaches JSTOR's bib by the print ISSN and MUSE's by another ISSN; the two bibs
    # share the online ISSN, which the P2E does not carry: one title, so they agree. Each side
    # carries an ISSN the other lacks, but the titles are alike: one serial, deleted.
    jstor = keeper("The Eugene O'Neill Review", issn="1040-9483; 2161-4318")
    muse = keeper("Eugene O'Neill Review", issn="2161-4318; 1522-8339", collection="Project MUSE Premium")
    p = p2e_portfolio("Eugene O'Neill review", "000000020", issn="1040-9483; 1522-8339")
    result = run([jstor, muse, p], [line("000000020")])
    assert deleted(result) == {p["portfolio_id"]}
    # Under another title the ISSNs each lacks say another serial: review, naming both titles.
    other = p2e_portfolio("Theatre Survey", "000000021", issn="1040-9483; 1522-8339")
    result = run([jstor, muse, other], [line("000000021")])
    assert review_reason(result, other["portfolio_id"]) == (
        f"{DIFFERENT_TITLE}: ISSN 1040-9483 shared; titles Theatre Survey and The Eugene O'Neill Review")
    # Without the shared online ISSN the bibs are unrelated: they disagree.
    muse_alone = keeper("Eugene O'Neill Review", issn="1522-8339", collection="Project MUSE Premium")
    result = run([jstor, muse_alone, p], [line("000000020")])
    assert review_reason(result, p["portfolio_id"]) == DISAGREE


def test_keeper_not_available_is_review():
    k = keeper("Mens", issn="1492-8647", availability="Not Available")
    p = p2e_portfolio("Mens", "000000009", issn="1492-8647")
    result = run([k, p], [line("000000009")])
    assert deleted(result) == set()
    assert review_reason(result, p["portfolio_id"]) == NOT_AVAILABLE


def test_invalid_identifier_is_review_with_the_raw_value():
    k = keeper("Native Plants Journal", issn="1522-8339")
    p = p2e_portfolio("Native Plants Journal", "000000010", issn="1552-8339")  # wrong check digit
    result = run([k, p], [line("000000010")])
    assert deleted(result) == set()
    assert review_reason(result, p["portfolio_id"]) == f"{INVALID}: 1552-8339"
    # The title tier still offers the candidate.
    assert result.review["candidate_keepers"][0] == k["portfolio_id"]


def test_junk_identifier_is_not_evidence():
    junk = "0000-0000"  # valid check digit, carried by many unrelated titles
    keepers = [keeper(f"Unrelated title number {n}", issn=junk) for n in range(6)]
    p = p2e_portfolio("Unrelated title number 0 (P2E copy)", "000000011", issn=junk)
    result = run([*keepers, p], [line("000000011")], junk_threshold=5)
    assert deleted(result) == set()
    assert review_reason(result, p["portfolio_id"]).startswith(f"{JUNK}: {junk} (7 titles)")
    # Below the threshold the same value is evidence.
    assert deleted(run([*keepers[:4], p], [line("000000011")], junk_threshold=5)) == {p["portfolio_id"]}


def test_a_value_on_exactly_threshold_titles_is_evidence_however_many_rows_carry_it():
    # Junk counts titles, not rows: five titles on seven portfolios (one title in two collections,
    # the P2E copy of another) are at the threshold, not over it: the value still proves the duplicate.
    value = "0000-0000"
    keepers = [keeper(f"Unrelated title number {n}", issn=value) for n in range(5)]
    twin = keeper("Unrelated title number 1", issn=value, collection="Project MUSE Premium")
    p = p2e_portfolio("Unrelated title number 0", "000000016", issn=value)
    result = run([*keepers, twin, p], [line("000000016")], junk_threshold=5)
    row = result.deletion_candidates.row(0, named=True)
    assert (row["portfolio_id"], row["keep_portfolio_id"]) == (p["portfolio_id"], keepers[0]["portfolio_id"])
    assert (row["shared"], row["verdict"]) == (f"ISSN {value}", NEITHER_STATED)
    # One more title over the threshold: junk, named with its count of titles.
    extra = keeper("Yet another unrelated title", issn=value)
    result = run([*keepers, twin, extra, p], [line("000000016")], junk_threshold=5)
    assert review_reason(result, p["portfolio_id"]) == f"{JUNK}: {value} (6 titles)"


def test_untitled_records_carrying_one_value_are_each_a_title_of_their_own_for_junk():
    # With no title, each bib (MMS id) is one title: six untitled bibs make the value junk.
    junk = "0000-0000"
    keepers = [keeper(None, issn=junk) for _ in range(6)]
    p = p2e_portfolio(None, "000000015", issn=junk)
    result = run([*keepers, p], [line("000000015")], junk_threshold=5)
    assert deleted(result) == set()
    assert review_reason(result, p["portfolio_id"]).startswith(f"{JUNK}: {junk} (7 titles)")


def test_title_match_only_is_review_with_year_gate():
    k = keeper("Théâtre complet. Tome I", isbn="9782812412349", collection="Classiques Garnier",
               publication_date="2015")
    near = p2e_portfolio("THEATRE COMPLET, tome I", "000000012", isbn="9780000000002", publication_date="2016")
    far = p2e_portfolio("Théâtre complet. Tome I", "000000013", publication_date="1990")
    result = run([k, near, far], [line("000000012"), line("000000013")])
    assert deleted(result) == set()
    assert review_reason(result, near["portfolio_id"]) == TITLE_ONLY
    assert result.groups["portfolio_id"].to_list() == [far["portfolio_id"]]


def test_database_and_package_records_are_reported_not_deleted():
    k = keeper("Academic Search", issn="1492-8647")
    p = p2e_portfolio("Academic Search", "000000014", issn="1492-8647")
    result = run([k, p], [line("000000014", p2e_type="Database")])
    assert deleted(result) == set()
    assert review_reason(result, p["portfolio_id"]) == DATABASE_REASON


# Rule 4: the POL guard ------------------------------------------------------------------------

def test_the_pol_guard_with_database_records_in_the_p2e_file():
    # A database record and a P2E portfolio, each with a PO line, beside one without: the guard
    # keeps the P2E portfolio out of the sets, and both guarded ids reach the writer's own check.
    k = keeper("Mens", issn="1492-8647")
    database = p2e_portfolio("Academic Search", "000000040", po_line="POL-40")
    ordered = p2e_portfolio("Mens", "000000041", issn="1492-8647", po_line="POL-41")
    plain = p2e_portfolio("Mens", "000000042", issn="1492-8647")
    result = run([k, database, ordered, plain],
                 [line("000000040", p2e_type="Database"), line("000000041"), line("000000042")])
    assert deleted(result) == {plain["portfolio_id"]}
    assert result.po_linked_ids.to_list() == sorted([database["portfolio_id"], ordered["portfolio_id"]])
    assert review_reason(result, database["portfolio_id"]) == DATABASE_REASON
    assert result.pol_relinks["portfolio_id"].to_list() == [ordered["portfolio_id"]]



def test_pol_from_any_source_blocks_deletion_and_becomes_a_relink():
    k = keeper("Mens", issn="1492-8647")
    by_portfolio = p2e_portfolio("Mens", "000000020", issn="1492-8647", po_line="POL-1")
    by_p2e_file = p2e_portfolio("Mens", "000000021", issn="1492-8647")
    by_bib = p2e_portfolio("Mens", "000000022", issn="1492-8647")
    cancelled = p2e_portfolio("Mens", "000000023", issn="1492-8647", po_line="POL-4")
    plain = p2e_portfolio("Mens", "000000024", issn="1492-8647")
    result = run(
        [k, by_portfolio, by_p2e_file, by_bib, cancelled, plain],
        [line(f"0000000{n}", po_number="POL-2" if n == 21 else None) for n in range(20, 25)],
        [{"po_line": "POL-3", "status": "ACTIVE", "mms_id": by_bib["mms_id"]},
         {"po_line": "POL-1", "status": "ACTIVE"}, {"po_line": "POL-4", "status": "Cancelled"}],
    )
    assert deleted(result) == {plain["portfolio_id"]}
    relinks = {r["portfolio_id"]: r for r in result.pol_relinks.iter_rows(named=True)}
    assert relinks[by_portfolio["portfolio_id"]]["po_line"] == "POL-1"
    assert relinks[by_p2e_file["portfolio_id"]]["po_line"] == "POL-2"
    assert relinks[by_bib["portfolio_id"]]["po_line"] == "POL-3"
    for pid in (by_portfolio["portfolio_id"], by_p2e_file["portfolio_id"], by_bib["portfolio_id"]):
        assert relinks[pid]["target_portfolio_id"] == k["portfolio_id"]
        assert relinks[pid]["target_mms_id"] == k["mms_id"]
        assert relinks[pid]["blocked_reason"] is None
    assert relinks[by_portfolio["portfolio_id"]]["po_line_status"] == "ACTIVE"
    assert relinks[cancelled["portfolio_id"]]["blocked_reason"] == CANCELLED
    # POL-2 comes from the P2E file only: its status is unknown, so the steps say to check it first.
    assert relinks[by_p2e_file["portfolio_id"]]["po_line_status"] is None
    assert relinks[by_p2e_file["portfolio_id"]]["steps"].startswith("0. This PO line's status is not")
    assert relinks[by_bib["portfolio_id"]]["steps"].startswith("1. ")


def test_pol_without_duplicate_is_kept_and_disagreeing_keepers_block():
    journal = keeper("Native Plants Journal", issn="1522-8339")
    other = keeper("Native Plants Journal", issn="1492-8647", collection="Erudit")
    lonely = p2e_portfolio("Local newsletter", "000000030", po_line="POL-30")
    torn = p2e_portfolio("Native plants journal", "000000031", issn="1522-8339; 1492-8647", po_line="POL-31")
    result = run([journal, other, lonely, torn], [line("000000030"), line("000000031")])
    relinks = {r["portfolio_id"]: r for r in result.pol_relinks.iter_rows(named=True)}
    assert lonely["portfolio_id"] not in relinks  # nothing to relink: kept, in a local group
    assert lonely["portfolio_id"] in set(result.groups["portfolio_id"])
    assert relinks[torn["portfolio_id"]]["blocked_reason"] == SEVERAL_KEEPERS
    assert relinks[torn["portfolio_id"]]["target_portfolio_id"] is None
    assert deleted(result) == set()


# Rule 6: local-collection groups ---------------------------------------------------------------

def test_groups_by_provider_and_host_with_proxy_stripped():
    a = p2e_portfolio("Video one", "000000040", url="https://ezproxy.example.edu/login?url=https://www.aspresolver.com/a")
    b = p2e_portfolio("Video two", "000000041", url="http://aspresolver.com/b")
    c = p2e_portfolio("Report", "000000042", url=None)
    result = run([a, b, c], [line("000000040", provider="Alexander Street Press"),
                             line("000000041", provider="Alexander  Street Press"),
                             line("000000042", url="https://www.gale.com/x")])
    groups = dict(result.groups.select("portfolio_id", "group").iter_rows())
    assert groups[a["portfolio_id"]] == groups[b["portfolio_id"]] == "Alexander Street Press - aspresolver.com"
    assert groups[c["portfolio_id"]] == "gale.com"
    assert deleted(result) == set() and result.review.height == 0


def test_the_analysis_keeps_no_hold_on_the_portfolio_export():
    """A caller that passes the portfolio export on without keeping it (services.p2e) gets its
    memory back: nothing the analysis returns refers to it. (When, inside the analysis, it is let
    go of is a memory figure: bench/p2e.py's peak RSS at 1,000,000 portfolios.)"""
    import gc
    import weakref

    k = keeper("Mens", issn="1492-8647")
    p = p2e_portfolio("Mens", "000000030", issn="1492-8647")
    frames = {"portfolios": frame([k, p], PORTFOLIO_COLUMNS)}
    export = weakref.ref(frames["portfolios"])
    result = analyse_p2e(frames.pop("portfolios"), frame([line("000000030")], P2E_COLUMNS),
                         frame([], PO_LINE_COLUMNS), present=ALL_PRESENT)
    gc.collect()
    assert export() is None
    assert deleted(result) == {p["portfolio_id"]}
    assert result.counts["portfolios"] == 2 and result.counts["keepers"] == 1
    assert result.keeper_ids.to_list() == [k["portfolio_id"]]
