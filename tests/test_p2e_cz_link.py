"""Which P2E portfolios would link to a CZ collection, given its title list (KBART or Alma export)."""
from __future__ import annotations

import csv
import json

import fastexcel
import polars as pl
import pytest

from almaclean.kinds import read_cz_titles, read_kind
from almaclean.p2e.analyse import analyse_p2e
from almaclean.p2e.cz_link import (
    COLLECTION_SHARE, CZ_LINK_COLUMNS, LINK_COLLECTION, LINK_PORTFOLIOS, MATCH_CHECK, MATCH_LINK, MATCH_NO_PLATFORM,
    POST_MIGRATION_CLEANUP,
)
from almaclean.p2e.match import PARTIAL
from almaclean.outputs.p2e_report import write_report
from almaclean.sample.generator import VENDORS, generate
from conftest import JSTOR, KBART_DIR, MUSE, kbart_of_all_titles, kbart_rows
from test_p2e_rules import keeper, line, p2e_portfolio, run

KBART_HEADER = ["publication_title", "print_identifier", "online_identifier", "date_first_issue_online",
                "date_last_issue_online", "embargo_info", "title_url"]


def valid_issns(n: int) -> list[str]:
    """n distinct ISSNs with valid check digits."""
    issns = []
    for body in range(1_234_000, 1_234_000 + n):
        digits = f"{body:07d}"
        check = (11 - sum(int(d) * w for d, w in zip(digits, range(8, 1, -1))) % 11) % 11
        issns.append(f"{digits[:4]}-{digits[4:]}{'X' if check == 10 else check}")
    return issns


def write_kbart(path, rows):
    with open(path, "w", encoding="utf-8", newline="") as handle:
        handle.write("\t".join(KBART_HEADER) + "\r\n")
        handle.write("\r\n".join("\t".join(row.get(c, "") for c in KBART_HEADER) for row in rows))
    return read_cz_titles(path)


def candidates_of(result) -> dict[str, dict]:
    return {r["portfolio_id"]: r for r in result.cz_link_candidates.iter_rows(named=True)}


def test_groups_covered_at_95_percent_link_as_a_collection_20_percent_title_by_title(tmp_path):
    issns = valid_issns(25)
    big = [p2e_portfolio(f"Press journal {i}", f"0000001{i:02d}", issn=issns[i],
                         url=f"https://journals.press.example.org/j{i}") for i in range(20)]
    small = [p2e_portfolio(f"Society bulletin {i}", f"0000002{i:02d}", issn=issns[20 + i],
                           url=f"https://www.society.example.net/b{i}") for i in range(5)]
    lines = [line(f"0000001{i:02d}", provider="Example Press") for i in range(20)]
    lines += [line(f"0000002{i:02d}", provider="Example Society") for i in range(5)]
    listed = [{"publication_title": f"Press Journal {i}", "online_identifier": issns[i],
               "title_url": f"https://journals.press.example.org/j{i}"} for i in range(19)]
    listed.append({"publication_title": "Society Bulletin 0", "print_identifier": issns[20],
                   "title_url": "https://society.example.net/b0"})
    cz = write_kbart(tmp_path / "EXAMPLE_GLOBAL_ALLJOURNALS.txt", listed)
    result = run(big + small, lines, cz_titles=[cz])
    shares = {r["group"]: r for r in result.cz_link_groups.iter_rows(named=True)}
    press = shares["Example Press - journals.press.example.org"]
    assert (press["portfolios"], press["matched"], press["share"]) == (20, 19, 0.95)
    assert press["share"] >= COLLECTION_SHARE and press["proposal"] == LINK_COLLECTION
    society = shares["Example Society - society.example.net"]
    assert (society["matched"], society["share"], society["proposal"]) == (1, 0.2, LINK_PORTFOLIOS)
    found = candidates_of(result)
    assert set(found) == {p["portfolio_id"] for p in big[:19]} | {small[0]["portfolio_id"]}
    row = found[big[0]["portfolio_id"]]
    assert row["cz_list"] == "EXAMPLE_GLOBAL_ALLJOURNALS" and row["match"] == MATCH_LINK
    assert row["evidence"].startswith(f"shared: {issns[0]} | CZ title: Press Journal 0 (row 2)")
    assert result.counts["cz_link_collections"] == 1


