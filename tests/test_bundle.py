"""Audit bundles and `verify`: a fresh resync bundle and a fresh P2E bundle verify; one changed
input byte, one changed output byte, or an output the re-run does not reproduce makes it fail."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from almaclean.bundle.manifest import BUNDLE_FILE, lock_file_record, output_records, read_bundle
from almaclean.bundle.runs import write_back
from almaclean.errors import InputError
from almaclean.kinds import read_kind
from almaclean.store.db import make_engine
from almaclean.store.ingest import file_digest, ingest_file
from conftest import REPO


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


def test_resync_and_p2e_bundles_verify_and_detect_changes(prefect_server, sample, tmp_path):
    from flows.p2e import p2e_flow
    from flows.resync import resync_flow
    from flows.verify import verify_run

    exports = [sample.out_dir / name for name in sample.extended_exports[:2]]
    resync_run = resync_flow(exports, po_lines=sample.path("po_lines"), institution="EDU01", out=tmp_path / "out",
                             db_url=f"sqlite:///{tmp_path / 'user.db'}")
    bundle = json.loads((resync_run / BUNDLE_FILE).read_text(encoding="utf-8"))
    assert bundle["flow"] == "resync" and bundle["environment"]["lock_file"]["sha256"]
    assert [r["role"] for r in bundle["inputs"]] == ["extended-export", "extended-export", "po-lines"]
    assert [r["sha256"] for r in bundle["inputs"][:2]] == [file_digest(e)[0] for e in exports]
    assert not any(r["file"].startswith("inputs/") for r in bundle["outputs"])
    assert "summary.xlsx" in {r["file"] for r in bundle["outputs"]}

    # P2E: portfolios ingested on an earlier run, the P2E and PO line files given now.
    db = f"sqlite:///{tmp_path / 'user.db'}"
    p2e_flow(portfolios=sample.path("portfolios"), p2e=sample.path("p2e"), institution="EDU01",
             out=tmp_path / "first", db_url=db)
    p2e_run = p2e_flow(portfolios=None, p2e=sample.path("p2e"), po_lines=sample.path("po_lines"),
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


def test_nightly_bundle_reruns_each_institutions_p2e_report(prefect_server, sample, tmp_path):
    from flows.nightly import nightly_flow
    from flows.verify import verify_run

    inbox = tmp_path / "inbox"
    for role, folder in (("portfolios", "portfolios"), ("p2e", "p2e"), ("po_lines", "po-lines")):
        (inbox / "EDU01" / folder).mkdir(parents=True)
        shutil.copyfile(sample.path(role), inbox / "EDU01" / folder / sample.path(role).name)
    run = nightly_flow(inbox, out=tmp_path / "out", db_url=f"sqlite:///{tmp_path / 'user.db'}")

    bundle = read_bundle(run)
    assert bundle["parameters"]["institutions"] == [{"code": "EDU01", "folder": "EDU01", "status": "succeeded"}]
    assert sorted(r["role"] for r in bundle["inputs"]) == ["p2e", "po-lines", "portfolios"]
    assert all(r["file"].startswith("inputs/EDU01/") and "written_back" not in r for r in bundle["inputs"])
    assert verify_run(run).ok

    # The P2E report is re-run: a forged output is caught even with bundle.json updated.
    forged = next(r for r in bundle["outputs"] if r["file"] == "EDU01/p2e/deletion_candidates.csv")
    path = run / forged["file"]
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n", 1))
    forged["sha256"] = file_digest(path)[0]
    (run / BUNDLE_FILE).write_text(json.dumps(bundle), encoding="utf-8")
    assert verify_run(run).lines == ["re-run output differs: EDU01/p2e/deletion_candidates.csv"]
