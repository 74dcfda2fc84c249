"""The run folder of a P2E clean-up: every output file, its contract and its next steps.

Files: deletion_candidates.csv, pol_relinks.csv, review.csv, groups.csv,
standalone_not_in_p2e.csv, p2e_unmatched.csv, deletion-sets/ and group-sets/ (itemized set
files + README.txt), summary.json and p2e_report.xlsx (summary with next steps in order,
deletion candidates with their evidence, POL relinks with the steps, review, groups, set
files, Delete Portfolios job parameters). The summary (first sheet, summary.json) says first
which rules could not be checked and which columns were not recognised, in plain words.
Without any PO-line evidence deletion-sets/ is not written unless the caller asks for it
(without_po_lines=True); the candidates are still listed. The two check lists (standalone not in the P2E
file, unmatched P2E lines) are CSV only: writing them as sheets doubled the workbook time
at 1,000,000 portfolios. Every id is written as text.
"""
from __future__ import annotations

import logging
from pathlib import Path

import polars as pl

from almaclean import interrupts
from almaclean.p2e.analyse import DELETION_COLUMNS, GROUP_COLUMNS, REVIEW_COLUMNS, P2EResult
from almaclean.p2e.cz_link import CZ_GROUP_COLUMNS, CZ_LINK_COLUMNS, CZ_LINK_DETAIL, CZ_LINK_STEPS
from almaclean.p2e.groups import LOCAL_COLLECTION_STEPS, local_collections
from almaclean.p2e.match import EVIDENCE_RULES, KIND_NAMES, PO_LINES_RULE
from almaclean.p2e.relink import RELINK_COLUMNS
from almaclean.outputs.p2e_sets import (
    DEFAULT_HEADER, DEFAULT_SIZE, DELETE_JOB_PARAMETERS, DeletionGuard, check_deletion_rows, job_readme,
    plan_sets, write_deletion_sets, write_readme, write_sets,
)
from almaclean.write.jsonfile import write_json
from almaclean.write.csvfile import write_csv_for_people
from almaclean.write.xlsx import Sheet, write_workbook

log = logging.getLogger(__name__)

WORKBOOK = "p2e_report.xlsx"
DELETION_SETS = "deletion-sets"
GROUP_SETS = "group-sets"
WITHOUT_PO_LINES_OPTION = "--without-po-lines"
REVIEW_INSTEAD = "the P2E portfolios whose deletion depends on it are in Review, none in a deletion set"
SETS_WITHHELD = (
    f"the deletion sets are not written (folder {DELETION_SETS}/ is absent): give a PO line export, or a "
    f"portfolio export with its PO Line Reference column, or run again with {WITHOUT_PO_LINES_OPTION} to "
    "write them anyway"
)
SETS_WITHOUT_PO_LINES = (
    f"the deletion sets were written anyway, at your request ({WITHOUT_PO_LINES_OPTION}): almaclean could not "
    "check PO lines; Delete Portfolios still skips portfolios linked to an active PO line, but nothing "
    "protects a closed PO line's history"
)


def evidence_lines(result: P2EResult, *, without_po_lines: bool) -> list[tuple[str, str]]:
    """(item, sentence) rows saying what was and was not checked, for a librarian to read."""
    rows: list[tuple[str, str]] = []
    if not result.not_checked:
        rows.append(("evidence", "every rule was checked: the files had all the columns the rules need"))
    why = {rule.name: rule.why for rule in EVIDENCE_RULES}
    for rule, text in result.not_checked_text.items():
        if rule == PO_LINES_RULE:
            consequence = SETS_WITHOUT_PO_LINES if without_po_lines else SETS_WITHHELD
        else:
            consequence = REVIEW_INSTEAD
        words = text.split(": ", 1)[1]
        rows.append(("not checked", f"{rule}: {words} (the rule: {why[rule]}); {consequence}."))
    for kind, header, line in result.not_recognised:
        rows.append(("not recognised", f"{KIND_NAMES[kind]}: column {header!r} was not recognised, so no rule "
                                       f"used it. If it is what its name says, add this line under [{kind}] in "
                                       f"a mapping file (--mapping): {line}"))
    return rows


