"""Itemized set files for Alma: one ID per line under a header, split by size.

File names are safe forms of the group name, ``<group>_<n>.csv`` (n from 1). Two groups whose
safe names collide get a short hash of the real name appended, so no file ever mixes groups.

Deletion sets are written only through write_deletion_sets, which checks every row again on
its own (check_deletion_rows) and refuses, writing nothing, a row that is a CZ-linked
portfolio (a keeper), has a PO line from any source, repeats an id, or lacks complete
evidence (keeper ids, shared identifiers, a deletable coverage verdict, every rule checked).
"""
from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from almaclean.errors import AlmacleanError
from almaclean.p2e.match import DELETABLE_VERDICTS, EVIDENCE_RULES
from almaclean.p2e.sources import E_INVENTORY, GUIDE, MANUAL_JOBS, PORTFOLIO_LOADER, POST_MIGRATION_CLEANUP

from almaclean.write.csvfile import write_id_set
from almaclean.write.atomic import atomic_path, make_folder

log = logging.getLogger(__name__)

DEFAULT_HEADER = "Portfolio Id"
DEFAULT_SIZE = 10_000
DELETE_JOB_PARAMETERS = (
    ("Portfolio is linked to an active PO line", "Skip"),
    ("Portfolio is linked to an active e-activation task", "Skip"),
    ("Handling bibliographic records without inventory", "Delete bibliographic record(s)"),
)
SUPPRESS_OPTION = (
    "The guide's step 15 leaves the choice to delete or to suppress the P2E bib: to keep the bibs, suppressed, choose "
    "that parameter's option to suppress the bibliographic records instead. Deleting them is preferred, to leave "
    f"no orphaned bibs without inventory in Alma (CARLI P2E guide, {GUIDE})."
)
KEEPER_COLLECTION_CHECK = (
    "First check in Alma that each keeper collection is activated and available (the guide's step 2: search "
    "Electronic Collections for its name; the Community Zone icon is blue when it is active): a set deletes the P2E "
    "copies only of titles its collection really gives access to."
)
JOB_REPORT_CHECK = (
    "When the job has run, open Admin > Monitor Jobs > History and its job report: portfolios it could not delete "
    "are listed there with their MMS ID, to handle by hand (the guide's step 10)."
)
DEACTIVATE_ROUTE = (
    "De-activating instead of deleting is reversible: Ex Libris's 'Post migration clean-up of eResources in Alma' "
    f"({POST_MIGRATION_CLEANUP}) gives 'De-activate duplicate electronic portfolios' as the alternative to removing "
    "them. A portfolio's availability (Active or Inactive) is its Portfolio Availability setting in the Electronic "
    f"Portfolio Editor (Alma Analytics, E-Inventory: {E_INVENTORY}). For a whole set: upload the file as an "
    "itemized set of electronic portfolios, then Admin > Manage Jobs and Sets > Run a Job and choose the job for "
    f"electronic portfolios that changes their availability ({MANUAL_JOBS}, 'Manual Jobs and Their Relevant "
    "Parameters'); almaclean could not confirm that job's name and parameters in the documentation it can read, so "
    "check your Alma's job list. The Portfolio Loader (Incremental, Update portfolios, AVAILABILITY = INACTIVE: "
    f"{PORTFOLIO_LOADER}) works only on the portfolios of an electronic collection, and these P2E portfolios are "
    "standalone. Where neither applies, de-activate each portfolio in the Electronic Portfolio Editor. To undo, "
    "make them available again the same way"
)
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(group: str) -> str:
    """Letters, digits, '.', '_' and '-' only; at most 60 characters; never empty."""
    return _UNSAFE.sub("_", group.strip()).strip("._-")[:60] or "group"


def _file_stems(groups: list[str]) -> dict[str, str]:
    stems = {g: safe_name(g) for g in groups}
    taken: dict[str, int] = {}
    for stem in stems.values():
        taken[stem.lower()] = taken.get(stem.lower(), 0) + 1
    return {
        g: (s if taken[s.lower()] == 1 else f"{s}-{hashlib.sha1(g.encode()).hexdigest()[:6]}")
        for g, s in stems.items()
    }


