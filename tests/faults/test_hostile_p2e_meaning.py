"""Hostile P2E inputs the readers accept but a rule must not settle silently: coverage text the
parser cannot read (on either side, in any wording) is "not checked (coverage)", never "neither
states coverage"; P2E lines that disagree about one record are sent to review naming both lines,
whatever their order. Each file is generated here and run through the `almaclean p2e` command."""
from __future__ import annotations

import csv
from pathlib import Path

import pytest

from almaclean.cli import main
from conftest import sqlite_url

HEADER = ["Portfolio Id", "MMS Id", "Title", "ISSN", "Network Number", "Electronic Collection Id",
          "Electronic Collection Public Name", "Interface Name", "Portfolio Linked To CZ", "Availability",
          "Coverage Statement", "Is Standalone", "PO Line Reference", "Material Type"]
KEEPER_ID, P2E_ID = "531000000000001001", "532000000000002001"


def export(folder: Path, keeper_coverage: str, p2e_coverage: str) -> Path:
    path = folder / "portfolios.csv"
    with open(path, "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([
            HEADER,
            [KEEPER_ID, "991000000000001001", "Mens", "1492-8647", "", "61000000000000001", "Erudit Revues",
             "Erudit", "Y", "Available", keeper_coverage, "No", "", "Journal"],
            [P2E_ID, "992000000000002001", "Mens", "1492-8647", "(EDU01)000000001", "", "", "", "N",
             "Available", p2e_coverage, "Yes", "", "Journal"],
        ])
    return path


def p2e_run(tmp_path: Path, capsys, portfolios: Path, p2e_lines: str) -> tuple[int, Path, str]:
    p2e = tmp_path / "p2e.txt"
    p2e.write_bytes(p2e_lines.encode("utf-8"))
    code = main(["--db", sqlite_url(tmp_path), "p2e", "--institution", "EDU01", "--portfolios", str(portfolios),
                 "--p2e", str(p2e), "--out", str(tmp_path / "out"), "--without-po-lines"])
    out, _ = capsys.readouterr()
    (folder,) = (tmp_path / "out").iterdir()
    return code, folder, out


def rows(path: Path) -> list[dict]:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize(("keeper_coverage", "p2e_coverage"), [
    ("2000 - 2005 (print only)", "1990 - 2010"),
    ("Available from 2000 until 2005.", "voir la note de la collection"),
    ("Disponible de 2000 à 2005, sauf 2003", "Disponible de 1990 à 2010, sauf 1995"),
    ("Erhältlich ab ca. 2000", "Available from 1990 until 2010."),
    ("Only local", "Only local"),
])
def test_coverage_text_that_cannot_be_read_never_reaches_a_deletion_set(tmp_path, capsys, keeper_coverage,
                                                                         p2e_coverage):
    code, folder, out = p2e_run(tmp_path, capsys, export(tmp_path, keeper_coverage, p2e_coverage),
                                "000000001,portfolio\n")
    assert code == 0
    assert rows(folder / "deletion_candidates.csv") == []
    (review,) = rows(folder / "review.csv")
    assert review["portfolio_id"] == P2E_ID
    assert review["reason"].startswith("not checked (coverage): almaclean cannot read")
    assert "neither states coverage" not in review["reason"]
    assert (review["p2e_coverage"], review["keep_coverage"]) == (p2e_coverage, keeper_coverage)
    assert not any(P2E_ID in f.read_text(encoding="utf-8") for f in (folder / "deletion-sets").glob("*.csv"))


@pytest.mark.parametrize("lines", [
    "000000001,portfolio\n000000001,database\n",
    "000000001,database\n000000001,portfolio\n",
    "EDU01000000001,portfolio\n000000001,database\r\n",
])
def test_p2e_lines_that_disagree_go_to_review_naming_both_lines_in_any_order(tmp_path, capsys, lines):
    code, folder, _ = p2e_run(tmp_path, capsys, export(tmp_path, "Available from 1990.", "Available from 2000."),
                              lines)
    assert code == 0
    assert rows(folder / "deletion_candidates.csv") == []
    (review,) = rows(folder / "review.csv")
    first, second = (line.split(",") for line in lines.strip().splitlines())
    assert review["reason"].startswith("the P2E file lists this record on several lines that disagree: "
                                       f"row 1 ({first[0]}, {first[1].strip()}) and row 2 ({second[0]}, "
                                       f"{second[1].strip()})")
    assert review["reason"].endswith("check the record in Alma and decide by hand")


def test_the_same_line_twice_is_no_disagreement(tmp_path, capsys):
    code, folder, _ = p2e_run(tmp_path, capsys, export(tmp_path, "Available from 1990.", "Available from 2000."),
                              "000000001,portfolio\n000000001,portfolio\n")
    assert code == 0
    assert [r["portfolio_id"] for r in rows(folder / "deletion_candidates.csv")] == [P2E_ID]
