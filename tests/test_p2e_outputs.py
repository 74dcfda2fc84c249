"""Set files and the run folder of the P2E clean-up: names, headers, splitting, ids as text."""
from __future__ import annotations

import csv
import json

import fastexcel
import polars as pl

from almaclean.p2e.analyse import analyse_p2e
from almaclean.p2e.classify import P2E_COLUMNS, PO_LINE_COLUMNS, PORTFOLIO_COLUMNS
from almaclean.outputs.p2e_report import write_report
from almaclean.outputs.p2e_sets import DELETE_JOB_PARAMETERS, plan_sets, safe_name, write_sets


def test_plan_splits_each_group_at_the_size_with_safe_names():
    ids = [f"5349669791{n:07d}" for n in range(25)]
    frame = pl.DataFrame({"group": ["JSTOR Arts & Sciences I"] * 20 + ["Project MUSE"] * 5, "id": ids})
    plan = plan_sets(frame, group="group", id_column="id", size=10)
    files = plan.group_by("file", maintain_order=True).len()
    assert files.rows() == [
        ("JSTOR_Arts_Sciences_I_1.csv", 10), ("JSTOR_Arts_Sciences_I_2.csv", 10), ("Project_MUSE_1.csv", 5),
    ]
    assert sorted(plan["id"].to_list()) == ids


def test_groups_whose_safe_names_collide_never_share_a_file():
    frame = pl.DataFrame({"group": ["A/B", "A:B"], "id": ["53000000000000001", "53000000000000002"]})
    plan = plan_sets(frame, group="group", id_column="id", size=10)
    assert safe_name("A/B") == safe_name("A:B") == "A_B"
    assert plan["file"].n_unique() == 2


def test_set_file_is_header_then_one_id_per_line(tmp_path):
    ids = ["5349669791000003681", "53496697910003681", "53496697910013681"]
    plan = plan_sets(pl.DataFrame({"group": ["G"] * 3, "id": ids}), group="group", id_column="id", size=2)
    summary = write_sets(tmp_path, plan, header="PID")
    assert summary.rows() == [("G", "G_1.csv", 2), ("G", "G_2.csv", 1)]
    first = (tmp_path / "G_1.csv").read_text(encoding="utf-8")
    second = (tmp_path / "G_2.csv").read_text(encoding="utf-8")
    assert first.splitlines()[0] == "PID" and second.splitlines()[0] == "PID"
    assert sorted(first.splitlines()[1:] + second.splitlines()[1:]) == sorted(ids)


def _frame(rows, columns):
    return pl.DataFrame([{c: r.get(c) for c in columns} for r in rows], schema={c: pl.String for c in columns})


def _institution():
    keep = {"portfolio_id": "53100000000000001", "mms_id": "99100000000000001", "title": "Mens",
            "issn": "1492-8647", "collection_id": "61000000000000001", "collection_name": "Erudit Revues",
            "portfolio_linked_to_cz": "Y", "availability": "Available", "url": "https://www.erudit.org/mens"}
    local = {"portfolio_linked_to_cz": "N", "is_standalone": "Yes", "availability": "Available"}
    portfolios = [
        keep,
        {**local, "portfolio_id": "53200000000000001", "mms_id": "99200000000000001", "title": "Mens",
         "issn": "1492 8647", "network_number": "(EDU01)000000001"},
        {**local, "portfolio_id": "53200000000000002", "mms_id": "99200000000000002", "title": "Mens",
         "issn": "1492-8647", "network_number": "(EDU01)000000002", "po_line": "POL-9"},
        {**local, "portfolio_id": "53200000000000003", "mms_id": "99200000000000003", "title": "Mens",
         "issn": "1492-8647", "network_number": "(EDU01)000000003", "coverage_statement": "Available from 1990."},
        {**local, "portfolio_id": "53200000000000004", "mms_id": "99200000000000004", "title": "Local annual report",
         "network_number": "(EDU01)000000004", "url": "https://ezproxy.example.edu/login?url=https://reports.example.org/1"},
    ]
    lines = [{"legacy_id": f"EDU0100000000{n}", "p2e_type": "portfolio"} for n in range(1, 6)]
    po_lines = [{"po_line": "POL-9", "status": "ACTIVE"}]
    return analyse_p2e(_frame(portfolios, PORTFOLIO_COLUMNS), _frame(lines, P2E_COLUMNS), _frame(po_lines, PO_LINE_COLUMNS))


def _csv(path):
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle))


