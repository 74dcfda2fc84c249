"""The audit bundle: a run folder plus `bundle.json` (docs/audit.md).

bundle.json says which flow ran with which parameters, on which inputs (sha256, size, where
the original was, where a copy is kept inside the bundle), with which almaclean, Python and
library versions and which lock file, and the sha256 of every output file. Outputs are every
file of the run folder except bundle.json and inputs/.
"""
from __future__ import annotations

import datetime
import json
import logging
import platform
import re
import shutil
import uuid
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import almaclean
from almaclean.errors import InputError
from almaclean.store.ingest import file_digest
from almaclean.write.atomic import atomic_path
from almaclean.write.jsonfile import write_json

log = logging.getLogger(__name__)

BUNDLE_FILE = "bundle.json"
INPUTS_FOLDER = "inputs"
BUNDLE_FORMAT = 1
KEY_LIBRARIES = ("polars", "fastexcel", "xlsxwriter", "prefect", "sqlalchemy")
LOCK_FILE = "uv.lock"


def lock_file_record(start: Path | None = None) -> dict:
    """sha256 of the uv.lock of the source tree almaclean runs from, or why there is none."""
    here = Path(start or almaclean.__file__).resolve()
    for folder in here.parents:
        candidate = folder / LOCK_FILE
        if candidate.is_file() and (folder / "pyproject.toml").is_file():
            sha, size = file_digest(candidate)
            return {"file": LOCK_FILE, "sha256": sha, "size": size}
    return {"file": LOCK_FILE, "sha256": None,
            "note": "no uv.lock beside this almaclean (an installed package): library versions below"}


def library_versions() -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for name in KEY_LIBRARIES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = None
    return found


def environment() -> dict:
    return {
        "almaclean": almaclean.__version__,
        "python": platform.python_version(),
        "libraries": library_versions(),
        "lock_file": lock_file_record(),
        # Coverage statements with a rolling embargo are read against the current year.
        "current_year": datetime.date.today().year,
    }


def relative_name(path: Path, run_folder: Path) -> str:
    return Path(path).relative_to(run_folder).as_posix()


def input_record(role: str, kept: Path, run_folder: Path, *, original: Path | None,
                 original_sha256: str | None = None, **extra) -> dict:
    """One input: the copy kept in the bundle (its sha256 and size) and where it came from."""
    sha, size = file_digest(kept)
    record = {"role": role, "file": relative_name(kept, run_folder), "sha256": sha, "size": size,
              "original_path": None if original is None else str(Path(original).absolute())}
    if original_sha256 is not None:
        record["original_sha256"] = original_sha256
    return record | extra


def keep_input(source: Path, run_folder: Path, folder: str) -> Path:
    """Copy an input file unchanged into `folder` (relative, under inputs/) of the bundle."""
    target = Path(run_folder) / folder / Path(source).name
    with atomic_path(target) as temp:
        shutil.copyfile(source, temp)
    return target


def output_records(run_folder: Path) -> list[dict]:
    """Every output file (all but bundle.json and inputs/), by path, with sha256 and size."""
    run_folder = Path(run_folder)
    records = []
    for path in sorted(p for p in run_folder.rglob("*") if p.is_file()):
        name = relative_name(path, run_folder)
        if name == BUNDLE_FILE or name.split("/", 1)[0] == INPUTS_FOLDER:
            continue
        sha, size = file_digest(path)
        records.append({"file": name, "sha256": sha, "size": size})
    return records


def write_bundle(run_folder: Path, *, flow: str, parameters: dict, inputs: list[dict],
                 fill_in: list[str] = ()) -> Path:
    """Write bundle.json last, once every output is in place, with a new run id (the run
    ledger's key). fill_in: outputs a person is asked to fill in (edited, as expected)."""
    run_folder = Path(run_folder)
    outputs = output_records(run_folder)
    payload = {"bundle_format": BUNDLE_FORMAT, "run_uuid": uuid.uuid4().hex, "flow": flow, "parameters": parameters,
               "environment": environment(), "inputs": inputs, "outputs": outputs}
    if fill_in:
        payload["fill_in"] = sorted(fill_in)
    path = run_folder / BUNDLE_FILE
    write_json(path, payload)
    log.info("bundle %s: %d input(s), %d output(s)", path, len(inputs), len(outputs))
    return path


