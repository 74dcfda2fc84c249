"""A nightly institution whose inputs (its current stored files, the options, the mapping and
almaclean's rules) are those of its last succeeded run is not analysed again: that run's
findings stand, every one still open, and report.md says since which run; the bundle still
verifies (its re-run analyses in full and must find the same). Any change of an input is a
full analysis."""
from __future__ import annotations

import csv
import shutil

import pytest

from almaclean.nightly import history, reuse
from almaclean.nightly.changes import OPEN
from almaclean.services import nightly as nightly_service
from almaclean.services.verify import verify_run
from almaclean.store.db import make_engine
from almaclean.sample.generator import generate


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    folder = tmp_path_factory.mktemp("reuse-sample")
    generate(folder, seed=11, scale=0.1)
    return folder


def inbox_of(sample, root, code="EDU01"):
    for kind, name in (("portfolios", "portfolios.csv"), ("p2e", "p2e.txt"), ("po-lines", "po_lines.csv")):
        (root / code / kind).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(sample / name, root / code / kind / name)
    return root


def night(engine, inbox, out):
    run = nightly_service.run_nightly(engine, inbox, out=out)
    assert not run.failed, run.lines()
    return run


def rows(path):
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def test_an_unchanged_night_reuses_the_findings_a_full_analysis_would_give(db_url, sample, tmp_path, monkeypatch):
    engine = make_engine(db_url)
    inbox = inbox_of(sample, tmp_path / "inbox")
    first = night(engine, inbox, tmp_path / "out")
    second = night(engine, inbox, tmp_path / "out")
    one, two = first.results[0], second.results[0]
    assert two.run.reused_from == one.run.run_id and two.run.previous_run_id == one.run.run_id
    assert not (second.folder / two.run.folder / "p2e").exists()   # the first run's p2e/ still holds
    # the same findings: every one open, the same outcomes, the same P2E counts and not-checked lines
    assert two.run.changes[OPEN] == sum(one.run.outcomes.values()) == sum(two.run.outcomes.values())
    assert two.run.outcomes == one.run.outcomes and two.counts == one.counts and two.not_checked == one.not_checked
    markdown = (second.folder / two.run.folder / "report.md").read_text(encoding="utf-8")
    assert f"Unchanged since run #{one.run.run_id}: the stored files, options and almaclean rules" in markdown
    assert any(f"unchanged since run #{one.run.run_id}" in line for line in second.lines())
    # a third unchanged night still points to the run that analysed
    third = night(engine, inbox, tmp_path / "out")
    assert third.results[0].run.reused_from == one.run.run_id
    assert [r["findings"] for r in history.runs(engine, "EDU01")] == [sum(one.run.outcomes.values())] * 3

    # the same night analysed in full (reuse switched off) reports exactly the same changes
    monkeypatch.setattr(history, "reuse_facts", lambda engine, run_id: None)
    full_engine = make_engine(db_url.replace(".db", "-full.db")) if db_url.startswith("sqlite") else None
    if full_engine is not None:
        night(full_engine, inbox, tmp_path / "full")
        analysed = night(full_engine, inbox, tmp_path / "full")
        full = analysed.results[0]
        assert full.run.reused_from is None and (analysed.folder / full.run.folder / "p2e").is_dir()
        assert rows(analysed.folder / full.run.folder / "changes.csv") == rows(
            second.folder / two.run.folder / "changes.csv")
        assert (full.run.changes, full.run.outcomes, full.counts, full.not_checked) == (
            two.run.changes, two.run.outcomes, two.counts, two.not_checked)
    monkeypatch.undo()
    # the bundle of the reused run verifies: its re-run analyses in full and finds them all again
    checked = verify_run(second.folder, db_url=None)
    assert checked.ok, checked.lines


def _change_portfolios(inbox, sample):
    source = (sample / "portfolios.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    (inbox / "EDU01" / "portfolios" / "portfolios-later.csv").write_text("".join(source[:-1]), encoding="utf-8")


def _add_mapping(inbox, sample):
    (inbox / "EDU01" / "mapping.toml").write_text("[portfolios]\n", encoding="utf-8")


@pytest.mark.parametrize("change", ["a stored file", "the mapping", "an option", "almaclean's rules"])
def test_any_change_of_an_input_or_option_is_a_full_analysis(db_url, sample, tmp_path, monkeypatch, change):
    engine = make_engine(db_url)
    inbox = inbox_of(sample, tmp_path / "inbox")
    first = night(engine, inbox, tmp_path / "out")
    if change == "a stored file":
        _change_portfolios(inbox, sample)
    elif change == "the mapping":
        _add_mapping(inbox, sample)
    elif change == "an option":
        monkeypatch.setattr(reuse, "NIGHTLY_OPTIONS", {**reuse.NIGHTLY_OPTIONS, "set_size": 5_000})
    else:
        monkeypatch.setattr(reuse, "rules_digest", lambda: "0" * 64)
    second = night(engine, inbox, tmp_path / "out")
    run = second.results[0].run
    assert run.reused_from is None and run.previous_run_id == first.results[0].run.run_id
    assert (second.folder / run.folder / "p2e" / "p2e_report.xlsx").is_file()
    assert "Unchanged since" not in (second.folder / run.folder / "report.md").read_text(encoding="utf-8")
    # and the night after it, unchanged again, reuses that full analysis
    third = night(engine, inbox, tmp_path / "out")
    assert third.results[0].run.reused_from == run.run_id


def test_the_fingerprint_names_every_input():
    base = reuse.inputs_fingerprint({"portfolios": ["a"], "p2e": ["b"]}, mapping=None)
    assert base == reuse.inputs_fingerprint({"p2e": ["b"], "portfolios": ["a"]}, mapping=None)
    others = [reuse.inputs_fingerprint({"portfolios": ["a2"], "p2e": ["b"]}, mapping=None),
              reuse.inputs_fingerprint({"portfolios": ["a", "c"], "p2e": ["b"]}, mapping=None),
              reuse.inputs_fingerprint({"portfolios": ["a"], "p2e": ["b"]}, mapping=b""),
              reuse.inputs_fingerprint({"portfolios": ["a"], "p2e": ["b"]}, mapping=None, options={}),
              reuse.inputs_fingerprint({"portfolios": ["a"], "p2e": ["b"]}, mapping=None, rules="other")]
    assert len({base, *others}) == 6