def test_run_folder_follows_the_output_contract(tmp_path):
    result = _institution()
    counts = write_report(result, tmp_path, set_header="Portfolio Id", set_size=1)

    deletion = _csv(tmp_path / "deletion_candidates.csv")
    assert deletion[0] == ["portfolio_id", "mms_id", "keep_portfolio_id", "keep_mms_id", "keep_collection",
                           "evidence", "group"]
    assert [r[0] for r in deletion[1:]] == ["53200000000000001"]
    assert deletion[1][2:5] == ["53100000000000001", "99100000000000001", "Erudit Revues"]
    relinks = _csv(tmp_path / "pol_relinks.csv")
    assert relinks[0] == ["po_line", "po_line_status", "portfolio_id", "mms_id", "title", "target_portfolio_id",
                          "target_mms_id", "target_title", "blocked_reason"]
    assert relinks[1] == ["POL-9", "ACTIVE", "53200000000000002", "99200000000000002", "Mens", "53100000000000001",
                          "99100000000000001", "Mens", ""]
    review = _csv(tmp_path / "review.csv")
    assert review[0] == ["portfolio_id", "mms_id", "reason", "candidate_keepers", "legacy_id", "title", "keep_title",
                         "p2e_coverage", "keep_coverage", "p2e_url", "keep_url", "local_data"]
    assert [r[0] for r in review[1:]] == ["53200000000000003"]
    assert review[1][5:11] == ["Mens", "Mens", "Available from 1990.", "", "", "https://www.erudit.org/mens"]
    groups = _csv(tmp_path / "groups.csv")
    assert groups == [["portfolio_id", "group", "host", "po_lines"],
                      ["53200000000000004", "reports.example.org", "reports.example.org", ""]]
    proxies = _csv(tmp_path / "p2e_proxy_urls.csv")
    assert proxies == [["portfolio_id", "mms_id", "group", "url", "url_without_proxy"],
                       ["53200000000000004", "99200000000000004", "reports.example.org",
                        "https://ezproxy.example.edu/login?url=https://reports.example.org/1",
                        "https://reports.example.org/1"]]
    assert _csv(tmp_path / "copy_to_keeper.csv")[0][:3] == ["portfolio_id", "mms_id", "title"]

    assert _csv(tmp_path / "deletion-sets" / "Erudit_Revues_1.csv") == [["Portfolio Id"], ["53200000000000001"]]
    readme = (tmp_path / "deletion-sets" / "README.txt").read_text(encoding="utf-8")
    for name, value in DELETE_JOB_PARAMETERS:
        assert f"{name}: {value}" in readme
    assert (tmp_path / "group-sets" / "reports.example.org_1.csv").exists()

    summary = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    assert summary["deletion_candidates"] == counts["deletion_candidates"] == 1
    assert summary["pol_relinks"] == 1 and summary["review"] == 1 and summary["group_portfolios"] == 1
    assert summary["next_steps"][0].startswith("1. POL relinks")

    assert summary["buckets"] == {"deletion_candidates": 1, "copy_first": 0, "pol_relink_portfolios_ready": 1,
                                  "pol_relink_portfolios_blocked": 0, "review_only": 1, "group_portfolios": 1}
    assert summary["partition"].startswith("4 P2E portfolios = 1 in deletion sets + 0 to copy to their keeper first")

    book = fastexcel.read_excel(tmp_path / "p2e_report.xlsx")
    assert book.sheet_names[:6] == ["Summary", "Deletion candidates", "POL relinks", "Review", "Copy first", "Groups"]
    review_sheet = book.load_sheet("Review", dtypes="string").to_polars()
    assert review_sheet.columns[6:11] == ["Keeper title", "P2E coverage", "Keeper coverage", "P2E URL (proxy removed)",
                                          "Keeper URL (proxy removed)"]
    relink_sheet = book.load_sheet("POL relinks", dtypes="string").to_polars()
    assert relink_sheet["P2E title"].to_list() == ["Mens"] and relink_sheet["Keeper title"].to_list() == ["Mens"]
    sheet = book.load_sheet("Deletion candidates", dtypes="string").to_polars()
    assert sheet["P2E portfolio id"].to_list() == ["53200000000000001"]
    assert sheet["Shared identifiers"].to_list() == ["ISSN 1492-8647"]


def test_the_summary_sheet_says_what_to_do_first_in_words_and_counts_as_numbers(tmp_path):
    result = _institution()
    counts = write_report(result, tmp_path)
    sheet = fastexcel.read_excel(tmp_path / "p2e_report.xlsx").load_sheet("Summary").to_polars()
    assert sheet.columns == ["Item", "What to know", "Count"]
    items = sheet["Item"].to_list()
    first_count = next(i for i, count in enumerate(sheet["Count"].to_list()) if count is not None)
    assert items[:first_count].count("what to do") >= 5 and sheet["What to know"][first_count:].is_null().all()
    assert sheet["What to know"].to_list()[items.index("what to do")].startswith("1. POL relinks")
    assert sheet["Count"].dtype.is_numeric()
    labelled = dict(zip(items[first_count:], sheet["Count"][first_count:].to_list()))
    assert labelled["deletion candidates"] == counts["deletion_candidates"] == 1
    assert not any("_" in item for item in items), "labels are words, not code names"