def read_bundle(run_folder: Path) -> dict:
    """bundle.json of a run folder; InputError when the folder is not a bundle or bundle.json is
    not one almaclean wrote (check_bundle)."""
    path = Path(run_folder) / BUNDLE_FILE
    if not Path(run_folder).is_dir():
        raise InputError("no such run folder", file=run_folder)
    if not path.is_file():
        raise InputError(f"not an audit bundle: no {BUNDLE_FILE} in this folder", file=run_folder)
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"unreadable bundle file: {exc}", file=path) from None
    except RecursionError:
        raise InputError("unreadable bundle file: nested far deeper than any bundle almaclean writes", file=path) from None
    check_bundle(payload, path)
    return payload


_SHA256 = re.compile(r"[0-9a-f]{64}")
STORED_ROLES = ("portfolios", "p2e", "po-lines")   # inputs a re-run stores again, by kind and scope
RERUN_PARAMETERS = {   # what verify's re-run of each flow reads from "parameters"
    "resync": {"exports": list, "institution": str, "keep_localized_n": bool},
    "p2e": {"institution": str, "set_header": str, "set_size": int},
    "nightly": {"institutions": list},
}


_KIND_WORDS = {str: "a text", int: "a whole number", bool: "true or false", list: "a list"}


def check_bundle(payload: object, path: Path) -> None:
    """bundle.json as almaclean writes it: an object with a known format, a flow, its parameters,
    and inputs and outputs that each name a file inside the run folder with a sha256. InputError
    saying the first thing that is not so."""
    def refuse(problem: str) -> None:
        raise InputError(f"not an audit bundle almaclean wrote: {problem}", file=path)

    if not isinstance(payload, dict):
        refuse(f"bundle.json holds {type(payload).__name__ if payload is not None else 'null'}, not an object")
    missing = [k for k in ("bundle_format", "flow", "parameters", "inputs", "outputs") if k not in payload]
    if missing:
        refuse(f"missing {', '.join(missing)}")
    if payload["bundle_format"] != BUNDLE_FORMAT:
        raise InputError(f"bundle format {payload['bundle_format']!r} is not supported (expected {BUNDLE_FORMAT})",
                         file=path)
    if not isinstance(payload["flow"], str):
        refuse(f"'flow' is {payload['flow']!r}, not a name")
    if "run_uuid" in payload and not (payload["run_uuid"] is None or isinstance(payload["run_uuid"], str)):
        refuse(f"'run_uuid' is {payload['run_uuid']!r}, not a run id")
    parameters = payload["parameters"]
    if not isinstance(parameters, dict):
        refuse(f"'parameters' is {parameters!r:.60}, not an object")
    for name, kind in RERUN_PARAMETERS.get(payload["flow"], {}).items():
        if not isinstance(parameters.get(name), kind) or (kind is int and isinstance(parameters.get(name), bool)):
            refuse(f"the {payload['flow']} parameter {name!r} is {parameters.get(name)!r:.60}, not {_KIND_WORDS[kind]}")
    if payload["flow"] == "resync":
        for name in ("po_lines", "decisions"):
            if not isinstance(parameters.get(name), (str, type(None))):
                refuse(f"the resync parameter {name!r} is {parameters.get(name)!r:.60}, not a file name")
        if not all(isinstance(e, str) for e in parameters["exports"]):
            refuse("the resync parameter 'exports' is not a list of file names")
    if payload["flow"] == "nightly":
        for n, entry in enumerate(parameters["institutions"], start=1):
            if not isinstance(entry, dict) or not all(isinstance(entry.get(k), str) for k in ("code", "folder", "status")):
                refuse(f"nightly institution {n} is {entry!r:.80}, not an institution's code, folder and status")
    for part in ("inputs", "outputs"):
        records = payload[part]
        if not isinstance(records, list):
            refuse(f"'{part}' is {records!r:.60}, not a list")
        for n, record in enumerate(records, start=1):
            if not isinstance(record, dict):
                refuse(f"{part} item {n} is {record!r:.60}, not an object")
            name = record.get("file")
            if not isinstance(name, str) or not name or Path(name).is_absolute() or ".." in Path(name).parts:
                refuse(f"{part} item {n} names no file inside the run folder ({name!r:.80})")
            if not isinstance(record.get("sha256"), str) or not _SHA256.fullmatch(record["sha256"]):
                refuse(f"{part} item {n} ({name}) has no sha256")
            if part == "inputs" and not isinstance(record.get("role"), str):
                refuse(f"inputs item {n} ({name}) has no role")
            if (part == "inputs" and payload["flow"] in ("p2e", "nightly") and record["role"] in STORED_ROLES
                    and not isinstance(record.get("scope"), str)):
                refuse(f"inputs item {n} ({name}) is a stored {record['role']} file without its scope")