def test_coverage_the_list_lacks_is_a_check_not_a_link_and_the_contained_row_wins(tmp_path):
    partial = p2e_portfolio("Mens", "000000301", issn="1492-8647", coverage_statement="Available from 1990 until 2005.")
    history = p2e_portfolio("Mens", "000000302", issn="1492-8647", coverage_statement="Available from 2001 until 2005.")
    cz = write_kbart(tmp_path / "ERUDIT.txt", [
        {"publication_title": "Mens (earlier)", "online_identifier": "1492-8647",
         "date_first_issue_online": "1985", "date_last_issue_online": "1999", "title_url": "https://www.jstor.org/j"},
        {"publication_title": "Mens", "online_identifier": "1492-8647", "date_first_issue_online": "2000",
         "title_url": "https://www.jstor.org/j"},
    ])
    result = run([partial, history], [line("000000301"), line("000000302")], cz_titles=[cz])
    found = candidates_of(result)
    assert found[partial["portfolio_id"]]["match"] == MATCH_CHECK + PARTIAL
    assert found[history["portfolio_id"]]["match"] == MATCH_LINK
    assert found[history["portfolio_id"]]["cz_row"] == "3"  # the row whose coverage contains it
    assert "other list rows: 1" in found[history["portfolio_id"]]["evidence"]


def test_deletion_candidates_and_keepers_are_never_link_candidates(tmp_path):
    k = keeper("Mens", issn="1492-8647")
    duplicate = p2e_portfolio("Mens", "000000310", issn="1492-8647")
    cz = write_kbart(tmp_path / "ERUDIT.txt", [{"publication_title": "Mens", "online_identifier": "1492-8647"}])
    result = run([k, duplicate], [line("000000310")], cz_titles=[cz])
    assert set(result.deletion_candidates["portfolio_id"]) == {duplicate["portfolio_id"]}
    assert result.cz_link_candidates.height == 0 and result.counts["cz_link_candidates"] == 0


def test_without_title_lists_nothing_changes(tmp_path):
    result = run([p2e_portfolio("Mens", "000000320", issn="1492-8647")], [line("000000320")])
    assert result.cz_link_candidates.height == 0 and "cz_link_candidates" not in result.counts
    write_report(result, tmp_path)
    assert not (tmp_path / "cz_link_candidates.csv").exists()


