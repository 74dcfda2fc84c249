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
    """What the ledger of this database says of a run folder."""
    where = describe(engine)
    run_uuid = bundle.get("run_uuid")
    if not run_uuid:
        return Origin(True, "origin not checked: the bundle was made before run ids were recorded")
    with engine.connect() as conn:
        has_ledger = conn.dialect.has_table(conn, "run_ledger")
        row = conn.execute(text("SELECT folder_name, bundle_sha256, recorded_at FROM run_ledger WHERE run_uuid = :u"),
                           {"u": run_uuid}).first() if has_ledger else None
    if row is None:
        return Origin(True, f"origin not checked: run {run_uuid} is not in the run ledger of {where} "
                            "(made with another database?)")
    digest = file_digest(Path(run_folder) / BUNDLE_FILE)[0]
    if digest != row.bundle_sha256:
        return Origin(False, f"bundle.json is not the one recorded in the run ledger of {where} on "
                             f"{row.recorded_at} (sha256 differs): the bundle was re-made after the run")
    if row.folder_name != Path(run_folder).name:
        return Origin(True, f"origin: recorded in the run ledger of {where} on {row.recorded_at} "
                            f"as folder {row.folder_name} (renamed since)")
    return Origin(True, f"origin: recorded in the run ledger of {where} on {row.recorded_at}")