def sets_withheld(result: P2EResult, without_po_lines: bool) -> bool:
    return not result.po_lines_checked and not without_po_lines


def next_steps(counts: dict[str, int], *, withheld: bool = False) -> list[str]:
    """What to do, in order (the guide's order: POLs first, then deletions, then the rest)."""
    deletion_step = (
        f"2. Deletion sets: not written. There is no PO-line evidence, so the {counts['deletion_candidates']} "
        "deletion candidates (deletion_candidates.csv) are not put in sets. To write them, give a PO line export "
        f"or a portfolio export with its PO Line Reference column, or run again with {WITHOUT_PO_LINES_OPTION}."
    )
    steps = [
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
    if withheld:
        steps[1] = deletion_step
    return steps


COUNT_LABELS = {
    "portfolios": "portfolios in the portfolio export",
    "keepers": "keepers (CZ-linked, available, in a collection)",
    "p2e_lines": "lines in the P2E file",
    "p2e_portfolios": "P2E portfolios (local standalone, in the P2E file)",
    "standalone_not_in_p2e": "standalone portfolios not in the P2E file",
    "p2e_lines_unmatched": "P2E lines that match no portfolio",
    "deletion_candidates": "deletion candidates",
    "pol_relinks": "PO line relinks",
    "pol_relink_portfolios": "P2E portfolios to delete once their PO lines are relinked",
    "pol_relinks_in_review": "PO line relinks of portfolios in review (blocked until reviewed)",
    "pol_relinks_ready": "PO line relinks ready",
    "pol_relinks_blocked": "PO line relinks blocked",
    "review": "portfolios to review",
    "group_portfolios": "portfolios proposed for local collections",
    "groups": "proposed local collections",
    "cz_link_candidates": "portfolios that could be linked to the CZ",
    "cz_link_collections": "local collections that could be linked to a CZ collection",
    "deletion_set_files": "deletion set files",
    "group_set_files": "local collection set files",
}


def summary_frame(counts: dict[str, int], evidence: list[tuple[str, str]] | None = None,
                  steps: list[str] | None = None) -> pl.DataFrame:
    """The first sheet: what was not checked, then what to do in order, in words; then the
    counts, labelled in words, as numbers."""
    steps = steps if steps is not None else next_steps(counts) + guide_next_steps(counts)
    words = list(evidence or []) + [("what to do", step) for step in steps]
    rows = [(item, text, None) for item, text in words]
    rows += [(COUNT_LABELS.get(name, name.replace("_", " ")), None, value) for name, value in counts.items()]
    return pl.DataFrame(rows, schema={"item": pl.String, "text": pl.String, "count": pl.Int64}, orient="row")


def _sheets(result: P2EResult, counts: dict[str, int], deletion_sets: pl.DataFrame,
            group_sets: pl.DataFrame, summary: pl.DataFrame) -> list[Sheet]:
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
        Sheet("Summary", ["Item", "What to know", "Count"], summary, widths={0: 44, 1: 110, 2: 12},
              text_only=False),
        Sheet("Deletion candidates", deletion_header, deletion),
        Sheet("POL relinks", list(relinks.columns), relinks),
        Sheet("Review", list(result.review.columns), result.review),
        Sheet("Groups", list(groups.columns), groups),
        *_guide_sheets(result, group_sets),
        Sheet("Set files", list(sets.columns), sets),
        Sheet("Delete job parameters", ["Parameter", "Value"], job),
    ]


