"""The P2E service end to end: real files in, database in between, run folder out."""
from __future__ import annotations

import csv
import json

import pytest

from almaclean.errors import InputError
from conftest import p2e_run

PORTFOLIOS = [
    ["Portfolio Id", "MMS Id", "Title", "ISSN", "ISBN", "Network Number", "Electronic Collection Id",
     "Electronic Collection Public Name", "Portfolio Linked To CZ", "Availability", "Portfolio Static URL",
     "PO Line Reference", "Coverage Statement", "Is Standalone"],
    ["53100000000000001", "99100000000000001", "Journal of Film and Video", "0742-4671; 1934-6018", "", "",
     "61000000000000001", "Project MUSE Premium Collection", "Y", "Available", "https://muse.jhu.edu/j/1", "",
     "Available from 1984.", "No"],
    ["53200000000000001", "99200000000000001", "Journal of film and video", "1934-6018", "",
     "(OCoLC)123; (EDU01)000000001", "", "", "N", "Available", "https://ezproxy.x.edu/login?url=https://muse.jhu.edu/j/1",
     "", "Available from 1990 until 2000.", "Yes"],
    ["53200000000000002", "99200000000000002", "Journal of film and video", "19346018", "",
     "(EDU01)000000002", "", "", "N", "Available", "", "", "", "Yes"],
    ["53200000000000003", "99200000000000003", "Théâtre complet. Tome I", "", "2-8124-1234-8",
     "(EDU01)000000003", "", "", "N", "Available", "https://classiques-garnier.com/x", "", "", "Yes"],
]
PO_LINES = [["PO Line Reference", "Status", "MMS Id"], ["POL-77", "ACTIVE", "99200000000000002"]]