def plan_sets(frame: pl.DataFrame, *, group: str, id_column: str, size: int = DEFAULT_SIZE) -> pl.DataFrame:
    """group, file, id: each id assigned to ``<group>_<n>.csv`` with at most `size` ids per file."""
    if size < 1:
        raise ValueError("set size must be at least 1")
    ordered = frame.select(pl.col(group).alias("group"), pl.col(id_column).alias("id")).unique().sort("group", "id")
    stems = _file_stems(ordered["group"].unique().sort().to_list())
    lookup = pl.DataFrame({"group": list(stems), "stem": list(stems.values())}, schema={"group": pl.String, "stem": pl.String})
    return (
        ordered.join(lookup, on="group", how="left", maintain_order="left")
        .with_columns(((pl.int_range(pl.len()).over("group") // size) + 1).alias("n"))
        .select("group", (pl.col("stem") + "_" + pl.col("n").cast(pl.String) + ".csv").alias("file"), "id")
    )


def write_sets(folder: Path, plan: pl.DataFrame, *, header: str = DEFAULT_HEADER) -> pl.DataFrame:
    """Write each planned file (header line, then one id per line). Returns group, file, ids."""
    make_folder(folder)
    for (file,), part in plan.group_by("file", maintain_order=True):
        write_id_set(folder / file, part.get_column("id"), header=header)
    summary = plan.group_by("group", "file", maintain_order=True).agg(pl.len().alias("ids"))
    log.info("wrote %d set files (%d ids) in %s", summary.height, plan.height, folder)
    return summary


def job_readme(title: str, summary: pl.DataFrame, *, header: str, job: str | None,
               collections: list[tuple[str, int]] = ()) -> str:
    """Text for the README beside the set files. job: "delete" (Delete Portfolios), "deactivate"
    (the de-activation route) or None (sets to make collections of). collections: the keeper
    collections and how many portfolios each keeps, to check before running the sets."""
    lines = [title, "", f"Each file is an itemized set: a header line '{header}', then one portfolio id per line."]
    if collections:
        lines += ["", KEEPER_COLLECTION_CHECK, "Keeper collections (P2E portfolios whose keeper is in it):"]
        lines += [f"  {name}: {n}" for name, n in collections]
        lines.append("")
    lines.append("Upload a file as an itemized set of electronic portfolios (Admin > Manage Sets > Add Set > Itemized).")
    if job == "delete":
        lines += ["", "Then run Admin > Run a Job > Delete Portfolios on the set with these parameters:"]
        lines += [f"  {name}: {value}" for name, value in DELETE_JOB_PARAMETERS]
        lines += ["", SUPPRESS_OPTION, "", JOB_REPORT_CHECK]
    elif job == "deactivate":
        lines += ["", DEACTIVATE_ROUTE + "."]
    lines += ["", "Files:"]
    lines += [f"  {f}  ({n} ids)  group: {g}" for g, f, n in summary.select("group", "file", "ids").iter_rows()]
    return "\n".join(lines) + "\n"


def write_readme(path: Path, text: str) -> Path:
    with atomic_path(path) as temp:
        temp.write_text(text, encoding="utf-8")
    return path


class DeletionSetRefused(AlmacleanError):
    """A row that must never be deleted by a set reached the deletion-set writer: nothing written."""


@dataclass(frozen=True)
class DeletionGuard:
    """What the deletion-set writer checks each row against."""
    keeper_ids: pl.Series                       # every CZ-linked portfolio id
    po_linked_ids: pl.Series                    # every P2E portfolio id with a PO line, any source
    not_checked: Collection[str] = ()           # rules that could not be checked
    allowed_unchecked: Collection[str] = field(default_factory=frozenset)  # e.g. PO lines, on request


def _ids(rows: pl.DataFrame, limit: int = 5) -> str:
    ids = rows.get_column("portfolio_id").unique(maintain_order=True).to_list()
    return ", ".join(ids[:limit]) + (f" and {len(ids) - limit} more" if len(ids) > limit else "")


def check_deletion_rows(rows: pl.DataFrame, guard: DeletionGuard) -> None:
    """DeletionSetRefused naming the rows, unless every row may be deleted by a set.

    rows: portfolio_id, keep_portfolio_id, keep_mms_id, shared, unshared, verdict (deletion candidates).
    """
    unshared_isbn = {rule.name for rule in EVIDENCE_RULES if rule.unshared_isbn_only}
    for rule in sorted(set(guard.not_checked) - set(guard.allowed_unchecked)):
        depends = (rows.filter(pl.col("unshared").str.contains("ISBN ").fill_null(False)
                               | pl.col("shared").is_null()) if rule in unshared_isbn else rows)
        if depends.height:
            raise DeletionSetRefused(f"deletion sets refused: the rule {rule!r} was not checked, yet "
                                     f"{depends.height} rows that depend on it are deletion rows: {_ids(depends)}")
    checks = [
        ("a CZ-linked portfolio (a keeper)", pl.col("portfolio_id").is_in(guard.keeper_ids.implode())),
        ("linked to a PO line", pl.col("portfolio_id").is_in(guard.po_linked_ids.implode())),
        ("in the deletion rows more than once", pl.col("portfolio_id").is_duplicated()),
        ("without complete evidence (keeper, shared identifiers, coverage verdict)",
         pl.any_horizontal(pl.col(c).is_null() for c in ("portfolio_id", "keep_portfolio_id", "keep_mms_id",
                                                           "shared", "verdict"))
         | (pl.col("shared").str.strip_chars() == "")
         | ~pl.col("verdict").is_in(DELETABLE_VERDICTS)
         | (pl.col("keep_portfolio_id") == pl.col("portfolio_id"))),
    ]
    for what, condition in checks:
        bad = rows.filter(condition.fill_null(True))
        if bad.height:
            raise DeletionSetRefused(f"deletion sets refused: {bad.height} rows are {what}: {_ids(bad)}")


def write_deletion_sets(folder: Path, rows: pl.DataFrame, plan: pl.DataFrame, guard: DeletionGuard, *,
                        header: str = DEFAULT_HEADER) -> pl.DataFrame:
    """write_sets for deletion sets, after check_deletion_rows on the rows and on the plan's ids."""
    check_deletion_rows(rows, guard)
    planned = set(plan.get_column("id").to_list())
    if planned != set(rows.get_column("portfolio_id").to_list()) or plan.height != len(planned):
        raise DeletionSetRefused("deletion sets refused: the planned set files do not hold exactly the checked rows")
    return write_sets(folder, plan, header=header)