def write_report(result: P2EResult, folder: Path, *, set_header: str = DEFAULT_HEADER,
                 set_size: int = DEFAULT_SIZE, without_po_lines: bool = False) -> dict[str, int]:
    """Write every output into `folder` (a new run folder); returns the counts in summary.json.

    without_po_lines: write the deletion sets even though no PO-line evidence was given (the
    user's explicit choice, the CLI's --without-po-lines); otherwise they are withheld then.
    """
    folder = Path(folder)
    withheld = sets_withheld(result, without_po_lines)
    guard = DeletionGuard(
        keeper_ids=result.keeper_ids, po_linked_ids=result.po_linked_ids, not_checked=tuple(result.not_checked),
        allowed_unchecked=frozenset({PO_LINES_RULE}) if without_po_lines else frozenset(),
    )
    if not withheld:
        check_deletion_rows(result.deletion_candidates, guard)  # before any file is written
    deletion_plan = plan_sets(result.deletion_candidates, group="group", id_column="portfolio_id", size=set_size)
    group_plan = plan_sets(result.groups, group="group", id_column="portfolio_id", size=set_size)
    if withheld:
        log.info("no PO-line evidence: deletion sets not written (%s not given)", WITHOUT_PO_LINES_OPTION)
        deletion_plan = deletion_plan.clear()
        deletion_files = pl.DataFrame(schema={"group": pl.String, "file": pl.String, "ids": pl.UInt32})
    else:
        deletion_files = write_deletion_sets(folder / DELETION_SETS, result.deletion_candidates, deletion_plan,
                                             guard, header=set_header)
        readme = job_readme("P2E deletion sets", deletion_files, header=set_header, job=True)
        if not result.po_lines_checked:
            readme = f"WRITTEN WITHOUT PO-LINE EVIDENCE: {SETS_WITHOUT_PO_LINES}.\n\n" + readme
        write_readme(folder / DELETION_SETS / "README.txt", readme)
    group_files = write_sets(folder / GROUP_SETS, group_plan, header=set_header)
    write_readme(folder / GROUP_SETS / "README.txt",
                 job_readme("Proposed local collections: one set per group", group_files, header=set_header, job=False)
                 + "\nIn Alma, per group:\n" + LOCAL_COLLECTION_STEPS.replace(". ", ".\n") + "\n")

    counts = dict(result.counts)
    counts["deletion_set_files"] = deletion_files.height
    counts["group_set_files"] = group_files.height
    evidence = evidence_lines(result, without_po_lines=without_po_lines)
    steps = next_steps(counts, withheld=withheld) + guide_next_steps(counts)
    sheets = _sheets(result, counts, deletion_plan, group_plan, summary_frame(counts, evidence, steps))
    # The workbook (its zip compression mostly) is written beside the CSV files, not after them.
    with interrupts.Workers(1, "almaclean-workbook") as pool:
        workbook = pool.submit(write_workbook, folder / WORKBOOK, sheets)
        write_csv_for_people(folder / "deletion_candidates.csv", result.deletion_candidates.select(DELETION_COLUMNS))
        write_csv_for_people(folder / "pol_relinks.csv", result.pol_relinks.select(RELINK_COLUMNS))
        write_csv_for_people(folder / "review.csv", result.review.select(REVIEW_COLUMNS))
        write_csv_for_people(folder / "groups.csv", result.groups.select(*GROUP_COLUMNS, "po_lines"))
        write_csv_for_people(folder / "standalone_not_in_p2e.csv", result.not_in_p2e)
        write_csv_for_people(folder / "p2e_unmatched.csv", result.unmatched_lines)
        _write_guide_csvs(result, folder, group_plan)
        interrupts.result(workbook)
    summary = {
        **counts,
        "evidence": [f"{item}: {text}" for item, text in evidence],
        "not_checked": result.not_checked,
        "not_recognised": [{"file": kind, "column": header, "mapping": line}
                           for kind, header, line in result.not_recognised],
        "deletion_sets_written": not withheld,
        "without_po_lines": without_po_lines,
        "next_steps": steps, "set_header": set_header, "set_size": set_size,
    }
    write_json(folder / "summary.json", summary)
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
    write_csv_for_people(folder / "local_collections.csv", _local_collections(result, group_sets))
    if "cz_link_candidates" in result.counts:  # only when CZ title lists were given
        write_csv_for_people(folder / "cz_link_candidates.csv", result.cz_link_candidates.select(CZ_LINK_COLUMNS))
        write_csv_for_people(folder / "cz_link_groups.csv", _cz_groups_text(result).select(CZ_GROUP_COLUMNS))


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
