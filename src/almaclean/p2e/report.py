"""The run folder of a P2E clean-up (rule 7 and the output contract).

Files: deletion_candidates.csv, pol_relinks.csv, review.csv, groups.csv,
standalone_not_in_p2e.csv, p2e_unmatched.csv, deletion-sets/ and group-sets/ (itemized set
files + README.txt), summary.json and p2e_report.xlsx (summary with next steps in order,
deletion candidates with their evidence, POL relinks with the steps, review, groups, set
files, Delete Portfolios job parameters). The two check lists (standalone not in the P2E
file, unmatched P2E lines) are CSV only: writing them as sheets doubled the workbook time
at 1,000,000 portfolios. Every id is written as text.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path

import polars as pl

from almaclean.p2e.analyse import DELETION_COLUMNS, GROUP_COLUMNS, REVIEW_COLUMNS, P2EResult
from almaclean.p2e.cz_link import CZ_GROUP_COLUMNS, CZ_LINK_COLUMNS, CZ_LINK_DETAIL, CZ_LINK_STEPS
from almaclean.p2e.groups import LOCAL_COLLECTION_STEPS, local_collections
from almaclean.p2e.relink import RELINK_COLUMNS
from almaclean.p2e.sets import (
    DEFAULT_HEADER, DEFAULT_SIZE, DELETE_JOB_PARAMETERS, job_readme, plan_sets, write_readme, write_sets,
)
from almaclean.write.atomic import atomic_path
from almaclean.write.csvfile import write_csv
from almaclean.write.xlsx import Sheet, write_workbook

log = logging.getLogger(__name__)

WORKBOOK = "p2e_report.xlsx"
DELETION_SETS = "deletion-sets"
GROUP_SETS = "group-sets"


def next_steps(counts: dict[str, int]) -> list[str]:
    """What to do, in order (the guide's order: POLs first, then deletions, then the rest)."""
    return [
        f"1. POL relinks ({counts['pol_relinks_ready']} ready, {counts['pol_relinks_blocked']} blocked): for each "
        "ready row change the bib reference of the PO line to the keeper's bib, add the PO line on the keeper "
        "portfolio's Acquisition tab, then delete the P2E portfolio and its bib. Blocked rows say why.",
        f"2. Deletion sets ({counts['deletion_candidates']} portfolios in {counts.get('deletion_set_files', 0)} files, "
        f"folder {DELETION_SETS}/): upload each file as an itemized set of portfolios and run Delete Portfolios "
        "with: " + "; ".join(f"{n} = {v}" for n, v in DELETE_JOB_PARAMETERS) + ".",
        f"3. Review ({counts['review']} portfolios): decide each by hand; none of them is in a deletion set.",
        f"4. Local collections ({counts['group_portfolios']} portfolios in {counts['groups']} groups, folder "
        f"{GROUP_SETS}/): create one local electronic collection per group and move its portfolios into it.",
        f"5. Check the {counts['standalone_not_in_p2e']} standalone portfolios that are not in the P2E file "
        f"(standalone_not_in_p2e.csv) and the {counts['p2e_lines_unmatched']} P2E lines that match no portfolio "
        "(p2e_unmatched.csv).",
    ]


def summary_frame(counts: dict[str, int]) -> pl.DataFrame:
    steps = next_steps(counts) + guide_next_steps(counts)
    rows = [(k, str(v)) for k, v in counts.items()] + [("next step", s) for s in steps]
    return pl.DataFrame(rows, schema={"item": pl.String, "value": pl.String}, orient="row")


def _sheets(result: P2EResult, counts: dict[str, int], deletion_sets: pl.DataFrame,
            group_sets: pl.DataFrame) -> list[Sheet]:
    deletion = result.deletion_candidates.join(
        deletion_sets.select(pl.col("id").alias("portfolio_id"), pl.col("file").alias("set_file")),
        on="portfolio_id", how="left",
    ).select(
        "portfolio_id", "mms_id", "title", "keep_portfolio_id", "keep_mms_id", "keep_collection", "shared",
        "verdict", "p2e_coverage", "keep_coverage", "p2e_url", "keep_url", "other_keepers", "set_file",
    )
    deletion_header = [
        "P2E portfolio id", "P2E MMS id", "Title", "Keeper portfolio id", "Keeper MMS id", "Keeper collection",
        "Shared identifiers", "Coverage verdict", "P2E coverage", "Keeper coverage", "P2E URL", "Keeper URL",
        "Other keepers", "Set file",
    ]
    relinks = result.pol_relinks.select(*RELINK_COLUMNS, "source", "reason", "steps")
    groups = result.groups.join(
        group_sets.select(pl.col("id").alias("portfolio_id"), pl.col("file").alias("set_file")),
        on="portfolio_id", how="left",
    ).select("group", "portfolio_id", "mms_id", "provider", "domain", "host", "po_lines", "set_file")
    sets = pl.concat([
        deletion_sets.group_by("group", "file", maintain_order=True).agg(pl.len().cast(pl.String).alias("ids"))
        .with_columns(pl.lit(DELETION_SETS).alias("folder")),
        group_sets.group_by("group", "file", maintain_order=True).agg(pl.len().cast(pl.String).alias("ids"))
        .with_columns(pl.lit(GROUP_SETS).alias("folder")),
    ]).select("folder", "file", "group", "ids")
    job = pl.DataFrame(list(DELETE_JOB_PARAMETERS), schema={"parameter": pl.String, "value": pl.String}, orient="row")
    return [
        Sheet("Summary", ["Item", "Value"], summary_frame(counts), widths={0: 28, 1: 110}),
        Sheet("Deletion candidates", deletion_header, deletion),
        Sheet("POL relinks", list(relinks.columns), relinks),
        Sheet("Review", list(result.review.columns), result.review),
        Sheet("Groups", list(groups.columns), groups),
        *_guide_sheets(result, group_sets),
        Sheet("Set files", list(sets.columns), sets),
        Sheet("Delete job parameters", ["Parameter", "Value"], job),
    ]


def write_report(result: P2EResult, folder: Path, *, set_header: str = DEFAULT_HEADER,
                 set_size: int = DEFAULT_SIZE) -> dict[str, int]:
    """Write every output into `folder` (a new run folder); returns the counts in summary.json."""
    folder = Path(folder)
    write_csv(folder / "deletion_candidates.csv", result.deletion_candidates.select(DELETION_COLUMNS))
    write_csv(folder / "pol_relinks.csv", result.pol_relinks.select(RELINK_COLUMNS))
    write_csv(folder / "review.csv", result.review.select(REVIEW_COLUMNS))
    write_csv(folder / "groups.csv", result.groups.select(GROUP_COLUMNS))
    write_csv(folder / "standalone_not_in_p2e.csv", result.not_in_p2e)
    write_csv(folder / "p2e_unmatched.csv", result.unmatched_lines)

    deletion_plan = plan_sets(result.deletion_candidates, group="group", id_column="portfolio_id", size=set_size)
    group_plan = plan_sets(result.groups, group="group", id_column="portfolio_id", size=set_size)
    deletion_files = write_sets(folder / DELETION_SETS, deletion_plan, header=set_header)
    group_files = write_sets(folder / GROUP_SETS, group_plan, header=set_header)
    write_readme(folder / DELETION_SETS / "README.txt",
                 job_readme("P2E deletion sets", deletion_files, header=set_header, job=True))
    write_readme(folder / GROUP_SETS / "README.txt",
                 job_readme("Proposed local collections: one set per group", group_files, header=set_header, job=False)
                 + "\nIn Alma, per group:\n" + LOCAL_COLLECTION_STEPS.replace(". ", ".\n") + "\n")

    counts = dict(result.counts)
    counts["deletion_set_files"] = deletion_files.height
    counts["group_set_files"] = group_files.height
    _write_guide_csvs(result, folder, group_plan)
    write_workbook(folder / WORKBOOK, _sheets(result, counts, deletion_plan, group_plan))
    summary = {**counts, "next_steps": next_steps(counts) + guide_next_steps(counts), "set_header": set_header,
               "set_size": set_size}
    with atomic_path(folder / "summary.json") as temp:
        temp.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    log.info("P2E report written to %s", folder)
    return counts


# The guide's sections 3 and 4: local collections per group, and CZ link candidates.

def _local_collections(result: P2EResult, group_sets: pl.DataFrame) -> pl.DataFrame:
    files = group_sets.group_by("group").agg(pl.col("file").unique().sort().str.join("; ").alias("set_files"))
    return local_collections(result.groups).join(files, on="group", how="left").select(
        "group", "provider", "domain", pl.col("portfolios").cast(pl.String),
        pl.col("portfolios_with_po_line").cast(pl.String), "set_files", "steps",
    )


def _cz_groups_text(result: P2EResult) -> pl.DataFrame:
    return result.cz_link_groups.with_columns(
        pl.col("portfolios").cast(pl.String), pl.col("matched").cast(pl.String),
        (pl.col("share") * 100).round(1).cast(pl.String).add("%").alias("share"),
    )


def _write_guide_csvs(result: P2EResult, folder: Path, group_sets: pl.DataFrame) -> None:
    write_csv(folder / "local_collections.csv", _local_collections(result, group_sets))
    if "cz_link_candidates" in result.counts:  # only when CZ title lists were given
        write_csv(folder / "cz_link_candidates.csv", result.cz_link_candidates.select(CZ_LINK_COLUMNS))
        write_csv(folder / "cz_link_groups.csv", _cz_groups_text(result).select(CZ_GROUP_COLUMNS))


def guide_next_steps(counts: dict[str, int]) -> list[str]:
    """How to make the local collections in Alma, and the CZ link step when CZ title lists were given."""
    steps = [f"Local collections (step 4), in Alma (local_collections.csv): {LOCAL_COLLECTION_STEPS}"]
    if "cz_link_candidates" in counts:
        steps.append(
            f"6. Link to the CZ ({counts['cz_link_candidates']} P2E portfolios match a CZ title list; "
            f"{counts['cz_link_collections']} local groups to link as a whole; cz_link_candidates.csv, "
            "cz_link_groups.csv): " + CZ_LINK_STEPS
        )
    return steps


def _guide_sheets(result: P2EResult, group_sets: pl.DataFrame) -> list[Sheet]:
    sheets = [Sheet("Local collections", ["Group", "Provider", "Domain", "Portfolios", "With PO line",
                                          "Set files", "Steps in Alma"], _local_collections(result, group_sets))]
    if "cz_link_candidates" in result.counts:
        candidates = result.cz_link_candidates.select(*CZ_LINK_COLUMNS, *CZ_LINK_DETAIL)
        steps = pl.DataFrame({"step": [CZ_LINK_STEPS]})
        sheets += [
            Sheet("CZ link candidates", list(candidates.columns), candidates),
            Sheet("CZ link groups", list(CZ_GROUP_COLUMNS), _cz_groups_text(result).select(CZ_GROUP_COLUMNS)),
            Sheet("CZ link steps", ["Steps in Alma"], steps, widths={0: 140}),
        ]
    return sheets