def _write(path, rows):
    with open(path, "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)
    return path


def _csv(path):
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def test_flow_writes_the_run_folder_and_reuses_stored_files(tmp_path):
    portfolios = _write(tmp_path / "portfolios.csv", PORTFOLIOS)
    po_lines = _write(tmp_path / "po_lines.csv", PO_LINES)
    p2e = tmp_path / "p2e.txt"
    p2e.write_text("EDU01000000001,portfolio\nEDU01000000002,portfolio\nEDU01000000003,portfolio\n"
                   "EDU01000000404,portfolio\n", encoding="utf-8")
    db = f"sqlite:///{tmp_path / 'almaclean.db'}"

    with pytest.raises(InputError, match="no P2E file"):
        p2e_run(db_url=db, portfolios=portfolios, institution="edu01", out=tmp_path / "out")

    run = p2e_run(db_url=db, portfolios=None, p2e=p2e, po_lines=po_lines, institution="edu01", out=tmp_path / "out",
                   set_size=5)
    deletion = _csv(run / "deletion_candidates.csv")
    assert [r["portfolio_id"] for r in deletion] == ["53200000000000001"]
    relinks = _csv(run / "pol_relinks.csv")
    assert [(r["po_line"], r["portfolio_id"], r["target_portfolio_id"]) for r in relinks] == [
        ("POL-77", "53200000000000002", "53100000000000001")
    ]
    groups = _csv(run / "groups.csv")
    assert [(r["portfolio_id"], r["host"]) for r in groups] == [("53200000000000003", "classiques-garnier.com")]
    set_file = run / "deletion-sets" / "Project_MUSE_Premium_Collection_1.csv"
    assert set_file.read_text(encoding="utf-8").splitlines() == ["Portfolio Id", "53200000000000001"]
    assert (run / "p2e_report.xlsx").exists() and (run / "summary.json").exists()
    assert (run / "p2e_unmatched.csv").read_text(encoding="utf-8").count("EDU01000000404") == 1

    # Same stored data, new run folder: nothing re-read from files.
    again = p2e_run(db_url=db, portfolios=None, institution="edu01", out=tmp_path / "out")
    assert again != run
    assert _csv(again / "deletion_candidates.csv") == deletion


def test_portfolios_stored_under_another_scope_are_analysed_with_the_new_file(tmp_path):
    """A run analyses the file given plus the current files of the kind's other scopes."""
    from almaclean.store.db import open_database
    from almaclean.store.ingest import ingest_file

    db = f"sqlite:///{tmp_path / 'almaclean.db'}"
    keeper, *p2e_rows = PORTFOLIOS[1:]
    keepers = _write(tmp_path / "cz.csv", [PORTFOLIOS[0], keeper])
    ingest_file(open_database(db), "portfolios", keepers, "edu01", scope="CZ collections")
    local = _write(tmp_path / "local.csv", [PORTFOLIOS[0], *p2e_rows])
    p2e = tmp_path / "p2e.txt"
    p2e.write_text("EDU01000000001,portfolio\n", encoding="utf-8")

    run = p2e_run(db_url=db, portfolios=local, p2e=p2e, institution="edu01", out=tmp_path / "out")
    # the keeper lives only in the other scope's file: found, so the P2E duplicate is a candidate
    assert [(r["portfolio_id"], r["keep_portfolio_id"]) for r in _csv(run / "deletion_candidates.csv")] == [
        ("53200000000000001", "53100000000000001")]


def test_a_storage_failure_leaves_no_run_folder_and_stores_nothing(tmp_path, monkeypatch):
    """The outputs are written while the files are stored: a failed store must not publish them."""
    import almaclean.services.p2e as p2e_module
    from almaclean.store.db import open_database
    from almaclean.store.load import stored_status

    def full_disk(engine, pending, institution):
        raise OSError("disk full")

    portfolios = _write(tmp_path / "portfolios.csv", PORTFOLIOS)
    p2e = tmp_path / "p2e.txt"
    p2e.write_text("EDU01000000001,portfolio\n", encoding="utf-8")
    db = f"sqlite:///{tmp_path / 'almaclean.db'}"
    monkeypatch.setattr(p2e_module, "store_pending", full_disk)
    with pytest.raises(OSError, match="disk full"):
        p2e_run(db_url=db, portfolios=portfolios, p2e=p2e, institution="edu01", out=tmp_path / "out")
    assert list((tmp_path / "out").iterdir()) == []  # neither a run folder nor a staging folder
    assert stored_status(open_database(db)).height == 0


def test_cz_title_lists_given_to_the_command_are_kept_in_the_bundle_and_verify(tmp_path, capsys):
    """--cz-titles: the lists are read first (a bad one stores nothing), their candidates written,
    the lists kept under inputs/cz-titles/, and the run verifies from its bundle alone."""
    from almaclean.cli import main
    from almaclean.services.verify import verify_run
    from almaclean.store.db import open_database
    from almaclean.store.load import stored_status

    portfolios = _write(tmp_path / "portfolios.csv", PORTFOLIOS)
    p2e = tmp_path / "p2e.txt"
    p2e.write_text("EDU01000000003,portfolio\n", encoding="utf-8")
    kbart = tmp_path / "Garnier_KBART.txt"
    kbart.write_text("publication_title\tprint_identifier\tonline_identifier\tdate_first_issue_online\t"
                     "date_last_issue_online\tembargo_info\ttitle_url\n"
                     "Théâtre complet. Tome I\t9782812412349\t\t\t\t\thttps://classiques-garnier.com/x\n",
                     encoding="utf-8")
    db = f"sqlite:///{tmp_path / 'a.db'}"
    broken = tmp_path / "broken.txt"
    broken.write_text("title\tnotes\nA\tB\n", encoding="utf-8")
    args = ["p2e", "--institution", "edu01", "--portfolios", str(portfolios), "--p2e", str(p2e), "--db", db,
            "--out", str(tmp_path / "out")]
    assert main([*args, "--cz-titles", str(broken)]) == 2
    assert "broken.txt" in capsys.readouterr().err
    assert stored_status(open_database(db, read_only=True)).is_empty()

    assert main([*args, "--cz-titles", str(kbart)]) == 0
    (run,) = (tmp_path / "out").glob("p2e-*")
    candidates = _csv(run / "cz_link_candidates.csv")
    assert [(r["portfolio_id"], r["cz_list"]) for r in candidates] == [("53200000000000003", "Garnier_KBART")]
    assert (run / "inputs" / "cz-titles" / kbart.name).read_bytes() == kbart.read_bytes()
    result = verify_run(run)
    assert result.ok, result.lines


def test_the_command_without_po_line_evidence_lists_candidates_but_writes_no_deletion_set(tmp_path, capsys):
    """No PO line column, no PO number, no PO line export: exit 0, candidates listed, no
    deletion-sets/ folder, and the last lines say what was not checked and what to do."""
    from almaclean.cli import main

    header, *rows = PORTFOLIOS
    keep = [i for i, name in enumerate(header) if name != "PO Line Reference"]
    portfolios = _write(tmp_path / "portfolios.csv", [[row[i] for i in keep] for row in PORTFOLIOS])
    p2e = tmp_path / "p2e.txt"
    p2e.write_text("EDU01000000001,portfolio\n", encoding="utf-8")
    args = ["p2e", "--institution", "edu01", "--portfolios", str(portfolios), "--p2e", str(p2e),
            "--db", f"sqlite:///{tmp_path / 'a.db'}"]
    assert main([*args, "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    (run,) = (tmp_path / "out").glob("p2e-*")
    assert [r["portfolio_id"] for r in _csv(run / "deletion_candidates.csv")] == ["53200000000000001"]
    assert not (run / "deletion-sets").exists()
    assert "not checked: PO lines" in out and "--without-po-lines" in out

    assert main([*args, "--out", str(tmp_path / "anyway"), "--without-po-lines"]) == 0
    (run,) = (tmp_path / "anyway").glob("p2e-*")
    assert (run / "deletion-sets" / "README.txt").read_text(encoding="utf-8").startswith(
        "WRITTEN WITHOUT PO-LINE EVIDENCE")
    assert json.loads((run / "bundle.json").read_text(encoding="utf-8"))["parameters"]["without_po_lines"] is True


def test_a_column_one_analysed_file_lacks_is_not_checked_for_the_kind(tmp_path):
    """Keepers stored under another scope with a coverage column, the P2E portfolios' export
    without one: coverage is not checked for this run (a file without the column is missing
    evidence, not empty coverage), so nothing depending on it reaches a deletion set."""
    from almaclean.store.db import open_database
    from almaclean.store.ingest import ingest_file

    db = f"sqlite:///{tmp_path / 'almaclean.db'}"
    header, keeper, *p2e_rows = PORTFOLIOS
    keepers = _write(tmp_path / "cz.csv", [header, keeper])
    ingest_file(open_database(db), "portfolios", keepers, "edu01", scope="CZ collections")
    drop = header.index("Coverage Statement")
    local = _write(tmp_path / "local.csv", [[c for i, c in enumerate(r) if i != drop] for r in [header, *p2e_rows]])
    p2e = tmp_path / "p2e.txt"
    p2e.write_text("EDU01000000002,portfolio\n", encoding="utf-8")
    run = p2e_run(db_url=db, portfolios=local, p2e=p2e, institution="edu01", out=tmp_path / "out",
                  without_po_lines=True)
    assert _csv(run / "deletion_candidates.csv") == []
    review = {r["portfolio_id"]: r["reason"] for r in _csv(run / "review.csv")}
    assert review["53200000000000002"].startswith("not checked (coverage)")
