"""Audit bundles and `verify`: fresh resync, P2E and nightly bundles verify; one changed input
byte, one changed output byte, or an output the re-run does not reproduce makes it fail."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import text

from almaclean.bundle.manifest import BUNDLE_FILE, lock_file_record, output_records, read_bundle
from almaclean.bundle.runs import stored_inputs, write_back
from almaclean.errors import AlmacleanError, InputError
from almaclean.kinds import read_kind
from almaclean.nightly import history
from almaclean.nightly.report import read_findings
from almaclean.store.db import make_engine
from almaclean.store.ingest import file_digest, ingest_file
from almaclean.write.csvfile import write_csv
from conftest import REPO

T1, T2 = 1_700_000_000, 1_700_090_000  # nightly inbox file times: run 1's files, then the newer export


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    from almaclean.sample.generator import generate

    return generate(tmp_path_factory.mktemp("sample"), seed=11, scale=0.04, ee_rows=60)


def _flip_byte(path: Path, offset: int | None = None) -> None:
    data = bytearray(path.read_bytes())
    at = len(data) // 2 if offset is None else offset
    data[at] ^= 0x01
    path.write_bytes(bytes(data))


def test_lock_file_and_outputs_listing(tmp_path):
    record = lock_file_record()
    assert record["sha256"] == file_digest(REPO / "uv.lock")[0]
    assert lock_file_record(tmp_path / "x" / "y.py")["sha256"] is None

    (tmp_path / "inputs" / "p2e").mkdir(parents=True)
    (tmp_path / "inputs" / "p2e" / "a.txt").write_text("x", encoding="utf-8")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.csv").write_text("b\n", encoding="utf-8")
    (tmp_path / BUNDLE_FILE).write_text("{}", encoding="utf-8")
    assert [r["file"] for r in output_records(tmp_path)] == ["sub/b.csv"]


def test_a_folder_without_bundle_json_is_not_a_bundle(tmp_path):
    with pytest.raises(InputError, match="not an audit bundle"):
        read_bundle(tmp_path)
    (tmp_path / BUNDLE_FILE).write_text('{"flow": "p2e"}', encoding="utf-8")
    with pytest.raises(InputError, match="missing"):
        read_bundle(tmp_path)


def test_written_back_files_read_as_the_originals(sample, tmp_path, db_url):
    """The stored rows written back (headed CSV and the headerless P2E text file) give the same
    canonical rows as the files that were ingested."""
    engine = make_engine(db_url)
    for kind, role in (("portfolios", "portfolios"), ("p2e", "p2e")):
        original = sample.path(role)
        stored = ingest_file(engine, kind, original, "EDU01")
        copy = write_back(engine, stored.source_file_id, tmp_path / kind)
        before, after = read_kind(kind, original), read_kind(kind, copy)
        assert after.table.header == before.table.header
        assert after.canonical.equals(before.canonical)
        assert after.canonical.height > 50


def test_a_given_file_changed_after_it_was_stored_is_kept_as_its_stored_rows(sample, tmp_path):
    """The bundle keeps a copy of a given file only when the copy is the file that was stored;
    an export overwritten meanwhile (same name) is kept as its stored rows instead."""
    engine = make_engine(f"sqlite:///{tmp_path / 'user.db'}")
    p2e = tmp_path / "given" / "p2e.txt"
    p2e.parent.mkdir()
    shutil.copyfile(sample.path("p2e"), p2e)
    po_lines = tmp_path / "given" / "po_lines.csv"
    shutil.copyfile(sample.path("po_lines"), po_lines)
    stored = {kind: ingest_file(engine, kind, path, "EDU01") for kind, path in (("p2e", p2e), ("po-lines", po_lines))}
    _flip_byte(p2e)  # the P2E file is overwritten after the run read and stored it
    run = tmp_path / "run"
    records = {r["kind"]: r for r in stored_inputs(
        engine, "EDU01", run, given={"p2e": [p2e], "po-lines": [po_lines]},
        analysed={kind: [result.source_file_id] for kind, result in stored.items()})}
    assert records["po-lines"]["sha256"] == stored["po-lines"].sha256 and "written_back" not in records["po-lines"]
    assert records["po-lines"]["original_path"] == str(po_lines.absolute())
    assert records["p2e"]["written_back"] is True and records["p2e"]["original_path"] is None
    assert records["p2e"]["original_sha256"] == stored["p2e"].sha256
    assert sorted(p.name for p in (run / "inputs" / "p2e").iterdir()) == [records["p2e"]["file"].rsplit("/", 1)[1]]
    assert read_kind("p2e", run / records["p2e"]["file"]).canonical.equals(
        read_kind("p2e", sample.path("p2e")).canonical)


def test_resync_and_p2e_bundles_verify_and_detect_changes(sample, tmp_path):
    from conftest import p2e_run
    from conftest import resync_run
    from almaclean.services.verify import verify_run

    exports = [sample.out_dir / name for name in sample.extended_exports[:2]]
    resync_run = resync_run(exports, po_lines=sample.path("po_lines"), institution="EDU01", out=tmp_path / "out",
                             db_url=f"sqlite:///{tmp_path / 'user.db'}")
    bundle = json.loads((resync_run / BUNDLE_FILE).read_text(encoding="utf-8"))
    assert bundle["flow"] == "resync" and bundle["environment"]["lock_file"]["sha256"]
    assert [r["role"] for r in bundle["inputs"]] == ["extended-export", "extended-export", "po-lines"]
    assert [r["sha256"] for r in bundle["inputs"][:2]] == [file_digest(e)[0] for e in exports]
    assert not any(r["file"].startswith("inputs/") for r in bundle["outputs"])
    assert "summary.xlsx" in {r["file"] for r in bundle["outputs"]}

    # P2E: portfolios ingested on an earlier run, the P2E and PO line files given now.
    db = f"sqlite:///{tmp_path / 'user.db'}"
    p2e_run(portfolios=sample.path("portfolios"), p2e=sample.path("p2e"), institution="EDU01",
             out=tmp_path / "first", db_url=db)
    p2e_run = p2e_run(portfolios=None, p2e=sample.path("p2e"), po_lines=sample.path("po_lines"),
                       institution="EDU01", out=tmp_path / "out", db_url=db)
    inputs = {r["role"]: r for r in read_bundle(p2e_run)["inputs"]}
    assert inputs["portfolios"]["written_back"] is True
    assert inputs["portfolios"]["original_sha256"] == file_digest(sample.path("portfolios"))[0]
    assert inputs["p2e"]["sha256"] == file_digest(sample.path("p2e"))[0]
    assert inputs["p2e"]["original_path"] == str(sample.path("p2e").absolute())

    for run in (resync_run, p2e_run):
        result = verify_run(run)
        assert result.ok, result.lines

    # One byte of an input copy (the P2E file kept in inputs/).
    p2e_copy = p2e_run / inputs["p2e"]["file"]
    shutil.copytree(p2e_run, tmp_path / "input-edit")
    _flip_byte(tmp_path / "input-edit" / inputs["p2e"]["file"], 3)
    result = verify_run(tmp_path / "input-edit")
    assert not result.ok
    assert any(line.startswith("input changed") and inputs["p2e"]["file"] in line for line in result.lines)
    assert p2e_copy.read_bytes() == sample.path("p2e").read_bytes()

    # One byte of an output: bundle.json's sha256 no longer matches.
    edited = next(r["file"] for r in bundle["outputs"] if r["file"].endswith("changes.csv"))
    shutil.copytree(resync_run, tmp_path / "output-edit")
    _flip_byte(tmp_path / "output-edit" / edited)
    result = verify_run(tmp_path / "output-edit")
    assert not result.ok and result.lines == [f"output edited: {edited} (sha256 differs from bundle.json)"]

    # The same edit with bundle.json forged to match: the re-run still tells.
    forged = tmp_path / "forged"
    shutil.copytree(tmp_path / "output-edit", forged)
    payload = json.loads((forged / BUNDLE_FILE).read_text(encoding="utf-8"))
    for record in payload["outputs"]:
        if record["file"] == edited:
            record["sha256"] = file_digest(forged / edited)[0]
    (forged / BUNDLE_FILE).write_text(json.dumps(payload), encoding="utf-8")
    result = verify_run(forged)
    assert result.lines == [f"re-run output differs: {edited}"]


def test_a_run_made_before_later_ingests_verifies_and_a_stored_delta_analyses_like_the_file(sample, tmp_path):
    """A P2E run on the stored export; then a later export that differs by 5% is stored as a
    delta. The first run still verifies against the database's ledger, and a run on the stored
    later export writes the same outputs as a run given that file in a fresh database."""
    from almaclean.sample.changes import changed_export
    from almaclean.services.verify import verify_run
    from conftest import p2e_run

    db = f"sqlite:///{tmp_path / 'user.db'}"
    engine = make_engine(db)
    ingest_file(engine, "portfolios", sample.path("portfolios"), "EDU01")
    first = p2e_run(p2e=sample.path("p2e"), po_lines=sample.path("po_lines"), institution="EDU01",
                    out=tmp_path / "first", db_url=db)
    later = changed_export(sample.path("portfolios"), tmp_path / "portfolios-later.csv", share=0.05)
    stored = ingest_file(engine, "portfolios", later, "EDU01")
    with engine.connect() as conn:
        new_rows = conn.execute(text("SELECT content_rows FROM source_files WHERE id = :i"),
                                {"i": stored.source_file_id}).scalar_one()
    assert 0 < new_rows < stored.rows / 10  # 1/30 changed + 1/30 added: stored; the rest shared

    result = verify_run(first, ledger=engine)
    assert result.ok, result.lines
    on_delta = p2e_run(p2e=sample.path("p2e"), po_lines=sample.path("po_lines"), institution="EDU01",
                       out=tmp_path / "second", db_url=db)
    on_file = p2e_run(portfolios=later, p2e=sample.path("p2e"), po_lines=sample.path("po_lines"),
                      institution="EDU01", out=tmp_path / "fresh", db_url=f"sqlite:///{tmp_path / 'fresh.db'}")

    def outputs(run: Path) -> dict[str, bytes]:
        # bundle.json names its run and paths; inputs/ copies are named by their stored file id
        return {p.relative_to(run).as_posix(): p.read_bytes() for p in sorted(run.rglob("*"))
                if p.is_file() and p.name != BUNDLE_FILE and "inputs" not in p.relative_to(run).parts}

    assert outputs(on_delta) == outputs(on_file)
    assert len(outputs(on_file)) > 5


def _forge(run: Path, edited: str) -> None:
    """bundle.json made to agree with an edited file (an input or an output)."""
    payload = json.loads((run / BUNDLE_FILE).read_text(encoding="utf-8"))
    for record in payload["inputs"] + payload["outputs"]:
        if record["file"] == edited:
            record["sha256"] = file_digest(run / edited)[0]
    (run / BUNDLE_FILE).write_text(json.dumps(payload), encoding="utf-8")


def test_nightly_bundles_rerun_every_file_from_the_kept_inputs(prefect_server, sample, tmp_path, monkeypatch):
    """Two nightly runs over a changing inbox: the second compares with the first, keeps its
    findings as an input, and verify rewrites report.md, changes.csv and the summaries byte for byte."""
    from almaclean.orchestration.flows import nightly_flow
    from almaclean.services.verify import verify_run

    inbox, out, db = tmp_path / "inbox", tmp_path / "out", f"sqlite:///{tmp_path / 'user.db'}"
    monkeypatch.setenv("ALMACLEAN_DB_URL", db)
    edu = inbox / "EDU01"
    for role, folder in (("portfolios", "portfolios"), ("p2e", "p2e"), ("po_lines", "po-lines")):
        (edu / folder).mkdir(parents=True)
        shutil.copyfile(sample.path(role), edu / folder / sample.path(role).name)
        os.utime(edu / folder / sample.path(role).name, (T1, T1))
    first = nightly_flow(inbox, out=out).folder

    bundle = read_bundle(first)
    (entry,) = bundle["parameters"]["institutions"]
    assert (entry["code"], entry["folder"], entry["status"], entry["previous_run_id"]) == \
        ("EDU01", "EDU01", "succeeded", None)
    assert sorted(r["role"] for r in bundle["inputs"]) == ["p2e", "po-lines", "portfolios"]
    assert all(r["file"].startswith("inputs/EDU01/") and "written_back" not in r for r in bundle["inputs"])
    result = verify_run(first)
    assert result.ok, result.lines

    # Run 2: Alma deleted two deletion candidates (a newer portfolio export), and a second
    # institution fails on a bad P2E file.
    first_changes = pl.read_csv(first / "EDU01" / "changes.csv", infer_schema=False)
    gone = first_changes.filter(pl.col("outcome") == "delete")["portfolio_id"].head(2).to_list()
    assert len(gone) == 2
    portfolios = pl.read_csv(sample.path("portfolios"), infer_schema=False)
    write_csv(edu / "portfolios" / "portfolios-newer.csv", portfolios.filter(~pl.col("Portfolio Id").is_in(gone)))
    os.utime(edu / "portfolios" / "portfolios-newer.csv", (T2, T2))
    (inbox / "BAD02" / "p2e").mkdir(parents=True)
    (inbox / "BAD02" / "p2e" / "p2e.txt").write_text("EDU01000100000,portfolio\nEDU01000100004,journal\n",
                                                     encoding="utf-8")
    with pytest.raises(AlmacleanError, match="BAD02"):
        nightly_flow(inbox, out=out)
    (second,) = set(out.glob("nightly-*")) - {first}

    bundle = read_bundle(second)
    entries = {e["code"]: e for e in bundle["parameters"]["institutions"]}
    runs = history.runs(make_engine(db), "EDU01")
    assert [entries["EDU01"]["run_id"], entries["EDU01"]["previous_run_id"]] == [runs[1]["id"], runs[0]["id"]]
    assert entries["BAD02"]["status"] == "failed" and "journal" in entries["BAD02"]["error"]
    (kept,) = [r for r in bundle["inputs"] if r["role"] == "previous-findings"]
    assert kept["file"] == "inputs/EDU01/previous_findings.csv" and kept["run_id"] == runs[0]["id"]
    previous = read_findings(second / kept["file"])
    assert previous.equals(history.run_findings(make_engine(db), runs[0]["id"]))
    assert set(previous["portfolio_id"]) == set(first_changes["portfolio_id"])
    changes = pl.read_csv(second / "EDU01" / "changes.csv", infer_schema=False)
    assert set(changes.filter(pl.col("change") == "resolved")["portfolio_id"]) == set(gone)
    for record in bundle["outputs"]:  # the run folder's name (it carries the time) is in no file
        assert second.name.encode() not in (second / record["file"]).read_bytes(), record["file"]

    result = verify_run(second)
    assert result.ok, result.lines

    # One byte of changes.csv or of the P2E report, bundle.json forged to match: the re-run tells.
    forged = tmp_path / "forged"
    shutil.copytree(second, forged)
    for name in ("EDU01/changes.csv", "EDU01/p2e/deletion_candidates.csv"):
        _flip_byte(forged / name)
        _forge(forged, name)
    assert verify_run(forged).lines == ["re-run output differs: EDU01/changes.csv",
                                        "re-run output differs: EDU01/p2e/deletion_candidates.csv"]

    # One byte of the previous findings (a portfolio id of the first row): an input that changed,
    # and with bundle.json forged, the diff (and what reports it) is no longer the run's.
    edited = tmp_path / "previous-edit"
    shutil.copytree(second, edited)
    path = edited / kept["file"]
    offset = path.read_bytes().index(b"\n") + 1
    assert chr(path.read_bytes()[offset]).isdigit()
    _flip_byte(path, offset)
    assert verify_run(edited).lines == [f"input changed: {kept['file']} (sha256 differs from bundle.json)",
                                        "not re-run: the inputs are not the ones the run read"]
    _forge(edited, kept["file"])
    lines = verify_run(edited).lines
    assert "re-run output differs: EDU01/changes.csv" in lines and "re-run output differs: EDU01/report.md" in lines
    assert all(line.startswith("re-run output differs: ") for line in lines)


def test_the_run_ledger_tells_a_bundle_re_made_after_the_run(sample, tmp_path):
    """A consistent forgery (an input replaced, the outputs re-run, bundle.json rewritten to
    match) passes the bundle's own checks; the run ledger of the database the run was made with
    does not let it pass."""
    from almaclean.services.verify import verify_run
    from almaclean.store.db import open_database
    from conftest import resync_run

    export = sample.out_dir / sample.extended_exports[0]
    user_db = f"sqlite:///{tmp_path / 'user.db'}"
    run = resync_run([export], institution="EDU01", out=tmp_path / "out", db_url=user_db)
    ledger = open_database(user_db, read_only=True)
    genuine = verify_run(run, ledger=ledger)
    assert genuine.ok and genuine.origin.startswith("origin: recorded in the run ledger of")

    # The forger re-makes the run elsewhere (any inputs) and presents that run's outputs and
    # bundle, given the original run id, as the original run.
    elsewhere = resync_run([export], institution="EDU01", out=tmp_path / "elsewhere",
                           db_url=f"sqlite:///{tmp_path / 'other.db'}")
    forged = tmp_path / "forged-run"
    shutil.copytree(elsewhere, forged)
    payload = json.loads((forged / BUNDLE_FILE).read_text(encoding="utf-8"))
    payload["run_uuid"] = read_bundle(run)["run_uuid"]
    (forged / BUNDLE_FILE).write_text(json.dumps(payload, indent=2), encoding="utf-8")
    assert verify_run(forged).ok  # consistent on its own: verify alone proves consistency, not origin
    caught = verify_run(forged, ledger=ledger)
    assert not caught.ok and "not the one recorded in the run ledger" in caught.lines[0]
    # A run the ledger has never seen is not proven: it fails, saying it is not in the ledger.
    unknown = verify_run(elsewhere, ledger=ledger)
    assert not unknown.ok and "is not in the run ledger" in unknown.origin
