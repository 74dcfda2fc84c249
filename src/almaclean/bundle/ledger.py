"""The run ledger (table run_ledger): each published run's bundle.json digest, recorded in the
database before the run folder gets its final name. verify compares a folder with it: a bundle
re-made after the run (inputs replaced, outputs re-run, bundle.json edited) has another digest,
or a run id the ledger gave another folder."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import Engine, text

from almaclean import __version__
from almaclean.bundle.manifest import BUNDLE_FILE
from almaclean.store.db import describe, write_transaction
from almaclean.store.ingest import file_digest


def published_name(staging: Path) -> str:
    """The run folder name a staging folder will be published under."""
    from almaclean.write.atomic import STAGING_SUFFIX

    return Path(staging).name.removeprefix(".").removesuffix(STAGING_SUFFIX)


def record_run(engine: Engine, folder: Path) -> None:
    """Record a run folder's bundle.json digest (folder: its staging folder or final folder) and
    the stored files it analysed (its input records' source_file_id)."""
    bundle = json.loads((Path(folder) / BUNDLE_FILE).read_text(encoding="utf-8"))
    sources = sorted({r["source_file_id"] for r in bundle["inputs"] if r.get("source_file_id") is not None})
    with write_transaction(engine) as conn:
        conn.execute(
            text("INSERT INTO run_ledger (run_uuid, workflow, folder_name, bundle_sha256, recorded_at, tool_version, "
                 "source_file_ids) VALUES (:u, :w, :f, :s, :t, :v, :ids)"),
            {"u": bundle["run_uuid"], "w": bundle["flow"], "f": published_name(folder),
             "s": file_digest(Path(folder) / BUNDLE_FILE)[0],
             "t": datetime.now(timezone.utc).isoformat(timespec="seconds"), "v": __version__,
             "ids": json.dumps(sources)})


@dataclass(frozen=True)
class Origin:
    ok: bool          # False: the ledger contradicts the folder
    line: str


def check_origin(engine: Engine, run_folder: Path, bundle: dict) -> Origin:
    """What the ledger of this database says of a run folder. The ledger binds three things a
    published run leaves: its folder name, its run id and its bundle.json's sha256. The origin
    holds only when the bundle's run id is recorded, for this folder name, with this sha256; a
    bundle without a run id, with one the ledger does not know, or with one recorded for another
    folder fails, saying why (and what the ledger recorded under this folder's name)."""
    where = describe(engine)
    folder = Path(run_folder).name
    run_uuid = bundle.get("run_uuid")
    with engine.connect() as conn:
        if not conn.dialect.has_table(conn, "run_ledger"):
            return Origin(True, f"origin not checked: {where} has no run ledger (made by an older almaclean)")
        by_id = conn.execute(text("SELECT folder_name, bundle_sha256, recorded_at FROM run_ledger WHERE run_uuid = :u"),
                             {"u": run_uuid}).first() if run_uuid else None
        by_name = conn.execute(text("SELECT run_uuid, recorded_at FROM run_ledger WHERE folder_name = :f "
                                    "ORDER BY recorded_at"), {"f": folder}).all()
    named = "".join(f"; the ledger recorded the folder {folder} as run {row.run_uuid} on {row.recorded_at}"
                    for row in by_name if row.run_uuid != run_uuid)
    if not run_uuid:
        return Origin(False, "bundle.json has no run id, so nothing ties it to a run the run ledger of "
                             f"{where} recorded (every run almaclean publishes records its id){named}")
    if by_id is None:
        return Origin(False, f"run {run_uuid} is not in the run ledger of {where}{named}: the bundle was made "
                             "after the run with a new run id, or with another database (then verify it with that "
                             "database: --db URL)")
    digest = file_digest(Path(run_folder) / BUNDLE_FILE)[0]
    if digest != by_id.bundle_sha256:
        return Origin(False, f"bundle.json is not the one recorded in the run ledger of {where} on "
                             f"{by_id.recorded_at} (sha256 differs): the bundle was re-made after the run")
    if by_id.folder_name != folder:
        return Origin(False, f"run {run_uuid} was recorded in the run ledger of {where} on {by_id.recorded_at} "
                             f"for the folder {by_id.folder_name}, not {folder}: a copy of that run's bundle, or "
                             f"its run id re-used{named}. Verify {by_id.folder_name} itself (a renamed run folder "
                             "verifies again under its recorded name)")
    return Origin(True, f"origin: recorded in the run ledger of {where} on {by_id.recorded_at} (folder name, run id "
                        "and bundle.json sha256 all as recorded)")
