"""The checks of `almaclean verify`: inputs and outputs against bundle.json, and a re-run's
outputs against the bundle's, byte for byte. Each mismatch is one line naming the file."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from almaclean.bundle.manifest import output_records
from almaclean.store.ingest import file_digest


@dataclass
class VerifyResult:
    ok: bool
    lines: list[str] = field(default_factory=list)   # one per mismatch (or why no re-run was made)
    origin: str | None = None                         # what the run ledger says, when one was at hand
    notes: list[str] = field(default_factory=list)   # what differs as expected (a review workbook filled in)


EXCEL_LOCK_PREFIX = "~$"   # Excel's owner file beside a workbook it has open


def fill_in_outputs(bundle: dict) -> set[str]:
    """Outputs a person is asked to fill in: bundle.json's "fill_in"; for a re-sync bundle made
    before that was recorded, each collection's review.xlsx."""
    if "fill_in" in bundle:
        return set(bundle["fill_in"])
    if bundle.get("flow") == "resync":
        return {r["file"] for r in bundle["outputs"] if r["file"].count("/") == 1 and r["file"].endswith("/review.xlsx")}
    return set()


def _lock_of(name: str, fill_in: set[str]) -> bool:
    folder, _, base = name.rpartition("/")
    return base.startswith(EXCEL_LOCK_PREFIX) and f"{folder}/{base[2:]}".lstrip("/") in fill_in


def check_inputs(run_folder: Path, bundle: dict) -> list[str]:
    """Each input copy kept in the bundle must still have its recorded sha256."""
    lines = []
    for record in bundle["inputs"]:
        path = Path(run_folder) / record["file"]
        if not path.is_file():
            lines.append(f"input missing: {record['file']}")
        elif file_digest(path)[0] != record["sha256"]:
            lines.append(f"input changed: {record['file']} (sha256 differs from bundle.json)")
    return lines


def check_recorded_outputs(run_folder: Path, bundle: dict, *, under: str = "") -> list[str]:
    """The bundle's outputs (those under `under`, all by default) against bundle.json. A workbook
    to fill in that was filled in (and Excel's lock file while it is open) is no mismatch:
    filled_in() says so."""
    inputs = {r["file"] for r in bundle["inputs"]}  # an edited input copy is reported as an input
    fill_in = fill_in_outputs(bundle)
    recorded = {r["file"]: r["sha256"] for r in bundle["outputs"]
                if r["file"].startswith(under) and r["file"] not in inputs}
    present = {r["file"]: r["sha256"] for r in output_records(run_folder)
               if r["file"].startswith(under) and r["file"] not in inputs and not _lock_of(r["file"], fill_in)}
    lines = [f"output missing from the bundle: {name}" for name in sorted(recorded.keys() - present.keys())]
    lines += [f"output not listed in bundle.json: {name}" for name in sorted(present.keys() - recorded.keys())]
    lines += [f"output edited: {name} (sha256 differs from bundle.json)"
              for name in sorted(recorded.keys() & present.keys())
              if recorded[name] != present[name] and name not in fill_in]
    return lines


def filled_in(run_folder: Path, bundle: dict) -> list[str]:
    """A line per workbook to fill in that differs from the one written (filled in, as asked), and
    per one open in Excel."""
    fill_in = fill_in_outputs(bundle)
    recorded = {r["file"]: r["sha256"] for r in bundle["outputs"] if r["file"] in fill_in}
    notes = []
    for record in output_records(run_folder):
        name = record["file"]
        if name in recorded and record["sha256"] != recorded[name]:
            notes.append(f"filled in: {name} (edited, as expected: the workbook to fill in; the re-run compares the "
                         "one almaclean wrote)")
        elif _lock_of(name, fill_in):
            notes.append(f"open in Excel: {name} (Excel's lock file, not checked)")
    return notes


def compare_rerun(bundle: dict, rerun_folder: Path, *, under: str = "", skip: frozenset[str] = frozenset()) -> list[str]:
    """The re-run's outputs against the outputs bundle.json records under `under` (a prefix
    the re-run folder does not have, e.g. "EDU01/p2e/"); `skip`: re-run files not compared."""
    expected = {r["file"][len(under):]: r["sha256"] for r in bundle["outputs"] if r["file"].startswith(under)}
    actual = {r["file"]: r["sha256"] for r in output_records(rerun_folder) if r["file"] not in skip}
    lines = [f"re-run did not write: {under}{name}" for name in sorted(expected.keys() - actual.keys())]
    lines += [f"re-run wrote an extra file: {under}{name}" for name in sorted(actual.keys() - expected.keys())]
    lines += [f"re-run output differs: {under}{name}"
              for name in sorted(expected.keys() & actual.keys()) if expected[name] != actual[name]]
    return lines