@pytest.fixture(scope="module")
def muse_sample(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cz-sample")
    muse_list = kbart_of_all_titles(tmp_path_factory.mktemp("cz-list") / MUSE, "MUSE")
    manifest = generate(folder, seed=7, scale=0.4)
    truth = json.loads(manifest.path("truth").read_text(encoding="utf-8"))
    report = read_kind("p2e", manifest.path("p2e_report")).canonical
    result = analyse_p2e(
        read_kind("portfolios", manifest.path("portfolios")).canonical, report,
        read_kind("po-lines", manifest.path("po_lines")).canonical,
        cz_titles=[read_cz_titles(muse_list)],
    )
    return truth, report, result


def test_every_muse_p2e_portfolio_without_cz_duplicate_is_a_candidate_and_no_deletion_is(muse_sample):
    truth, report, result = muse_sample
    portfolio_of = {row["legacy_id"]: row["portfolio_id"] for row in truth["p2e_only"]}
    muse_lines = report.filter(pl.col("provider") == VENDORS["MUSE"])["legacy_id"]
    muse_only = {portfolio_of[legacy] for legacy in muse_lines if legacy in portfolio_of}
    assert len(muse_only) >= 10
    found = set(result.cz_link_candidates["portfolio_id"])
    assert muse_only <= found
    assert not found & set(result.deletion_candidates["portfolio_id"])
    assert set(result.cz_link_candidates["cz_list"]) == {MUSE.removesuffix(".txt")}
    kept = result.cz_link_candidates.filter(pl.col("p2e_status") == "kept, no CZ duplicate")
    assert set(kept["portfolio_id"]) <= set(result.groups["portfolio_id"])
    muse_group = result.cz_link_groups.filter(pl.col("group").str.starts_with(VENDORS["MUSE"]))
    assert muse_group["proposal"].to_list() == [LINK_COLLECTION]


def test_report_writes_the_candidates_csv_groups_csv_and_sheets(muse_sample, tmp_path):
    _, _, result = muse_sample
    counts = write_report(result, tmp_path)
    with open(tmp_path / "cz_link_candidates.csv", encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == list(CZ_LINK_COLUMNS)
    assert sorted(r[0] for r in rows[1:]) == sorted(result.cz_link_candidates["portfolio_id"])
    assert counts["cz_link_candidates"] == result.cz_link_candidates["portfolio_id"].n_unique()
    book = fastexcel.read_excel(str(tmp_path / "p2e_report.xlsx"))
    assert {"CZ link candidates", "CZ link groups", "CZ link steps", "Local collections"} <= set(book.sheet_names)
    groups = book.load_sheet("CZ link groups", dtypes="string").to_polars()
    assert "100.0%" in groups["share"].to_list()
    summary = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    assert any(step.startswith("7. Link to the CZ") and POST_MIGRATION_CLEANUP in step for step in summary["next_steps"])


def test_junk_identifiers_are_no_evidence_on_either_side(tmp_path):
    issns = valid_issns(8)
    shared_by_all = [{"publication_title": f"Unrelated title {i}", "online_identifier": "0000-0000",
                      "print_identifier": issns[i]} for i in range(6)]
    cz = write_kbart(tmp_path / "NOISY.txt", shared_by_all)
    local = p2e_portfolio("Local newsletter", "000000330", issn="0000-0000")
    result = run([local], [line("000000330")], cz_titles=[cz])
    assert result.cz_link_candidates.height == 0
    listed = p2e_portfolio("Unrelated title 2", "000000331", issn=f"{issns[2]}; 0000-0000")
    result = run([listed], [line("000000331")], cz_titles=[cz])
    assert result.cz_link_candidates["shared"].to_list() == [issns[2]]


def test_the_closing_lines_name_the_lists_read_and_what_linking_and_grouping_gave(tmp_path, capsys):
    """The terminal says everything the run did: the CZ title lists it read, the link-to-CZ
    candidates (per list) and the proposed local collections, with the counts of their files."""
    from almaclean.cli import main

    sample = generate(tmp_path / "sample", seed=7, scale=0.4)
    muse_list = kbart_of_all_titles(tmp_path / MUSE, "MUSE")
    code = main(["p2e", "--institution", "EDU01", "--out", str(tmp_path / "out"),
                 "--portfolios", str(sample.path("portfolios")), "--p2e", str(sample.path("p2e_report")),
                 "--po-lines", str(sample.path("po_lines")), "--cz-titles", str(muse_list), str(KBART_DIR / JSTOR)])
    lines = capsys.readouterr().out.splitlines()
    assert code == 0
    (run,) = (tmp_path / "out").iterdir()

    def rows(name):
        with open(run / name, encoding="utf-8-sig", newline="") as handle:
            return list(csv.DictReader(handle))

    candidates, groups, collections = rows("cz_link_candidates.csv"), rows("groups.csv"), rows("local_collections.csv")
    per_list = {name: len({r["portfolio_id"] for r in candidates if r["cz_list"] == name.removesuffix(".txt")})
                for name in (MUSE, JSTOR)}
    assert per_list[MUSE] > 10
    linked_whole = sum(r["proposal"] == LINK_COLLECTION for r in rows("cz_link_groups.csv"))
    assert (f"  CZ title lists read (kept in the run folder, not stored): {MUSE} (893 titles, KBART), "
            f"{JSTOR} ({len(kbart_rows(JSTOR)):,} titles, KBART)") in lines
    assert (f"  link to the CZ: {len({r['portfolio_id'] for r in candidates}):,} P2E portfolios that stay match a CZ "
            f"title list ({per_list[MUSE]:,} in {MUSE}, {per_list[JSTOR]:,} in {JSTOR}); {linked_whole:,} local "
            "collection(s) to link whole to a CZ collection, the other matches one by one (cz_link_candidates.csv, "
            "cz_link_groups.csv)") in lines
    assert (f"  local collections: {len(groups):,} P2E portfolios with no CZ duplicate in {len(collections):,} proposed "
            "local collection(s) (local_collections.csv, group-sets/)") in lines


def test_a_p2e_copy_on_another_platform_is_not_linked_to_the_list(tmp_path):
    # The same journal, ISSN shared: the P2E copy is hosted on JSTOR, the list is Project MUSE's.
    on_jstor = p2e_portfolio("Mens", "000000320", issn="1492-8647", material_type="Journal",
                             url="https://ezproxy.example.edu/login?url=https://www.jstor.org/journal/mens")
    on_muse = p2e_portfolio("Mens", "000000321", issn="1492-8647", material_type="Journal",
                            url="https://muse.jhu.edu/journal/501")
    no_url = p2e_portfolio("Mens", "000000322", issn="1492-8647", material_type="Journal", url=None)
    lines = [line(f"00000032{n}", provider="Johns Hopkins") for n in (0, 1, 2)]
    cz = write_kbart(tmp_path / "PROJECTMUSE.txt", [{"publication_title": "Mens", "online_identifier": "1492-8647",
                                                   "title_url": "https://muse.jhu.edu/pub/1/journal/501"}])
    result = run([on_jstor, on_muse, no_url], lines, cz_titles=[cz])
    found = candidates_of(result)
    assert on_jstor["portfolio_id"] not in found
    assert found[on_muse["portfolio_id"]]["match"] == MATCH_LINK
    assert "P2E host: muse.jhu.edu, list host: muse.jhu.edu" in found[on_muse["portfolio_id"]]["evidence"]
    assert found[no_url["portfolio_id"]]["match"].startswith(MATCH_NO_PLATFORM)
    # group shares count the platform-matched titles only, of the portfolios the group keeps
    shares = {r["group"]: r for r in result.cz_link_groups.iter_rows(named=True)}
    assert shares["Johns Hopkins - muse.jhu.edu"]["matched"] == 1
    assert "Johns Hopkins - jstor.org" not in shares and "Johns Hopkins" not in shares


def test_review_rows_are_candidates_one_by_one_and_name_no_group(tmp_path):
    k = keeper("Mens", issn="1492-8647", coverage_statement="Available from 2001.")
    partial = p2e_portfolio("Mens", "000000330", issn="1492-8647", coverage_statement="Available from 1990.")
    cz = write_kbart(tmp_path / "JSTOR.txt", [{"publication_title": "Mens", "online_identifier": "1492-8647",
                                             "title_url": "https://www.jstor.org/j"}])
    result = run([k, partial], [line("000000330", provider="JSTOR")], cz_titles=[cz])
    row = candidates_of(result)[partial["portfolio_id"]]
    assert row["group"] is None and row["evidence"].endswith("P2E portfolio: in review: partial or disjoint coverage")
    assert result.cz_link_groups.height == 0  # a portfolio in review belongs to no local collection


def _csv_rows(path) -> list[dict]:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def test_every_group_named_in_any_output_is_a_local_collection(tmp_path):
    # P2E portfolios of three providers and two platforms: kept, in review, relinked, with a proxy
    k = keeper("Mens", issn="1492-8647", coverage_statement="Available from 2001.")
    issns = valid_issns(4)
    kept = [p2e_portfolio(f"Journal {n}", f"00000036{n}", issn=issns[n], material_type="Journal",
                          url=f"https://ezproxy.example.edu/login?url=https://muse.jhu.edu/journal/{n}")
            for n in range(3)]
    jstor = p2e_portfolio("Journal 3", "000000363", issn=issns[3], url="https://www.jstor.org/journal/j3")
    partial = p2e_portfolio("Mens", "000000364", issn="1492-8647", coverage_statement="Available from 1990.")
    blank = p2e_portfolio("Local newsletter", "000000365", url="https://doi.org/10.3138/news.1")
    lines = [line(f"00000036{n}", provider="Johns Hopkins" if n < 3 else "JSTOR " if n == 3 else "")
             for n in range(6)]
    cz = write_kbart(tmp_path / "PROJECTMUSE.txt", [
        {"publication_title": f"Journal {n}", "online_identifier": issns[n],
         "title_url": f"https://muse.jhu.edu/pub/1/journal/{n}"} for n in range(4)])
    result = run([k, *kept, jstor, partial, blank], lines, cz_titles=[cz])
    out = tmp_path / "out"
    write_report(result, out)
    collections = {r["group"] for r in _csv_rows(out / "local_collections.csv")}
    assert collections == {"Johns Hopkins - muse.jhu.edu", "JSTOR - jstor.org", "doi.org/10.3138"}
    named = {
        "groups.csv": {r["group"] for r in _csv_rows(out / "groups.csv")},
        "cz_link_candidates.csv": {r["group"] for r in _csv_rows(out / "cz_link_candidates.csv")} - {""},
        "cz_link_groups.csv": {r["group"] for r in _csv_rows(out / "cz_link_groups.csv")},
        "p2e_proxy_urls.csv": {r["group"] for r in _csv_rows(out / "p2e_proxy_urls.csv")},
    }
    for name, groups in named.items():
        assert groups and groups <= collections, name
    assert {r["group"] for r in _csv_rows(out / "cz_link_groups.csv")} == {"Johns Hopkins - muse.jhu.edu"}
